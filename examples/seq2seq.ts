/**
 * Sequence to sequence with attention: dates written many human ways
 * ("Friday, March 5, 2021", "5.3.2021", "the 5th of March, 2021", "3/5/21",
 * "05-MAR-2021", …) translated to ISO dates ("2021-03-05"). A bidirectional
 * GRU encoder reads the characters as a packed batch; a GRU decoder with
 * Luong (general) attention writes the ISO characters; training uses teacher
 * forcing and Adam with the learning rate on a cosine from `--lr` to a
 * twentieth of it over the run (its planned steps, or the `--minutes` budget
 * if that ends first, so a run cut short still anneals); decoding is greedy
 * or by beam search. Reports held-out exact match
 * (inputs never seen in training), saves the weights as safetensors and an
 * attention heat-map PNG for a few inputs.
 *
 *   deno run -A examples/seq2seq.ts [--train 12000] [--test 2000] [--epochs 3] [--batch-size 64] [--lr 0.003]
 *       [--hidden 64] [--beam 3] [--beam-examples 200] [--minutes 4] [--out seq2seq] [--seed 0]
 *       [--device cpu|webgpu]
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  cat,
  Generator,
  gpu,
  manualSeed,
  models,
  nn,
  noGrad,
  optim,
  type Tensor,
  tensor,
  tidy,
  where,
} from "../mod.ts";
import { attentionHeatmapPng, type AttentionPanel } from "./attention_heatmap.ts";

// ---- the task ---------------------------------------------------------------------------------------------------------

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** One example: a date in some human format and its ISO form. */
export interface DatePair {
  /** The date as a person might write it. */
  input: string;
  /** `YYYY-MM-DD`. */
  target: string;
}

const pad2 = (n: number) => String(n).padStart(2, "0");
const ordinal = (
  d: number,
) => (d % 10 === 1 && d !== 11 ? "st" : d % 10 === 2 && d !== 12 ? "nd" : d % 10 === 3 && d !== 13 ? "rd" : "th");

/**
 * The human formats: month names (full, abbreviated, upper or lower case),
 * weekdays, ordinals, US `m/d/y` with slashes (two-digit years mean 1950–2049),
 * European `d.m.y` with dots, and year-first forms.
 */
const FORMATS: ((y: number, m: number, d: number, wd: number) => string)[] = [
  (y, m, d) => `${MONTHS[m]} ${d}, ${y}`,
  (y, m, d) => `${MONTHS[m].toLowerCase()} ${d} ${y}`,
  (y, m, d) => `${d} ${MONTHS[m]} ${y}`,
  (y, m, d) => `${MONTHS[m].slice(0, 3)} ${d}, ${y}`,
  (y, m, d) => `${pad2(d)} ${MONTHS[m].slice(0, 3)} ${y}`,
  (y, m, d) => `${MONTHS[m].slice(0, 3)}. ${pad2(d)}, ${y}`,
  (y, m, d, wd) => `${WEEKDAYS[wd]}, ${MONTHS[m]} ${d}, ${y}`,
  (y, m, d, wd) => `${WEEKDAYS[wd].slice(0, 3)} ${d} ${MONTHS[m].slice(0, 3)} ${y}`,
  (y, m, d) => `${d}${ordinal(d)} of ${MONTHS[m]} ${y}`,
  (y, m, d) => `the ${d}${ordinal(d)} of ${MONTHS[m]}, ${y}`,
  (y, m, d) => `${MONTHS[m].toUpperCase()} ${d}, ${y}`,
  (y, m, d) => `${m + 1}/${d}/${y}`,
  (y, m, d) => `${pad2(m + 1)}/${pad2(d)}/${y}`,
  (y, m, d) => `${m + 1}/${d}/${pad2(y % 100)}`,
  (y, m, d) => `${d}.${m + 1}.${y}`,
  (y, m, d) => `${pad2(d)}.${pad2(m + 1)}.${y}`,
  (y, m, d) => `${pad2(d)}-${MONTHS[m].slice(0, 3).toUpperCase()}-${y}`,
  (y, m, d) => `${y}/${pad2(m + 1)}/${pad2(d)}`,
  (y, m, d) => `${y}, ${MONTHS[m]} ${d}`,
];

