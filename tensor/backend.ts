/**
 * The Backend contract: the small set of primitive kernels every device
 * implements. Kernels know nothing of autograd, broadcasting rules or dtype
 * promotion; the ops in `tensor/ops/` decide those and hand kernels strided
 * views whose shapes already agree.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import type { Shape } from "./shape.ts";

/** A device name: `"cpu"`, `"webgpu"`, or another registered backend. */
export type Device = string;

/** A refcounted block of device memory holding `length` elements of one dtype. */
export interface Storage {
  /** The device the memory lives on. */
  readonly device: Device;
  /** The element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly length: number;
  /** How many tensors share this storage; the storage is freed when it drops to 0. */
  refs: number;
  /**
   * The version counter (PyTorch's `_version`), owned by the tensor layer: a backend starts it at 0 and never
   * touches it; every write into this existing storage (in-place ops, optimizer updates) bumps it, and autograd
   * compares it with what it saw when an op saved a tensor of this storage for backward.
   */
  version: number;
}

/** A strided window onto a storage: what kernels read. */
export interface View {
  /** The storage read. */
  readonly storage: Storage;
  /** The logical shape. */
  readonly shape: Shape;
  /** Element strides per dimension (0 for broadcast dimensions). */
  readonly strides: readonly number[];
  /** Element offset of the first element. */
  readonly offset: number;
}

/** Elementwise functions of one operand (see `tensor/ops/elementwise_table.ts`). */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "abs"
  | "sign"
  | "relu"
  | "sigmoid"
  | "tanh"
  | "gelu"
  /** SiLU (swish), `x·σ(x)`. */
  | "silu"
  | "sin"
  | "cos"
  | "reciprocal"
  | "floor"
  | "ceil"
  | "round"
  | "logicalNot"
  | "isfinite"
  | "expm1"
  | "log1p"
  | "erf";

/** Elementwise functions of two operands. Comparisons write `bool` outputs. */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "logicalAnd"
  | "logicalOr"
  | "remainder"
  /** ReLU's gradient, PyTorch's `threshold_backward`: `x > 0 ? y : 0` (x the ReLU's input, y the incoming gradient). */
  | "thresholdBackward"
  /** SiLU's gradient: `y·σ(x)·(1 + x·(1 − σ(x)))` (x the SiLU's input, y the incoming gradient), in one pass. */
  | "siluBackward"
  /** Exact GELU's gradient: `y·(Φ(x) + x·φ(x))` (x the GELU's input, y the incoming gradient), in one pass. */
  | "geluBackward";

/** Reductions over the trailing dimensions of a view. */
export type ReduceOp = "sum" | "prod" | "max" | "min" | "argmax" | "argmin";

/**
 * How {@link Backend.scatterReduce} combines a source element with the value at its destination: `assign`
 * overwrites, `sum` adds, `prod` multiplies, `amax`/`amin` keep the larger/smaller (NaN wins).
 */
export type ScatterReduceOp = "assign" | "sum" | "prod" | "amax" | "amin";

/** Which distribution a random fill draws from. */
export type RandomKind = "uniform" | "normal";

/** Geometry of a 2-D convolution, shared by its forward and both backward kernels. */
export interface Conv2dGeometry {
  /** Batch size. */
  readonly n: number;
  /** Input channels. */
  readonly cIn: number;
  /** Input height. */
  readonly h: number;
  /** Input width. */
  readonly w: number;
  /** Output channels. */
  readonly cOut: number;
  /** Kernel height. */
  readonly kh: number;
  /** Kernel width. */
  readonly kw: number;
  /** Vertical stride. */
  readonly strideH: number;
  /** Horizontal stride. */
  readonly strideW: number;
  /** Zero padding above and below. */
  readonly padH: number;
  /** Zero padding left and right. */
  readonly padW: number;
  /** Vertical spacing of kernel taps. */
  readonly dilationH: number;
  /** Horizontal spacing of kernel taps. */
  readonly dilationW: number;
  /** Channel groups (cIn and cOut are divisible by it). */
  readonly groups: number;
  /** Output height. */
  readonly outH: number;
  /** Output width. */
  readonly outW: number;
}

