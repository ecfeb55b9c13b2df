/**
 * The Tensor: a strided view onto refcounted device storage, with autograd
 * bookkeeping. Methods mirror PyTorch's in camelCase and delegate to the op
 * families in `ops/`.
 *
 * @module
 */

import { type BackwardOptions, type GradHook, isGradEnabled, Node, noGrad, runBackward } from "@dendrite/autograd";
import { type Device, getBackend, type Storage, type View } from "./backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { contiguousStrides, fmtShape, isContiguous, numel, type Shape, shapesEqual } from "./shape.ts";
import * as views from "./ops/views.ts";
import * as unary from "./ops/unary.ts";
import * as binary from "./ops/binary.ts";
import * as reduce from "./ops/reduce.ts";
import * as linalg from "./ops/matmul.ts";
import * as softmaxOps from "./ops/softmax.ts";
import * as join from "./ops/join.ts";
import * as indexing from "./ops/indexing.ts";
import * as scatterOps from "./ops/scatter.ts";
import * as masked from "./ops/masked.ts";
import * as repeat from "./ops/repeat.ts";
import * as convert from "./ops/convert.ts";
import * as inplace from "./ops/inplace.ts";
import { formatTensor } from "./format.ts";
import { keep, trackTensor, untrackTensor } from "./memory.ts";
import { traceCreated, traced, traceRead, untraced } from "./trace.ts";

/** A value accepted wherever a tensor operand is: a tensor or a plain number (a scalar). */
export type TensorOrScalar = Tensor | number;

/** Options of reductions along dimensions. */
export interface ReduceOptions {
  /** Keep reduced dimensions with size 1 (default false). */
  keepdim?: boolean;
}

/** Options of `var` and `std`. */
export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: divide by N - correction (default 1, PyTorch's unbiased estimate). */
  correction?: number;
}

/** How a tensor stores its elements: dense with strides, or sparse COO (indices and values). */
export type Layout = "strided" | "sparseCoo";

/**
 * What a sparse tensor (`tensor/sparse.ts`, which imports this file, so this one names it only by shape) offers the
 * dense methods that accept it as an operand.
 */
interface SparseOperand {
  /** `dense + alpha * this`, as a new dense tensor (recorded for autograd). */
  _addToDense(dense: Tensor, alpha: number): Tensor;
  /** `dense += alpha * this` in place, touching only this tensor's entries. */
  _addIntoDense_(dense: Tensor, alpha: number, op: string): void;
}

/** A node of the autograd graph over tensors. */
export type TensorNode = Node<Tensor>;

/** Nested arrays of numbers or booleans, the values `tolist()` returns. */
export type NestedArray = number | boolean | NestedArray[];

/**
 * An n-dimensional array on a device, with PyTorch's semantics: row-major
 * strides, views that share storage, NumPy broadcasting, and autograd.
 * Create tensors with `tensor`, `zeros`, `randn`, …, not with `new`.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * const a = tensor([[1, 2], [3, 4]]);
 * const b = a.matmul(a.t()).add(1);
 * console.log(await b.tolist()); // [[6, 12], [12, 26]]
 * ```
 */
export class Tensor implements View {
  /** The storage this tensor reads (shared with its views). */
  readonly storage: Storage;
  /** Sizes per dimension. */
  readonly shape: readonly number[];
  /** Element strides per dimension. */
  readonly strides: readonly number[];
  /** Element offset into the storage. */
  readonly offset: number;
  #grad: Tensor | null = null;
  /** The node that produced this tensor, or null for leaves. */
  gradFn: TensorNode | null = null;
  #requiresGrad = false;
  #accumulator: TensorNode | null = null;
  #disposed = false;
  #retainsGrad = false;

