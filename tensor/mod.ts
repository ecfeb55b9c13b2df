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

export {
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
  type Backend,
  type BatchNormGrads,
  type BinaryOp,
  type Conv2dGeometry,
  type CrossEntropyArgs,
  type Device,
  getBackend,
  getDefaultDevice,
  hasBackend,
  type Pool2dGeometry,
  type RandomKind,
  type ReduceOp,
  registerBackend,
  type ScatterReduceOp,
  setDefaultDevice,
  type SgdUpdateOptions,
  type Storage,
  type UnaryOp,
  type View,
} from "./backend.ts";
export { cpuBackend } from "./cpu/backend.ts";
export {
  cpuThreadsReady,
  getCpuHeapLimit,
  getCpuKernels,
  getNumThreads,
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
export { record, sumToShape } from "./ops/core.ts";
export { gradcheck, type GradcheckOptions } from "./gradcheck.ts";
export { isKept, keep, liveTensors, tidy } from "./memory.ts";
export { conv2d, type Conv2dOptions, type Conv2dPadding, pair, type Size2, windowOutSize } from "./ops/conv.ts";
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type MaxPool2dOptions,
  maxPool2dWithIndices,
} from "./ops/pool.ts";
export { batchNorm, type BatchNormOptions, layerNorm } from "./ops/norm.ts";
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
} from "./ops/nn_ops.ts";
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
