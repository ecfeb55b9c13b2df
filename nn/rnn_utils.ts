/**
 * Variable-length batches for the recurrent layers (PyTorch's
 * `torch.nn.utils.rnn`, reachable as `nn.utils.rnn`): `padSequence`,
 * `packPaddedSequence`, `padPackedSequence`, `packSequence` and the
 * `PackedSequence` they pass around.
 *
 * A packed batch holds only the real time steps: sequences sorted by length
 * (longest first), `data` `[N, *]` the steps in time order and, within a step,
 * in sorted order, and `batchSizes[t]` how many sequences are still running at
 * step t. `nn.RNN`, `nn.LSTM` and `nn.GRU` take one and return one; their final
 * states are each sequence's state at its own last step.
 *
 * @module
 */

import { cat, fmtShapeOf, full, Tensor, tensor } from "./deps.ts";

/** The sort order of packed batches made here, on the host (their index tensors may live on a GPU). */
const hostOrder = new WeakMap<PackedSequence, number[]>();

/**
 * A batch of sequences packed without padding (see the module doc). Build one
 * with {@link packPaddedSequence} or {@link packSequence}.
 */
export class PackedSequence {
  /**
   * Wraps packed data (PyTorch's constructor; {@link packPaddedSequence} is the usual way to make one).
   *
   * @param data the real steps `[N, *]`, in time order, each step's sequences in sorted order
   * @param batchSizes sequences running at each step (non-increasing; int32 on the CPU, as PyTorch keeps it there)
   * @param sortedIndices for each sorted position, the sequence's index in the caller's batch (int32, on data's
   *   device), or null when the batch came sorted
   * @param unsortedIndices the inverse permutation, or null
   */
  constructor(
    readonly data: Tensor,
    readonly batchSizes: Tensor,
    readonly sortedIndices: Tensor | null = null,
    readonly unsortedIndices: Tensor | null = null,
  ) {
    if (batchSizes.device !== "cpu" || batchSizes.dtype !== "int32" || batchSizes.ndim !== 1) {
      throw new TypeError(
        `PackedSequence: batchSizes must be a 1-D int32 CPU tensor, got ${batchSizes.dtype} ${
          fmtShapeOf(batchSizes)
        } on ${batchSizes.device}`,
      );
    }
  }

  /**
   * The sort permutation on the host (`sortedIndices`' values), or null when
   * the batch came sorted. Read synchronously from a CPU tensor, or kept from
   * when the batch was packed here.
   */
  get sortOrder(): number[] | null {
    if (!this.sortedIndices) return null;
    const known = hostOrder.get(this);
    if (known) return known;
    if (this.sortedIndices.device !== "cpu") {
      throw new Error(
        `PackedSequence: sortedIndices live on ${this.sortedIndices.device}; pack the batch with ` +
          `packPaddedSequence (which keeps a host copy) or move them to the CPU`,
      );
    }
    return Array.from(this.sortedIndices.dataSync());
  }

  /** `batchSizes` as plain numbers. */
  get steps(): number[] {
    return Array.from(this.batchSizes.dataSync());
  }

  /** Whether `data` requires grad. */
  get requiresGrad(): boolean {
    return this.data.requiresGrad;
  }

  /** The same packed batch with `data` moved to `device` (the index tensors follow; batchSizes stays on the CPU). */
  to(device: string): PackedSequence {
    return this.#like(
      this.data.to(device),
      this.sortedIndices?.to(device) ?? null,
      this.unsortedIndices?.to(device) ?? null,
    );
  }

  /**
   * The same packing around new `data` of as many rows (the result of an
   * elementwise op on `data`, say, or a layer's output).
   *
   * @example
   * ```ts
   * import { randn } from "@dendrite/tensor";
   * import { packPaddedSequence } from "./rnn_utils.ts";
   * const packed = packPaddedSequence(randn([3, 2, 4]), [3, 1]);
   * const activated = packed.withData(packed.data.relu());
   * ```
   */
  withData(data: Tensor): PackedSequence {
    if (data.ndim < 1 || data.shape[0] !== this.data.shape[0]) {
      throw new RangeError(
        `PackedSequence.withData: expected ${this.data.shape[0]} rows, got data ${fmtShapeOf(data)}`,
      );
    }
    return this.#like(data, this.sortedIndices, this.unsortedIndices);
  }

  #like(data: Tensor, sorted: Tensor | null, unsorted: Tensor | null): PackedSequence {
    const p = new PackedSequence(data, this.batchSizes, sorted, unsorted);
    const order = hostOrder.get(this);
    if (order) hostOrder.set(p, order);
    return p;
  }
}

/** Options of {@link padSequence}. */
export interface PadSequenceOptions {
  /** Return `[B, T, *]` rather than `[T, B, *]` (default false). */
  batchFirst?: boolean;
  /** The value of the padding (default 0). */
  paddingValue?: number;
  /** Pad after each sequence ("right", the default) or before it ("left"). */
  paddingSide?: "right" | "left";
}

