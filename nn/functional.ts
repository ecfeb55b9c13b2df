/**
 * The layers' operations as plain functions (PyTorch's `torch.nn.functional`):
 * `nn.functional.conv2d(x, w, b, { padding: 1 })`, also reachable as `nn.F`.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import * as F from "./functional.ts";
 * const x = F.relu(F.conv2d(randn([1, 3, 8, 8]), randn([4, 3, 3, 3]), null, { padding: "same" }));
 * const logits = F.adaptiveAvgPool2d(x, 1).flatten(1); // [1, 4]
 * const loss = F.crossEntropy(logits, tensor([2], { dtype: "int32" }));
 * ```
 *
 * @module
 */

import { type Tensor, traced } from "./deps.ts";

export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  batchNorm,
  type BatchNormOptions,
  type BceOptions,
  type BceWithLogitsOptions,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  conv2d,
  type Conv2dOptions,
  type Conv2dPadding,
  convTranspose2d,
  type ConvTranspose2dOptions,
  crossEntropy,
  type CrossEntropyOptions,
  dropout,
  dropout2d,
  elu,
  embedding,
  groupNorm,
  huberLoss,
  interpolate,
  type InterpolateMode,
  type InterpolateOptions,
  klDiv,
  type KlDivOptions,
  type KlDivReduction,
  l1Loss,
  layerNorm,
  leakyRelu,
  maxPool2d,
  type MaxPool2dOptions,
  maxPool2dWithIndices,
  mish,
  mseLoss,
  nllLoss,
  type NllOptions,
  type Reduction,
  rmsNorm,
  scaledDotProductAttention,
  type ScaledDotProductAttentionOptions,
  silu,
  type Size2,
  smoothL1Loss,
  softplus,
  unfold,
  type UnfoldOptions,
} from "./deps.ts";

/** `max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return x.relu();
}

/** The logistic sigmoid. */
export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

/** The hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

/** GELU (exact erf form). */
export function gelu(x: Tensor): Tensor {
  return x.gelu();
}

/** Softmax along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}

/** Log-softmax along `dim`. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}

/** `x Wᵀ + b` (weight `[out, in]`). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const y = x.matmul(weight.t());
  return traced(bias ? y.add(bias) : y, "linear", [x, weight, bias ?? null]);
}
