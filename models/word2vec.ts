/**
 * word2vec (Mikolov et al., 2013): skip-gram or CBOW with negative
 * sampling, frequent-word subsampling, noise from the unigram distribution
 * raised to 3/4, and a learning rate falling linearly to zero, trained in
 * mini-batches with sparse embedding gradients (each step touches only the
 * rows of the batch's words). The same trainer learns node vectors from
 * random walks (DeepWalk): a walk is a sentence of node ids.
 *
 * @module
 */

import * as nn from "@dendrite/nn";
import * as optim from "@dendrite/optim";
import { binaryCrossEntropyWithLogits, Generator, noGrad, type Tensor, tensor, tidy } from "@dendrite/tensor";

/** Which word2vec model: predict the context from the word, or the word from its context. */
export type Word2VecMode = "skipgram" | "cbow";

/**
 * The two tables of word2vec: the input vectors (`inEmbed`, the word
 * vectors one keeps) and the output vectors (`outEmbed`) that the input is
 * scored against. Both have sparse gradients.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { Word2Vec } from "./word2vec.ts";
 * const w2v = new Word2Vec(1000, 50);
 * const ids = (v: number[][]) => tensor(v, { dtype: "int32" });
 * // Two (word, context) pairs, each against 2 noise words: the loss is summed over the pairs.
 * const loss = w2v.skipGramLoss(tensor([3, 7], { dtype: "int32" }), ids([[5, 1, 2], [9, 4, 8]]));
 * loss.backward(); // sparse gradients for both tables
 * ```
 */
export class Word2Vec extends nn.Module {
  /** The input (word) vectors `[vocabSize, dim]`: word2vec's `syn0`, initialised U(−0.5/dim, 0.5/dim). */
  inEmbed: nn.Embedding;
  /** The output vectors `[vocabSize, dim]`: word2vec's `syn1neg`, initialised to zero. */
  outEmbed: nn.Embedding;

  /** Two tables for `vocabSize` words of `dim` numbers, initialised as word2vec does. */
  constructor(readonly vocabSize: number, readonly dim: number, options: { device?: string } = {}) {
    super();
    if (!Number.isInteger(vocabSize) || vocabSize < 1 || !Number.isInteger(dim) || dim < 1) {
      throw new RangeError(`Word2Vec: vocabSize and dim must be positive integers, got ${vocabSize} and ${dim}`);
    }
    this.inEmbed = new nn.Embedding(vocabSize, dim, { sparse: true, device: options.device });
    this.outEmbed = new nn.Embedding(vocabSize, dim, { sparse: true, device: options.device });
    noGrad(() => {
      nn.init.uniform_(this.inEmbed.weight, -0.5 / dim, 0.5 / dim);
      nn.init.zeros_(this.outEmbed.weight);
    });
  }

  /**
   * Skip-gram's negative-sampling loss, summed over the batch: for each
   * `center[b]`, `targets[b, 0]` is a true context word and `targets[b, 1:]`
   * noise words; the loss is `−log σ(u₀·v) − Σₖ log σ(−uₖ·v)` with `v` the
   * center's input vector and `u` the targets' output vectors.
   */
  skipGramLoss(center: Tensor, targets: Tensor): Tensor {
    checkIds("Word2Vec.skipGramLoss", center, 1);
    checkIds("Word2Vec.skipGramLoss", targets, 2);
    if (targets.shape[0] !== center.shape[0]) {
      throw new RangeError(
        `Word2Vec.skipGramLoss: ${center.shape[0]} centers but ${targets.shape[0]} rows of targets`,
      );
    }
    return this.#score(this.inEmbed.forward(center), targets);
  }

  /**
   * CBOW's negative-sampling loss, summed over the batch: the input is the
   * mean of the context words' input vectors (`context [B, C]`, where `mask`
   * `[B, C]` is 1 for a real context word and 0 for padding), scored against
   * the word (`targets[b, 0]`) and noise words (`targets[b, 1:]`).
   */
  cbowLoss(context: Tensor, mask: Tensor, targets: Tensor): Tensor {
    checkIds("Word2Vec.cbowLoss", context, 2);
    checkIds("Word2Vec.cbowLoss", targets, 2);
    if (mask.ndim !== 2 || mask.shape[0] !== context.shape[0] || mask.shape[1] !== context.shape[1]) {
      throw new RangeError(
        `Word2Vec.cbowLoss: mask [${mask.shape}] must have the context's shape [${context.shape}]`,
      );
    }
    const m = mask.unsqueeze(2);
    const h = this.inEmbed.forward(context).mul(m).sum(1).div(mask.sum(1, { keepdim: true }).clamp(1));
    return this.#score(h, targets);
  }