/** Geometry of a 2-D pooling window over NCHW input. */
export interface Pool2dGeometry {
  /** Batch size. */
  readonly n: number;
  /** Channels (pooled each on its own). */
  readonly c: number;
  /** Input height. */
  readonly h: number;
  /** Input width. */
  readonly w: number;
  /** Window height. */
  readonly kh: number;
  /** Window width. */
  readonly kw: number;
  /** Vertical stride. */
  readonly strideH: number;
  /** Horizontal stride. */
  readonly strideW: number;
  /** Padding above and below (-∞ for max pooling, 0 for average pooling). */
  readonly padH: number;
  /** Padding left and right. */
  readonly padW: number;
  /** Vertical spacing of window taps. */
  readonly dilationH: number;
  /** Horizontal spacing of window taps. */
  readonly dilationW: number;
  /** Output height. */
  readonly outH: number;
  /** Output width. */
  readonly outW: number;
  /** For average pooling: whether padded cells count in the divisor. */
  readonly countIncludePad: boolean;
}

/**
 * Geometry of a 2-D interpolation (resize) of NCHW planes `[n, c, h, w]` to
 * `[n, c, outH, outW]`. Which input cells an output cell reads, and with what
 * weights, follows PyTorch's rules and is computed once, by
 * `interpolationTaps` (`tensor/interpolation.ts`), for every backend.
 */
export interface Interpolate2dGeometry {
  /** Batch size. */
  readonly n: number;
  /** Channels. */
  readonly c: number;
  /** Input height. */
  readonly h: number;
  /** Input width. */
  readonly w: number;
  /** Output height. */
  readonly outH: number;
  /** Output width. */
  readonly outW: number;
  /** One tap per axis (nearest) or two (bilinear). */
  readonly mode: "nearest" | "bilinear";
  /** Bilinear only: the corner cells of input and output are aligned (scale `(in − 1)/(out − 1)`). */
  readonly alignCorners: boolean;
  /** The scale factor the caller gave along H, which PyTorch's source-index rule uses as given; null: `in/out`. */
  readonly scaleFactorH: number | null;
  /** The same along W. */
  readonly scaleFactorW: number | null;
}

/** Inputs of the optional fused cross-entropy kernels. */
export interface CrossEntropyArgs {
  /** Logits `[rows, C]` with contiguous rows (strides `[C, 1]`, any offset). */
  readonly logits: View;
  /** int32 class indices `[rows]` (any stride). */
  readonly target: View;
  /** A weight per class `[C]` of the logits' dtype (any stride), or null for all ones. */
  readonly weight: View | null;
  /** A target value whose row contributes nothing. */
  readonly ignoreIndex: number;
  /** ε in [0, 1]: the target mixed with the uniform distribution. */
  readonly labelSmoothing: number;
}

/**
 * Inputs of the optional fused attention kernels ({@link Backend.attentionForward},
 * {@link Backend.attentionBackward}): `B` batches of `H` query heads, `L`
 * queries and `S` keys. Every view's last stride is 1; the other strides are
 * free (a head-interleaved `[B, L, H, E]` tensor is read in place).
 *
 * The scores of query `i` (head `h`) against key `j` are
 * `s = scale·q[b,h,i]·k[b,h',j]` with `h' = ⌊h·Hk/H⌋` (grouped query heads:
 * each key/value head serves `H/Hk` consecutive query heads), then: `-inf`
 * where `isCausal` and `j > i`; `-inf` where a bool mask is false; plus the
 * mask where it is floating. The weights are the row's softmax; a row whose
 * every score is `-inf` has weights 0 (output 0, log-sum-exp `-inf`). With
 * dropout, weight `(b, h, i, j)` is kept when the uniform at counter
 * `offset + ((b·H + h)·L + i)·S + j` of `seed` (see `tensor/random.ts`) is
 * `≥ dropoutP`, and kept weights are scaled by `1/(1 - dropoutP)`.
 */
