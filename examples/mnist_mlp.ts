/**
 * The seed's training loop on real MNIST digits with a multilayer perceptron
 * `h = g(W h + b)` (784-512-256-10, dropout 0.1): train and evaluate each
 * epoch, printing loss and accuracy.
 *
 *   deno run -A examples/mnist_mlp.ts [--epochs 20] [--batch-size 64] [--lr 0.001] [--seed 0] [--device cpu|webgpu]
 *
 * @module
 */

import { models, nn } from "../mod.ts";
import { trainMnist } from "./mnist_loop.ts";

await trainMnist(() => new nn.Sequential(new nn.Flatten(), models.mlp([784, 512, 256, 10], { dropout: 0.1 })), {
  epochs: 20,
  shift: 2,
});