  #score(v: Tensor, targets: Tensor): Tensor {
    const u = this.outEmbed.forward(targets); // [B, 1 + K, dim]
    const scores = u.mul(v.unsqueeze(1)).sum(2); // [B, 1 + K]
    const labels = noGrad(() =>
      tensor([1, ...new Array(targets.shape[1] - 1).fill(0)], { device: v.device }).expand(scores.shape)
    );
    return binaryCrossEntropyWithLogits(scores, labels, { reduction: "sum" });
  }

  /** Not used: word2vec is trained through {@link Word2Vec.skipGramLoss} or {@link Word2Vec.cbowLoss}. */
  override forward(ids: Tensor): Tensor {
    return this.inEmbed.forward(ids);
  }

  /** The word vectors (the input table), `[vocabSize, dim]`. */
  vectors(): Tensor {
    return this.inEmbed.weight.detach();
  }
}

/** Throws unless `ids` is an int32 tensor of rank `ndim` (the embedding lookup then checks the range, naming the id). */
function checkIds(op: string, ids: Tensor, ndim: number): void {
  if (ids.dtype !== "int32" || ids.ndim !== ndim) {
    throw new TypeError(`${op}: expected ${ndim}-D int32 ids, got ${ids.ndim}-D ${ids.dtype} [${ids.shape}]`);
  }
}

/**
 * Draws words from the unigram distribution raised to `power` (word2vec's
 * 3/4) in O(1) each, by Walker's alias method.
 *
 * @example
 * ```ts
 * import { Generator } from "@dendrite/tensor";
 * import { NoiseSampler } from "./word2vec.ts";
 * const noise = new NoiseSampler([100, 10, 1]);
 * console.log(noise.probabilities); // ~[0.80, 0.14, 0.03]... in proportion to count^0.75
 * console.log(noise.sample(new Generator(0)));
 * ```
 */
export class NoiseSampler {
  /** The probability of each word. */
  readonly probabilities: Float64Array;
  readonly #prob: Float64Array;
  readonly #alias: Int32Array;

  /** A sampler over words with these counts. */
  constructor(counts: ArrayLike<number>, power = 0.75) {
    const n = counts.length;
    if (n === 0) throw new RangeError("NoiseSampler: no words");
    const weights = Float64Array.from(counts, (c) => {
      if (!(c >= 0)) throw new RangeError(`NoiseSampler: counts must be >= 0, got ${c}`);
      return c ** power;
    });
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new RangeError("NoiseSampler: every count is zero");
    this.probabilities = weights.map((w) => w / total);
    // Walker's alias table: each slot holds its own word with probability prob[i], else alias[i].
    const prob = this.probabilities.map((p) => p * n);
    const alias = new Int32Array(n);
    const small: number[] = [], large: number[] = [];
    prob.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!, l = large.pop()!;
      alias[s] = l;
      prob[l] -= 1 - prob[s];
      (prob[l] < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) prob[i] = 1;
    this.#prob = prob;
    this.#alias = alias;
  }

  /** One word id. */
  sample(g: Generator): number {
    const n = this.#prob.length;
    const u = g.random() * n;
    const i = Math.min(n - 1, Math.floor(u));
    return u - i < this.#prob[i] ? i : this.#alias[i];
  }
}

/**
 * The probability word2vec keeps each occurrence of a word seen `count` times
 * out of `total`: `(√(f/t) + 1)·t/f` with `f = count/total` and threshold
 * `t` (capped at 1), so very frequent words are thinned out.
 */
export function keepProbability(count: number, total: number, threshold: number): number {
  if (threshold <= 0) return 1;
  const f = count / total;
  return Math.min(1, (Math.sqrt(f / threshold) + 1) * threshold / f);
}

/** Options of {@link trainWord2Vec}. */
export interface Word2VecOptions {
  /** Skip-gram (default) or CBOW. */
  mode?: Word2VecMode;
  /** Vector size (default 100). */
  dim?: number;
  /** The largest distance between a word and a context word; each word draws its window from 1..window (default 5). */
  window?: number;
  /** Noise words per example (default 5). */
  negatives?: number;
  /** Subsampling threshold t (default 1e-3; 0 keeps every word). */
  subsample?: number;
  /** Passes over the corpus (default 5). */
  epochs?: number;
  /** Starting learning rate (default 0.025 for skip-gram, 0.05 for CBOW), falling linearly to lr·1e-4. */
  lr?: number;
  /** Examples (pairs for skip-gram, words for CBOW) per step (default 1024). */
  batchSize?: number;
  /** Seed of subsampling, windows and noise (default 0). */
  seed?: number;
  /** Where the tables live (default "cpu"). */
  device?: string;
  /** Called every `progressEvery` steps and at the end of each epoch. */
  onProgress?: (p: Word2VecProgress) => void;
  /** Steps between progress reports (default 50). */
  progressEvery?: number;
}

