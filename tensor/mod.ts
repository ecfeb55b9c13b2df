/**
 * Tensors on the CPU (and any registered backend): creation, math with
 * broadcasting, reductions, matmul, softmax, joining, indexing, views and
 * autograd. The functions here are also exported from the root `mod.ts`.
 *
 * @example
 * ```ts
 * import { manualSeed, randn, tensor } from "./mod.ts";
 * manualSeed(0);
 * const w = randn([3, 2]).requiresGrad_();
 * const x = tensor([[1, 2, 3]]);
 * const loss = x.matmul(w).relu().sum();
 * loss.backward();
 * console.log(w.grad?.shape); // [3, 2]
 * ```
 *
 * @module
 */

import "./cpu/backend.ts";
import { Tensor, type TensorOrScalar } from "./tensor.ts";
import * as binaryOps from "./ops/binary.ts";
import * as unaryOps from "./ops/unary.ts";
import * as joinOps from "./ops/join.ts";
import * as indexOps from "./ops/indexing.ts";
import * as mm from "./ops/matmul.ts";
import * as sm from "./ops/softmax.ts";
import * as scatterOps from "./ops/scatter.ts";
import * as maskedOps from "./ops/masked.ts";
import * as viewOps from "./ops/views.ts";

export {
  checkGradFits,
  type Layout,
  type NestedArray,
  ownsStorage,
  type ReduceOptions,
  Tensor,
  type TensorNode,
  type TensorOrScalar,
  type VarOptions,
  zeroGrads,
} from "./tensor.ts";
export type { DType, TypedArray } from "./dtype.ts";
export { dtypeOfArray, isFloating, promoteTypes } from "./dtype.ts";
export {
  broadcastShapes,
  collapseDims,
  contiguousStrides,
  fmtShape,
  isContiguous,
  numel,
  type Shape,
} from "./shape.ts";
export {
  type AdamUpdateOptions,
  type AttentionArgs,
  type Backend,
  type BatchNormGrads,
  type BinaryOp,
  type Conv2dGeometry,
  type CrossEntropyArgs,
  type Device,
  getBackend,
  getDefaultDevice,
  hasBackend,
  type Interpolate2dGeometry,
  type Pool2dGeometry,
  type RandomKind,
  type ReduceOp,
  registerBackend,
  type RnnCellBackwardArgs,
  type RnnCellForwardArgs,
  type RnnCellMode,
  type ScatterReduceOp,
  setDefaultDevice,
  type SgdUpdateOptions,
  type Storage,
  type StorageLimit,
  type UnaryOp,
  type ValueCheck,
  type View,
} from "./backend.ts";
export { type CpuBackend, cpuBackend } from "./cpu/backend.ts";
export {
  type BlasStatus,
  type CpuInfo,
  cpuInfo,
  type CpuKernels,
  cpuThreadsReady,
  getCpuHeapLimit,
  getCpuKernels,
  getNumThreads,
  setCpuBlas,
  setCpuHeapLimit,
  setCpuKernels,
  setNumThreads,
  wasmKernelKind,
} from "./cpu/kernels.ts";
export { BINARY_TABLE, type ElementwiseSpec, UNARY_TABLE } from "./elementwise_table.ts";
export { defaultGenerator, Generator, manualSeed, pcgHash } from "./random.ts";
export {
  arange,
  eye,
  full,
  fullLike,
  linspace,
  type NestedValues,
  ones,
  onesLike,
  rand,
  randint,
  randLike,
  randn,
  randnLike,
  type RandomOptions,
  tensor,
  type TensorOptions,
  zeros,
  zerosLike,
} from "./ops/creation.ts";
export { toDevice } from "./ops/convert.ts";
export { einsum } from "./ops/einsum.ts";
export { repeatInterleave } from "./ops/repeat.ts";
export { addbmm, addmm, type AddmmOptions, baddbmm, bmm } from "./ops/matmul.ts";
export { maskedScatterAsync, maskedSelectAsync } from "./ops/masked.ts";
export {
  type IndexAddOptions,
  type ScatterOptions,
  type ScatterReduceOptions,
  type ScatterReduction,
} from "./ops/scatter.ts";
export * as sparse from "./sparse_ops.ts";
export {
  isSparseTensor,
  type SparseCooOptions,
  sparseCooTensor,
  sparseMask,
  SparseTensor,
  summedDuplicates,
} from "./sparse.ts";
export { record, sumToShape } from "./ops/core.ts";
export { isTracing, type OpTracer, traced, type TracedInput, type TracedOp, untraced, withOpTracer } from "./trace.ts";
export { gradcheck, type GradcheckOptions, gradgradcheck, type GradgradcheckOptions } from "./gradcheck.ts";
export { grad, type GradOptions } from "./grad.ts";
export { AutogradFunction, type AutogradFunctionClass, FunctionCtx, type FunctionGradients } from "./function.ts";
export { type Disposable, isKept, keep, liveTensors, tidy } from "./memory.ts";
export {
  conv2d,
  type Conv2dOptions,
  type Conv2dPadding,
  pair,
  type Size2,
  unfold,
  type UnfoldOptions,
  windowOutSize,
} from "./ops/conv.ts";
export { convTranspose2d, type ConvTranspose2dOptions, convTransposeOutSize } from "./ops/conv_transpose.ts";
export {
  checkInterpolateOptions,
  interpolate,
  interpolateGeometry,
  type InterpolateMode,
  type InterpolateOptions,
} from "./ops/interpolate.ts";
export { type AxisTaps, axisTaps, interpolationTaps, inverseTaps } from "./interpolation.ts";
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type MaxPool2dOptions,
  maxPool2dWithIndices,
} from "./ops/pool.ts";
export { batchNorm, type BatchNormOptions, groupNorm, layerNorm, rmsNorm } from "./ops/norm.ts";
export { huberLoss, klDiv, type KlDivOptions, type KlDivReduction, smoothL1Loss } from "./ops/losses.ts";
export {
  isFusedRnnEnabled,
  rnnLayer,
  type RnnLayerInputs,
  type RnnLayerOptions,
  type RnnLayerOutput,
  setFusedRnn,
} from "./ops/rnn.ts";
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
} from "./ops/nn_ops.ts";
export {
  type AttentionImplementation,
  type AttentionResult,
  composedAttention,
  scaledDotProductAttention,
  type ScaledDotProductAttentionOptions,
} from "./ops/attention.ts";
export { detectAnomaly, enableGrad, isGradEnabled, noGrad, setDetectAnomaly } from "@dendrite/autograd";

