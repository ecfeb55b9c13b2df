/**
 * A character-level language model (Karpathy's char-rnn): an embedding, a
 * stacked LSTM or GRU, and a linear layer to logits over the vocabulary. The
 * `char_lstm` example trains it and `bench/rnn.ts` times its training step.
 *
 * @module
 */

import * as nn from "@dendrite/nn";
import type { Tensor } from "@dendrite/tensor";

/** The recurrent state a {@link CharRNN} carries between calls: h (GRU) or [h, c] (LSTM). */
export type RnnState = Tensor | [Tensor, Tensor];

/** Options of {@link CharRNN}. */
export interface CharRNNOptions {
  /** The recurrent cell (default "lstm"). */
  cell?: "lstm" | "gru";
  /** Embedding size (default 64). */
  embeddingDim?: number;
  /** Hidden size (default 256). */
  hiddenSize?: number;
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Dropout between layers and before the output layer, while training (default 0). */
  dropout?: number;
}

/**
 * Embedding → LSTM/GRU → Linear: `forward(x, state)` maps int32
 * ids `[B, T]` to logits `[B, T, vocab]` and the state after the last step.
 *
 * @example
 * ```ts
 * import { randint } from "@dendrite/tensor";
 * import { CharRNN } from "./char_rnn.ts";
 * const model = new CharRNN(50, { hiddenSize: 32 });
 * const [logits, state] = model.forward(randint(0, 50, [2, 7], { dtype: "int32" }));
 * console.log(logits.shape); // [2, 7, 50]
 * ```
 */
export class CharRNN extends nn.Module {
  /** Ids to vectors. */
  embed: nn.Embedding;
  /** The recurrence. */
  rnn: nn.LSTM | nn.GRU;
  /** Dropout before the output layer. */
  drop: nn.Dropout;
  /** States to logits. */
  head: nn.Linear;

  /** A model over `vocabSize` ids. */
  constructor(readonly vocabSize: number, options: CharRNNOptions = {}) {
    super();
    const e = options.embeddingDim ?? 64, h = options.hiddenSize ?? 256;
    // Time-major inside: the embedding, the recurrence and the output layer then each work on one contiguous
    // [T·B, ·] matrix (one GEMM each) rather than B strided slices.
    const rnnOptions = { numLayers: options.numLayers ?? 1, dropout: options.dropout ?? 0 };
    this.embed = new nn.Embedding(vocabSize, e);
    this.rnn = (options.cell ?? "lstm") === "lstm" ? new nn.LSTM(e, h, rnnOptions) : new nn.GRU(e, h, rnnOptions);
    this.drop = new nn.Dropout(options.dropout ?? 0);
    this.head = new nn.Linear(h, vocabSize);
  }

  /** Logits `[B, T, vocab]` for ids `[B, T]`, from `state` (default zeros), and the final state. */
  override forward(x: Tensor, state: RnnState | null = null): [Tensor, RnnState] {
    const e = this.embed.forward(x.t());
    let out: Tensor, next: RnnState;
    if (this.rnn instanceof nn.LSTM) [out, next] = this.rnn.forward(e, state as [Tensor, Tensor] | null);
    else [out, next] = this.rnn.forward(e, state as Tensor | null);
    return [this.head.forward(this.drop.forward(out)).transpose(0, 1), next];
  }
}

/** `state` cut from the graph (truncated backpropagation through time carries values, not gradients). */
export function detachState(state: RnnState): RnnState {
  return Array.isArray(state) ? [state[0].detach(), state[1].detach()] : state.detach();
}
