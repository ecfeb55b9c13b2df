/**
 * The seed's training loop on real MNIST digits with a small CNN
 * (conv–BN–ReLU–pool 1→32 and 32→64, then fc 3136→128→10): train and
 * evaluate each epoch, printing loss and accuracy.
 *
 *   deno run -A examples/mnist_cnn.ts [--epochs 10] [--batch-size 64] [--lr 0.001] [--seed 0] [--device cpu|webgpu]
 *
 * @module
 */

import { mnistCnn, trainMnist } from "./mnist_loop.ts";

await trainMnist(mnistCnn, { epochs: 10, shift: 1 });