  /** Internal: wraps storage. Use the creation functions instead. */
  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    this.storage = storage;
    this.shape = shape.slice();
    this.strides = strides ? strides.slice() : contiguousStrides(shape);
    this.offset = offset;
    storage.refs++;
    trackTensor(this);
    traceCreated(this);
  }

  // ---- metadata -------------------------------------------------------------------------------

  /** The element type. */
  get dtype(): DType {
    return this.storage.dtype;
  }

  /** The device the data lives on. */
  get device(): Device {
    return this.storage.device;
  }

  /** The number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** The number of elements. */
  numel(): number {
    return numel(this.shape);
  }

  /** The shape, or the size of one dimension (negative dims count from the end). */
  size(): number[];
  /** The size of dimension `dim` (negative counts from the end). */
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape.slice();
    return this.shape[views.dimOf(this, "size", dim)];
  }

  /** Element strides, or the stride of one dimension. */
  stride(): number[];
  /** The element stride of dimension `dim`. */
  stride(dim: number): number;
  stride(dim?: number): number | number[] {
    if (dim === undefined) return this.strides.slice();
    return this.strides[views.dimOf(this, "stride", dim)];
  }

  /**
   * Whether this is a sparse COO tensor (`sparseCooTensor`, or the gradient of an `Embedding({ sparse: true })`).
   * Dense ops refuse sparse tensors with an error naming the op; see `tensor/sparse.ts` for what they support.
   */
  get isSparse(): boolean {
    return false;
  }

  /** How the elements are stored: `"strided"` (dense) or `"sparseCoo"` (PyTorch's `torch.strided` / `torch.sparse_coo`). */
  get layout(): Layout {
    return "strided";
  }

  /** Whether the elements are laid out row-major without gaps. */
  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  // ---- autograd -------------------------------------------------------------------------------

  /** Whether gradients flow to this tensor. */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }

  set requiresGrad(on: boolean) {
    this.requiresGrad_(on);
  }

  /**
   * The gradient accumulated by `backward()` (leaves, or tensors that called
   * `retainGrad()`). A tensor stored here is kept: it survives `tidy` scopes.
   */
  get grad(): Tensor | null {
    return this.#grad;
  }

  /**
   * Assigning checks what PyTorch checks, before anything changes: a gradient has this tensor's shape, dtype and
   * device (an optimizer would otherwise broadcast a wrong one into the parameter), and is alive.
   */
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) throw new TypeError(`grad: the gradient must be a Tensor or null, got ${typeof g}`);
      checkGradFits(this, g);
      keep(g);
    }
    this.#grad = g;
  }

  /**
   * The version counter of this tensor's storage (PyTorch's `_version`): every in-place write (the `*_` methods,
   * optimizer steps, `Module.to`) adds one, and views share it. Autograd notes it when an op saves a tensor for
   * backward and refuses to run the derivative rule if it changed.
   */
  get version(): number {
    return this.storage.version;
  }

  /**
   * Internal: records that this tensor's storage was written in place outside the in-place methods (a fused
   * kernel writing a parameter or optimizer state): bumps the version counter every view shares.
   */
  _markModified(): void {
    this.storage.version++;
  }

  /** Whether this tensor is a leaf of the graph (not produced by a recorded op). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /**
   * Sets whether autograd records operations on this leaf tensor (in place; returns this).
   * Only floating-point tensors can require gradients.
   */
  requiresGrad_(on = true): this {
    if (!this.isLeaf) {
      if (!on) {
        throw new Error("requiresGrad_: cannot turn off gradients of a non-leaf tensor; use detach() instead");
      }
      return this;
    }
    if (on && this.dtype !== "float32" && this.dtype !== "float64") {
      throw new TypeError(`requiresGrad_: only floating-point tensors can require gradients, got dtype ${this.dtype}`);
    }
    this.#requiresGrad = on;
    if (!on) this.#accumulator = null;
    return this;
  }

  /**
   * Internal: makes this tensor read `src`'s data (same shape, any dtype or device) while keeping its identity —
   * how `Module.to` moves a parameter and PyTorch's `param.data = ...`. The new storage's version continues from the
   * old one's plus one, so a graph that saved this tensor before the move refuses to backward through it.
   */
  _swapData(src: Tensor): void {
    this.checkAlive("swapData");
    src.checkAlive("swapData");
    if (!shapesEqual(src.shape, this.shape)) {
      throw new RangeError(
        `swapData: the new data has shape ${fmtShape(src.shape)} but the tensor has shape ${fmtShape(this.shape)}`,
      );
    }
    const old = this.storage;
    if (src.storage === old) return;
    src.storage.refs++;
    src.storage.version = Math.max(src.storage.version, old.version + 1);
    const self = this as { storage: Storage; strides: readonly number[]; offset: number };
    self.storage = src.storage;
    self.strides = src.strides.slice();
    self.offset = src.offset;
    if (--old.refs === 0) getBackend(old.device).free(old);
  }

  /** Internal: marks an op's output as requiring grad, produced by `node`. */
  _setGradFn(node: TensorNode): void {
    this.gradFn = node;
    this.#requiresGrad = true;
  }

  /** Internal: the node gradients flow into for this tensor (its gradFn or its leaf accumulator). */
  _gradNode(): TensorNode | null {
    if (!this.#requiresGrad) return null;
    if (this.gradFn) return this.gradFn;
    this.#accumulator ??= Node.leafAccumulator<Tensor>(this);
    return this.#accumulator;
  }

  /**
   * Computes gradients of this tensor with respect to every leaf that requires
   * them, accumulating into their `.grad`. A non-scalar needs the gradient of
   * some scalar with respect to it (`gradient`, same shape).
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    if (!this.#requiresGrad) {
      throw new Error(
        "backward: this tensor does not require grad and has no gradFn (did every input have requiresGrad false, or was it made inside noGrad?)",
      );
    }
    let g: Tensor;
    if (gradient === undefined) {
      if (this.numel() !== 1) {
        throw new Error(
          `backward: grad can be implicitly created only for scalar outputs; this tensor has shape ${
            fmtShape(this.shape)
          }, so pass a gradient of the same shape`,
        );
      }
      g = convert.fullLikeValue(this, 1);
    } else {
      if (!(gradient instanceof Tensor)) throw new TypeError("backward: gradient must be a Tensor");
      if (!shapesEqual(gradient.shape, this.shape)) {
        throw new RangeError(
          `backward: gradient has shape ${fmtShape(gradient.shape)} but the tensor has shape ${fmtShape(this.shape)}`,
        );
      }
      g = gradient;
    }
    runBackward(this._gradNode()!, g, options);
  }

  /** Keeps this non-leaf tensor's gradient in `.grad` during backward. */
  retainGrad(): this {
    if (this.isLeaf || this.#retainsGrad) return this;
    // Once only: a second hook would add every gradient twice.
    this.#retainsGrad = true;
    this.gradFn!.hooks.push((g) => {
      this.grad = this.grad ? this.grad.add(g) : g;
    });
    return this;
  }

  /**
   * Registers a hook that sees (and may replace) the gradient flowing into this
   * tensor. Returns a function that removes it.
   */
  registerHook(hook: GradHook<Tensor>): () => void {
    const node = this._gradNode();
    if (!node) throw new Error("registerHook: cannot register a hook on a tensor that does not require grad");
    node.hooks.push(hook);
    return () => {
      const i = node.hooks.indexOf(hook);
      if (i >= 0) node.hooks.splice(i, 1);
    };
  }

  /** A view of the same data cut off from the graph (a disposed tensor has no data left to view: an error). */
  detach(): Tensor {
    this.checkAlive("detach");
    return traced(new Tensor(this.storage, this.shape, this.strides, this.offset), "identity", [this]);
  }

  /** Cuts this tensor off from the graph in place (it becomes a leaf). */
  detach_(): this {
    this.gradFn = null;
    this.#requiresGrad = false;
    return this;
  }

  // ---- reading back ---------------------------------------------------------------------------

  /** The elements in row-major order, as a typed array (async because devices make it so). */
  async data(): Promise<TypedArray> {
    const { tensor, owned } = this.readable();
    try {
      return await getBackend(this.device).read(tensor.storage);
    } finally {
      if (owned) tensor.dispose();
    }
  }

  /** The elements in row-major order, synchronously; only on devices that allow it (the CPU). */
  dataSync(): TypedArray {
    const backend = getBackend(this.device);
    if (!backend.readSync) {
      throw new Error(`dataSync: device "${this.device}" cannot read synchronously; use await t.data()`);
    }
    traceRead(this, "dataSync");
    const { tensor, owned } = this.readable();
    try {
      // `readSync` returns a copy the caller owns (a view of a storage could change under it, or be reused once freed).
      return backend.readSync(tensor.storage);
    } finally {
      if (owned) tensor.dispose();
    }
  }

  /** This tensor when it is exactly its whole storage, else a compact copy (freed by the caller). */
  private readable(): { tensor: Tensor; owned: boolean } {
    this.checkAlive("data");
    if (ownsStorage(this)) {
      return { tensor: this, owned: false };
    }
    return { tensor: convert.clone(this.detach()), owned: true };
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel() !== 1) {
      throw new RangeError(
        `item: only one-element tensors can be converted to a number; this one has shape ${fmtShape(this.shape)}`,
      );
    }
    return (await this.data())[0];
  }

  /** The elements as nested arrays (booleans for bool tensors). */
  async tolist(): Promise<NestedArray> {
    return toNested(await this.data(), this.shape, this.dtype === "bool");
  }

  /** Prints like PyTorch: `tensor([[1., 2.], [3., 4.]])` (data is read synchronously on the CPU). */
  toString(): string {
    const backend = getBackend(this.device);
    const suffix = this.gradFn ? `, gradFn=<${this.gradFn.name}>` : this.requiresGrad ? ", requiresGrad=true" : "";
    if (!backend.readSync || this.#disposed) {
      return `tensor(<${this.#disposed ? "disposed" : this.device}>, shape=${
        fmtShape(this.shape)
      }, dtype=${this.dtype}${suffix})`;
    }
    return formatTensor(untraced(() => this.dataSync()), this.shape, this.dtype, this.device, suffix);
  }

  /** Deno's console.log uses this. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  // ---- memory ---------------------------------------------------------------------------------

  /** Releases this tensor's hold on its storage now (freed when no view still uses it). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    untrackTensor();
    if (--this.storage.refs === 0) getBackend(this.device).free(this.storage);
  }

  /** `using t = ...` disposes at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Internal: throws when used after dispose, or when a dense op is given a sparse tensor. */
  checkAlive(op: string): void {
    if (this.#disposed) throw new Error(`${op}: tensor of shape ${fmtShape(this.shape)} was used after dispose()`);
    if (this.isSparse) {
      throw new TypeError(
        `${op}: expected a dense tensor, got a sparse COO tensor of shape ${fmtShape(this.shape)}; ` +
          "convert it with toDense(), or use what sparse tensors support (add, mul by a scalar, coalesce, sparse.mm)",
      );
    }
  }

  // ---- conversion -----------------------------------------------------------------------------

  /** This tensor on another device or with another dtype (itself when nothing changes). */
  to(target: Device | DType): Tensor {
    return convert.to(this, target);
  }
  /** As float32. */
  float(): Tensor {
    return convert.to(this, "float32");
  }
  /** As float64. */
  double(): Tensor {
    return convert.to(this, "float64");
  }
  /** As int32 (truncating toward zero). */
  int(): Tensor {
    return convert.to(this, "int32");
  }
  /** As bool (non-zero is true). */
  bool(): Tensor {
    return convert.to(this, "bool");
  }
  /** On the CPU. */
  cpu(): Tensor {
    return convert.to(this, "cpu");
  }
  /** A copy with its own storage (gradients flow through). */
  clone(): Tensor {
    return convert.clone(this);
  }
  /** The dense tensor this represents: itself for a dense tensor (a sparse one overrides this). */
  toDense(): Tensor {
    this.checkAlive("toDense");
    return this;
  }
  /** This tensor laid out contiguously (itself when it already is). */
  contiguous(): Tensor {
    return views.contiguous(this);
  }

  // ---- views ----------------------------------------------------------------------------------

  /** A tensor with the same data and a new shape (one size may be -1); a view when strides allow. */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return views.reshape(this, views.shapeArg(shape));
  }
  /** Like reshape, but only as a view: throws when the strides do not allow one. */
  view(...shape: (number | readonly number[])[]): Tensor {
    return views.view(this, views.shapeArg(shape));
  }
  /** Reorders dimensions. */
  permute(...dims: (number | readonly number[])[]): Tensor {
    return views.permute(this, views.shapeArg(dims));
  }
  /** Swaps two dimensions. */
  transpose(dim0: number, dim1: number): Tensor {
    return views.transpose(this, dim0, dim1);
  }
  /** Transpose of a tensor of rank ≤ 2. */
  t(): Tensor {
    return views.t(this);
  }
  /** Broadcasts size-1 dimensions to `shape` without copying (-1 keeps a size). */
  expand(...shape: (number | readonly number[])[]): Tensor {
    return views.expand(this, views.shapeArg(shape));
  }
  /** Expands to another tensor's shape. */
  expandAs(other: Tensor): Tensor {
    return views.expand(this, other.shape);
  }
  /** Removes size-1 dimensions (all, or the given one(s)). */
  squeeze(dim?: number | readonly number[]): Tensor {
    return views.squeeze(this, dim);
  }
  /** Inserts a size-1 dimension at `dim`. */
  unsqueeze(dim: number): Tensor {
    return views.unsqueeze(this, dim);
  }
  /** Flattens dims `startDim..endDim` into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return views.flatten(this, startDim, endDim);
  }
  /** The view `start..start+length` along `dim`. */
  narrow(dim: number, start: number, length: number): Tensor {
    return views.narrow(this, dim, start, length);
  }
  /** Python's `t[start:end:step]` along `dim` (negative indices count from the end), as a view. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return views.slice(this, dim, start, end, step);
  }
  /** Python's `t[..., index, ...]` along `dim`: a view with that dimension removed. */
  select(dim: number, index: number): Tensor {
    return views.select(this, dim, index);
  }

  // ---- elementwise ----------------------------------------------------------------------------

  /** `this + alpha * other`, broadcasting; a sparse `other` (of this shape) gives a dense sum. */
  add(other: TensorOrScalar, alpha = 1): Tensor {
    if (other instanceof Tensor && other.isSparse) return (other as Tensor & SparseOperand)._addToDense(this, alpha);
    return binary.add(this, scaled(other, alpha));
  }
  /**
   * `this - alpha * other`, broadcasting (bool tensors are refused, as in PyTorch: see `logicalXor`, `logicalNot`); a
   * sparse `other` (of this shape) gives a dense difference.
   */
  sub(other: TensorOrScalar, alpha = 1): Tensor {
    if (other instanceof Tensor && other.isSparse) return (other as Tensor & SparseOperand)._addToDense(this, -alpha);
    binary.checkNoBoolSub(this, other);
    return binary.sub(this, scaled(other, alpha));
  }
  /** Elementwise product, broadcasting. */
  mul(other: TensorOrScalar): Tensor {
    return binary.mul(this, other);
  }
  /** True division, broadcasting (integers promote to float32). */
  div(other: TensorOrScalar): Tensor {
    return binary.div(this, other);
  }
  /** `this ** exponent`, broadcasting. */
  pow(exponent: TensorOrScalar): Tensor {
    return binary.pow(this, exponent);
  }
  /** Elementwise maximum, broadcasting (NaN propagates). */
  maximum(other: TensorOrScalar): Tensor {
    return binary.maximum(this, other);
  }
  /** Elementwise minimum, broadcasting (NaN propagates). */
  minimum(other: TensorOrScalar): Tensor {
    return binary.minimum(this, other);
  }
  /** Python's `%` (the result has the divisor's sign). */
  remainder(other: TensorOrScalar): Tensor {
    return binary.remainder(this, other);
  }
  /** Clamps into [min, max] (either may be omitted). */
  clamp(min?: TensorOrScalar | null, max?: TensorOrScalar | null): Tensor {
    return binary.clamp(this, min ?? undefined, max ?? undefined);
  }
  /** `this == other` as a bool tensor. */
  eq(other: TensorOrScalar): Tensor {
    return binary.compare("eq", this, other);
  }
  /** `this != other` as a bool tensor. */
  ne(other: TensorOrScalar): Tensor {
    return binary.compare("ne", this, other);
  }
  /** `this < other` as a bool tensor. */
  lt(other: TensorOrScalar): Tensor {
    return binary.compare("lt", this, other);
  }
  /** `this <= other` as a bool tensor. */
  le(other: TensorOrScalar): Tensor {
    return binary.compare("le", this, other);
  }
  /** `this > other` as a bool tensor. */
  gt(other: TensorOrScalar): Tensor {
    return binary.compare("gt", this, other);
  }
  /** `this >= other` as a bool tensor. */
  ge(other: TensorOrScalar): Tensor {
    return binary.compare("ge", this, other);
  }
  /** Logical and of two tensors (non-zero is true). */
  logicalAnd(other: TensorOrScalar): Tensor {
    return binary.compare("logicalAnd", this, other);
  }
  /** Logical or of two tensors (non-zero is true). */
  logicalOr(other: TensorOrScalar): Tensor {
    return binary.compare("logicalOr", this, other);
  }
  /** Logical exclusive or of two tensors (non-zero is true), as bool. */
  logicalXor(other: TensorOrScalar): Tensor {
    return binary.logicalXor(this, other);
  }
  /** Logical not (non-zero is true). */
  logicalNot(): Tensor {
    return unary.logicalNot(this);
  }
  /** Whether each element is finite (not NaN or ±Inf). */
  isfinite(): Tensor {
    return unary.isfinite(this);
  }
  /** `condition ? this : other`, broadcasting (PyTorch's `Tensor.where`). */
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return binary.where(condition, this, other);
  }
  /** `-this`. */
  neg(): Tensor {
    return unary.neg(this);
  }
  /** `e^x`. */
  exp(): Tensor {
    return unary.exp(this);
  }
  /** Natural logarithm. */
  log(): Tensor {
    return unary.log(this);
  }
  /** `e^x - 1`, accurate near 0. */
  expm1(): Tensor {
    return unary.expm1(this);
  }
  /** `log(1 + x)`, accurate near 0. */
  log1p(): Tensor {
    return unary.log1p(this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return unary.sqrt(this);
  }
  /** `1 / sqrt(x)`. */
  rsqrt(): Tensor {
    return unary.rsqrt(this);
  }
  /** `x * x`. */
  square(): Tensor {
    return binary.mul(this, this);
  }
  /** `1 / x`. */
  reciprocal(): Tensor {
    return unary.reciprocal(this);
  }
  /** Absolute value. */
  abs(): Tensor {
    return unary.abs(this);
  }
  /** -1, 0 or 1. */
  sign(): Tensor {
    return unary.sign(this);
  }
  /** `max(x, 0)`. */
  relu(): Tensor {
    return unary.relu(this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor {
    return unary.sigmoid(this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return unary.tanh(this);
  }
  /** GELU with the exact erf form (PyTorch's default). */
  gelu(): Tensor {
    return unary.gelu(this);
  }
  /** Sine. */
  sin(): Tensor {
    return unary.sin(this);
  }
  /** Cosine. */
  cos(): Tensor {
    return unary.cos(this);
  }
  /** The Gauss error function. */
  erf(): Tensor {
    return unary.erf(this);
  }
  /** Rounds down. */
  floor(): Tensor {
    return unary.floor(this);
  }
  /** Rounds up. */
  ceil(): Tensor {
    return unary.ceil(this);
  }
  /** Rounds half to even. */
  round(): Tensor {
    return unary.round(this);
  }

  // ---- reductions -----------------------------------------------------------------------------

  /** Sum over all elements, or over `dim`(s). */
  sum(dim?: number | readonly number[] | null, options?: ReduceOptions): Tensor {
    return reduce.sum(this, dim ?? undefined, options?.keepdim);
  }
  /** Mean over all elements, or over `dim`(s). */
  mean(dim?: number | readonly number[] | null, options?: ReduceOptions): Tensor {
    return reduce.mean(this, dim ?? undefined, options?.keepdim);
  }
  /** Product over all elements, or over one `dim`. */
  prod(dim?: number | null, options?: ReduceOptions): Tensor {
    return reduce.prod(this, dim ?? undefined, options?.keepdim);
  }
  /** The largest element, or `[values, indices]` along `dim` (like `torch.max(t, dim)`). */
  max(): Tensor;
  /** `[values, indices]` of the largest elements along `dim` (indices int32). */
  max(dim: number, options?: ReduceOptions): [Tensor, Tensor];
  max(dim?: number, options?: ReduceOptions): Tensor | [Tensor, Tensor] {
    return dim === undefined ? reduce.amax(this) : reduce.maxMin("max", this, dim, options?.keepdim);
  }
  /** The smallest element, or `[values, indices]` along `dim`. */
  min(): Tensor;
  /** `[values, indices]` of the smallest elements along `dim` (indices int32). */
  min(dim: number, options?: ReduceOptions): [Tensor, Tensor];
  min(dim?: number, options?: ReduceOptions): Tensor | [Tensor, Tensor] {
    return dim === undefined ? reduce.amin(this) : reduce.maxMin("min", this, dim, options?.keepdim);
  }
  /** Maximum values over `dim`(s) (all when omitted), without indices. */
  amax(dim?: number | readonly number[], options?: ReduceOptions): Tensor {
    return reduce.amax(this, dim, options?.keepdim);
  }
  /** Minimum values over `dim`(s) (all when omitted), without indices. */
  amin(dim?: number | readonly number[], options?: ReduceOptions): Tensor {
    return reduce.amin(this, dim, options?.keepdim);
  }
  /** Index of the largest element (of the flattened tensor, or along `dim`), int32. */
  argmax(dim?: number, options?: ReduceOptions): Tensor {
    return reduce.argReduce("argmax", this, dim, options?.keepdim);
  }
  /** Index of the smallest element (of the flattened tensor, or along `dim`), int32. */
  argmin(dim?: number, options?: ReduceOptions): Tensor {
    return reduce.argReduce("argmin", this, dim, options?.keepdim);
  }
  /** Variance with Bessel's `correction` (default 1). */
  var(dim?: number | readonly number[] | null, options?: VarOptions): Tensor {
    return reduce.variance(this, dim ?? undefined, options?.correction ?? 1, options?.keepdim);
  }
  /** Standard deviation with Bessel's `correction` (default 1). */
  std(dim?: number | readonly number[] | null, options?: VarOptions): Tensor {
    return reduce.variance(this, dim ?? undefined, options?.correction ?? 1, options?.keepdim).sqrt();
  }
  /** `log(sum(exp(x)))` over `dim`(s), computed stably. */
  logsumexp(dim: number | readonly number[], options?: ReduceOptions): Tensor {
    return reduce.logsumexp(this, dim, options?.keepdim);
  }

  // ---- linear algebra, softmax, joining, indexing ----------------------------------------------

  /** Matrix product with PyTorch's rules for 1-D, 2-D and batched (broadcast) operands. */
  matmul(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  }
  /** 2-D matrix product. */
  mm(other: Tensor): Tensor {
    return linalg.mm(this, other);
  }
  /** Batched matrix product of `[b, n, m]` and `[b, m, p]` tensors. */
  bmm(other: Tensor): Tensor {
    return linalg.bmm(this, other);
  }
  /** `beta·this + alpha·(mat1 · mat2)`, this broadcast to the product's shape. */
  addmm(mat1: Tensor, mat2: Tensor, options?: linalg.AddmmOptions): Tensor {
    return linalg.addmm(this, mat1, mat2, options);
  }
  /** `beta·this + alpha·bmm(batch1, batch2)`. */
  baddbmm(batch1: Tensor, batch2: Tensor, options?: linalg.AddmmOptions): Tensor {
    return linalg.baddbmm(this, batch1, batch2, options);
  }
  /** `beta·this + alpha·Σ_b batch1[b]·batch2[b]`. */
  addbmm(batch1: Tensor, batch2: Tensor, options?: linalg.AddmmOptions): Tensor {
    return linalg.addbmm(this, batch1, batch2, options);
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return softmaxOps.softmax(this, dim);
  }
  /** Log-softmax along `dim`, computed stably. */
  logSoftmax(dim: number): Tensor {
    return softmaxOps.logSoftmax(this, dim);
  }
  /** Splits into pieces of `sizes` (a number: equal pieces of that size, the last may be smaller). */
  split(sizes: number | readonly number[], dim = 0): Tensor[] {
    return join.split(this, sizes, dim);
  }
  /** Splits into `chunks` nearly equal pieces. */
  chunk(chunks: number, dim = 0): Tensor[] {
    return join.chunk(this, chunks, dim);
  }
  /** Rows (or slices along `dim`) picked by a 1-D int32 `index`. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return indexing.indexSelect(this, dim, index);
  }
  /** `out[i][j] = this[i][index[i][j]]` along `dim`. */
  gather(dim: number, index: Tensor): Tensor {
    return indexing.gather(this, dim, index);
  }
  /** A copy with `src` added at `index` along `dim` (duplicates accumulate), like `torch.scatter_add`. */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return scatterOps.scatterAdd(this, dim, index, src);
  }
  /**
   * A copy with `src[i][j]` (or the number `src`) written at `index[i][j]` along `dim`, like `torch.scatter`;
   * `{ reduce: "add" | "multiply" }` accumulates instead.
   */
  scatter(dim: number, index: Tensor, src: Tensor | number, options?: scatterOps.ScatterOptions): Tensor {
    return scatterOps.scatter(this, dim, index, src, options);
  }
  /**
   * A copy where each position `index` points at along `dim` becomes the `reduce` ("sum", "prod", "mean", "amax",
   * "amin") of the `src` elements sent there and, unless `includeSelf` is false, its own value
   * (`torch.scatter_reduce`).
   */
  scatterReduce(
    dim: number,
    index: Tensor,
    src: Tensor,
    reduce: scatterOps.ScatterReduction,
    options?: scatterOps.ScatterReduceOptions,
  ): Tensor {
    return scatterOps.scatterReduce(this, dim, index, src, reduce, options);
  }
  /** A copy with `alpha·source` slices added at the positions a 1-D `index` names along `dim` (`torch.index_add`). */
  indexAdd(dim: number, index: Tensor, source: Tensor, options?: scatterOps.IndexAddOptions): Tensor {
    return scatterOps.indexAdd(this, dim, index, source, options);
  }
  /** A copy with `value` (a number or 0-d tensor) wherever the broadcast `mask` is true (`torch.masked_fill`). */
  maskedFill(mask: Tensor, value: number | Tensor): Tensor {
    return masked.maskedFill(this, mask, value);
  }
  /** The elements where the broadcast `mask` is true, as a 1-D tensor (reads the mask: CPU; else maskedSelectAsync). */
  maskedSelect(mask: Tensor): Tensor {
    return masked.maskedSelect(this, mask);
  }
  /** A copy with the true positions of `mask` taking `source`'s leading elements in order (`torch.masked_scatter`). */
  maskedScatter(mask: Tensor, source: Tensor): Tensor {
    return masked.maskedScatter(this, mask, source);
  }
  /** The `offset`-th diagonal of dims `dim1`, `dim2` as a view, appended as the last dim (`torch.diagonal`). */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return views.diagonal(this, offset, dim1, dim2);
  }
  /** Each slice along `dim` (of the flattened tensor when omitted) repeated `repeats` times in place. */
  repeatInterleave(repeats: number | Tensor | readonly number[], dim?: number): Tensor {
    return repeat.repeatInterleave(this, repeats, dim);
  }
  /** Lower triangle (elements above the `diagonal`-th diagonal zeroed). */
  tril(diagonal = 0): Tensor {
    return indexing.tril(this, diagonal);
  }
  /** Upper triangle (elements below the `diagonal`-th diagonal zeroed). */
  triu(diagonal = 0): Tensor {
    return indexing.triu(this, diagonal);
  }

  // ---- in place (for optimizers and initialisers; never recorded) -------------------------------

  /** Copies `src` (broadcast to this shape) into this tensor's elements. */
  copy_(src: TensorOrScalar): this {
    inplace.assign(this, src, "copy_");
    return this;
  }
  /** Sets every element to `value`. */
  fill_(value: number): this {
    inplace.assign(this, value, "fill_");
    return this;
  }
  /** Sets every element to 0. */
  zero_(): this {
    inplace.assign(this, 0, "zero_");
    return this;
  }
  /** `this += alpha * other`, in place; a sparse `other` touches only its rows (O(nnz), not O(numel)). */
  add_(other: TensorOrScalar, alpha = 1): this {
    if (other instanceof Tensor && other.isSparse) {
      (other as Tensor & SparseOperand)._addIntoDense_(this, alpha, "add_");
    } else inplace.addScaled(this, other, alpha, "add_");
    return this;
  }
  /** `this -= alpha * other`, in place; a sparse `other` touches only its rows. */
  sub_(other: TensorOrScalar, alpha = 1): this {
    if (other instanceof Tensor && other.isSparse) {
      (other as Tensor & SparseOperand)._addIntoDense_(this, -alpha, "sub_");
      return this;
    }
    binary.checkNoBoolSub(this, other);
    inplace.addScaled(this, other, -alpha, "sub_");
    return this;
  }
  /** `this *= other`, in place. */
  mul_(other: TensorOrScalar): this {
    inplace.update(this, () => this.mul(other), "mul_");
    return this;
  }
  /** `this /= other`, in place. */
  div_(other: TensorOrScalar): this {
    inplace.update(this, () => this.div(other), "div_");
    return this;
  }
  /** Clamps in place. */
  clamp_(min?: number | null, max?: number | null): this {
    inplace.update(this, () => this.clamp(min, max), "clamp_");
    return this;
  }
  /** Writes `value` wherever `mask` (broadcast to this shape) is true, in place. */
  maskedFill_(mask: Tensor, value: number | Tensor): this {
    inplace.update(this, () => this.maskedFill(mask, value), "maskedFill_");
    return this;
  }
  /** {@link Tensor.scatter} in place (every index is checked before anything is written). */
  scatter_(dim: number, index: Tensor, src: Tensor | number, options?: scatterOps.ScatterOptions): this {
    inplace.update(this, () => this.scatter(dim, index, src, options), "scatter_");
    return this;
  }
  /** {@link Tensor.scatterAdd} in place. */
  scatterAdd_(dim: number, index: Tensor, src: Tensor): this {
    inplace.update(this, () => this.scatterAdd(dim, index, src), "scatterAdd_");
    return this;
  }
  /** {@link Tensor.scatterReduce} in place. */
  scatterReduce_(
    dim: number,
    index: Tensor,
    src: Tensor,
    reduce: scatterOps.ScatterReduction,
    options?: scatterOps.ScatterReduceOptions,
  ): this {
    inplace.update(this, () => this.scatterReduce(dim, index, src, reduce, options), "scatterReduce_");
    return this;
  }
  /** {@link Tensor.indexAdd} in place. */
  indexAdd_(dim: number, index: Tensor, source: Tensor, options?: scatterOps.IndexAddOptions): this {
    inplace.update(this, () => this.indexAdd(dim, index, source, options), "indexAdd_");
    return this;
  }
}

/**
 * Whether `t` is exactly its whole storage (offset 0, contiguous, every
 * element): a fused kernel may then treat the storage as the tensor.
 */
export function ownsStorage(t: Tensor): boolean {
  return t.offset === 0 && t.numel() === t.storage.length && t.isContiguous();
}

/**
 * Clears the gradients of `params` (behind `Module.zeroGrad` and `Optimizer.zeroGrad`): sets them to `null`, freeing
 * the old ones now (device memory would otherwise wait for the garbage collector), or with `setToNone` false fills
 * them with zeros in place, first cutting a gradient made with `createGraph` off its graph, as PyTorch does.
 */
export function zeroGrads(params: Iterable<Tensor>, setToNone = true): void {
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    if (setToNone) {
      p.grad = null;
      g.dispose();
    } else {
      if (g.gradFn) g.detach_();
      noGrad(() => g.zero_());
    }
  }
}