export interface AttentionArgs {
  /** Queries `[B, H, L, E]`. */
  readonly q: View;
  /** Keys `[B, Hk, S, E]`, `H` a multiple of `Hk`. */
  readonly k: View;
  /** Values `[B, Hk, S, Ev]`. */
  readonly v: View;
  /** A `[B, H, L, S]` view (stride 0 on broadcast dims) of bool (true = attend) or the queries' dtype (added), or null. */
  readonly mask: View | null;
  /** Mask key `j` out of query `i` when `j > i` (top-left aligned, like PyTorch's `is_causal`). */
  readonly isCausal: boolean;
  /** The factor on `q·k`. */
  readonly scale: number;
  /** Probability of zeroing a weight, in [0, 1); 0 for none. */
  readonly dropoutP: number;
  /** Seed of the dropout draws. */
  readonly seed: number;
  /** Counter of the first dropout draw. */
  readonly offset: number;
}

/**
 * Hyperparameters of the optional fused Adam step. Per element (g the gradient,
 * θ the parameter, m, v, v̂ the state):
 * ```
 * g = maximize ? -g : g
 * decoupled ? θ = θ·(1 - lr·λ) : g = g + λ·θ      (only when λ ≠ 0)
 * m = m + (1-β1)·(g - m);  v = β2·v + (1-β2)·g²
 * amsgrad: v̂ = max(v̂, v), used for v below
 * θ = θ - stepSize · m / (√v / biasCorrection2Sqrt + eps)
 * ```
 */
export interface AdamUpdateOptions {
  /** The learning rate. */
  readonly lr: number;
  /** β1: the decay of the first moment m. */
  readonly beta1: number;
  /** β2: the decay of the second moment v. */
  readonly beta2: number;
  /** Added to the denominator. */
  readonly eps: number;
  /** λ. */
  readonly weightDecay: number;
  /** AdamW's decoupled weight decay (true) or Adam's L2 term (false). */
  readonly decoupled: boolean;
  /** Use the running maximum v̂ of v. */
  readonly amsgrad: boolean;
  /** Ascend the objective (negate the gradient). */
  readonly maximize: boolean;
  /** `lr / (1 - β1^t)`. */
  readonly stepSize: number;
  /** `√(1 - β2^t)`. */
  readonly biasCorrection2Sqrt: number;
}

/**
 * Hyperparameters of the optional fused SGD step. Per element:
 * ```
 * g = maximize ? -g : g;  g = g + λ·θ
 * if μ ≠ 0: b = firstStep ? g : μ·b + (1-τ)·g;  g = nesterov ? g + μ·b : b
 * θ = θ - lr·g
 * ```
 */
export interface SgdUpdateOptions {
  /** The learning rate. */
  readonly lr: number;
  /** μ. */
  readonly momentum: number;
  /** τ. */
  readonly dampening: number;
  /** λ. */
  readonly weightDecay: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  /** Ascend the objective (negate the gradient). */
  readonly maximize: boolean;
  /** Whether the momentum buffer is written fresh (`b = g`) rather than updated. */
  readonly firstStep: boolean;
}

/**
 * Which recurrent cell a fused gate kernel computes (PyTorch's equations and
 * gate order). With G the gate width, H the hidden size:
 * - `lstm` (G = 4H, gates i, f, g, o): `i, f, o = σ(·)`, `g = tanh(·)`,
 *   `c = f·c_prev + i·g`, `h = o·tanh(c)`;
 * - `gru` (G = 3H, gates r, z, n): `r, z = σ(x_r + h_r)`, `σ(x_z + h_z)`,
 *   `n = tanh(x_n + r·h_n)`, `h = (1 - z)·n + z·h_prev`, where the h-side
 *   gates include `b_hh` (so `b_hn` sits inside the reset product);
 * - `rnnTanh`, `rnnRelu` (G = H): `h = act(x + h)`.
 */