/** A random date from 1950-01-01 to 2049-12-31 in a random format. */
function randomPair(g: Generator): DatePair {
  const first = Date.UTC(1950, 0, 1), days = (Date.UTC(2050, 0, 1) - first) / 86_400_000;
  const date = new Date(first + g.randint(0, days) * 86_400_000);
  const y = date.getUTCFullYear(), m = date.getUTCMonth(), d = date.getUTCDate();
  const input = FORMATS[g.randint(0, FORMATS.length)](y, m, d, date.getUTCDay());
  return { input, target: `${y}-${pad2(m + 1)}-${pad2(d)}` };
}

/**
 * `train` and `test` pairs from one seeded generator; no test input string
 * appears in the training set, so test exact match measures generalisation.
 */
export function makeDateData(train: number, test: number, seed: number): { train: DatePair[]; test: DatePair[] } {
  const g = new Generator(seed);
  const trainSet: DatePair[] = [], seen = new Set<string>();
  while (trainSet.length < train) {
    const p = randomPair(g);
    if (seen.has(p.input)) continue;
    seen.add(p.input);
    trainSet.push(p);
  }
  const testSet: DatePair[] = [];
  while (testSet.length < test) {
    const p = randomPair(g);
    if (seen.has(p.input)) continue;
    seen.add(p.input);
    testSet.push(p);
  }
  return { train: trainSet, test: testSet };
}

/** Target tokens: start, end, the ten digits and "-". */
const TGT = ["<s>", "</s>", ..."0123456789-"];
const SOS = 0, EOS = 1;
/** Output length: ten characters and the end mark. */
const TGT_LEN = 11;

/** Source characters: id 0 pads, then every character the formats use. */
export class SourceVocab {
  /** The characters, `chars[id - 1]`. */
  readonly chars: string[];
  readonly #ids = new Map<string, number>();
  /** A vocabulary over the characters of `texts`. */
  constructor(texts: readonly string[]) {
    this.chars = [...new Set(texts.join(""))].sort();
    this.chars.forEach((c, i) => this.#ids.set(c, i + 1));
  }
  /** Ids + 1 (0 is padding). Unknown characters are an error naming them. */
  encode(s: string): number[] {
    return [...s].map((c, i) => {
      const id = this.#ids.get(c);
      if (id === undefined) {
        throw new RangeError(`seq2seq: character ${JSON.stringify(c)} at ${i} of "${s}" is unknown`);
      }
      return id;
    });
  }
  /** Padding included. */
  get size(): number {
    return this.chars.length + 1;
  }
}

// ---- the model --------------------------------------------------------------------------------------------------------

/** What the encoder hands the decoder. */
interface Encoded {
  /** Encoder outputs `[B, Tin, 2H]`. */
  memory: Tensor;
  /** True at real (not padded) input positions `[B, 1, Tin]`. */
  mask: Tensor;
  /** The decoder's initial state `[1, B, D]`. */
  h0: Tensor;
}

/** Bidirectional GRU encoder, GRU decoder with Luong attention (`score = h_dec · W_a · m`, `tanh(W_c [h; ctx])`). */
export class DateTranslator extends nn.Module {
  srcEmbed: nn.Embedding;
  encoder: nn.GRU;
  bridge: nn.Linear;
  tgtEmbed: nn.Embedding;
  decoder: nn.GRU;
  attn: nn.Linear;
  combine: nn.Linear;
  out: nn.Linear;

  /** A model over `srcVocab` source ids, encoder hidden size `hidden` (the decoder's is twice that). */
  constructor(srcVocab: number, readonly hidden = 64) {
    super();
    const dec = 2 * hidden;
    this.srcEmbed = new nn.Embedding(srcVocab, 32, { paddingIdx: 0 });
    this.encoder = new nn.GRU(32, hidden, { bidirectional: true });
    this.bridge = new nn.Linear(2 * hidden, dec);
    this.tgtEmbed = new nn.Embedding(TGT.length, 32);
    this.decoder = new nn.GRU(32, dec);
    this.attn = new nn.Linear(dec, 2 * hidden, { bias: false });
    this.combine = new nn.Linear(dec + 2 * hidden, dec);
    this.out = new nn.Linear(dec, TGT.length);
  }