/**
 * Stacks sequences `[L_i, *]` of different lengths into one padded batch
 * `[T, B, *]` (or `[B, T, *]`), T the longest length. Differentiable.
 *
 * @example
 * ```ts
 * import { ones } from "@dendrite/tensor";
 * import { padSequence } from "./rnn_utils.ts";
 * const batch = padSequence([ones([3, 2]), ones([1, 2])], { batchFirst: true });
 * console.log(batch.shape); // [2, 3, 2]
 * ```
 */
export function padSequence(sequences: readonly Tensor[], options: PadSequenceOptions = {}): Tensor {
  const op = "padSequence";
  if (sequences.length === 0) throw new RangeError(`${op}: expected at least one sequence`);
  const first = sequences[0];
  if (first.ndim < 1) throw new RangeError(`${op}: sequences must be at least 1-D, got ${fmtShapeOf(first)}`);
  const rest = first.shape.slice(1);
  sequences.forEach((s, i) => {
    if (s.ndim !== first.ndim || s.shape.slice(1).some((d, k) => d !== rest[k])) {
      throw new RangeError(
        `${op}: sequence ${i} has shape ${fmtShapeOf(s)}; every sequence must be [L, ${rest.join(", ")}]`,
      );
    }
  });
  const T = Math.max(...sequences.map((s) => s.shape[0]));
  const value = options.paddingValue ?? 0;
  const left = (options.paddingSide ?? "right") === "left";
  const padded = sequences.map((s) => {
    const L = s.shape[0];
    if (L === T) return s;
    const pad = full([T - L, ...rest], value, { dtype: s.dtype, device: s.device });
    return cat(left ? [pad, s] : [s, pad], 0);
  });
  return stackAt(padded, options.batchFirst ? 0 : 1);
}

function stackAt(ts: Tensor[], dim: number): Tensor {
  return cat(ts.map((t) => t.unsqueeze(dim)), dim);
}

/** Options of {@link packPaddedSequence}. */
export interface PackPaddedOptions {
  /** The input is `[B, T, *]` rather than `[T, B, *]` (default false). */
  batchFirst?: boolean;
  /**
   * Require the lengths to be sorted longest first (default true, as in
   * PyTorch); with false the batch is sorted here and the permutation kept, so
   * outputs come back in the caller's order.
   */
  enforceSorted?: boolean;
}

/** Lengths as plain integers (a tensor must be on the CPU, as PyTorch requires). */
function lengthsOf(op: string, lengths: Tensor | ArrayLike<number>): number[] {
  if (lengths instanceof Tensor) {
    const t = lengths;
    if (t.device !== "cpu") {
      throw new TypeError(`${op}: lengths must be on the CPU (they decide the packing), got a tensor on ${t.device}`);
    }
    if (t.ndim !== 1) throw new RangeError(`${op}: lengths must be 1-D, got ${fmtShapeOf(t)}`);
    return Array.from(t.dataSync());
  }
  return Array.from(lengths as ArrayLike<number>);
}

/** Which packed row each (t, b) of a sorted batch is, for the valid positions: the time-major flat index. */
function packIndex(batchSizes: readonly number[], B: number): number[] {
  const idx: number[] = [];
  batchSizes.forEach((n, t) => {
    for (let b = 0; b < n; b++) idx.push(t * B + b);
  });
  return idx;
}

/**
 * Packs a padded batch `[T, B, *]` (or `[B, T, *]`) whose sequence b has
 * `lengths[b]` real steps. Lengths must lie in `[1, T]`; with `enforceSorted`
 * (the default) they must be non-increasing. Differentiable with respect to
 * the input; padding never reaches `data`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { packPaddedSequence } from "./rnn_utils.ts";
 * const packed = packPaddedSequence(randn([4, 3, 2]), [4, 2, 1]);
 * console.log(packed.data.shape, packed.steps); // [7, 2] [3, 2, 1, 1]
 * ```
 */