export type RnnCellMode = "lstm" | "gru" | "rnnTanh" | "rnnRelu";

/**
 * Inputs and outputs of {@link Backend.rnnCellForward}: one time step of
 * `rows` sequences. Every view is a block of whole rows (`[rows, width]`,
 * strides `[width, 1]`, any offset) of the layer's dtype; outputs are written
 * in place.
 */
export interface RnnCellForwardArgs {
  /** The cell. */
  readonly mode: RnnCellMode;
  /** The input side of the gates `[rows, G]`: `x·W_ihᵀ + b_ih`, plus `b_hh` except for GRU. */
  readonly xGates: View;
  /** The recurrent side `[rows, G]`: `h_prev·W_hhᵀ`, without bias. */
  readonly hGates: View;
  /** GRU: `b_hh` `[G]`, added to the recurrent side inside the cell (null: no bias); null for the others. */
  readonly hBias: View | null;
  /** The previous state the pointwise maths reads: LSTM `c_prev`, GRU `h_prev` (`[rows, H]`); null for RNN. */
  readonly prev: View | null;
  /** Output `h` `[rows, H]` (LSTM: `o·tanh(c)`, before any projection). */
  readonly h: View;
  /** LSTM: output `c` `[rows, H]`; null otherwise. */
  readonly c: View | null;
  /** Activations the backward reads `[rows, 4H]`: LSTM `i, f, g, o`; GRU `r, z, n, h_n` (with `b_hn`); null for RNN. */
  readonly saved: View | null;
}

/**
 * Inputs and outputs of {@link Backend.rnnCellBackward} (views as in
 * {@link RnnCellForwardArgs}). The gradient reaching this step's `h` is
 * `gradH` plus, in rows below `recRows`, the sum of `gradHRec` (what flows
 * back through the recurrence from the next step: `dG·W_hh`, and GRU's
 * direct `dh·z`).
 */
export interface RnnCellBackwardArgs {
  /** The cell. */
  readonly mode: RnnCellMode;
  /** This step's own gradient of `h` `[rows, H]`. */
  readonly gradH: View;
  /** Gradients of `h` from the next step, each `[≥ recRows, H]` (rows ≥ recRows count as 0). */
  readonly gradHRec: readonly View[];
  /** How many leading rows `gradHRec` and `gradCRec` cover (0: none). */
  readonly recRows: number;
  /** LSTM: this step's own gradient of `c` `[rows, H]`; null otherwise. */
  readonly gradC: View | null;
  /** LSTM: the gradient of `c` from the next step `[≥ recRows, H]`, or null. */
  readonly gradCRec: View | null;
  /** The forward's `saved` (LSTM, GRU), else null. */
  readonly saved: View | null;
  /** The forward's `prev` (LSTM `c_prev`, GRU `h_prev`), else null. */
  readonly prev: View | null;
  /** LSTM: the forward's `c`; RNN: the forward's `h`; null for GRU. */
  readonly out: View | null;
  /** Output: the gradient of the input-side gates `[rows, G]`. */
  readonly gradXGates: View;
  /** GRU output: the gradient of the recurrent-side gates with `b_hh` `[rows, G]`; null otherwise. */
  readonly gradHGates: View | null;
  /** Output: LSTM `dL/dc_prev`; GRU the direct part of `dL/dh_prev`, `dh·z` (`[rows, H]`); null for RNN. */
  readonly gradPrev: View | null;
}

/**
 * What {@link Backend.assertValues} checks every element against: it must be finite (NaN and ±Inf always fail) and
 * inside `[min, max]` where those are given — or equal `except` (an `ignoreIndex`), which always passes.
 */
