import { deepStrictEqual, ok } from "node:assert/strict";
import { Image } from "imagescript";
import { data, Generator, manualSeed, models, nn, optim, type Tensor, tensor, utils } from "../mod.ts";
import { affineImages, mnistCnn, runEpochs, shiftImages, trainMnist } from "./mnist_loop.ts";
import { mnistMlp } from "./mnist_mlp.ts";

const mnist = await data.loadMnist();

async function lossCurve(
  model: { forward(x: Tensor): Tensor },
  params: Iterable<Tensor>,
  steps: number,
  batchSize: number,
) {
  const loader = new data.DataLoader(new data.TensorDataset(mnist.train.images, mnist.train.labels), {
    batchSize,
    shuffle: true,
    generator: new Generator(0),
  });
  const opt = new optim.Adam(params, { lr: 1e-3 });
  const criterion = new nn.CrossEntropyLoss();
  const losses: number[] = [];
  for await (const [x, y] of loader) {
    opt.zeroGrad();
    const loss = criterion.forward(model.forward(x), y);
    loss.backward();
    opt.step();
    losses.push(await loss.item());
    if (losses.length === steps) break;
  }
  return losses;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A progress stream that records its text (piped, so one line per interval). */
function recorder() {
  let text = "";
  return {
    stream: { writeSync: (p: Uint8Array) => (text += new TextDecoder().decode(p), p.length) },
    text: () => text,
  };
}

Deno.test("the MNIST MLP example's model learns: the loss falls over 40 steps", async () => {
  manualSeed(0);
  const model = mnistMlp();
  const losses = await lossCurve(model, model.parameters(), 40, 64);
  ok(mean(losses.slice(-5)) < 0.6 * mean(losses.slice(0, 5)), `loss ${losses.slice(0, 5)} -> ${losses.slice(-5)}`);
});

Deno.test("the MNIST CNN example's model learns: the loss falls over 30 steps", async () => {
  manualSeed(0);
  const model = mnistCnn();
  const losses = await lossCurve(model, model.parameters(), 30, 32);
  ok(mean(losses.slice(-3)) < 0.8 * mean(losses.slice(0, 3)), `loss ${losses.slice(0, 3)} -> ${losses.slice(-3)}`);
});

Deno.test("runEpochs: piped progress is plain lines (no carriage returns), metrics and history per epoch", async () => {
  manualSeed(1);
  const model = new nn.Sequential(new nn.Flatten(), models.mlp([784, 64, 10]));
  const rec = recorder();
  const history = new utils.History();
  const lines: string[] = [];
  const run = await runEpochs({
    model,
    optimizer: new optim.Adam(model.parameters(), { lr: 3e-3 }),
    criterion: new nn.CrossEntropyLoss(),
    train: new data.DataLoader(new data.TensorDataset(mnist.train.images, mnist.train.labels), {
      batchSize: 64,
      shuffle: true,
    }),
    test: new data.DataLoader(new data.TensorDataset(mnist.test.images, mnist.test.labels), { batchSize: 500 }),
    epochs: 2,
    maxBatches: 15,
    augment: (x) => shiftImages(x, 1, 0),
    history,
    progress: { stream: rec.stream, mode: "lines", interval: 3600 },
    log: (l) => lines.push(l),
  });
  const r = run.epochs;
  ok(Number.isFinite(r[0].trainLoss) && Number.isFinite(r[0].testLoss));
  ok(r[1].testAcc > 0.5, `test accuracy ${r[1].testAcc}`);
  // One final line per epoch (the runs are shorter than the interval), each counting 15 of 15 batches.
  const progressLines = rec.text().split("\n").filter((l) => l);
  ok(!rec.text().includes("\r"));
  deepStrictEqual(progressLines.length, 2);
  ok(progressLines[0].startsWith("epoch 1/2: 15/15 (100%) ["), progressLines[0]);
  ok(/loss=\d\.\d+, acc=0\.\d+\]$/.test(progressLines[1]), progressLines[1]);
  deepStrictEqual(lines.length, 2);
  deepStrictEqual(history.column("testAcc"), r.map((e) => e.testAcc));
  deepStrictEqual(run.confusion.total, 2000);
  deepStrictEqual(run.confusion.accuracy(), r[1].testAcc);
  ok(run.mistakes.images.length > 0 && run.mistakes.images[0].shape.join() === "1,28,28");
});

Deno.test("the MNIST program end to end (--quick): accuracy above chance, CSV, curves, confusion matrix, weights", async () => {
  const out = await Deno.makeTempDir({ prefix: "mnist_quick_" });
  try {
    const rec = recorder();
    const lines: string[] = [];
    const run = await trainMnist(
      mnistMlp,
      { name: "mnist_mlp", epochs: 1, lr: 1e-3, shift: 2, rotate: 5, zoom: 0.05 },
      ["--quick", "--out", out],
      { progress: { stream: rec.stream, mode: "lines" }, log: (l) => lines.push(l) },
    );
    ok(run.epochs[0].testAcc > 0.5, `test accuracy ${run.epochs[0].testAcc} after 20 steps (chance 0.1)`);
    const text = lines.join("\n");
    ok(text.includes("Total params: 535,818"), "the summary table"); // 784·512+512 + 512·256+256 + 256·10+10
    ok(text.includes("macro avg") && text.includes("final test accuracy"));
    const csv = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
    deepStrictEqual(csv[0], "epoch,trainLoss,trainAcc,testLoss,testAcc,seconds,lr");
    deepStrictEqual(csv.length, 2);
    for (const png of ["curves", "confusion", "mistakes"]) {
      const img = await Image.decode(await Deno.readFile(`${out}/${png}.png`));
      ok(img.width > 100 && img.height > 100, png);
    }
    const weights = await models.loadSafetensors(`${out}/model.safetensors`);
    deepStrictEqual(Object.keys(weights).length, 6);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("shiftImages translates with zero fill", async () => {
  const x = tensor([[[[1, 2], [3, 4]]]]);
  // Down by 1, left by 1: row 0 becomes zeros, column 1 becomes zeros.
  const y = await shiftImages(x, 1, -1).tolist();
  ok(JSON.stringify(y) === JSON.stringify([[[[0, 0], [2, 0]]]]), JSON.stringify(y));
});

Deno.test("affineImages rotates about the centre: a quarter turn moves the top-middle pixel to the middle-left", async () => {
  const x = tensor([[[[0, 1, 0], [0, 0, 0], [0, 0, 0]]]]);
  const y = await affineImages(x, [{ angle: 90, scale: 1, dx: 0, dy: 0 }]).tolist();
  deepStrictEqual(y, [[[[0, 0, 0], [1, 0, 0], [0, 0, 0]]]]);
  // Zoom 2 about the centre of a 3×3: the centre pixel stays, a corner reads from halfway to the centre.
  const z = await affineImages(tensor([[[[4, 0, 0], [0, 8, 0], [0, 0, 0]]]]), [{ angle: 0, scale: 2, dx: 0, dy: 0 }])
    .tolist() as number[][][][];
  deepStrictEqual(z[0][0][1][1], 8);
  deepStrictEqual(z[0][0][0][0], (4 + 0 + 0 + 8) / 4); // bilinear at (0.5, 0.5)
});
