/**
 * One step of a recurrent cell, PyTorch's `RNNCell`, `LSTMCell` and `GRUCell`:
 * parameters `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` (gates in
 * PyTorch's order), initialised U(-1/√hiddenSize, 1/√hiddenSize). A step runs
 * as a one-step `rnnLayer`, so it uses the same fused kernels as the layers.
 *
 * @module
 */

import { fmtShapeOf, type RnnCellMode, rnnLayer, type Tensor, zeros } from "./deps.ts";
import { Module, type Parameter } from "./module.ts";
import { emptyParameter, type FactoryOptions } from "./linear.ts";
import * as init from "./init.ts";

/** Options of the cells. */
export interface RNNCellBaseOptions extends FactoryOptions {
  /** Learn `bias_ih` and `bias_hh` (default true). */
  bias?: boolean;
}

/** Options of {@link RNNCell}. */
export interface RNNCellOptions extends RNNCellBaseOptions {
  /** `tanh` (default) or `relu`. */
  nonlinearity?: "tanh" | "relu";
}

/** The base of the three cells: parameters, initialisation, checks and the step. Use a subclass. */
export class RNNCellBase extends Module {
  /** `[G, inputSize]` (G = gates × hiddenSize). */
  weight_ih: Parameter;
  /** `[G, hiddenSize]`. */
  weight_hh: Parameter;
  /** `[G]`, or null. */
  bias_ih: Parameter | null;
  /** `[G]`, or null. */
  bias_hh: Parameter | null;

  /** Builds a cell of `gates` gates per unit computing `mode`. */
  constructor(
    readonly cell: RnnCellMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RNNCellBaseOptions = {},
  ) {
    super();
    const name = `${new.target.name}(${inputSize}, ${hiddenSize})`;
    for (const [what, v] of [["inputSize", inputSize], ["hiddenSize", hiddenSize]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name}: ${what} must be a positive integer, got ${v}`);
    }
    const G = (cell === "lstm" ? 4 : cell === "gru" ? 3 : 1) * hiddenSize;
    this.weight_ih = emptyParameter([G, inputSize], options);
    this.weight_hh = emptyParameter([G, hiddenSize], options);
    const bias = options.bias ?? true;
    this.bias_ih = bias ? emptyParameter([G], options) : null;
    this.bias_hh = bias ? emptyParameter([G], options) : null;
    this.resetParameters();
  }

  /** Every parameter U(-1/√hiddenSize, 1/√hiddenSize). */
  resetParameters(): void {
    const stdv = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) init.uniform_(p, -stdv, stdv);
  }

  /** Checks x `[B, in]` or `[in]` and a state `[B, H]` or `[H]` alike; returns the batched forms. */
  protected batched(
    x: Tensor,
    states: (Tensor | null)[],
  ): { x: Tensor; states: (Tensor | null)[]; unbatched: boolean } {
    const name = `${this.constructor.name}(${this.inputSize}, ${this.hiddenSize})`;
    if ((x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== this.inputSize) {
      throw new RangeError(
        `${name}: expected input [B, ${this.inputSize}] or [${this.inputSize}], got ${fmtShapeOf(x)}`,
      );
    }
    const unbatched = x.ndim === 1;
    const B = unbatched ? 1 : x.shape[0];
    const want = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
    const out = states.map((s) => {
      if (!s) return null;
      if (s.ndim !== want.length || s.shape.some((d, i) => d !== want[i])) {
        throw new RangeError(
          `${name}: expected a state [${want.join(", ")}] for input ${fmtShapeOf(x)}, got ${fmtShapeOf(s)}`,
        );
      }
      return unbatched ? s.unsqueeze(0) : s;
    });
    return { x: unbatched ? x.unsqueeze(0) : x, states: out, unbatched };
  }

  /** One step from batched x `[B, in]` and states; returns `[h, c]` (c null but for LSTM). */
  protected step(x: Tensor, h: Tensor | null, c: Tensor | null): [Tensor, Tensor | null] {
    const B = x.shape[0];
    const zero = () => zeros([B, this.hiddenSize], { dtype: x.dtype, device: x.device });
    let xg = x.matmul(this.weight_ih.t());
    if (this.bias_ih) xg = xg.add(this.cell === "gru" ? this.bias_ih : this.bias_ih.add(this.bias_hh!));
    const r = rnnLayer(this.cell, {
      xGates: xg.unsqueeze(0),
      wHh: this.weight_hh,
      bHh: this.cell === "gru" ? this.bias_hh : null,
      h0: h ?? zero(),
      c0: this.cell === "lstm" ? c ?? zero() : null,
    });
    return [r.h, r.c];
  }

  /** The arguments shown in the module's line of `toString()`. */
  override extraRepr(): string {
    const extra = this.bias_ih ? "" : ", bias=false";
    return `${this.inputSize}, ${this.hiddenSize}${extra}`;
  }
}

/**
 * `h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)` for one step.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { RNNCell } from "./rnn_cell.ts";
 * const cell = new RNNCell(4, 3, { nonlinearity: "relu" });
 * console.log(cell.forward(randn([2, 4])).shape); // [2, 3]
 * ```
 */
export class RNNCell extends RNNCellBase {
  /** The nonlinearity. */
  readonly nonlinearity: "tanh" | "relu";

  /** An RNN cell with PyTorch's initialisation. */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    const nl = options.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") {
      throw new RangeError(`RNNCell(${inputSize}, ${hiddenSize}): nonlinearity must be "tanh" or "relu", got ${nl}`);
    }
    super(nl === "tanh" ? "rnnTanh" : "rnnRelu", inputSize, hiddenSize, options);
    this.nonlinearity = nl;
  }