  /** Encodes padded source ids `[Tin, B]` with true `lengths` (a packed batch: padding never enters the GRU). */
  encode(src: Tensor, lengths: number[]): Encoded {
    const packed = nn.utils.rnn.packPaddedSequence(this.srcEmbed.forward(src), lengths, { enforceSorted: false });
    const [out, hN] = this.encoder.forward(packed);
    const [memory] = nn.utils.rnn.padPackedSequence(out, { totalLength: src.shape[0] });
    const h0 = this.bridge.forward(cat([hN.select(0, 0), hN.select(0, 1)], 1)).tanh().unsqueeze(0);
    const T = src.shape[0];
    const mask = tensor(lengths.map((l) => [Array.from({ length: T }, (_, t) => (t < l ? 1 : 0))]), { dtype: "bool" });
    return { memory: memory.transpose(0, 1), mask: mask.to(src.device), h0 };
  }

  /** Logits `[B, Tout, V]` and attention `[B, Tout, Tin]` of decoder states `[B, Tout, D]`. */
  #attend(e: Encoded, states: Tensor): { logits: Tensor; weights: Tensor } {
    const scores = this.attn.forward(states).matmul(e.memory.transpose(1, 2));
    const weights = where(e.mask, scores, -1e9).softmax(-1);
    const context = weights.matmul(e.memory);
    const mixed = this.combine.forward(cat([states, context], 2)).tanh();
    return { logits: this.out.forward(mixed), weights };
  }

  /** Teacher forcing: every output position at once from the true previous tokens `[Tout, B]`. */
  forwardTeacher(e: Encoded, prevTokens: Tensor): { logits: Tensor; weights: Tensor } {
    const [states] = this.decoder.forward(this.tgtEmbed.forward(prevTokens), e.h0);
    return this.#attend(e, states.transpose(0, 1).contiguous());
  }

  /** One decoding step from tokens `[B]` and state `[1, B, D]`: log-probabilities `[B, V]`, attention `[B, Tin]`, state. */
  step(e: Encoded, tokens: Tensor, h: Tensor): { logp: Tensor; weights: Tensor; h: Tensor } {
    const [state, next] = this.decoder.forward(this.tgtEmbed.forward(tokens.unsqueeze(0)), h);
    const { logits, weights } = this.#attend(e, state.transpose(0, 1));
    return { logp: logits.select(1, 0).logSoftmax(-1), weights: weights.select(1, 0), h: next };
  }
}

// ---- batches and decoding ---------------------------------------------------------------------------------------------

/** Padded source ids `[Tin, B]` and lengths. */
function sourceBatch(
  vocab: SourceVocab,
  pairs: readonly DatePair[],
  device: string,
): { src: Tensor; lengths: number[] } {
  const ids = pairs.map((p) => vocab.encode(p.input));
  const T = Math.max(...ids.map((s) => s.length));
  const rows = Array.from({ length: T }, (_, t) => ids.map((s) => s[t] ?? 0));
  return { src: tensor(rows, { dtype: "int32" }).to(device), lengths: ids.map((s) => s.length) };
}

/** Target token ids of a pair: the ten characters then the end mark. */
function targetIds(p: DatePair): number[] {
  return [...[...p.target].map((c) => TGT.indexOf(c)), EOS];
}

const detok = (ids: readonly number[]) => ids.filter((i) => i > EOS).map((i) => TGT[i]).join("");

/** Greedy decoding of a batch; returns the ISO strings and each step's attention weights. */
export async function greedyDecode(
  model: DateTranslator,
  vocab: SourceVocab,
  pairs: readonly DatePair[],
  device: string,
): Promise<{ outputs: string[]; tokens: number[][]; weights: number[][][] }> {
  model.eval();
  const B = pairs.length;
  const { src, lengths } = sourceBatch(vocab, pairs, device);
  const steps: { tokens: Tensor; weights: Tensor }[] = [];
  tidy(() =>
    noGrad(() => {
      const e = model.encode(src, lengths);
      let tokens = tensor(new Array(B).fill(SOS), { dtype: "int32" }).to(device), h = e.h0;
      for (let t = 0; t < TGT_LEN; t++) {
        const s = model.step(e, tokens, h);
        h = s.h;
        tokens = s.logp.argmax(1).int();
        steps.push({ tokens, weights: s.weights });
      }
      return steps;
    })
  );
  const tok = await Promise.all(steps.map((s) => s.tokens.data()));
  const att = await Promise.all(steps.map((s) => s.weights.data()));
  const Tin = src.shape[0];
  const tokens = pairs.map((_, b) => tok.map((t) => t[b]));
  const weights = pairs.map((_, b) => att.map((a) => Array.from(a.subarray(b * Tin, b * Tin + lengths[b]))));
  model.train();
  return {
    outputs: tokens.map((t) => detok(t.slice(0, Math.max(0, t.indexOf(EOS) < 0 ? TGT_LEN : t.indexOf(EOS))))),
    tokens,
    weights,
  };
}

