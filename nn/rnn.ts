/**
 * Recurrent layers with PyTorch's equations, gate order, initialisation and
 * parameter names: `RNN`, `LSTM`, `GRU`. One {@link RNNBase} owns the flat
 * weights (`weight_ih_l{k}{_reverse}`, `weight_hh_l…`, `bias_ih_l…`,
 * `bias_hh_l…`, `weight_hr_l…`), the shape checks, packed batches and the
 * loop over layers and directions; the subclasses only name their cell and
 * shape their states. Each layer-direction computes the input side of its
 * gates for all steps as one GEMM and runs the recurrence as one op
 * (`rnnLayer`: fused cell kernels where the backend has them).
 *
 * @module
 */

import { cat, dropout, fmtShapeOf, type RnnCellMode, rnnLayer, type Tensor, tensor, zeros } from "./deps.ts";
import { Module, Parameter } from "./module.ts";
import { emptyParameter, type FactoryOptions } from "./linear.ts";
import * as init from "./init.ts";
import { packedRows, PackedSequence } from "./rnn_utils.ts";

/** PyTorch's names of the recurrent modes. */
export type RNNMode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";

/** Options every recurrent layer takes. */
export interface RNNBaseOptions extends FactoryOptions {
  /** Stacked layers (default 1); layer k > 0 reads layer k-1's outputs. */
  numLayers?: number;
  /** Learn `b_ih` and `b_hh` (default true). */
  bias?: boolean;
  /** Inputs and outputs are `[B, T, F]` rather than `[T, B, F]` (default false; states stay `[L·D, B, H]`). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, while training (default 0). */
  dropout?: number;
  /** Run a second stack backwards in time and concatenate the outputs (default false). */
  bidirectional?: boolean;
}

/** Options of {@link RNN}. */
export interface RNNOptions extends RNNBaseOptions {
  /** `tanh` (default) or `relu`. */
  nonlinearity?: "tanh" | "relu";
}

/** Options of {@link LSTM}. */
export interface LSTMOptions extends RNNBaseOptions {
  /** Project `h` to this size with `W_hr` (default 0: no projection). */
  projSize?: number;
}

const KERNEL_MODE: Record<RNNMode, RnnCellMode> = {
  RNN_TANH: "rnnTanh",
  RNN_RELU: "rnnRelu",
  LSTM: "lstm",
  GRU: "gru",
};

const GATES: Record<RNNMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

/** What {@link RNNBase}'s shared loop (`run`, for subclasses) returns. */
export interface RNNRunResult {
  /** The outputs of every step (a packed batch for a packed input). */
  output: Tensor | PackedSequence;
  /** The final hidden states `[L·D, B, H]`. */
  h: Tensor;
  /** LSTM's final cell states, else null. */
  c: Tensor | null;
}

/**
 * The base of `RNN`, `LSTM` and `GRU`: parameters in PyTorch's order and
 * names, initialised U(-1/√hiddenSize, 1/√hiddenSize), and the forward loop.
 * Use a subclass.
 */
export class RNNBase extends Module {
  /** The cell. */
  readonly mode: RNNMode;
  /** Features of each input step. */
  readonly inputSize: number;
  /** Features of the hidden state. */
  readonly hiddenSize: number;
  /** Stacked layers. */
  readonly numLayers: number;
  /** Whether the layers have biases. */
  readonly bias: boolean;
  /** Whether inputs and outputs are batch-first. */
  readonly batchFirst: boolean;
  /** Dropout between layers. */
  readonly dropout: number;
  /** Whether there is a reverse direction. */
  readonly bidirectional: boolean;
  /** LSTM's projection size (0: none). */
  readonly projSize: number;

