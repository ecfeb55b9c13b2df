/**
 * The seed's training loop on real MNIST digits with a multilayer perceptron
 * `h = g(W h + b)`: train and evaluate each epoch, printing loss and accuracy.
 *
 *   deno run -A examples/mnist_mlp.ts [--epochs 20] [--batch-size 64] [--lr 0.001] [--seed 0] [--device cpu|webgpu]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, gpu, manualSeed, models, nn, optim } from "../mod.ts";
import { runEpochs } from "./mnist_loop.ts";

const { values: args } = parseArgs({
  options: {
    epochs: { type: "string", default: "20" },
    "batch-size": { type: "string", default: "64" },
    lr: { type: "string", default: "0.001" },
    seed: { type: "string", default: "0" },
    device: { type: "string", default: "cpu" },
    dropout: { type: "string", default: "0.1" },
    shift: { type: "string", default: "2" },
    "max-batches": { type: "string" },
  },
});

manualSeed(Number(args.seed));
const mnist = await data.loadMnist();
const train = new data.TensorDataset(mnist.train.images, mnist.train.labels);
const test = new data.TensorDataset(mnist.test.images, mnist.test.labels);

const model = new nn.Sequential(new nn.Flatten(), models.mlp([784, 512, 256, 10], { dropout: Number(args.dropout) }));
console.log(model.toString());
console.log(`parameters: ${model.numParameters()}`);
if (args.device === "webgpu") await gpu.useWebGPU();
else if (args.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${args.device}"`);
model.to(args.device);
const optimizer = new optim.Adam(model.parameters(), { lr: Number(args.lr) });
const criterion = new nn.CrossEntropyLoss();
const epochs = Number(args.epochs);
const scheduler = new optim.CosineAnnealingLR(optimizer, epochs);

await runEpochs({
  model,
  optimizer,
  criterion,
  train: new data.DataLoader(train, { batchSize: Number(args["batch-size"]), shuffle: true }),
  test: new data.DataLoader(test, { batchSize: 500 }),
  epochs,
  device: args.device,
  maxShift: Number(args.shift),
  onEpochEnd: () => scheduler.step(),
  maxBatches: args["max-batches"] ? Number(args["max-batches"]) : undefined,
});
