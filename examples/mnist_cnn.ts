/**
 * The seed's training loop on real MNIST digits with a small CNN
 * (conv 1→32, pool, conv 32→64, pool, fc): train and evaluate each epoch.
 *
 *   deno run -A examples/mnist_cnn.ts [--epochs 8] [--batch-size 64] [--lr 0.001] [--seed 0]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, manualSeed, nn, optim } from "../mod.ts";
import { runEpochs } from "./mnist_loop.ts";

const { values: args } = parseArgs({
  options: {
    epochs: { type: "string", default: "8" },
    "batch-size": { type: "string", default: "64" },
    lr: { type: "string", default: "0.001" },
    seed: { type: "string", default: "0" },
    "max-batches": { type: "string" },
  },
});

manualSeed(Number(args.seed));
const mnist = await data.loadMnist();
const train = new data.TensorDataset(mnist.train.images, mnist.train.labels);
const test = new data.TensorDataset(mnist.test.images, mnist.test.labels);

const model = new nn.Sequential(
  new nn.Conv2d(1, 32, 3, { padding: 1 }),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Conv2d(32, 64, 3, { padding: 1 }),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Flatten(),
  new nn.Dropout(0.25),
  new nn.Linear(64 * 7 * 7, 128),
  new nn.ReLU(),
  new nn.Dropout(0.25),
  new nn.Linear(128, 10),
);
console.log(model.toString());
console.log(`parameters: ${model.numParameters()}`);
const optimizer = new optim.Adam(model.parameters(), { lr: Number(args.lr) });
const criterion = new nn.CrossEntropyLoss();

await runEpochs({
  model,
  optimizer,
  criterion,
  train: new data.DataLoader(train, { batchSize: Number(args["batch-size"]), shuffle: true }),
  test: new data.DataLoader(test, { batchSize: 500 }),
  epochs: Number(args.epochs),
  maxBatches: args["max-batches"] ? Number(args["max-batches"]) : undefined,
});
