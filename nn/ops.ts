/**
 * The tensor-level neural-network ops nn builds on. They live in
 * `tensor/ops/` (conv, pool, norm, nn_ops) and are exported by `@dendrite/tensor`.
 *
 * @module
 */

export { conv2d, type Conv2dOptions, type Conv2dPadding, pair, type Size2, windowOutSize } from "@dendrite/tensor";
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type MaxPool2dOptions,
  maxPool2dWithIndices,
} from "@dendrite/tensor";
export { batchNorm, type BatchNormOptions, layerNorm } from "@dendrite/tensor";
export {
  type BceOptions,
  type BceWithLogitsOptions,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  type CrossEntropyOptions,
  dropout,
  embedding,
  l1Loss,
  leakyRelu,
  mseLoss,
  nllLoss,
  type NllOptions,
  type Reduction,
} from "@dendrite/tensor";