  /** The next state from x `[B, in]` (or `[in]`) and h `[B, H]` (default zeros). */
  override forward(x: Tensor, hx: Tensor | null = null): Tensor {
    const b = this.batched(x, [hx]);
    const [h] = this.step(b.x, b.states[0], null);
    return b.unbatched ? h.squeeze(0) : h;
  }
}

/**
 * One LSTM step: returns `[h', c']` (gates i, f, g, o).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { LSTMCell } from "./rnn_cell.ts";
 * const cell = new LSTMCell(4, 3);
 * const [h, c] = cell.forward(randn([2, 4]));
 * console.log(h.shape, c.shape); // [2, 3] [2, 3]
 * ```
 */
export class LSTMCell extends RNNCellBase {
  /** An LSTM cell with PyTorch's initialisation. */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellBaseOptions = {}) {
    super("lstm", inputSize, hiddenSize, options);
  }

  /** `[h', c']` from x `[B, in]` (or `[in]`) and `[h, c]` (default zeros). */
  override forward(x: Tensor, hx: [Tensor, Tensor] | null = null): [Tensor, Tensor] {
    const b = this.batched(x, hx ? [hx[0], hx[1]] : [null, null]);
    const [h, c] = this.step(b.x, b.states[0], b.states[1]);
    return b.unbatched ? [h.squeeze(0), c!.squeeze(0)] : [h, c!];
  }
}

/**
 * One GRU step (gates r, z, n; `b_hn` inside the reset product).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { GRUCell } from "./rnn_cell.ts";
 * const cell = new GRUCell(4, 3);
 * console.log(cell.forward(randn([4]), randn([3])).shape); // [3]
 * ```
 */
export class GRUCell extends RNNCellBase {
  /** A GRU cell with PyTorch's initialisation. */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellBaseOptions = {}) {
    super("gru", inputSize, hiddenSize, options);
  }

  /** The next state from x `[B, in]` (or `[in]`) and h (default zeros). */
  override forward(x: Tensor, hx: Tensor | null = null): Tensor {
    const b = this.batched(x, [hx]);
    const [h] = this.step(b.x, b.states[0], null);
    return b.unbatched ? h.squeeze(0) : h;
  }
}