/** Beam search for one input: the `beam` best partial outputs kept at each step; returns the best finished one. */
export async function beamDecode(
  model: DateTranslator,
  vocab: SourceVocab,
  pair: DatePair,
  beam: number,
  device: string,
): Promise<{ output: string; logp: number }> {
  model.eval();
  const { src, lengths } = sourceBatch(vocab, [pair], device);
  const e0 = noGrad(() => model.encode(src, lengths));
  let hyps: { tokens: number[]; logp: number }[] = [{ tokens: [SOS], logp: 0 }];
  let h = e0.h0;
  const done: { tokens: number[]; logp: number }[] = [];
  for (let t = 0; t < TGT_LEN && hyps.length > 0; t++) {
    const k = hyps.length;
    const e: Encoded = {
      memory: e0.memory.expand([k, ...e0.memory.shape.slice(1)]),
      mask: e0.mask.expand([k, ...e0.mask.shape.slice(1)]),
      h0: e0.h0,
    };
    const last = tensor(hyps.map((hy) => hy.tokens[hy.tokens.length - 1]), { dtype: "int32" }).to(device);
    const s = noGrad(() => model.step(e, last, h));
    const logp = await s.logp.data();
    const V = TGT.length;
    const cand: { from: number; tok: number; logp: number }[] = [];
    for (let i = 0; i < k; i++) {
      for (let v = 0; v < V; v++) cand.push({ from: i, tok: v, logp: hyps[i].logp + logp[i * V + v] });
    }
    cand.sort((a, b) => b.logp - a.logp);
    const next: typeof hyps = [], from: number[] = [];
    for (const c of cand) {
      if (next.length + done.length >= beam) break;
      const tokens = [...hyps[c.from].tokens, c.tok];
      if (c.tok === EOS || t === TGT_LEN - 1) done.push({ tokens, logp: c.logp });
      else {
        next.push({ tokens, logp: c.logp });
        from.push(c.from);
      }
    }
    h = next.length ? s.h.indexSelect(1, tensor(from, { dtype: "int32" }).to(device)) : s.h;
    hyps = next;
  }
  model.train();
  const best = [...done, ...hyps].sort((a, b) => b.logp - a.logp)[0];
  return { output: detok(best.tokens), logp: best.logp };
}

/** The log-probability the model gives `output` (ISO characters then the end mark) for `pair`'s input. */
export async function sequenceLogp(
  model: DateTranslator,
  vocab: SourceVocab,
  input: string,
  output: string,
  device: string,
): Promise<number> {
  model.eval();
  const { src, lengths } = sourceBatch(vocab, [{ input, target: output }], device);
  const ids = [...[...output].map((c) => TGT.indexOf(c)), EOS];
  const prev = tensor([[SOS], ...ids.slice(0, -1).map((i) => [i])], { dtype: "int32" }).to(device);
  const logits = noGrad(() => model.forwardTeacher(model.encode(src, lengths), prev).logits);
  const lp = await logits.select(0, 0).logSoftmax(-1).data();
  model.train();
  return ids.reduce((s, id, t) => s + lp[t * TGT.length + id], 0);
}

// ---- training -------------------------------------------------------------------------------------------------------