export interface ValueCheck {
  /** The smallest allowed value (inclusive). */
  readonly min?: number;
  /** The largest allowed value (inclusive). */
  readonly max?: number;
  /** A value allowed wherever it is. */
  readonly except?: number;
}

/** The largest storage a device can allocate (see {@link Backend.storageLimit}). */
export interface StorageLimit {
  /** The most elements one storage can hold. */
  readonly elements: number;
  /** Bytes one element takes on this device. */
  readonly bytesPerElement: number;
  /** What sets the limit, for error messages (e.g. `the device's maxBufferSize of 2147483648 bytes`). */
  readonly limit: string;
}

/** Output storages of {@link Backend.batchNormBackward}: contiguous, of the input's dtype; null to skip. */
export interface BatchNormGrads {
  /** Gradient for x, `[n, c, s]`. */
  readonly input: Storage | null;
  /** Gradient for the weight, `[c]`. */
  readonly weight: Storage | null;
  /** Gradient for the bias, `[c]`. */
  readonly bias: Storage | null;
}

/**
 * What a device implements. Every output is a fresh contiguous storage the
 * caller allocated with {@link Backend.alloc}; inputs are strided views of the
 * same device. Inputs of binary/ternary kernels have the output's dtype
 * (the ops layer casts first), except comparisons and logical ops, which
 * write `bool`.
 */
export interface Backend {
  /** The device name this backend serves. */
  readonly device: Device;

  /** Allocates zeroed storage. */
  alloc(dtype: DType, length: number): Storage;
  /**
   * Optional: the largest storage of `dtype` this device can allocate. The ops layer refuses a bigger tensor before
   * trying, naming the op, the shape and the bytes asked for (rather than the engine's "allocation failed").
   */
  storageLimit?(dtype: DType): StorageLimit;
  /** Copies host data into new storage. */
  upload(data: TypedArray): Storage;
  /** Reads a storage back to the host. */
  read(storage: Storage): Promise<TypedArray>;
  /** Reads synchronously where the device allows it (the CPU): a copy the caller owns; undefined elsewhere. */
  readSync?(storage: Storage): TypedArray;
  /** Releases device memory now. */
  free(storage: Storage): void;

  /** Writes the elements of `src` into the (possibly strided) view `dst` of the same shape, converting dtype if they differ. */
  copy(src: View, dst: View): void;
  /** Sets every element of `out` to `value`. */
  fill(out: Storage, value: number): void;
  /** `out = op(a)` elementwise. */
  unary(op: UnaryOp, a: View, out: Storage): void;
  /** `out = op(a, b)` elementwise; views share `shape`; a number is a scalar operand. */
  binary(op: BinaryOp, a: View | number, b: View | number, out: Storage, shape: Shape): void;
  /** `out = cond ? a : b` elementwise; views share `shape`. */
  where(cond: View, a: View | number, b: View | number, out: Storage, shape: Shape): void;
  /**
   * Reduces the last `reduceDims` dimensions of `a`; `out` holds one value per
   * leading index (int32 indices into the flattened reduced block for argmax/argmin).
   */
  reduce(op: ReduceOp, a: View, reduceDims: number, out: Storage): void;
  /** Batched matrix product: a `[...batch, M, K]`, b `[...batch, K, N]` (same batch shape) into out `[...batch, M, N]`. */
  matmul(a: View, b: View, out: Storage): void;
  /** `out[i][j] = a[i][index[i][j]]` along `dim` (out has index's shape). */
  gather(a: View, dim: number, index: View, out: Storage): void;
  /** `out[...index[i][j]...] += src[i][j]` along `dim`, in place on a contiguous `out` of `outShape` ({@link Backend.scatterReduce} with `sum`). */
  scatterAdd(out: Storage, outShape: Shape, dim: number, index: View, src: View): void;
  /**
   * `out[...index[i][j]...] = op(out[...index[i][j]...], src[i][j])` along `dim` (the index picks the position along
   * `dim`, every other coordinate is the element's own), in place on a contiguous `out` of `outShape`. `src` is a
   * view of the index's shape in out's dtype, or a number used for every element. Indices must lie in
   * `[0, outShape[dim])`: a backend that can throw checks them all before writing anything; one that cannot (a GPU)
   * reports the first bad one at the next read-back and skips it. Several elements with one destination: `sum` and
   * `prod` combine them all in an unspecified order (float results may differ in the last bits between backends),
   * `amax`/`amin` keep the extreme, `assign` keeps one of them (which one is unspecified, as in PyTorch).
   */
  scatterReduce(op: ScatterReduceOp, out: Storage, outShape: Shape, dim: number, index: View, src: View | number): void;
  /** (Log-)softmax over the last dimension of a contiguous `[rows, cols]` view. */
  softmax(a: View, out: Storage, log: boolean): void;
  /** Fills `out` with counter-based random numbers from `(seed, offset)` (see `tensor/random.ts`). */
  random(kind: RandomKind, out: Storage, seed: number, offset: number): void;

