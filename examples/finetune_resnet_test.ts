import { deepStrictEqual, notDeepStrictEqual, ok, rejects } from "node:assert/strict";
import { data, manualSeed, models, zeros } from "../mod.ts";
import { finetune, formatEpoch, main, writeDigitFolder } from "./finetune_resnet.ts";
import { webgpuOrSkip } from "../gpu/test_util.ts";

const DIGITS = [5, 6, 7];
/** Progress bars off: the tests check the numbers, one test checks the bars. */
const QUIET = { disable: true };
const PER_CLASS = { train: 10, val: 4 };

/** Runs `fn` on a tiny digit folder (3 classes) and random ResNet-18 weights (a 4-class fc), removed afterwards. */
async function withFixture(fn: (f: { root: string; weights: string }) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "finetune_test_" });
  try {
    await writeDigitFolder(`${root}/digits`, DIGITS, PER_CLASS, { jpegEvery: 3 });
    manualSeed(123);
    const weights = `${root}/w.safetensors`;
    await models.save(models.resnet18({ numClasses: 4 }), weights);
    await fn({ root, weights });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("writeDigitFolder writes real MNIST digits as PNG and JPEG in ImageFolder layout", async () => {
  await withFixture(async (f) => {
    const train = new data.ImageFolder(`${f.root}/digits/train`);
    const val = new data.ImageFolder(`${f.root}/digits/val`);
    deepStrictEqual(train.classes, ["5", "6", "7"]);
    deepStrictEqual(train.length, 30);
    deepStrictEqual(val.length, 12);
    const names = [...Deno.readDirSync(`${f.root}/digits/train/5`)].map((e) => e.name).sort();
    ok(names.some((n) => n.endsWith(".jpg")) && names.some((n) => n.endsWith(".png")));
    // PNG is lossless: the first train image of digit 6 is MNIST's first 6, pixel for pixel, in every channel.
    const digits = await data.loadMnistDigits();
    const img = await data.readImage(`${f.root}/digits/train/6/0000.png`);
    deepStrictEqual([img.width, img.height, img.channels], [28, 28, 3]);
    for (let p = 0; p < 784; p++) {
      for (let c = 0; c < 3; c++) {
        if (img.data[3 * p + c] !== digits[6][p]) throw new Error(`pixel ${p} channel ${c} differs`);
      }
    }
    // Val images are the last ones of the digit, so the splits share nothing.
    const count = digits[7].length / 784;
    const last = await data.readImage(`${f.root}/digits/val/7/0003.png`);
    const expected = digits[7].subarray((count - 1) * 784, count * 784);
    for (let p = 0; p < 784; p++) if (last.data[3 * p] !== expected[p]) throw new Error(`val pixel ${p} differs`);
  });
});

Deno.test("finetune trains only fc: the frozen backbone is bit-identical, fc changes, metrics are finite", async () => {
  await withFixture(async (f) => {
    const opts = {
      data: `${f.root}/digits`,
      weights: f.weights,
      batchSize: 8,
      imageSize: 32,
      workers: 0,
      progress: QUIET,
    };
    const before = await finetune({ ...opts, epochs: 0 });
    // Progress piped to a recorder, the summary and the record (out/) on.
    let bars = "";
    const stream = { writeSync: (p: Uint8Array) => (bars += new TextDecoder().decode(p), p.length) };
    const out = `${f.root}/record`;
    const logged: string[] = [];
    const { model, metrics, classes, confusion, history } = await finetune({
      ...opts,
      epochs: 2,
      log: (s) => logged.push(s),
      progress: { stream, mode: "lines" },
      out,
      summary: true,
    });
    deepStrictEqual(classes, ["5", "6", "7"]);
    deepStrictEqual(metrics.length, 2);
    // The summary first: a frozen ResNet-18 with a 512 → 3 head has 1,539 trainable parameters.
    const [table, ...lines] = logged;
    ok(table.includes("Trainable params: 1,539"), table);
    ok(table.includes("├─Conv2d: 1-1") && table.includes("(9,408)"));
    deepStrictEqual(lines.length, 2);
    // Progress: train and val bars, two epochs, plain lines (each pass is shorter than the 10 s interval).
    ok(!bars.includes("\r"), "no carriage returns when piped");
    const barLines = bars.trim().split("\n");
    deepStrictEqual(barLines.length, 4);
    ok(barLines[0].startsWith("epoch 1/2 train: 4/4 (100%) ["), barLines[0]);
    ok(barLines[1].startsWith("epoch 1/2 val: 2/2 (100%) ["), barLines[1]);
    // The record: the last validation pass's confusion matrix, the CSV and the pictures.
    deepStrictEqual(confusion.total, 12);
    deepStrictEqual(confusion.labels, ["5", "6", "7"]);
    deepStrictEqual(confusion.accuracy(), metrics[1].valAcc);
    const csv = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
    deepStrictEqual(csv[0], "epoch,trainLoss,trainAcc,valLoss,valAcc,seconds");
    deepStrictEqual(csv.length, 3);
    deepStrictEqual(history.column("valAcc"), metrics.map((m) => m.valAcc));
    for (const png of ["curves", "confusion"]) ok((await Deno.stat(`${out}/${png}.png`)).size > 1000, png);
    for (const [i, m] of metrics.entries()) {
      for (const v of [m.trainLoss, m.valLoss]) ok(Number.isFinite(v) && v > 0, `loss ${v}`);
      for (const v of [m.trainAcc, m.valAcc]) ok(v >= 0 && v <= 1, `accuracy ${v}`);
      deepStrictEqual(m.stepLosses.length, 4); // ceil(30 / 8)
      ok(
        /^Epoch \d+\/2, Train Loss: \d+\.\d{4}, Train Acc: [01]\.\d{4}, Val Loss: \d+\.\d{4}, Val Acc: [01]\.\d{4}$/
          .test(lines[i]),
        lines[i],
      );
      deepStrictEqual(lines[i], formatEpoch(m, 2));
    }
    // The backbone, compared with the weights file read back independently.
    const reference = await models.loadSafetensors(f.weights);
    const trained = model.stateDict();
    let compared = 0;
    for (const [name, p] of model.namedParameters()) {
      if (name.startsWith("fc.")) continue;
      ok(p.grad === null || p.grad === undefined, `${name} got a gradient`);
      deepStrictEqual(p.requiresGrad, false, name);
      deepStrictEqual(p.dataSync(), reference[name].dataSync(), `${name} changed`);
      compared++;
    }
    deepStrictEqual(compared, 60); // ResNet-18 has 62 parameters, 2 of them fc
    // Batch-norm running statistics still update in train mode, as in PyTorch.
    notDeepStrictEqual(trained["bn1.running_mean"].dataSync(), reference["bn1.running_mean"].dataSync());
    // The new fc is 512 → 3, trainable, and moved.
    deepStrictEqual(model.fc.weight.shape, [3, 512]);
    ok(model.fc.weight.requiresGrad);
    notDeepStrictEqual(model.fc.weight.dataSync(), before.model.fc.weight.dataSync());
    notDeepStrictEqual(model.fc.bias!.dataSync(), before.model.fc.bias!.dataSync());
  });
});

Deno.test("finetune: full-batch SGD steps on fc lower the training loss", async () => {
  await withFixture(async (f) => {
    // One batch holds the whole train split, so every step sees the same data and batch statistics:
    // the loss sequence is plain (momentum) gradient descent on fc and must go down.
    const { metrics } = await finetune({
      data: `${f.root}/digits`,
      weights: f.weights,
      batchSize: 30,
      imageSize: 32,
      workers: 0,
      epochs: 4,
      lr: 0.01,
      log: () => {},
      progress: QUIET,
    });
    const losses = metrics.map((m) => m.stepLosses[0]);
    for (let i = 1; i < losses.length; i++) ok(losses[i] < losses[i - 1], `losses ${losses.join(", ")}`);
    ok(losses[3] < losses[0] * 0.9, `losses ${losses.join(", ")}`);
  });
});

Deno.test("finetune loads through DataLoader workers too", async () => {
  await withFixture(async (f) => {
    const { metrics } = await finetune({
      data: `${f.root}/digits`,
      weights: f.weights,
      batchSize: 8,
      imageSize: 32,
      workers: 1,
      epochs: 1,
      log: () => {},
      progress: QUIET,
    });
    ok(Number.isFinite(metrics[0].trainLoss) && Number.isFinite(metrics[0].valLoss));
  });
});

Deno.test("finetune: bad input names the path or key", async () => {
  await withFixture(async (f) => {
    const missing = `${f.root}/no_such_folder`;
    await rejects(() => finetune({ data: missing, epochs: 1, log: () => {} }), (e: Error) => {
      ok(e.message.includes(`${missing}/train`), e.message);
      return true;
    });
    await rejects(() => main(["--data", missing, "--epochs", "1"]), (e: Error) => e.message.includes(missing));
    // Weights whose shapes do not fit ResNet-18: the error names the file and the key.
    const state = models.resnet18({ numClasses: 4 }).stateDict();
    state["layer1.0.conv1.weight"] = zeros([64, 64, 1, 1]);
    delete state["layer2.0.bn1.running_var"];
    const bad = `${f.root}/bad.safetensors`;
    await models.saveSafetensors(state, bad);
    await rejects(
      () => finetune({ data: `${f.root}/digits`, weights: bad, imageSize: 32, epochs: 1, workers: 0 }),
      (e: Error) => {
        ok(e.message.includes(bad), e.message);
        ok(e.message.includes(`"layer1.0.conv1.weight"`), e.message);
        ok(e.message.includes(`"layer2.0.bn1.running_var"`), e.message);
        return true;
      },
    );
    const notWeights = `${f.root}/digits/train/5/0000.png`;
    await rejects(
      () => finetune({ data: `${f.root}/digits`, weights: notWeights, epochs: 1, workers: 0 }),
      (e: Error) => e.message.includes(notWeights),
    );
    await rejects(() => main(["--device", "tpu"]), /--device must be "cpu" or "webgpu", got "tpu"/);
    await rejects(() => main(["--data", f.root, "--image-size", "0"]), /--image-size/);
    await rejects(() => main(["--data", f.root, "--lr", "-1"]), /--lr/);
  });
});

if (await webgpuOrSkip("finetune on webgpu")) {
  Deno.test("the seed's fine-tuning runs on WebGPU: fc learns, the frozen backbone is untouched", async () => {
    await withFixture(async (f) => {
      const { model, metrics } = await finetune({
        data: `${f.root}/digits`,
        weights: f.weights,
        epochs: 1,
        batchSize: 8,
        imageSize: 32,
        workers: 0,
        lr: 0.01,
        device: "webgpu",
        log: () => {},
        progress: QUIET,
      });
      ok(metrics.every((m) => Number.isFinite(m.trainLoss) && Number.isFinite(m.valLoss)));
      deepStrictEqual(model.fc.weight.device, "webgpu");
      const saved = await models.loadSafetensors(f.weights);
      deepStrictEqual(Array.from(await model.conv1.weight.data()), Array.from(await saved["conv1.weight"].data()));
      deepStrictEqual(model.conv1.weight.grad, null);
      ok(metrics[0].stepLosses.length === 4, `4 steps of 8 over 30 images, got ${metrics[0].stepLosses.length}`);
    });
  });
}
