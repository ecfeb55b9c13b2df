/**
 * The seed's training loop on real MNIST digits with a multilayer perceptron
 * `h = g(W h + b)` (784-512-256-10, dropout 0.1): Adam on a 1cycle schedule,
 * training digits randomly shifted by up to 2 pixels; a progress bar per
 * epoch, then a results table and the confusion matrix, with the CSV log,
 * curves, confusion matrix, misread digits and weights in `runs/mnist_mlp/`.
 *
 *   deno run -A examples/mnist_mlp.ts [--epochs 20] [--batch-size 64] [--lr 0.001] [--seed 0]
 *       [--shift 2] [--rotate 0] [--zoom 0] [--device cpu|webgpu] [--out runs/mnist_mlp] [--quick]
 *
 * @module
 */

import { models, nn } from "../mod.ts";
import { trainMnist } from "./mnist_loop.ts";

/** The MLP of this example. */
export function mnistMlp(): nn.Sequential {
  return new nn.Sequential(new nn.Flatten(), models.mlp([784, 512, 256, 10], { dropout: 0.1 }));
}

if (import.meta.main) {
  await trainMnist(mnistMlp, { name: "mnist_mlp", epochs: 20, lr: 1e-3, shift: 2, rotate: 0, zoom: 0 });
}