  /**
   * Optional fused update `out[i] += alpha * x[i]` in place, where `out` is a
   * contiguous storage of `x.shape` (x may be strided or broadcast). Optimizers'
   * `p.add_(g, alpha)` uses it to update in one pass without temporaries; the
   * ops fall back to `mul` + `add` + `copy` on backends without it.
   */
  axpy?(out: Storage, x: View, alpha: number): void;

  /**
   * Optional fused cross-entropy of logits against class indices (see
   * {@link CrossEntropyArgs}). Per row r, with t = target[r], w = weight (all 1
   * when null), W = Σ_c w_c, ε = labelSmoothing, lse = log Σ_c exp(x[r,c]):
   * `loss[r] = (1-ε)·w_t·(lse - x[r,t]) + ε/C·Σ_c w_c·(lse - x[r,c])`,
   * `rowWeight[r] = w_t`, and `saved[2r] = lse`, `saved[2r+1] = (1-ε)·w_t + ε/C·W`
   * (what the backward reads); a row whose target is `ignoreIndex` gets 0 in
   * `loss`, `rowWeight` and `saved[2r+1]`. Outputs are contiguous `[rows]`,
   * `[rows]` and `[rows, 2]` of the logits' dtype.
   */
  crossEntropyForward?(args: CrossEntropyArgs, loss: Storage, rowWeight: Storage, saved: Storage): void;
  /**
   * Optional gradient of {@link Backend.crossEntropyForward} with respect to the
   * logits, into out `[rows, C]`: `gradLoss[r]·(exp(x[r,c] - lse)·saved[2r+1]
   * - (1-ε)·w_t·[c = t] - ε/C·w_c)`, and 0 on ignored rows. `saved` is the
   * forward's `[rows, 2]` output; `gradLoss` is `[rows]` (strided or stride 0).
   */
  crossEntropyBackward?(args: CrossEntropyArgs, saved: View, gradLoss: View, out: Storage): void;
  /**
   * Optional fused Adam/AdamW step over whole storages of one length, in place
   * (see {@link AdamUpdateOptions} for the update). `grad` is a contiguous view
   * of that many elements; `maxExpAvgSq` is null unless `o.amsgrad`.
   */
  adamUpdate?(
    param: Storage,
    grad: View,
    expAvg: Storage,
    expAvgSq: Storage,
    maxExpAvgSq: Storage | null,
    o: AdamUpdateOptions,
  ): void;
  /**
   * Optional fused SGD step over whole storages of one length, in place (see
   * {@link SgdUpdateOptions}). `grad` is a contiguous view of that many
   * elements; `momentumBuffer` is null when `o.momentum` is 0.
   */
  sgdUpdate?(param: Storage, grad: View, momentumBuffer: Storage | null, o: SgdUpdateOptions): void;