export function packPaddedSequence(
  input: Tensor,
  lengths: Tensor | ArrayLike<number>,
  options: PackPaddedOptions = {},
): PackedSequence {
  const op = "packPaddedSequence";
  const batchFirst = options.batchFirst ?? false, enforceSorted = options.enforceSorted ?? true;
  if (input.ndim < 2) {
    throw new RangeError(
      `${op}: expected a padded batch [${batchFirst ? "B, T" : "T, B"}, *], got ${fmtShapeOf(input)}`,
    );
  }
  const lens = lengthsOf(op, lengths);
  const T = input.shape[batchFirst ? 1 : 0], B = input.shape[batchFirst ? 0 : 1];
  if (lens.length !== B) {
    throw new RangeError(`${op}: ${lens.length} lengths for a batch of ${B} sequences (input ${fmtShapeOf(input)})`);
  }
  lens.forEach((l, b) => {
    if (!Number.isInteger(l) || l < 1 || l > T) {
      throw new RangeError(
        `${op}: length ${l} of sequence ${b} is outside [1, ${T}] (input ${fmtShapeOf(input)} has ${T} steps)`,
      );
    }
  });
  let order: number[] | null = null;
  if (enforceSorted) {
    for (let b = 1; b < B; b++) {
      if (lens[b] > lens[b - 1]) {
        throw new RangeError(
          `${op}: lengths [${lens.join(", ")}] are not sorted longest first; sort the batch or pass ` +
            `enforceSorted: false`,
        );
      }
    }
  } else {
    // A stable sort, longest first.
    order = lens.map((_, b) => b).sort((a, b) => lens[b] - lens[a] || a - b);
  }
  const sorted = order ? order.map((b) => lens[b]) : lens;
  let x = batchFirst ? input.transpose(0, 1) : input;
  const device = input.device;
  const sortedIndices = order ? tensor(order, { dtype: "int32", device }) : null;
  if (sortedIndices) x = x.indexSelect(1, sortedIndices);
  const maxLen = sorted[0];
  const batchSizes: number[] = [];
  for (let t = 0; t < maxLen; t++) batchSizes.push(sorted.filter((l) => l > t).length);
  const rest = x.shape.slice(2);
  const flat = x.narrow(0, 0, maxLen).reshape([maxLen * B, ...rest]);
  const data = flat.indexSelect(0, tensor(packIndex(batchSizes, B), { dtype: "int32", device }));
  const unsortedIndices = order ? tensor(invert(order), { dtype: "int32", device }) : null;
  const packed = new PackedSequence(data, tensor(batchSizes, { dtype: "int32" }), sortedIndices, unsortedIndices);
  if (order) hostOrder.set(packed, order);
  return packed;
}

function invert(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return inv;
}

/** Options of {@link padPackedSequence}. */
export interface PadPackedOptions {
  /** Return `[B, T, *]` rather than `[T, B, *]` (default false). */
  batchFirst?: boolean;
  /** The value of the padding (default 0). */
  paddingValue?: number;
  /** Pad to this many steps (at least the longest sequence); default the longest. */
  totalLength?: number | null;
}

/**
 * The inverse of {@link packPaddedSequence}: a padded batch `[T, B, *]` (or
 * `[B, T, *]`) in the caller's order, and each sequence's length (an int32 CPU
 * tensor). Differentiable with respect to the packed data.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { packPaddedSequence, padPackedSequence } from "./rnn_utils.ts";
 * const packed = packPaddedSequence(randn([4, 3, 2]), [2, 4, 1], { enforceSorted: false });
 * const [padded, lengths] = padPackedSequence(packed);
 * console.log(padded.shape, [...lengths.dataSync()]); // [4, 3, 2] [2, 4, 1]
 * ```
 */
export function padPackedSequence(sequence: PackedSequence, options: PadPackedOptions = {}): [Tensor, Tensor] {
  const op = "padPackedSequence";
  const bs = sequence.steps;
  const maxLen = bs.length, B = bs[0];
  const T = options.totalLength ?? maxLen;
  if (!Number.isInteger(T) || T < maxLen) {
    throw new RangeError(`${op}: totalLength ${T} is shorter than the longest sequence (${maxLen} steps)`);
  }
  const { data } = sequence;
  const rest = data.shape.slice(1);
  const n = data.shape[0];
  // Every (t, b) reads its packed row, or one extra row holding the padding value.
  const map = new Array<number>(T * B).fill(n);
  let row = 0;
  bs.forEach((k, t) => {
    for (let b = 0; b < k; b++) map[t * B + b] = row++;
  });
  const fill = full([1, ...rest], options.paddingValue ?? 0, { dtype: data.dtype, device: data.device });
  let padded = cat([data, fill], 0)
    .indexSelect(0, tensor(map, { dtype: "int32", device: data.device }))
    .reshape([T, B, ...rest]);
  const lengths = new Array<number>(B).fill(0);
  bs.forEach((k) => {
    for (let b = 0; b < k; b++) lengths[b]++;
  });
  let ordered = lengths;
  const order = sequence.sortOrder;
  if (order && sequence.unsortedIndices) {
    padded = padded.indexSelect(1, sequence.unsortedIndices);
    ordered = invert(order).map((s) => lengths[s]);
  }
  return [options.batchFirst ? padded.transpose(0, 1) : padded, tensor(ordered, { dtype: "int32" })];
}

/**
 * Packs a list of sequences `[L_i, *]` (PyTorch's `pack_sequence`): pads
 * them and packs with their lengths.
 *
 * @example
 * ```ts
 * import { ones } from "@dendrite/tensor";
 * import { packSequence } from "./rnn_utils.ts";
 * const packed = packSequence([ones([1, 2]), ones([3, 2])], { enforceSorted: false });
 * console.log(packed.steps); // [2, 1, 1]
 * ```
 */
export function packSequence(
  sequences: readonly Tensor[],
  options: { enforceSorted?: boolean } = {},
): PackedSequence {
  return packPaddedSequence(padSequence(sequences), sequences.map((s) => s.shape[0]), options);
}

/** Internal (for the recurrent layers): the time-major flat index of each packed row. */
export function packedRows(batchSizes: readonly number[], B: number): number[] {
  return packIndex(batchSizes, B);
}
