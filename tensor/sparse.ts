/**
 * Sparse COO tensors, PyTorch's `torch.sparse_coo` layout: int32 `indices`
 * `[sparseDim, nnz]` say where the `nnz` entries are, and `values`
 * `[nnz, ...denseShape]` hold them, so a tensor of shape
 * `[...sparseSizes, ...denseShape]` costs O(nnz) memory. An entry may appear
 * more than once (its copies add up) until {@link SparseTensor.coalesce}
 * sorts the entries and sums the duplicates.
 *
 * A sparse tensor is a `Tensor` (so it can live in `.grad`, which is how
 * `Embedding({ sparse: true })` hands its gradient to the optimizers), but
 * dense ops refuse it with an error naming the op; it supports what
 * gradients need (`add`, `mul` by a scalar, `clone`, `zero_`, `dispose`),
 * `coalesce`, `toDense`, `sparse.mm`, and in-place addition into a dense
 * tensor (`dense.add_(sparse)`) that touches only its entries. Gradients flow
 * through the values: build one from values that require grad, and
 * `toDense()` or `sparse.mm` give them their gradient.
 *
 * @module
 */

import { noGrad } from "@dendrite/autograd";
import { getBackend } from "./backend.ts";
import type { DType } from "./dtype.ts";
import { keep, tidy } from "./memory.ts";
import { fmtShape, numel, type Shape, shapesEqual } from "./shape.ts";
import { type Layout, ownsStorage, Tensor, type TensorOrScalar } from "./tensor.ts";
import { arange, type NestedValues, tensor, zeros } from "./ops/creation.ts";
import { cat } from "./ops/join.ts";
import { checkWritable } from "./ops/inplace.ts";

/** Options of {@link sparseCooTensor}. */
export interface SparseCooOptions {
  /** The values' dtype (default: the values', or float32 for nested arrays). */
  dtype?: DType;
  /** The device (default: the values'). */
  device?: string;
}

/**
 * A sparse COO tensor: see the module documentation. Make one with
 * {@link sparseCooTensor}; `Embedding({ sparse: true })` makes them as gradients.
 *
 * @example
 * ```ts
 * import { sparseCooTensor } from "./sparse.ts";
 * const s = sparseCooTensor([[0, 2, 0]], [[1, 1], [2, 2], [3, 3]], [4, 2]);
 * console.log(await s.toDense().tolist()); // [[4, 4], [0, 0], [2, 2], [0, 0]]
 * ```
 */
export class SparseTensor extends Tensor {
  #indices: Tensor;
  #values: Tensor;
  #coalesced: boolean;

  /** Internal: `indices` and `values` must be checked and contiguous; use {@link sparseCooTensor}. */
  constructor(indices: Tensor, values: Tensor, shape: Shape, coalesced: boolean) {
    // The base holds the values' storage so dtype and device read right; no dense kernel ever reads it,
    // since every dense op checks `isSparse` first (Tensor.checkAlive).
    super(values.storage, shape);
    // Own aliases, kept out of every tidy scope: they live exactly as long as this tensor.
    this.#indices = keep(indices.detach());
    this.#values = keep(values.reshape(values.shape));
    this.#coalesced = coalesced;
  }

  /** Always true. */
  override get isSparse(): boolean {
    return true;
  }

  /** `"sparseCoo"`. */
  override get layout(): Layout {
    return "sparseCoo";
  }

  /** Whether gradients flow to the values. */
  override get requiresGrad(): boolean {
    return this.#values.requiresGrad;
  }

  override set requiresGrad(on: boolean) {
    this.requiresGrad_(on);
  }

  /** Sparse tensors take their gradients through their values: make them from values that require grad. */
  override requiresGrad_(on = true): this {
    if (on !== this.#values.requiresGrad) {
      throw new Error(
        "requiresGrad_: a sparse tensor requires grad exactly when its values do; " +
          "pass values that require grad to sparseCooTensor",
      );
    }
    return this;
  }

  /** The number of sparse dimensions (the indices' rows). */
  sparseDim(): number {
    return this.#indices.shape[0];
  }

