/**
 * The seed's training loop on real MNIST digits with a small CNN
 * (conv–BN–ReLU–pool 1→32 and 32→64, then fc 3136→128→10): train and evaluate each epoch.
 *
 *   deno run -A examples/mnist_cnn.ts [--epochs 10] [--batch-size 64] [--lr 0.001] [--seed 0] [--device cpu|webgpu]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, gpu, manualSeed, nn, optim } from "../mod.ts";
import { mnistCnn, runEpochs } from "./mnist_loop.ts";

const { values: args } = parseArgs({
  options: {
    epochs: { type: "string", default: "10" },
    "batch-size": { type: "string", default: "64" },
    lr: { type: "string", default: "0.001" },
    seed: { type: "string", default: "0" },
    device: { type: "string", default: "cpu" },
    shift: { type: "string", default: "1" },
    "max-batches": { type: "string" },
  },
});

manualSeed(Number(args.seed));
const mnist = await data.loadMnist();
const train = new data.TensorDataset(mnist.train.images, mnist.train.labels);
const test = new data.TensorDataset(mnist.test.images, mnist.test.labels);

const model = mnistCnn();
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