/** Where training stands, for progress lines. */
export interface Word2VecProgress {
  /** The epoch (1-based). */
  epoch: number;
  /** Corpus words (in the vocabulary) read so far, over all epochs. */
  words: number;
  /** Words to read in all. */
  totalWords: number;
  /** The mean loss per example since the last report. */
  loss: number;
  /** The current learning rate. */
  lr: number;
  /** Corpus words per second so far. */
  wordsPerSecond: number;
}

/** What {@link trainWord2Vec} returns. */
export interface Word2VecResult {
  /** The trained model; `model.vectors()` are the word vectors. */
  model: Word2Vec;
  /** Corpus words read (in the vocabulary, before subsampling), over all epochs. */
  words: number;
  /** Training examples used (pairs for skip-gram, words for CBOW). */
  examples: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** The mean loss per example of each epoch. */
  epochLosses: number[];
}

/**
 * Trains word2vec on `sentences` (arrays of word ids in `[0, counts.length)`;
 * a negative id is a word outside the vocabulary and is skipped, as word2vec
 * skips it) whose words occur `counts` times. Steps are mini-batches of
 * examples, the loss summed over the batch (so the learning rate means what
 * it means in word2vec's per-example updates), with plain SGD on sparse
 * gradients.
 *
 * @example
 * ```ts
 * import { trainWord2Vec } from "./word2vec.ts";
 * const sentences = [Int32Array.from([0, 1, 2, 0, 1, 2]), Int32Array.from([3, 4, 3, 4])];
 * const { model } = await trainWord2Vec(sentences, [2, 2, 2, 2, 2], { dim: 8, epochs: 2, subsample: 0 });
 * console.log(model.vectors().shape); // [5, 8]
 * ```
 */