  /** Builds the parameters of `mode`'s layers (see the subclasses). */
  constructor(
    mode: RNNMode,
    inputSize: number,
    hiddenSize: number,
    options: RNNBaseOptions & { projSize?: number } = {},
  ) {
    super();
    const name = `${mode === "LSTM" || mode === "GRU" ? mode : "RNN"}(${inputSize}, ${hiddenSize})`;
    const numLayers = options.numLayers ?? 1, dropoutP = options.dropout ?? 0, projSize = options.projSize ?? 0;
    for (const [what, v] of [["inputSize", inputSize], ["hiddenSize", hiddenSize], ["numLayers", numLayers]]) {
      if (!Number.isInteger(v) || (v as number) < 1) {
        throw new RangeError(`${name}: ${what} must be a positive integer, got ${v}`);
      }
    }
    if (!(dropoutP >= 0 && dropoutP <= 1)) throw new RangeError(`${name}: dropout must be in [0, 1], got ${dropoutP}`);
    if (!Number.isInteger(projSize) || projSize < 0) {
      throw new RangeError(`${name}: projSize must be a non-negative integer, got ${projSize}`);
    }
    if (projSize > 0 && mode !== "LSTM") throw new RangeError(`${name}: projSize is only supported by LSTM`);
    if (projSize >= hiddenSize && projSize > 0) {
      throw new RangeError(`${name}: projSize ${projSize} must be smaller than hiddenSize ${hiddenSize}`);
    }
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = dropoutP;
    this.bidirectional = options.bidirectional ?? false;
    this.projSize = projSize;
    const G = GATES[mode] * hiddenSize;
    const real = projSize || hiddenSize;
    const dirs = this.bidirectional ? 2 : 1;
    for (let layer = 0; layer < numLayers; layer++) {
      const inSize = layer === 0 ? inputSize : real * dirs;
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${layer}${d === 1 ? "_reverse" : ""}`;
        this.#set(`weight_ih${sfx}`, emptyParameter([G, inSize], options));
        this.#set(`weight_hh${sfx}`, emptyParameter([G, real], options));
        if (this.bias) {
          this.#set(`bias_ih${sfx}`, emptyParameter([G], options));
          this.#set(`bias_hh${sfx}`, emptyParameter([G], options));
        }
        if (projSize > 0) this.#set(`weight_hr${sfx}`, emptyParameter([projSize, hiddenSize], options));
      }
    }
    this.resetParameters();
  }

  #set(name: string, p: Parameter): void {
    this.registerParameter(name, p);
  }

  /** The parameter called `name` (e.g. `weight_hh_l0_reverse`). */
  param(name: string): Parameter {
    const p = (this as unknown as Record<string, unknown>)[name];
    if (!(p instanceof Parameter)) throw new RangeError(`${this.#name()}: no parameter ${name}`);
    return p;
  }

  /** The parameter names in PyTorch's order (`_flat_weights_names`). */
  get flatWeightsNames(): string[] {
    const names: string[] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let d = 0; d < (this.bidirectional ? 2 : 1); d++) {
        const sfx = `_l${layer}${d === 1 ? "_reverse" : ""}`;
        names.push(`weight_ih${sfx}`, `weight_hh${sfx}`);
        if (this.bias) names.push(`bias_ih${sfx}`, `bias_hh${sfx}`);
        if (this.projSize > 0) names.push(`weight_hr${sfx}`);
      }
    }
    return names;
  }

  /** The parameters grouped per layer-direction, in PyTorch's order (`all_weights`). */
  get allWeights(): Parameter[][] {
    const per = 2 + (this.bias ? 2 : 0) + (this.projSize > 0 ? 1 : 0);
    const flat = this.flatWeightsNames.map((n) => this.param(n));
    const out: Parameter[][] = [];
    for (let i = 0; i < flat.length; i += per) out.push(flat.slice(i, i + per));
    return out;
  }

  /** Every weight and bias U(-1/√hiddenSize, 1/√hiddenSize), as PyTorch initialises them. */
  resetParameters(): void {
    const stdv = 1 / Math.sqrt(this.hiddenSize);
    for (const n of this.flatWeightsNames) init.uniform_(this.param(n), -stdv, stdv);
  }