  /**
   * Optional fused pointwise maths of one recurrent step (see
   * {@link RnnCellMode} and {@link RnnCellForwardArgs}): the gates'
   * activations, the new state and the activations the backward needs, in one
   * pass. Recurrent layers fall back to composed tensor ops without it.
   */
  rnnCellForward?(args: RnnCellForwardArgs): void;
  /**
   * Optional gradient of {@link Backend.rnnCellForward} (see
   * {@link RnnCellBackwardArgs}), with `dh` the summed gradient of `h`:
   * - LSTM: `dc = gradC + gradCRec + dh·o·(1 - tanh²c)`; gates `[dc·g·i(1-i),
   *   dc·c_prev·f(1-f), dc·i·(1-g²), dh·tanh(c)·o(1-o)]`; `gradPrev = dc·f`;
   * - GRU: `dn = dh·(1-z)·(1-n²)`, `dz = dh·(h_prev - n)·z(1-z)`,
   *   `dr = dn·h_n·r(1-r)`; `gradXGates = [dr, dz, dn]`, `gradHGates = [dr, dz,
   *   dn·r]`, `gradPrev = dh·z`;
   * - RNN: `dh·(1 - h²)` (tanh) or `dh·[h > 0]` (ReLU).
   */
  rnnCellBackward?(args: RnnCellBackwardArgs): void;

  /**
   * Optional device-side assertion, for devices that cannot read synchronously (a device that can is checked by
   * the ops layer directly): checks every element of `x` against `check` in a kernel that records the first failure
   * on the device, and throws `error(value, flatIndex)` at the backend's next read-back or synchronisation, whichever
   * tensor that is for — the way CUDA's device asserts surface. `key` identifies the check and its message (equal
   * keys, equal errors), so a backend can register each distinct check once.
   */
  assertValues?(x: View, check: ValueCheck, key: string, error: (value: number, index: number) => Error): void;

  /**
   * Optional fused attention forward, FlashAttention-style (see
   * {@link AttentionArgs} for the meaning): writes `out` `[B, H, L, Ev]` and
   * the log-sum-exp of each row's scores `lse` `[B, H, L]` (both contiguous),
   * without materialising the `L×S` scores. The ops fall back to the composed
   * `softmax(q·kᵀ·scale + mask)·v` on backends without it.
   */
  attentionForward?(args: AttentionArgs, out: Storage, lse: Storage): void;
  /**
   * Optional gradient of {@link Backend.attentionForward}: given its `out` and
   * `lse` and `gradOut` `[B, H, L, Ev]` (last stride 1), writes contiguous
   * `gradQ` `[B, H, L, E]`, `gradK` `[B, Hk, S, E]` and `gradV` `[B, Hk, S, Ev]`
   * (key/value gradients summed over the query heads that share them),
   * recomputing the weights from `lse` rather than reading them back.
   */
  attentionBackward?(
    args: AttentionArgs,
    out: View,
    lse: View,
    gradOut: View,
    gradQ: Storage,
    gradK: Storage,
    gradV: Storage,
  ): void;

