/**
 * Small models for first steps: an MLP `h = g(W h + b)` and LeNet-5.
 *
 * @module
 */

import * as nn from "@dendrite/nn";

/** Options of {@link mlp}. */
export interface MlpOptions {
  /** The activation between layers (default ReLU). */
  activation?: () => nn.Module;
  /** Dropout probability after each hidden activation (default 0: none). */
  dropout?: number;
}

/**
 * A multilayer perceptron over `sizes` (`[in, hidden…, out]`): Linear layers
 * with an activation between them, none after the last.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { mlp } from "./small.ts";
 * const net = mlp([784, 256, 10]);
 * console.log(net.forward(randn([2, 784])).shape); // [2, 10]
 * ```
 */
export function mlp(sizes: readonly number[], options: MlpOptions = {}): nn.Sequential {
  if (sizes.length < 2) throw new RangeError(`mlp: expected at least [in, out] sizes, got [${sizes.join(", ")}]`);
  // Checked before the first layer is built: building draws initial weights from the random stream.
  sizes.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0) {
      throw new RangeError(`mlp: sizes[${i}] must be a non-negative integer, got ${s} (in [${sizes.join(", ")}])`);
    }
  });
  const p = options.dropout ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`mlp: dropout must be in [0, 1], got ${p}`);
  const activation = options.activation ?? (() => new nn.ReLU());
  const layers: nn.Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(new nn.Linear(sizes[i], sizes[i + 1]));
    if (i + 2 < sizes.length) {
      layers.push(activation());
      if (options.dropout) layers.push(new nn.Dropout(options.dropout));
    }
  }
  return new nn.Sequential(...layers);
}

/**
 * LeNet-5 for 1×28×28 digits (padding 2 on the first convolution, as usual
 * for MNIST), with ReLU and max pooling.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { lenet5 } from "./small.ts";
 * console.log(lenet5().forward(randn([2, 1, 28, 28])).shape); // [2, 10]
 * ```
 */
export function lenet5(numClasses = 10): nn.Sequential {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`lenet5: numClasses must be a positive integer, got ${numClasses}`);
  }
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120),
    new nn.ReLU(),
    new nn.Linear(120, 84),
    new nn.ReLU(),
    new nn.Linear(84, numClasses),
  );
}