  #name(): string {
    return `${this.mode === "LSTM" || this.mode === "GRU" ? this.mode : "RNN"}(${this.inputSize}, ${this.hiddenSize})`;
  }

  /** The shape a state of `rows` sequences must have (unbatched when `rows` is null). */
  #stateShape(width: number, rows: number | null): number[] {
    const ld = this.numLayers * (this.bidirectional ? 2 : 1);
    return rows === null ? [ld, width] : [ld, rows, width];
  }

  /**
   * The shared forward: checks the input and states, runs every layer and
   * direction, and shapes the result like the input (packed, batch-first or
   * unbatched). `hx` and `cx` are `[L·D, B, ·]` (or unbatched `[L·D, ·]`).
   */
  protected run(input: Tensor | PackedSequence, hx: Tensor | null, cx: Tensor | null): RNNRunResult {
    const name = this.#name();
    const packed = input instanceof PackedSequence ? input : null;
    const P = this.projSize || this.hiddenSize, H = this.hiddenSize;
    let x: Tensor, B: number, batchSizes: number[] | null = null, unbatched = false;
    if (packed) {
      batchSizes = packed.steps;
      const data = packed.data;
      if (data.ndim !== 2 || data.shape[1] !== this.inputSize) {
        throw new RangeError(
          `${name}: expected packed data [N, ${this.inputSize}], got ${fmtShapeOf(data)}`,
        );
      }
      B = batchSizes[0];
      const T = batchSizes.length;
      // The padded, sorted, time-major batch the layers run on: every (t, b) reads its packed row or a zero row.
      const map = new Array<number>(T * B).fill(data.shape[0]);
      packedRows(batchSizes, B).forEach((flat, row) => (map[flat] = row));
      const withZero = cat([data, zeros([1, this.inputSize], { dtype: data.dtype, device: data.device })], 0);
      x = withZero.indexSelect(0, tensor(map, { dtype: "int32", device: data.device })).reshape([
        T,
        B,
        this.inputSize,
      ]);
    } else {
      const t = input as Tensor;
      if (t.ndim !== 2 && t.ndim !== 3) {
        throw new RangeError(
          `${name}: expected input [${
            this.batchFirst ? "B, T" : "T, B"
          }, ${this.inputSize}] or unbatched [T, ${this.inputSize}], got ${fmtShapeOf(t)}`,
        );
      }
      if (t.shape[t.ndim - 1] !== this.inputSize) {
        throw new RangeError(
          `${name}: expected input features ${this.inputSize} (the last dim), got input ${fmtShapeOf(t)}`,
        );
      }
      unbatched = t.ndim === 2;
      x = unbatched ? t.unsqueeze(1) : this.batchFirst ? t.transpose(0, 1) : t;
      B = x.shape[1];
      if (x.shape[0] === 0) {
        throw new RangeError(`${name}: expected at least one time step, got input ${fmtShapeOf(t)}`);
      }
    }
    const rows = unbatched ? null : B;
    const checkState = (s: Tensor | null, width: number, what: string): Tensor | null => {
      if (!s) return null;
      const want = this.#stateShape(width, rows);
      if (s.ndim !== want.length || s.shape.some((d, i) => d !== want[i])) {
        throw new RangeError(
          `${name}: expected ${what} [${want.join(", ")}] for input ${
            packed ? `packed [${packed.data.shape.join(", ")}]` : fmtShapeOf(input as Tensor)
          }, got ${fmtShapeOf(s)}`,
        );
      }
      if (s.dtype !== x.dtype || s.device !== x.device) {
        throw new TypeError(`${name}: ${what} is ${s.dtype} on ${s.device}, the input ${x.dtype} on ${x.device}`);
      }
      let b = unbatched ? s.unsqueeze(1) : s;
      // A packed batch runs in sorted order: states come in the caller's order.
      if (packed?.sortedIndices) b = b.indexSelect(1, packed.sortedIndices);
      return b;
    };
    const h0 = checkState(hx, P, this.mode === "LSTM" ? "h0" : "hx");
    const c0 = this.mode === "LSTM" ? checkState(cx, H, "c0") : null;
    const T = x.shape[0];
    const dirs = this.bidirectional ? 2 : 1;
    const kmode = KERNEL_MODE[this.mode];
    const hs: Tensor[] = [], cs: Tensor[] = [];
    const zerosState = (w: number) => zeros([B, w], { dtype: x.dtype, device: x.device });
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: Tensor[] = [];
      const F = x.shape[2];
      const flatX = x.reshape([T * B, F]);
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${layer}${d === 1 ? "_reverse" : ""}`;
        const k = layer * dirs + d;
        // The input side of every step's gates as one GEMM; LSTM and RNN fold b_hh in here too.
        let xg = flatX.matmul(this.param(`weight_ih${sfx}`).t());
        if (this.bias) {
          const bIh = this.param(`bias_ih${sfx}`);
          xg = xg.add(this.mode === "GRU" ? bIh : bIh.add(this.param(`bias_hh${sfx}`)));
        }
        const res = rnnLayer(kmode, {
          xGates: xg.reshape([T, B, xg.shape[1]]),
          wHh: this.param(`weight_hh${sfx}`),
          bHh: this.mode === "GRU" && this.bias ? this.param(`bias_hh${sfx}`) : null,
          wHr: this.projSize > 0 ? this.param(`weight_hr${sfx}`) : null,
          h0: h0 ? h0.select(0, k) : zerosState(P),
          c0: this.mode === "LSTM" ? (c0 ? c0.select(0, k) : zerosState(H)) : null,
        }, { batchSizes, reverse: d === 1 });
        outs.push(res.output);
        hs.push(res.h);
        if (res.c) cs.push(res.c);
      }
      x = dirs === 2 ? cat(outs, 2) : outs[0];
      if (layer < this.numLayers - 1 && this.dropout > 0 && this.training) x = dropout(x, this.dropout, true);
    }
    let h = stackStates(hs), c = cs.length ? stackStates(cs) : null;
    if (packed) {
      if (packed.unsortedIndices) {
        h = h.indexSelect(1, packed.unsortedIndices);
        if (c) c = c.indexSelect(1, packed.unsortedIndices);
      }
      const flat = x.reshape([T * B, x.shape[2]]);
      const data = flat.indexSelect(0, tensor(packedRows(batchSizes!, B), { dtype: "int32", device: x.device }));
      return { output: packed.withData(data), h, c };
    }
    if (unbatched) return { output: x.squeeze(1), h: h.squeeze(1), c: c ? c.squeeze(1) : null };
    return { output: this.batchFirst ? x.transpose(0, 1) : x, h, c };
  }

  /** The arguments shown in the module's line of `toString()`. */
  override extraRepr(): string {
    const parts = [`${this.inputSize}, ${this.hiddenSize}`];
    if (this.projSize) parts.push(`projSize=${this.projSize}`);
    if (this.numLayers !== 1) parts.push(`numLayers=${this.numLayers}`);
    if (!this.bias) parts.push("bias=false");
    if (this.batchFirst) parts.push("batchFirst=true");
    if (this.dropout) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push("bidirectional=true");
    if (this.mode === "RNN_RELU") parts.push("nonlinearity=relu");
    return parts.join(", ");
  }
}

/** `[L·D]` states `[B, H]` stacked to `[L·D, B, H]`. */
function stackStates(states: Tensor[]): Tensor {
  return cat(states.map((s) => s.unsqueeze(0)), 0);
}

/** Input of a recurrent layer: a padded batch (`[T, B, F]`, `[B, T, F]` or unbatched `[T, F]`) or a packed one. */
export type RNNInput = Tensor | PackedSequence;

/**
 * An Elman RNN: `h_t = act(x_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh)` with
 * tanh or ReLU, stacked and optionally bidirectional. `forward(x, h0)` returns
 * `[output, hN]`: output `[T, B, D·H]` (D = 2 when bidirectional), hN
 * `[L·D, B, H]`; a packed input gives a packed output.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { RNN } from "./rnn.ts";
 * const rnn = new RNN(10, 20, { numLayers: 2 });
 * const [output, hN] = rnn.forward(randn([5, 3, 10]), randn([2, 3, 20]));
 * console.log(output.shape, hN.shape); // [5, 3, 20] [2, 3, 20]
 * ```
 */
export class RNN extends RNNBase {
  /** An RNN of `numLayers` layers with PyTorch's initialisation. */
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    const nl = options.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") {
      throw new RangeError(`RNN(${inputSize}, ${hiddenSize}): nonlinearity must be "tanh" or "relu", got ${nl}`);
    }
    super(nl === "tanh" ? "RNN_TANH" : "RNN_RELU", inputSize, hiddenSize, options);
  }

  /** Runs the sequence(s) from `hx` (default zeros `[L·D, B, H]`); returns `[output, hN]`. */
  override forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  /** A packed batch in, a packed batch out. */
  override forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  override forward(input: RNNInput, hx: Tensor | null = null): [RNNInput, Tensor] {
    const r = this.run(input, hx, null);
    return [r.output, r.h];
  }
}