/** What one run is given. */
export interface Seq2SeqConfig {
  train: number;
  test: number;
  epochs: number;
  batchSize: number;
  lr: number;
  hidden: number;
  beam: number;
  /** How many test inputs beam search decodes (it runs one input at a time). */
  beamExamples: number;
  /** Stop training after this many minutes even if epochs remain. */
  minutes: number;
  seed: number;
  device: string;
  /** Write `<out>.safetensors` and `<out>_attention.png` (null: neither). */
  out: string | null;
  /** Progress lines every this many steps. */
  logEvery: number;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

/** What a run reports. */
export interface Seq2SeqResult {
  /** Mean loss of each logged window. */
  losses: number[];
  /** Held-out exact match, greedy decoding. */
  greedyExact: number;
  /** Held-out exact match, beam search, on the first `beamExamples` test inputs. */
  beamExact: number;
  /** Greedy exact match on those same inputs (to compare with beam). */
  greedyExactOnBeamSet: number;
  /** Training steps and seconds. */
  steps: number;
  seconds: number;
  /** A few test inputs with both decodings. */
  examples: { input: string; target: string; greedy: string; beam: string }[];
  /** The model and vocabulary. */
  model: DateTranslator;
  vocab: SourceVocab;
  /** The test pairs. */
  testPairs: DatePair[];
}

/** Trains and evaluates one model (see the module doc). */
export async function trainSeq2Seq(cfg: Seq2SeqConfig): Promise<Seq2SeqResult> {
  const log = cfg.log ?? ((line: string) => console.log(line));
  manualSeed(cfg.seed);
  const { train, test } = makeDateData(cfg.train, cfg.test, cfg.seed);
  const vocab = new SourceVocab([...train, ...test].map((p) => p.input));
  const model = new DateTranslator(vocab.size, cfg.hidden).to(cfg.device);
  const opt = new optim.Adam(model.parameters(), { lr: cfg.lr });
  const criterion = new nn.CrossEntropyLoss();
  log(`${train.length} training pairs, ${test.length} held-out (inputs never seen in training), e.g.:`);
  for (const p of train.slice(0, 4)) log(`  ${JSON.stringify(p.input)} → ${p.target}`);
  log(`${model.numParameters().toLocaleString("en")} parameters on ${cfg.device}`);
  const g = new Generator(cfg.seed + 1);
  const start = performance.now(), deadline = start + cfg.minutes * 60_000;
  const losses: number[] = [];
  let step = 0, window = 0, windowSteps = 0;
  const stepsPerEpoch = Math.ceil(train.length / cfg.batchSize), totalSteps = cfg.epochs * stepsPerEpoch;
  outer: for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const order = g.randperm(train.length);
    for (let i = 0; i < train.length; i += cfg.batchSize) {
      if (performance.now() > deadline) {
        log(`stopped in epoch ${epoch}: the ${cfg.minutes}-minute budget ran out`);
        break outer;
      }
      const pairs = order.slice(i, i + cfg.batchSize).map((k) => train[k]);
      const { src, lengths } = sourceBatch(vocab, pairs, cfg.device);
      const tgt = pairs.map(targetIds);
      // Teacher forcing: the decoder reads the true previous token at every step.
      const prev = tensor(Array.from({ length: TGT_LEN }, (_, t) => tgt.map((s) => (t === 0 ? SOS : s[t - 1]))), {
        dtype: "int32",
      }).to(cfg.device);
      const gold = tensor(tgt, { dtype: "int32" }).to(cfg.device);
      // Cosine from lr to lr/20 over the run: its planned steps, or the time budget if that runs out first.
      const progress = Math.min(1, Math.max(step / totalSteps, (performance.now() - start) / (deadline - start)));
      opt.paramGroups[0].lr = cfg.lr / 20 + (cfg.lr - cfg.lr / 20) * (1 + Math.cos(Math.PI * progress)) / 2;
      const loss = tidy(() => {
        opt.zeroGrad();
        const { logits } = model.forwardTeacher(model.encode(src, lengths), prev);
        const l = criterion.forward(logits.reshape([-1, TGT.length]), gold.reshape([-1]));
        l.backward();
        optim.clipGradNorm(model.parameters(), 1);
        opt.step();
        return l.detach();
      });
      window += await loss.item();
      loss.dispose();
      windowSteps++;
      step++;
      if (step % cfg.logEvery === 0) {
        losses.push(window / windowSteps);
        const secs = (performance.now() - start) / 1000;
        log(
          `epoch ${epoch}/${cfg.epochs} step ${String(step).padStart(5)}/${totalSteps}  ` +
            `loss ${(window / windowSteps).toFixed(4)}  ${(step * cfg.batchSize / secs).toFixed(0)} pairs/s  ${
              secs.toFixed(0)
            } s`,
        );
        window = 0;
        windowSteps = 0;
      }
    }
  }
  if (windowSteps > 0) losses.push(window / windowSteps);
  const seconds = (performance.now() - start) / 1000;
  let right = 0;
  const greedy: string[] = [];
  for (let i = 0; i < test.length; i += 500) {
    const chunk = test.slice(i, i + 500);
    const r = await greedyDecode(model, vocab, chunk, cfg.device);
    r.outputs.forEach((o, k) => (right += o === chunk[k].target ? 1 : 0));
    greedy.push(...r.outputs);
  }
  const beamSet = test.slice(0, cfg.beamExamples);
  let beamRight = 0;
  const beamOut: string[] = [];
  for (const p of beamSet) {
    const b = await beamDecode(model, vocab, p, cfg.beam, cfg.device);
    beamOut.push(b.output);
    if (b.output === p.target) beamRight++;
  }
  const greedyOnBeam = beamSet.filter((p, k) => greedy[k] === p.target).length;
  if (cfg.out) {
    const cpuModel = cfg.device === "cpu" ? model : await model.toDevice("cpu");
    await models.saveSafetensors(cpuModel.stateDict(), `${cfg.out}.safetensors`);
    if (cfg.device !== "cpu") await model.toDevice(cfg.device);
    await Deno.writeFile(`${cfg.out}_attention.png`, await heatmap(model, vocab, test.slice(0, 4), cfg.device));
  }
  return {
    losses,
    greedyExact: right / test.length,
    beamExact: beamSet.length ? beamRight / beamSet.length : NaN,
    greedyExactOnBeamSet: beamSet.length ? greedyOnBeam / beamSet.length : NaN,
    steps: step,
    seconds,
    examples: test.slice(0, 8).map((p, k) => ({
      input: p.input,
      target: p.target,
      greedy: greedy[k],
      beam: beamOut[k] ?? "",
    })),
    model,
    vocab,
    testPairs: test,
  };
}

