/**
 * Words for word vectors: a tokenizer for English prose and a frequency-
 * sorted vocabulary (word2vec's: words below a minimum count dropped, the
 * most frequent first).
 *
 * @module
 */

/** Options of {@link tokenizeWords}. */
export interface TokenizeOptions {
  /** Lower-case the text first (default true). */
  lowercase?: boolean;
}

/**
 * The words of `text`: runs of letters a–z (after lower-casing; other
 * characters separate words), with a possessive "'s" dropped and inner
 * apostrophes kept ("don't").
 *
 * @example
 * ```ts
 * import { tokenizeWords } from "./words.ts";
 * console.log(tokenizeWords("Call me Ishmael. The whale's jaw—don't!")); // ["call", "me", "ishmael", "the", "whale", "jaw", "don't"]
 * ```
 */
export function tokenizeWords(text: string, options: TokenizeOptions = {}): string[] {
  if (typeof text !== "string") throw new TypeError(`tokenizeWords: expected a string, got ${typeof text}`);
  const t = (options.lowercase ?? true) ? text.toLowerCase() : text;
  // Curly apostrophes count as apostrophes; a possessive 's belongs to the noun before it.
  const words = t.replace(/[\u2018\u2019]/g, "'").match(/[a-zA-Z]+(?:'[a-zA-Z]+)*/g) ?? [];
  return words.map((w) => w.replace(/'s$/i, ""));
}

/** Options of {@link WordVocabulary.fromTokens}. */
export interface WordVocabularyOptions {
  /** Words seen fewer times are left out (default 5, word2vec's). */
  minCount?: number;
  /** Keep at most this many words, the most frequent (default: all). */
  maxSize?: number;
}

/**
 * Words numbered by falling frequency (ties in first-seen order), with their
 * counts: id 0 is the most frequent word.
 *
 * @example
 * ```ts
 * import { WordVocabulary } from "./words.ts";
 * const v = WordVocabulary.fromTokens(["a", "b", "a", "c", "a", "b"], { minCount: 2 });
 * console.log(v.words, v.counts, v.encode(["b", "c", "a"])); // ["a", "b"] [3, 2] Int32Array [1, -1, 0]
 * ```
 */
export class WordVocabulary {
  /** The words, `words[id]`. */
  readonly words: readonly string[];
  /** How often each word occurred in the text the vocabulary was built from. */
  readonly counts: readonly number[];
  readonly #ids: Map<string, number>;

  /** A vocabulary of these words with these counts (same length; no repeats). */
  constructor(words: readonly string[], counts: readonly number[]) {
    if (words.length !== counts.length) {
      throw new RangeError(`WordVocabulary: ${words.length} words but ${counts.length} counts`);
    }
    const ids = new Map<string, number>();
    words.forEach((w, i) => {
      if (ids.has(w)) throw new Error(`WordVocabulary: the word ${JSON.stringify(w)} appears twice`);
      ids.set(w, i);
    });
    this.words = words.slice();
    this.counts = counts.slice();
    this.#ids = ids;
  }

  /** Counts `tokens` and keeps the words seen at least `minCount` times, most frequent first. */
  static fromTokens(tokens: Iterable<string>, options: WordVocabularyOptions = {}): WordVocabulary {
    const minCount = options.minCount ?? 5;
    if (!Number.isInteger(minCount) || minCount < 1) {
      throw new RangeError(`WordVocabulary: minCount must be an integer >= 1, got ${minCount}`);
    }
    const counts = new Map<string, number>();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    // Map keeps first-seen order, and the sort is stable: ties stay in that order.
    let kept = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1]);
    if (options.maxSize !== undefined) kept = kept.slice(0, options.maxSize);
    return new WordVocabulary(kept.map(([w]) => w), kept.map(([, c]) => c));
  }

  /** The number of words. */
  get size(): number {
    return this.words.length;
  }

  /** The id of `word`, or -1 when it is not in the vocabulary. */
  id(word: string): number {
    return this.#ids.get(word) ?? -1;
  }

  /** Whether `word` is in the vocabulary. */
  has(word: string): boolean {
    return this.#ids.has(word);
  }

  /** The ids of `tokens`, -1 for words not in the vocabulary. */
  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.#ids.get(tokens[i]) ?? -1;
    return out;
  }

  /** The words of `ids`. */
  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (i) => {
      if (!(i >= 0 && i < this.words.length)) throw new RangeError(`WordVocabulary.decode: id ${i} is out of range`);
      return this.words[i];
    });
  }
}