/**
 * A GRU: `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
 * `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 - z) ⊙ n + z ⊙ h`
 * (gates r, z, n in that order in each weight). `forward(x, h0)` returns
 * `[output, hN]` as {@link RNN} does.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { GRU } from "./rnn.ts";
 * const gru = new GRU(8, 16, { batchFirst: true, bidirectional: true });
 * const [output, hN] = gru.forward(randn([4, 7, 8]));
 * console.log(output.shape, hN.shape); // [4, 7, 32] [2, 4, 16]
 * ```
 */
export class GRU extends RNNBase {
  /** A GRU with PyTorch's initialisation. */
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super("GRU", inputSize, hiddenSize, options);
  }

  /** Runs the sequence(s) from `hx` (default zeros); returns `[output, hN]`. */
  override forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  /** A packed batch in, a packed batch out. */
  override forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  override forward(input: RNNInput, hx: Tensor | null = null): [RNNInput, Tensor] {
    const r = this.run(input, hx, null);
    return [r.output, r.h];
  }
}

/**
 * An LSTM: gates i, f, g, o (in that order in each weight),
 * `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')` (then `W_hr h'` with `projSize`).
 * `forward(x, [h0, c0])` returns `[output, [hN, cN]]`: output `[T, B, D·P]`,
 * hN `[L·D, B, P]` (P = projSize or hiddenSize), cN `[L·D, B, H]`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { LSTM } from "./rnn.ts";
 * const lstm = new LSTM(10, 20, { numLayers: 2, projSize: 8 });
 * const [output, [hN, cN]] = lstm.forward(randn([5, 3, 10]));
 * console.log(output.shape, hN.shape, cN.shape); // [5, 3, 8] [2, 3, 8] [2, 3, 20]
 * ```
 */
export class LSTM extends RNNBase {
  /** An LSTM with PyTorch's initialisation. */
  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    super("LSTM", inputSize, hiddenSize, options);
  }

  /** Runs the sequence(s) from `[h0, c0]` (default zeros); returns `[output, [hN, cN]]`. */
  override forward(input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]];
  /** A packed batch in, a packed batch out. */
  override forward(input: PackedSequence, hx?: [Tensor, Tensor] | null): [PackedSequence, [Tensor, Tensor]];
  override forward(input: RNNInput, hx: [Tensor, Tensor] | null = null): [RNNInput, [Tensor, Tensor]] {
    if (hx !== null && (!Array.isArray(hx) || hx.length !== 2)) {
      throw new TypeError(`LSTM(${this.inputSize}, ${this.hiddenSize}): hx must be [h0, c0] or null`);
    }
    const r = this.run(input, hx?.[0] ?? null, hx?.[1] ?? null);
    return [r.output, [r.h, r.c!]];
  }
}