export async function trainWord2Vec(
  sentences: readonly Int32Array[],
  counts: ArrayLike<number>,
  options: Word2VecOptions = {},
): Promise<Word2VecResult> {
  const op = "trainWord2Vec";
  const mode = options.mode ?? "skipgram";
  if (mode !== "skipgram" && mode !== "cbow") throw new RangeError(`${op}: mode must be "skipgram" or "cbow"`);
  const dim = options.dim ?? 100, window = options.window ?? 5, negatives = options.negatives ?? 5;
  const subsample = options.subsample ?? 1e-3, epochs = options.epochs ?? 5;
  const lr0 = options.lr ?? (mode === "cbow" ? 0.05 : 0.025), batchSize = options.batchSize ?? 1024;
  const every = options.progressEvery ?? 50, device = options.device ?? "cpu";
  for (
    const [name, v, min] of [["dim", dim, 1], ["window", window, 1], ["negatives", negatives, 1], [
      "epochs",
      epochs,
      1,
    ], ["batchSize", batchSize, 1]] as const
  ) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
  }
  if (!(lr0 > 0)) throw new RangeError(`${op}: lr must be > 0, got ${lr0}`);
  if (!(subsample >= 0)) throw new RangeError(`${op}: subsample must be >= 0, got ${subsample}`);
  const vocab = counts.length;
  let corpusWords = 0;
  sentences.forEach((s, i) => {
    if (!(s instanceof Int32Array)) throw new TypeError(`${op}: sentence ${i} must be an Int32Array of word ids`);
    for (const w of s) {
      if (w >= vocab) throw new RangeError(`${op}: sentence ${i} has word id ${w}, but there are ${vocab} words`);
      if (w >= 0) corpusWords++;
    }
  });
  if (corpusWords === 0) throw new Error(`${op}: the sentences hold no word of the vocabulary`);
  const total = Array.from(counts).reduce((a, b) => a + b, 0);
  const keep = Float64Array.from(counts, (c) => keepProbability(c, total, subsample));

  const g = new Generator(options.seed ?? 0);
  const noise = new NoiseSampler(counts);
  const model = new Word2Vec(vocab, dim, { device });
  const opt = new optim.SGD(model.parameters(), { lr: lr0 });
  const totalWords = corpusWords * epochs;
  const minLr = lr0 * 1e-4;
  const k1 = negatives + 1;
  const context = 2 * window;

  // One batch's host buffers, filled example by example.
  const centers = new Int32Array(batchSize);
  const targets = new Int32Array(batchSize * k1);
  const ctx = new Int32Array(batchSize * context);
  const mask = new Float32Array(batchSize * context);
  let filled = 0;

  const start = performance.now();
  let wordsRead = 0, examples = 0, steps = 0;
  let lossSum = 0, lossCount = 0, epochLoss = 0, epochCount = 0;
  const pending: Tensor[] = [];
  const epochLosses: number[] = [];

  const drawNoise = (row: number, positive: number) => {
    targets[row * k1] = positive;
    for (let k = 1; k < k1; k++) {
      let w = noise.sample(g);
      // word2vec skips a noise word equal to the positive; drawing again keeps the count of noise words.
      for (let tries = 0; w === positive && tries < 10; tries++) w = noise.sample(g);
      targets[row * k1 + k] = w;
    }
  };

  /** One SGD step on the examples gathered so far. */
  const step = () => {
    const n = filled;
    filled = 0;
    const lr = Math.max(minLr, lr0 * (1 - wordsRead / totalWords));
    opt.paramGroups[0].lr = lr;
    pending.push(tidy(() => {
      opt.zeroGrad();
      const t = tensor(targets.subarray(0, n * k1), { dtype: "int32", device, shape: [n, k1] });
      const l = mode === "skipgram"
        ? model.skipGramLoss(tensor(centers.subarray(0, n), { dtype: "int32", device }), t)
        : model.cbowLoss(
          tensor(ctx.subarray(0, n * context), { dtype: "int32", device, shape: [n, context] }),
          tensor(mask.subarray(0, n * context), { device, shape: [n, context] }),
          t,
        );
      l.backward();
      opt.step();
      return l.detach();
    }));
    examples += n;
    lossCount += n;
    epochCount += n;
    steps++;
  };

  /** Reads the pending losses back (this waits for the device, so only every few steps) and reports. */
  const report = async (epoch: number) => {
    const values = await Promise.all(pending.map((t) => t.item()));
    pending.forEach((t) => t.dispose());
    pending.length = 0;
    const s = values.reduce((a, b) => a + b, 0);
    lossSum += s;
    epochLoss += s;
    options.onProgress?.({
      epoch,
      words: wordsRead,
      totalWords,
      loss: lossSum / Math.max(1, lossCount),
      lr: opt.paramGroups[0].lr,
      wordsPerSecond: wordsRead / ((performance.now() - start) / 1000),
    });
    lossSum = 0;
    lossCount = 0;
  };

  /** Counts the example just written; steps when the batch is full, and says whether to report now. */
  const added = (): boolean => {
    if (++filled < batchSize) return false;
    step();
    return steps % every === 0;
  };

  const kept: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    epochLoss = 0;
    epochCount = 0;
    for (const sentence of sentences) {
      kept.length = 0;
      for (const w of sentence) {
        if (w < 0) continue;
        wordsRead++;
        if (keep[w] >= 1 || g.random() < keep[w]) kept.push(w);
      }
      for (let i = 0; i < kept.length; i++) {
        const b = 1 + Math.floor(g.random() * window);
        const lo = Math.max(0, i - b), hi = Math.min(kept.length - 1, i + b);
        if (mode === "skipgram") {
          for (let j = lo; j <= hi; j++) {
            if (j === i) continue;
            centers[filled] = kept[i];
            drawNoise(filled, kept[j]);
            if (added()) await report(epoch);
          }
        } else {
          if (hi === lo) continue; // a word alone in its sentence has no context
          let c = 0;
          for (let j = lo; j <= hi; j++) {
            if (j === i) continue;
            ctx[filled * context + c] = kept[j];
            mask[filled * context + c] = 1;
            c++;
          }
          for (; c < context; c++) {
            ctx[filled * context + c] = 0;
            mask[filled * context + c] = 0;
          }
          drawNoise(filled, kept[i]);
          if (added()) await report(epoch);
        }
      }
    }
    if (filled > 0) step();
    await report(epoch);
    epochLosses.push(epochLoss / Math.max(1, epochCount));
  }

  return { model, words: wordsRead, examples, seconds: (performance.now() - start) / 1000, epochLosses };
}

/**
 * The `k` nearest words to each query by cosine similarity of `vectors`
 * `[V, dim]`, leaving the query itself out: `[ [id, similarity], … ]` per query.
 */
export async function nearestNeighbours(
  vectors: Tensor,
  queries: readonly number[],
  k: number,
): Promise<[number, number][][]> {
  const norms = vectors.square().sum(1, { keepdim: true }).sqrt().clamp(1e-12);
  const unit = vectors.div(norms);
  const q = unit.indexSelect(0, tensor(queries, { dtype: "int32", device: vectors.device }));
  const sims = await q.matmul(unit.t()).data();
  const v = vectors.shape[0];
  return queries.map((id, r) => {
    const row = Array.from(sims.subarray(r * v, (r + 1) * v), (s, j) => [j, s] as [number, number]);
    return row.filter(([j]) => j !== id).sort((a, b) => b[1] - a[1]).slice(0, k);
  });
}