/** The attention heat-map PNG of greedy decoding on `pairs`. */
export async function heatmap(
  model: DateTranslator,
  vocab: SourceVocab,
  pairs: readonly DatePair[],
  device: string,
): Promise<Uint8Array> {
  const r = await greedyDecode(model, vocab, pairs, device);
  const panels: AttentionPanel[] = pairs.map((p, b) => {
    const end = r.tokens[b].indexOf(EOS);
    const n = end < 0 ? TGT_LEN : end + 1;
    return {
      input: p.input,
      output: r.tokens[b].slice(0, n).map((t) => (t === EOS ? "\u0003" : TGT[t])),
      weights: r.weights[b].slice(0, n),
    };
  });
  return await attentionHeatmapPng(panels);
}

/** The command line as a config. */
export function configFromArgs(argv: string[]): Seq2SeqConfig {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      train: { type: "string", default: "12000" },
      test: { type: "string", default: "2000" },
      epochs: { type: "string", default: "3" },
      "batch-size": { type: "string", default: "64" },
      lr: { type: "string", default: "0.003" },
      hidden: { type: "string", default: "64" },
      beam: { type: "string", default: "3" },
      "beam-examples": { type: "string", default: "200" },
      minutes: { type: "string", default: "4" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "seq2seq" },
      "log-every": { type: "string", default: "50" },
    },
  });
  const num = (k: keyof typeof v) => {
    const n = Number(v[k]);
    if (!Number.isFinite(n) || n < 0) {
      throw new RangeError(`seq2seq: --${k} must be a non-negative number, got ${v[k]}`);
    }
    return n;
  };
  return {
    train: num("train"),
    test: num("test"),
    epochs: num("epochs"),
    batchSize: num("batch-size"),
    lr: num("lr"),
    hidden: num("hidden"),
    beam: Math.max(1, num("beam")),
    beamExamples: num("beam-examples"),
    minutes: num("minutes"),
    seed: num("seed"),
    device: v.device!,
    out: v.out || null,
    logEvery: Math.max(1, num("log-every")),
  };
}

if (import.meta.main) {
  const cfg = configFromArgs(Deno.args);
  if (cfg.device === "webgpu") await gpu.useWebGPU();
  const r = await trainSeq2Seq(cfg);
  console.log("\ninput                                  target      greedy      beam");
  for (const e of r.examples) {
    console.log(`${JSON.stringify(e.input).padEnd(38)} ${e.target}  ${e.greedy.padEnd(10)}  ${e.beam}`);
  }
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(`\nheld-out exact match, greedy (${r.testPairs.length} inputs):   ${pct(r.greedyExact)}`);
  console.log(
    `held-out exact match, beam ${cfg.beam} (first ${cfg.beamExamples}): ${pct(r.beamExact)} ` +
      `(greedy on the same: ${pct(r.greedyExactOnBeamSet)})`,
  );
  console.log(`training: ${r.steps} steps in ${r.seconds.toFixed(0)} s`);
  if (cfg.out) console.log(`weights: ${cfg.out}.safetensors, attention heat-map: ${cfg.out}_attention.png`);
}