  /** The number of dense dimensions (each value's rank). */
  denseDim(): number {
    return this.#values.ndim - 1;
  }

  /** The number of stored entries (duplicates counted; PyTorch's `_nnz()`). */
  get nnz(): number {
    return this.#values.shape[0];
  }

  /** Whether the entries are sorted with no duplicates (after {@link SparseTensor.coalesce}). */
  isCoalesced(): boolean {
    return this.#coalesced;
  }

  /** The indices `[sparseDim, nnz]` of a coalesced tensor (PyTorch's `indices()`, which refuses uncoalesced ones). */
  indices(): Tensor {
    this.#requireCoalesced("indices");
    return this._indices();
  }

  /** The values `[nnz, ...denseShape]` of a coalesced tensor (gradients flow to the tensor's values). */
  values(): Tensor {
    this.#requireCoalesced("values");
    return this._values();
  }

  /** The stored indices, coalesced or not (PyTorch's `_indices()`): an alias, not a copy. */
  _indices(): Tensor {
    this.#alive("indices");
    return this.#indices.detach();
  }

  /** The stored values, coalesced or not (PyTorch's `_values()`): an alias through which gradients flow. */
  _values(): Tensor {
    this.#alive("values");
    return this.#values.reshape(this.#values.shape);
  }

  /**
   * The same tensor with entries sorted by position and duplicates summed
   * (itself when already coalesced). Gradients flow to the values. Reads the
   * indices back, so it runs on devices that read synchronously (the CPU).
   */
  coalesce(): SparseTensor {
    this.#alive("coalesce");
    if (this.#coalesced) return this;
    return coalesce(this.#indices, this.#values, this.shape);
  }

  /** The dense tensor this represents (duplicates summed); recorded, so gradients reach the values. */
  override toDense(): Tensor {
    this.#alive("toDense");
    return scatterRows(zeros(this.shape, { dtype: this.dtype, device: this.device }), this.#indices, this.#values, 1);
  }

  /** Sparse + sparse of the same shape gives a sparse tensor (entries concatenated); sparse + dense gives a dense one. */
  override add(other: TensorOrScalar, alpha = 1): Tensor {
    this.#alive("add");
    if (typeof other === "number") {
      throw new TypeError("add: adding a number to a sparse tensor would fill every element; use toDense() first");
    }
    if (!other.isSparse) return scaled(this, alpha, "add")._addToDense(other, 1);
    const o = other as SparseTensor;
    checkSameShape("add", this, o);
    if (o.sparseDim() !== this.sparseDim()) {
      throw new RangeError(
        `add: sparse tensors with ${this.sparseDim()} and ${o.sparseDim()} sparse dimensions cannot be added`,
      );
    }
    if (o.device !== this.device) {
      throw new Error(`add: expected both tensors on the same device, but found "${this.device}" and "${o.device}"`);
    }
    const scaledValues = alpha === 1 ? o.#values : o.#values.mul(alpha);
    const converted = scaledValues.to(this.dtype);
    const out = adopt(cat([this.#indices, o.#indices], 1), cat([this.#values, converted], 0), this.shape, false);
    for (const t of [scaledValues, converted]) if (t !== o.#values) release(t);
    return out;
  }

  /** Sparse − other: see {@link SparseTensor.add}. */
  override sub(other: TensorOrScalar, alpha = 1): Tensor {
    return this.add(other, -alpha);
  }

  /** `-this`, sparse. */
  override neg(): SparseTensor {
    return this.mul(-1);
  }

  /** The product with a scalar (a number, or a one-element tensor on this device), sparse. */
  override mul(other: TensorOrScalar): SparseTensor {
    this.#alive("mul");
    checkScalar("mul", other);
    return adopt(this.#indices, this.#values.mul(other), this.shape, this.#coalesced, false);
  }

  /** The quotient by a scalar, sparse. */
  override div(other: TensorOrScalar): SparseTensor {
    this.#alive("div");
    checkScalar("div", other);
    return adopt(this.#indices, this.#values.div(other), this.shape, this.#coalesced, false);
  }

  /** Scales the values in place by a scalar (gradient clipping does this). */
  override mul_(other: TensorOrScalar): this {
    this.#alive("mul_");
    checkScalar("mul_", other);
    this.#values.mul_(other);
    return this;
  }

  /** Divides the values in place by a scalar. */
  override div_(other: TensorOrScalar): this {
    this.#alive("div_");
    checkScalar("div_", other);
    this.#values.div_(other);
    return this;
  }

  /** Makes this the zero tensor in place: no entries left (as PyTorch's `zero_` on a sparse tensor does). */
  override zero_(): this {
    this.#alive("zero_");
    const indices = keep(zeros([this.sparseDim(), 0], { dtype: "int32", device: this.device }));
    const values = keep(zeros([0, ...this.#values.shape.slice(1)], { dtype: this.dtype, device: this.device }));
    this.#indices.dispose();
    this.#values.dispose();
    this.#indices = indices;
    this.#values = values;
    this.#coalesced = true;
    return this;
  }

  /** A copy with its own indices and values (gradients flow through the values). */
  override clone(): SparseTensor {
    this.#alive("clone");
    return adopt(this.#indices.clone(), this.#values.clone(), this.shape, this.#coalesced);
  }

  /** The same entries cut off from the graph. */
  override detach(): SparseTensor {
    this.#alive("detach");
    return adopt(this.#indices, this.#values.detach(), this.shape, this.#coalesced, false);
  }

  /** This tensor on another device or with another value dtype (itself when nothing changes). */
  override to(target: string): SparseTensor {
    this.#alive("to");
    const values = this.#values.to(target);
    const indices = target === "float32" || target === "float64" || target === "int32" || target === "bool"
      ? this.#indices
      : this.#indices.to(target);
    if (values === this.#values && indices === this.#indices) return this;
    const out = new SparseTensor(indices, values, this.shape, this.#coalesced);
    if (values !== this.#values) release(values);
    if (indices !== this.#indices) release(indices);
    return out;
  }

  /** Frees the indices and values now. */
  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    this.#indices.dispose();
    this.#values.dispose();
  }

  /** Prints like PyTorch: the indices, the values, the size, nnz and the layout. */
  override toString(): string {
    if (this.isDisposed) return `sparseCooTensor(<disposed>, size=${fmtShape(this.shape)})`;
    const lead = " ".repeat("sparseCooTensor(".length);
    const field = (name: string, t: Tensor) =>
      `${name}=${t.toString().replace(/\n/g, "\n" + lead + " ".repeat(name.length + 1))}`;
    return `sparseCooTensor(${field("indices", this.#indices)},\n${lead}${
      field("values", this.#values)
    },\n${lead}size=${fmtShape(this.shape)}, nnz=${this.nnz}, layout=sparseCoo)`;
  }

  /**
   * A sparse tensor with this one's indices (shared, not copied) and other `values` `[nnz, ...denseShape]`: how
   * optimizers turn per-entry results back into an update (PyTorch's `SparseAdam` builds the same with the
   * gradient's indices).
   */
  _withValues(values: Tensor): SparseTensor {
    this.#alive("withValues");
    if (!(values instanceof Tensor) || values.isSparse || !shapesEqual(values.shape, this.#values.shape)) {
      throw new RangeError(
        `withValues: expected dense values of shape ${fmtShape(this.#values.shape)}, got ${
          values instanceof Tensor ? fmtShape(values.shape) : typeof values
        }`,
      );
    }
    if (values.device !== this.device) {
      throw new Error(`withValues: values are on "${values.device}" but the indices on "${this.device}"`);
    }
    const contiguous = values.contiguous();
    const out = new SparseTensor(this.#indices, contiguous, this.shape, this.#coalesced);
    if (contiguous !== values) release(contiguous);
    return out;
  }

  /** Internal (Tensor.add): `dense + alpha * this`, recorded for autograd. */
  _addToDense(dense: Tensor, alpha: number): Tensor {
    this.#alive("add");
    checkSameShape("add", dense, this);
    return scatterRows(dense, this.#indices, this.#values, alpha);
  }

  /** Internal (Tensor.add_): `dense += alpha * this` in place, touching only this tensor's entries. */
  _addIntoDense_(dense: Tensor, alpha: number, op: string): void {
    this.#alive(op);
    checkSameShape(op, dense, this);
    addRowsInPlace(op, dense, this.#indices, this.#values, alpha);
  }

  #alive(op: string): void {
    if (this.isDisposed) {
      throw new Error(`${op}: sparse tensor of shape ${fmtShape(this.shape)} was used after dispose()`);
    }
  }

  #requireCoalesced(op: string): void {
    if (!this.#coalesced) {
      throw new Error(
        `${op}: cannot get the ${op} of an uncoalesced sparse tensor; call coalesce() first (or _${op}() for the raw entries)`,
      );
    }
  }
}

/**
 * A sparse COO tensor (like `torch.sparse_coo_tensor`): entry `k` holds
 * `values[k]` at position `indices[:, k]`. `indices` is int32
 * `[sparseDim, nnz]` (nested arrays are converted), `values`
 * `[nnz, ...denseShape]`; `shape` defaults to the smallest that holds every
 * index. Indices are checked against `shape` where they can be read
 * synchronously (the CPU). Duplicates are allowed and add up.
 *
 * @example
 * ```ts
 * import { sparseCooTensor } from "./sparse.ts";
 * // The 2×3 matrix [[0, 0, 5], [7, 0, 0]]:
 * const m = sparseCooTensor([[0, 1], [2, 0]], [5, 7], [2, 3]);
 * console.log(m.nnz, m.sparseDim(), m.denseDim()); // 2 2 0
 * ```
 */
export function sparseCooTensor(
  indices: Tensor | NestedValues,
  values: Tensor | NestedValues,
  shape?: Shape,
  options: SparseCooOptions = {},
): SparseTensor {
  const op = "sparseCooTensor";
  const vals = values instanceof Tensor
    ? values
    : tensor(values, { dtype: options.dtype ?? "float32", device: options.device });
  const idx = indices instanceof Tensor ? indices : tensor(indices, { dtype: "int32", device: vals.device });
  if (idx.isSparse || vals.isSparse) throw new TypeError(`${op}: indices and values must be dense tensors`);
  if (idx.dtype !== "int32") {
    throw new TypeError(`${op}: indices must be an int32 tensor, got dtype ${idx.dtype} (convert with .int())`);
  }
  // A nested `[]` infers as shape [0]; read it as "no entries" in one sparse dimension.
  const idx2 = idx.ndim === 1 && idx.shape[0] === 0 ? idx.reshape([1, 0]) : idx;
  if (idx2.ndim !== 2) {
    throw new RangeError(`${op}: indices must be 2-D [sparseDim, nnz], got shape ${fmtShape(idx.shape)}`);
  }
  const [sparseDim, nnz] = idx2.shape;
  if (sparseDim < 1) throw new RangeError(`${op}: indices must have at least one row (sparse dimension)`);
  if (vals.ndim < 1 || vals.shape[0] !== nnz) {
    throw new RangeError(
      `${op}: values must be [nnz, ...denseShape] with nnz = ${nnz} (the indices' columns), got shape ${
        fmtShape(vals.shape)
      }`,
    );
  }
  if (vals.dtype === "bool") throw new TypeError(`${op}: bool values are not supported`);
  if (idx2.device !== vals.device) {
    throw new Error(`${op}: indices are on "${idx2.device}" but values on "${vals.device}"; put them on one device`);
  }
  const host = getBackend(idx2.device).readSync ? idx2.dataSync() : null;
  const denseShape = vals.shape.slice(1);
  let full: number[];
  if (shape === undefined) {
    if (!host) throw new Error(`${op}: pass the shape explicitly on device "${idx2.device}" (indices cannot be read)`);
    const sizes = new Array<number>(sparseDim).fill(0);
    for (let d = 0; d < sparseDim; d++) {
      for (let k = 0; k < nnz; k++) sizes[d] = Math.max(sizes[d], host[d * nnz + k] + 1);
    }
    full = [...sizes, ...denseShape];
  } else {
    full = [...shape];
    if (full.length !== sparseDim + denseShape.length || !shapesEqual(full.slice(sparseDim), denseShape)) {
      throw new RangeError(
        `${op}: shape ${fmtShape(full)} does not match ${sparseDim} sparse dimension(s) followed by the values' ` +
          `dense shape ${fmtShape(denseShape)}`,
      );
    }
    if (full.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new RangeError(`${op}: shape ${fmtShape(full)} must hold non-negative integers`);
    }
  }
  if (host) {
    for (let d = 0; d < sparseDim; d++) {
      for (let k = 0; k < nnz; k++) {
        const v = host[d * nnz + k];
        if (v < 0 || v >= full[d]) {
          throw new RangeError(
            `${op}: index ${v} (entry ${k}, sparse dimension ${d}) is out of range for size ${full[d]} of shape ${
              fmtShape(full)
            }`,
          );
        }
      }
    }
  }
  if (numel(full.slice(0, sparseDim)) > 2 ** 31 - 1) {
    throw new RangeError(`${op}: the sparse dimensions of ${fmtShape(full)} hold more than 2^31 - 1 positions`);
  }
  const ci = idx2.contiguous(), cv = vals.contiguous();
  const out = new SparseTensor(ci, cv, full, nnz <= 1);
  // What was made here is the sparse tensor's alone now; what the caller passed stays the caller's.
  for (const t of new Set([idx, idx2, ci])) if (t !== indices) release(t);
  for (const t of new Set([vals, cv])) if (t !== values) release(t);
  return out;
}

/**
 * Internal: a sparse tensor made of freshly computed `indices` and `values` that nobody else holds (they are
 * released once aliased; `ownIndices` false leaves the indices alone, for indices shared with another sparse tensor).
 */
export function adopt(
  indices: Tensor,
  values: Tensor,
  shape: Shape,
  coalesced: boolean,
  ownIndices = true,
): SparseTensor {
  const out = new SparseTensor(indices, values, shape, coalesced);
  if (ownIndices) release(indices);
  release(values);
  return out;
}

/**
 * Disposes a temporary unless autograd may still need it: a tensor produced by a recorded op can be saved by its
 * backward rule (exp saves its output), so only tensors outside any graph are freed now; the others wait for their
 * scope or the collector, like every op's intermediates.
 */
function release(t: Tensor): void {
  if (!t.requiresGrad) t.dispose();
}

/**
 * The elements of dense `x` at the positions of sparse `mask`, as a sparse
 * tensor with the mask's indices (like PyTorch's `x.sparse_mask(mask)`).
 * Gradients flow to `x`. Costs O(nnz·denseSize).
 *
 * @example
 * ```ts
 * import { tensor } from "./ops/creation.ts";
 * import { sparseCooTensor, sparseMask } from "./sparse.ts";
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * const m = sparseMask(x, sparseCooTensor([[2, 0]], [[0, 0], [0, 0]], [3, 2]));
 * console.log(await m._values().tolist()); // [[5, 6], [1, 2]]
 * ```
 */
export function sparseMask(x: Tensor, mask: SparseTensor): SparseTensor {
  const op = "sparseMask";
  if (!(mask instanceof SparseTensor)) throw new TypeError(`${op}: the mask must be a sparse tensor`);
  if (!(x instanceof Tensor) || x.isSparse) throw new TypeError(`${op}: the input must be a dense tensor`);
  checkSameShape(op, x, mask);
  if (x.device !== mask.device) {
    throw new Error(`${op}: expected both tensors on the same device, but found "${x.device}" and "${mask.device}"`);
  }
  const indices = mask._indices();
  const sparseDim = indices.shape[0], nnz = indices.shape[1];
  const rowSize = numel(x.shape.slice(sparseDim));
  const rows = x.reshape([numel(x.shape.slice(0, sparseDim)), rowSize]).indexSelect(0, linearIndex(indices, x.shape));
  return adopt(indices, rows.reshape([nnz, ...x.shape.slice(sparseDim)]), x.shape, mask.isCoalesced(), true);
}

/**
 * `s`'s values with every position's duplicates summed into one of its
 * entries (the "carrier"; the others hold zeros), and `carrier` `[nnz]`, 1 at
 * carriers and 0 elsewhere (in the values' dtype) — coalescing's arithmetic
 * without sorting, so without reading the indices back: for devices that
 * cannot (WebGPU). A scatter writes each entry's number at its position (one
 * write per position survives, whichever), each entry reads its position's
 * survivor, and an index-add sums the values there. Costs O(nnz·denseSize)
 * plus one int32 per position of the sparse dimensions.
 *
 * @example
 * ```ts
 * import { sparseCooTensor, summedDuplicates } from "./sparse.ts";
 * const { values, carrier } = summedDuplicates(sparseCooTensor([[2, 0, 2]], [1, 5, 3], [4]));
 * console.log(await values.tolist(), await carrier.tolist()); // e.g. [4, 5, 0] [1, 1, 0] (or the 4 on the last entry)
 * ```
 */
export function summedDuplicates(s: SparseTensor): { values: Tensor; carrier: Tensor } {
  if (!(s instanceof SparseTensor)) throw new TypeError("summedDuplicates: expected a sparse tensor");
  const run = () => {
    const device = s.device, nnz = s.nnz;
    const indices = s._indices();
    const position = linearIndex(indices, s.shape);
    const count = numel(s.shape.slice(0, indices.shape[0]));
    const entry = arange(0, nnz, 1, { dtype: "int32", device });
    const survivor = zeros([count], { dtype: "int32", device }).scatter(0, position, entry);
    const carrier = survivor.indexSelect(0, position);
    const values = s._values();
    const summed = zeros(values.shape, { dtype: values.dtype, device }).indexAdd(0, carrier, values);
    return { values: summed, carrier: carrier.eq(entry).to(values.dtype) };
  };
  // Outside any graph the temporaries (a position-sized int32 among them) are freed at once; inside one, the
  // index-add's backward still needs them.
  return s.requiresGrad ? run() : tidy(run);
}

/** Whether `x` is a sparse tensor. */
export function isSparseTensor(x: unknown): x is SparseTensor {
  return x instanceof SparseTensor;
}

// ---- the kernels behind the methods ---------------------------------------------------------------------------

/** The row-major position of each entry among the sparse dimensions, as int32 `[nnz]`. */
function linearIndex(indices: Tensor, shape: Shape): Tensor {
  const sparseDim = indices.shape[0];
  if (sparseDim === 1) return indices.reshape([-1]);
  let lin: Tensor | null = null;
  let stride = 1;
  for (let d = sparseDim - 1; d >= 0; d--) {
    const row = indices.select(0, d);
    const term = stride === 1 ? row : row.mul(stride);
    lin = lin === null ? term : term.add(lin);
    stride *= shape[d];
  }
  return lin!;
}

/** The sparse entries as `[positions, rowSize]`: each entry's flat position and its values as one row. */
function asRows(indices: Tensor, values: Tensor, shape: Shape): { pos: Tensor; rows: Tensor; count: number } {
  const sparseDim = indices.shape[0];
  const nnz = values.shape[0];
  const rowSize = numel(shape.slice(sparseDim));
  return {
    pos: linearIndex(indices, shape).reshape([nnz, 1]).expand([nnz, rowSize]),
    rows: values.reshape([nnz, rowSize]),
    count: numel(shape.slice(0, sparseDim)),
  };
}

/** `dense + alpha * sparse` as a new dense tensor, by a recorded scatter-add (gradients reach both). */
function scatterRows(dense: Tensor, indices: Tensor, values: Tensor, alpha: number): Tensor {
  const shape = dense.shape;
  const { pos, rows, count } = asRows(indices, values, shape);
  const src = alpha === 1 ? rows : rows.mul(alpha);
  return dense.reshape([count, pos.shape[1]]).scatterAdd(0, pos, src.to(dense.dtype)).reshape(shape);
}

/** `dense += alpha * sparse` in place: one scatter-add kernel over the entries when `dense` owns its storage. */
function addRowsInPlace(op: string, dense: Tensor, indices: Tensor, values: Tensor, alpha: number): void {
  if (dense.device !== values.device) {
    throw new Error(
      `${op}: expected both tensors on the same device, but found "${dense.device}" and "${values.device}"`,
    );
  }
  if (!ownsStorage(dense)) {
    dense.copy_(noGrad(() => scatterRows(dense, indices, values, alpha)));
    return;
  }
  checkWritable(dense, op);
  noGrad(() =>
    tidy(() => {
      const { pos, rows, count } = asRows(indices, values, dense.shape);
      let src = alpha === 1 ? rows : rows.mul(alpha);
      if (src.dtype !== dense.dtype) src = src.to(dense.dtype);
      getBackend(dense.device).scatterAdd(dense.storage, [count, pos.shape[1]], 0, pos, src);
    })
  );
  dense._markModified(); // an in-place write: graphs that saved `dense` must refuse to backward
}

/** Sorts the entries by position and sums duplicates (values through a recorded scatter-add). */
function coalesce(indices: Tensor, values: Tensor, shape: Shape): SparseTensor {
  const op = "coalesce";
  if (!getBackend(indices.device).readSync) {
    throw new Error(
      `${op}: sorting the entries reads the indices back, which device "${indices.device}" cannot do synchronously; ` +
        "coalesce on the CPU",
    );
  }
  const sparseDim = indices.shape[0];
  const nnz = indices.shape[1];
  const host = indices.dataSync();
  const strides = new Array<number>(sparseDim);
  for (let d = sparseDim - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const key = new Float64Array(nnz);
  for (let k = 0; k < nnz; k++) {
    let p = 0;
    for (let d = 0; d < sparseDim; d++) p += host[d * nnz + k] * strides[d];
    key[k] = p;
  }
  const order = Array.from({ length: nnz }, (_, k) => k).sort((a, b) => key[a] - key[b] || a - b);
  const slot = new Int32Array(nnz);
  const uniqueKeys: number[] = [];
  for (const k of order) {
    if (uniqueKeys.length === 0 || uniqueKeys[uniqueKeys.length - 1] !== key[k]) uniqueKeys.push(key[k]);
    slot[k] = uniqueKeys.length - 1;
  }
  const n = uniqueKeys.length;
  const newIdx = new Int32Array(sparseDim * n);
  uniqueKeys.forEach((p, j) => {
    for (let d = 0; d < sparseDim; d++) {
      newIdx[d * n + j] = Math.floor(p / strides[d]) % shape[d];
    }
  });
  const device = indices.device;
  const rowSize = numel(values.shape.slice(1));
  const slotT = tensor(slot, { dtype: "int32", device, shape: [nnz, 1] }).expand([nnz, rowSize]);
  const summed = zeros([n, rowSize], { dtype: values.dtype, device })
    .scatterAdd(0, slotT, values.reshape([nnz, rowSize]))
    .reshape([n, ...values.shape.slice(1)]);
  return adopt(tensor(newIdx, { dtype: "int32", device, shape: [sparseDim, n] }), summed, shape, true);
}

function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new RangeError(`${op}: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must be equal (one is sparse)`);
  }
}

function checkScalar(op: string, x: TensorOrScalar): void {
  if (typeof x === "number") return;
  if (!(x instanceof Tensor) || x.isSparse || x.numel() !== 1) {
    throw new TypeError(
      `${op}: a sparse tensor can only be multiplied or divided by a scalar (a number or a one-element tensor)` +
        (x instanceof Tensor ? `, got shape ${fmtShape(x.shape)}` : ""),
    );
  }
}

function scaled(s: SparseTensor, alpha: number, op: string): SparseTensor {
  if (typeof alpha !== "number") throw new TypeError(`${op}: alpha must be a number`);
  return alpha === 1 ? s : s.mul(alpha);
}