/**
 * Throws PyTorch's errors unless `g` can be `t`'s gradient: the same shape, dtype and device, and alive (what the
 * `.grad` setter and the optimizers check before they touch anything).
 */
export function checkGradFits(t: Tensor, g: Tensor, where = "grad"): void {
  if (g.isDisposed) throw new Error(`${where}: the assigned gradient of shape ${fmtShape(g.shape)} was disposed`);
  if (!shapesEqual(g.shape, t.shape)) {
    throw new RangeError(
      `${where}: assigned grad has data of a different size: the gradient has shape ${
        fmtShape(g.shape)
      } but the tensor has shape ${fmtShape(t.shape)}`,
    );
  }
  if (g.dtype !== t.dtype) {
    throw new TypeError(
      `${where}: assigned grad has data of a different type: the gradient is ${g.dtype} but the tensor is ${t.dtype}`,
    );
  }
  if (g.device !== t.device) {
    throw new Error(
      `${where}: assigned grad has data located on a different device: the gradient is on "${g.device}" but the tensor is on "${t.device}"`,
    );
  }
}

/** Whether `grad mode` would record an op on these inputs. */
export function needsGrad(...inputs: (TensorOrScalar | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t instanceof Tensor && t.requiresGrad) return true;
  return false;
}

/** `alpha * other`, staying a number when `other` is one (two numbers have no device to compute on). */
function scaled(other: TensorOrScalar, alpha: number): TensorOrScalar {
  if (alpha === 1) return other;
  return typeof other === "number" ? other * alpha : binary.mul(other, alpha);
}

function toNested(data: TypedArray, shape: Shape, asBool: boolean): NestedArray {
  const conv = (v: number): number | boolean => asBool ? v !== 0 : v;
  if (shape.length === 0) return conv(data[0]);
  const build = (dim: number, off: number): NestedArray[] => {
    const out: NestedArray[] = [];
    const step = numel(shape.slice(dim + 1));
    for (let i = 0; i < shape[dim]; i++) {
      out.push(dim === shape.length - 1 ? conv(data[off + i]) : build(dim + 1, off + i * step));
    }
    return out;
  };
  return build(0, 0);
}
