import { ok } from "node:assert/strict";
import { data, Generator, manualSeed, models, nn, optim, type Tensor, tensor } from "../mod.ts";
import { mnistCnn, runEpochs, shiftImages } from "./mnist_loop.ts";

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

Deno.test("the MNIST MLP example's model learns: the loss falls over 40 steps", async () => {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Flatten(), models.mlp([784, 512, 256, 10], { dropout: 0.1 }));
  const losses = await lossCurve(model, model.parameters(), 40, 64);
  ok(mean(losses.slice(-5)) < 0.6 * mean(losses.slice(0, 5)), `loss ${losses.slice(0, 5)} -> ${losses.slice(-5)}`);
});

Deno.test("the MNIST CNN example's model learns: the loss falls over 30 steps", async () => {
  manualSeed(0);
  const model = mnistCnn();
  const losses = await lossCurve(model, model.parameters(), 30, 32);
  ok(mean(losses.slice(-3)) < 0.8 * mean(losses.slice(0, 3)), `loss ${losses.slice(0, 3)} -> ${losses.slice(-3)}`);
});

Deno.test("runEpochs reports finite metrics and test accuracy above chance after a short epoch", async () => {
  manualSeed(1);
  const model = new nn.Sequential(new nn.Flatten(), models.mlp([784, 64, 10]));
  const results = await runEpochs({
    model,
    optimizer: new optim.Adam(model.parameters(), { lr: 3e-3 }),
    criterion: new nn.CrossEntropyLoss(),
    train: new data.DataLoader(new data.TensorDataset(mnist.train.images, mnist.train.labels), {
      batchSize: 64,
      shuffle: true,
    }),
    test: new data.DataLoader(new data.TensorDataset(mnist.test.images, mnist.test.labels), { batchSize: 500 }),
    epochs: 1,
    maxBatches: 30,
    maxShift: 1,
  });
  ok(Number.isFinite(results[0].trainLoss) && Number.isFinite(results[0].testLoss));
  ok(results[0].testAcc > 0.5, `test accuracy ${results[0].testAcc}`);
});

Deno.test("shiftImages translates with zero fill", async () => {
  const x = tensor([[[[1, 2], [3, 4]]]]);
  // Down by 1, left by 1: row 0 becomes zeros, column 1 becomes zeros.
  const y = await shiftImages(x, 1, -1).tolist();
  ok(JSON.stringify(y) === JSON.stringify([[[[0, 0], [2, 0]]]]), JSON.stringify(y));
});