  /** Convolution forward: x `[n,cIn,h,w]`, w `[cOut,cIn/groups,kh,kw]` into out `[n,cOut,outH,outW]` (contiguous inputs). */
  conv2d(x: View, weight: View, out: Storage, g: Conv2dGeometry): void;
  /** Gradient of the convolution with respect to its input, into out `[n,cIn,h,w]`. */
  conv2dBackwardInput(gradOut: View, weight: View, out: Storage, g: Conv2dGeometry): void;
  /** Gradient of the convolution with respect to its weight, into out `[cOut,cIn/groups,kh,kw]`. */
  conv2dBackwardWeight(gradOut: View, x: View, out: Storage, g: Conv2dGeometry): void;
  /** Max pooling: writes values to `out` and the flat `h*w` argmax of each window to `indices` (int32). */
  maxPool2d(x: View, out: Storage, indices: Storage, g: Pool2dGeometry): void;
  /** Scatters pooled gradients back to the argmax positions, into out `[n,c,h,w]` (zeroed by the caller). */
  maxPool2dBackward(gradOut: View, indices: View, out: Storage, g: Pool2dGeometry): void;
  /** Average pooling forward. */
  avgPool2d(x: View, out: Storage, g: Pool2dGeometry): void;
  /** Average pooling backward, into out `[n,c,h,w]`. */
  avgPool2dBackward(gradOut: View, out: Storage, g: Pool2dGeometry): void;
  /**
   * Interpolation of x `[n,c,h,w]` (any strides) into out `[n,c,outH,outW]`: with the taps `t` of
   * `interpolationTaps(g)`, `out[p, oh, ow] = Σ_{a,b ∈ {0,1}} t.h.l_a[oh]·t.w.l_b[ow]·x[p, t.h.i_a[oh], t.w.i_b[ow]]`.
   */
  interpolate2d(x: View, out: Storage, g: Interpolate2dGeometry): void;
  /** Gradient of {@link Backend.interpolate2d} for gradOut `[n,c,outH,outW]` (any strides), into out `[n,c,h,w]`. */
  interpolate2dBackward(gradOut: View, out: Storage, g: Interpolate2dGeometry): void;

  /**
   * Per-channel statistics of x `[n, c, s]` (any strides), over the `n·s`
   * values of each channel: `mean[ch]`, `invStd[ch] = 1 / √(var + eps)` with
   * the biased variance `var`, which is also written to `variance` when given.
   * Outputs are contiguous `[c]` storages of x's dtype; `n·s` ≥ 1.
   */
  batchNormStats(x: View, eps: number, mean: Storage, invStd: Storage, variance: Storage | null): void;
  /**
   * `out[i, ch, j] = (x[i, ch, j] - mean[ch])·invStd[ch]·weight[ch] + bias[ch]`
   * for x `[n, c, s]` (any strides) into a contiguous out `[n, c, s]`; mean,
   * invStd, weight and bias are `[c]` views of x's dtype (any stride), weight
   * 1 and bias 0 when null.
   */
  batchNormForward(x: View, mean: View, invStd: View, weight: View | null, bias: View | null, out: Storage): void;
  /**
   * Gradients of {@link Backend.batchNormForward} given gradOut `[n, c, s]`
   * (views as there). With x̂ = (x - mean)·invStd, k = invStd·weight and sums
   * over the `M = n·s` values of a channel: `grads.bias[ch] = Σ gradOut`,
   * `grads.weight[ch] = Σ gradOut·x̂`, and `grads.input = k·gradOut` or, when
   * `batchStats` (mean and invStd are x's own statistics, so they depend on x),
   * `grads.input = k·(gradOut - Σ gradOut / M - x̂·Σ gradOut·x̂ / M)`. Null
   * outputs are not computed.
   */
  batchNormBackward(
    gradOut: View,
    x: View,
    mean: View,
    invStd: View,
    weight: View | null,
    batchStats: boolean,
    grads: BatchNormGrads,
  ): void;
}

const backends = new Map<Device, Backend>();

/** Makes a backend available under its device name (the CPU backend registers itself). */
export function registerBackend(backend: Backend): void {
  backends.set(backend.device, backend);
}

/** The backend serving `device`, or a clear error when none is registered. */
export function getBackend(device: Device): Backend {
  const b = backends.get(device);
  if (!b) {
    const hint = device === "webgpu" ? " (call `await gpu.useWebGPU()` first)" : "";
    throw new Error(
      `no backend is registered for device "${device}"${hint}; available: ${[...backends.keys()].join(", ")}`,
    );
  }
  return b;
}

/** Whether a backend is registered for `device`. */
export function hasBackend(device: Device): boolean {
  return backends.has(device);
}

let defaultDevice: Device = "cpu";

/** The device new tensors are created on when none is given. */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** Sets the device new tensors are created on when none is given. */
export function setDefaultDevice(device: Device): void {
  getBackend(device);
  defaultDevice = device;
}
