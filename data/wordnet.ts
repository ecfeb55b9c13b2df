/**
 * WordNet 3.0 as Debian's `wordnet-base` package installs it
 * (`/usr/share/wordnet/data.{noun,verb,adj,adv}`): synsets (sets of
 * synonyms) and their hypernym links, read from the database's own text
 * format, for judging word vectors against something no one here wrote.
 *
 * @module
 */

/** A part of speech as WordNet writes it: noun, verb, adjective, adjective satellite, adverb. */
export type WordNetPos = "n" | "v" | "a" | "s" | "r";

/** One synset: the words that share a sense, and the synsets it is a kind of. */
export interface Synset {
  /** `pos + offset`, e.g. `"n02062744"`: unique across the four files. */
  id: string;
  /** The part of speech. */
  pos: WordNetPos;
  /** Its words, lower-cased, with WordNet's underscores for spaces and adjective markers such as "(a)" removed. */
  words: string[];
  /** The ids of its hypernyms (`@`) and instance hypernyms (`@i`). */
  hypernyms: string[];
}

/** Where Debian's `wordnet-base` puts the database. */
export const WORDNET_DIR = "/usr/share/wordnet";

const FILES = ["noun", "verb", "adj", "adv"] as const;

/**
 * Parses one `data.*` file's text (WordNet's `wndb(5WN)` format): one synset
 * per line, `offset lex_filenum ss_type w_cnt (word lex_id)… p_cnt (ptr
 * offset pos src/tgt)… | gloss`, after a licence header whose lines start
 * with spaces. A malformed line is reported with its line number.
 *
 * @example
 * ```ts
 * import { parseWordNetData } from "./wordnet.ts";
 * const line = "10129133 18 n 04 giant 3 hulk 0 heavyweight 3 whale 0 001 @ 10247044 n 0000 | a very large person";
 * console.log(parseWordNetData(line));
 * // [{ id: "n10129133", pos: "n", words: ["giant", "hulk", "heavyweight", "whale"], hypernyms: ["n10247044"] }]
 * ```
 */
export function parseWordNetData(text: string, file = "data"): Synset[] {
  const out: Synset[] = [];
  const lines = text.split("\n");
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln];
    if (line.length === 0 || line.startsWith(" ")) continue;
    const fail = (what: string): never => {
      throw new SyntaxError(`parseWordNetData: ${file} line ${ln + 1}: ${what}: ${line.slice(0, 80)}`);
    };
    const bar = line.indexOf(" | ");
    const f = (bar >= 0 ? line.slice(0, bar) : line).trim().split(/\s+/);
    const [offset, , ssType, wCntHex] = f;
    if (!/^\d{8}$/.test(offset ?? "")) fail("expected an 8-digit synset offset");
    if (!["n", "v", "a", "s", "r"].includes(ssType)) fail(`unknown part of speech ${JSON.stringify(ssType)}`);
    const wCnt = parseInt(wCntHex, 16);
    if (!(wCnt >= 1) || f.length < 4 + 2 * wCnt + 1) fail("expected a word count and that many words");
    const words: string[] = [];
    for (let k = 0; k < wCnt; k++) words.push(f[4 + 2 * k].replace(/\([a-z]+\)$/, "").toLowerCase());
    let p = 4 + 2 * wCnt;
    const pCnt = Number(f[p++]);
    if (!Number.isInteger(pCnt) || f.length < p + 4 * pCnt) fail("expected a pointer count and that many pointers");
    const hypernyms: string[] = [];
    for (let k = 0; k < pCnt; k++, p += 4) {
      const [symbol, target, pos] = [f[p], f[p + 1], f[p + 2]];
      if (symbol === "@" || symbol === "@i") hypernyms.push(pos + target);
    }
    out.push({ id: ssType + offset, pos: ssType as WordNetPos, words, hypernyms });
  }
  return out;
}

/**
 * Every synset of the WordNet database in `dir` (default {@link WORDNET_DIR}),
 * in file order (nouns, verbs, adjectives, adverbs). Throws an error naming
 * the directory and the Debian package when it is not there.
 */
export async function loadWordNet(dir: string = WORDNET_DIR): Promise<Synset[]> {
  const out: Synset[] = [];
  for (const name of FILES) {
    const path = `${dir}/data.${name}`;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      throw new Error(
        `loadWordNet: cannot read ${path} (${(e as Error).message}); install Debian's wordnet-base ` +
          `(apt-get install wordnet-base) or pass the directory holding data.noun`,
      );
    }
    for (const s of parseWordNetData(text, path)) out.push(s);
  }
  return out;
}

/** Whether WordNet's database is readable in `dir` (default {@link WORDNET_DIR}). */
export async function hasWordNet(dir: string = WORDNET_DIR): Promise<boolean> {
  try {
    await Deno.stat(`${dir}/data.noun`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Unordered pairs of distinct words that share a synset, each pair once,
 * keeping only words `keep` accepts (e.g. a vocabulary's; multi-word entries
 * have underscores and are usually absent from it).
 */
export function synonymPairs(synsets: readonly Synset[], keep: (word: string) => boolean): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const s of synsets) {
    const words = [...new Set(s.words)].filter(keep);
    for (let i = 0; i < words.length; i++) {
      for (let j = i + 1; j < words.length; j++) {
        const [a, b] = words[i] < words[j] ? [words[i], words[j]] : [words[j], words[i]];
        const key = `${a} ${b}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push([a, b]);
        }
      }
    }
  }
  return out;
}

/** Pairs (word, a word of a direct hypernym) that `keep` accepts and that are not also synonyms, each pair once. */
export function hypernymPairs(synsets: readonly Synset[], keep: (word: string) => boolean): [string, string][] {
  const byId = new Map(synsets.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const s of synsets) {
    const words = s.words.filter(keep);
    if (words.length === 0) continue;
    for (const h of s.hypernyms) {
      const hyper = byId.get(h);
      if (!hyper) continue;
      for (const w of words) {
        for (const v of hyper.words) {
          if (v === w || !keep(v)) continue;
          const key = `${w} ${v}`;
          if (!seen.has(key)) {
            seen.add(key);
            out.push([w, v]);
          }
        }
      }
    }
  }
  return out;
}
