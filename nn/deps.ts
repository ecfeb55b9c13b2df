/**
 * What nn takes from `@dendrite/tensor` (tensors and the functional ops its layers wrap), plus small shared helpers.
 *
 * @module
 */

export {
  arange,
  cat,
  type Device,
  type DType,
  enableGrad,
  full,
  type Generator,
  getBackend,
  grad,
  gradcheck,
  hasBackend,
  isFloating,
  isGradEnabled,
  noGrad,
  ones,
  rand,
  randn,
  type Shape,
  stack,
  Tensor,
  tensor,
  toDevice,
  traced,
  where,
  zeroGrads,
  zeros,
} from "@dendrite/tensor";
// Module hooks build identity nodes of their own (`hooks.ts`), as PyTorch's BackwardHook does.
export { Node } from "@dendrite/autograd";
// The functional ops nn's layers are thin classes over (they live in tensor/ops/).
export {
  conv2d,
  type Conv2dOptions,
  type Conv2dPadding,
  pair,
  type Size2,
  unfold,
  type UnfoldOptions,
  windowOutSize,
} from "@dendrite/tensor";
export { convTranspose2d, type ConvTranspose2dOptions, convTransposeOutSize } from "@dendrite/tensor";
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type MaxPool2dOptions,
  maxPool2dWithIndices,
} from "@dendrite/tensor";
export { batchNorm, type BatchNormOptions, groupNorm, layerNorm, rmsNorm } from "@dendrite/tensor";
export { type RnnCellMode, rnnLayer, type RnnLayerOutput } from "@dendrite/tensor";
export { checkInterpolateOptions, interpolate, type InterpolateMode, type InterpolateOptions } from "@dendrite/tensor";
export { huberLoss, klDiv, type KlDivOptions, type KlDivReduction, smoothL1Loss } from "@dendrite/tensor";
export {
  type AttentionImplementation,
  type AttentionResult,
  composedAttention,
  scaledDotProductAttention,
  type ScaledDotProductAttentionOptions,
} from "@dendrite/tensor";
export {
  type BceOptions,
  type BceWithLogitsOptions,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  type CrossEntropyOptions,
  dropout,
  dropout2d,
  elu,
  embedding,
  l1Loss,
  leakyRelu,
  mish,
  mseLoss,
  nllLoss,
  type NllOptions,
  type Reduction,
  silu,
  softplus,
} from "@dendrite/tensor";
import { fmtShape, type Tensor } from "@dendrite/tensor";

/** Formats a tensor's shape the way errors print it: `[2, 3]`. */
export function fmtShapeOf(t: Tensor | readonly number[]): string {
  return fmtShape(Array.isArray(t) ? t : (t as Tensor).shape);
}

/**
 * Throws unless `value` is a size a layer can be built with (a non-negative integer), naming the layer as the user
 * wrote it (`Linear(-1, 3): inFeatures must be a non-negative integer, got -1`) rather than the tensor that would
 * fail to be made from it.
 */
export function checkSize(layer: string, what: string, value: unknown): void {
  if (typeof value !== "number") {
    throw new TypeError(`${layer}: ${what} must be a non-negative integer, got ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${layer}: ${what} must be a non-negative integer, got ${value}`);
  }
}