/** Concatenates tensors along an existing dim (like `torch.cat`). */
export const cat: (tensors: readonly Tensor[], dim?: number) => Tensor = joinOps.cat;
/** Stacks same-shaped tensors along a new dim (like `torch.stack`). */
export const stack: (tensors: readonly Tensor[], dim?: number) => Tensor = joinOps.stack;
/** One-hot encoding of int32 class indices (like `torch.nn.functional.one_hot`). */
export const oneHot: (index: Tensor, numClasses?: number) => Tensor = indexOps.oneHot;
/** `condition ? a : b`, broadcasting (like `torch.where`). */
export const where: (condition: Tensor, a: TensorOrScalar, b: TensorOrScalar) => Tensor = binaryOps.where;
/** Matrix product (like `torch.matmul`). */
export const matmul: (a: Tensor, b: Tensor) => Tensor = mm.matmul;
/** Softmax along `dim`. */
export const softmax: (x: Tensor, dim: number) => Tensor = sm.softmax;
/** Log-softmax along `dim`. */
export const logSoftmax: (x: Tensor, dim: number) => Tensor = sm.logSoftmax;
/** Elementwise maximum (like `torch.maximum`). */
export const maximum: (a: TensorOrScalar, b: TensorOrScalar) => Tensor = binaryOps.maximum;
/** Elementwise minimum (like `torch.minimum`). */
export const minimum: (a: TensorOrScalar, b: TensorOrScalar) => Tensor = binaryOps.minimum;
/** The Gauss error function. */
export const erf: (x: Tensor) => Tensor = unaryOps.erf;
/** Whether `x` is a Tensor. */
export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
/** Writes `src` (a tensor or a number) into a copy of `x` at `index` along `dim` (like `torch.scatter`). */
export const scatter: (
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor | number,
  options?: scatterOps.ScatterOptions,
) => Tensor = scatterOps.scatter;
/** Adds `src` into a copy of `x` at `index` along `dim` (like `torch.scatter_add`). */
export const scatterAdd: (x: Tensor, dim: number, index: Tensor, src: Tensor) => Tensor = scatterOps.scatterAdd;
/** Reduces `src` into a copy of `x` at `index` along `dim` (like `torch.scatter_reduce`). */
export const scatterReduce: (
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: scatterOps.ScatterReduction,
  options?: scatterOps.ScatterReduceOptions,
) => Tensor = scatterOps.scatterReduce;
/** Adds `alpha·source` slices into a copy of `x` at a 1-D `index` along `dim` (like `torch.index_add`). */
export const indexAdd: (
  x: Tensor,
  dim: number,
  index: Tensor,
  source: Tensor,
  options?: scatterOps.IndexAddOptions,
) => Tensor = scatterOps.indexAdd;
/** Slices of `x` along `dim` picked by a 1-D int32 `index` (like `torch.index_select`). */
export const indexSelect: (x: Tensor, dim: number, index: Tensor) => Tensor = indexOps.indexSelect;
/** Gathers `x` along `dim` at `index` (like `torch.gather`). */
export const gather: (x: Tensor, dim: number, index: Tensor) => Tensor = indexOps.gather;
/** `x` with `value` where the broadcast `mask` is true (like `torch.masked_fill`). */
export const maskedFill: (x: Tensor, mask: Tensor, value: number | Tensor) => Tensor = maskedOps.maskedFill;
/** The elements of `x` where `mask` is true, 1-D (like `torch.masked_select`; CPU, else `maskedSelectAsync`). */
export const maskedSelect: (x: Tensor, mask: Tensor) => Tensor = maskedOps.maskedSelect;
/** `x` with the true positions of `mask` taking `source`'s elements in order (like `torch.masked_scatter`). */
export const maskedScatter: (x: Tensor, mask: Tensor, source: Tensor) => Tensor = maskedOps.maskedScatter;
/** The `offset`-th diagonal of dims `dim1`, `dim2` as a view (like `torch.diagonal`). */
export const diagonal: (x: Tensor, offset?: number, dim1?: number, dim2?: number) => Tensor = viewOps.diagonal;
