/**
 * The date-translation task of `seq2seq.ts` ("Friday, March 5, 2021",
 * "5.3.2021", "the 5th of March, 2021", … → "2021-03-05") with a Transformer
 * encoder–decoder instead of GRUs: `nn.Transformer` (pre-norm, batch-first),
 * learned token and position embeddings, the source's padding masked out of
 * the encoder's self-attention and of the decoder's attention to it, a causal
 * mask on the decoder (the fused attention skips the tiles above the
 * diagonal). Teacher forcing, AdamW with warm-up and cosine decay over the
 * planned steps or the `--minutes` budget, greedy decoding; reports held-out
 * exact match (inputs never seen in training) and saves the weights.
 *
 *   deno run -A examples/seq2seq_transformer.ts [--train 12000] [--test 2000] [--epochs 10] [--batch-size 64]
 *       [--lr 0.002] [--width 64] [--heads 4] [--layers 2] [--dropout 0] [--minutes 15] [--seed 0]
 *       [--device cpu|webgpu] [--out seq2seq_transformer.safetensors] [--quick]
 *
 * The defaults reach 99.8% held-out exact match (1,880 steps, 12 minutes on a loaded two-core machine); with
 * dropout 0.1 and 4 epochs it was 71.7% (the years' digits still swapped).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Generator, gpu, manualSeed, models, nn, noGrad, optim, type Tensor, tensor, tidy } from "../mod.ts";
import { type DatePair, makeDateData, SourceVocab } from "./seq2seq.ts";

/** Target tokens: start, end, the ten digits and "-" (as `seq2seq.ts`). */
const TGT = ["<s>", "</s>", ..."0123456789-"];
const SOS = 0, EOS = 1;
/** Output length: ten characters and the end mark. */
const TGT_LEN = 11;
/** Longest source the position table covers. */
const MAX_SRC = 48;

/** The sizes of {@link DateTransformer}. */
export interface DateTransformerConfig {
  /** Source vocabulary (padding id 0 included). */
  srcVocab: number;
  /** Model width. */
  width: number;
  /** Attention heads. */
  heads: number;
  /** Encoder layers and decoder layers (each). */
  layers: number;
  /** Dropout inside the Transformer. */
  dropout: number;
}

/** Token and position embeddings around an `nn.Transformer`, and a linear output over the target tokens. */
export class DateTransformer extends nn.Module {
  src_embed: nn.Embedding;
  src_pos: nn.Embedding;
  tgt_embed: nn.Embedding;
  tgt_pos: nn.Embedding;
  transformer: nn.Transformer;
  out: nn.Linear;

  /** A model of the given sizes. */
  constructor(readonly cfg: DateTransformerConfig) {
    super();
    const d = cfg.width;
    this.src_embed = new nn.Embedding(cfg.srcVocab, d, { paddingIdx: 0 });
    this.src_pos = new nn.Embedding(MAX_SRC, d);
    this.tgt_embed = new nn.Embedding(TGT.length, d);
    this.tgt_pos = new nn.Embedding(TGT_LEN, d);
    this.transformer = new nn.Transformer({
      dModel: d,
      nhead: cfg.heads,
      numEncoderLayers: cfg.layers,
      numDecoderLayers: cfg.layers,
      dimFeedforward: 2 * d,
      dropout: cfg.dropout,
      batchFirst: true,
      normFirst: true,
    });
    this.out = new nn.Linear(d, TGT.length);
    for (const e of [this.src_embed, this.src_pos, this.tgt_embed, this.tgt_pos]) nn.init.normal_(e.weight, 0, 0.1);
  }

  #embed(table: nn.Embedding, pos: nn.Embedding, ids: Tensor): Tensor {
    const t = tensor(Array.from({ length: ids.shape[1] }, (_, i) => i), { dtype: "int32", device: ids.device });
    return table.forward(ids).add(pos.forward(t));
  }

  /** The encoder's memory `[B, Tin, d]` of source ids `[B, Tin]`, `padding` `[B, Tin]` true at padded positions. */
  encode(src: Tensor, padding: Tensor): Tensor {
    if (src.shape[1] > MAX_SRC) {
      throw new RangeError(`DateTransformer: sources of ${src.shape[1]} characters exceed the ${MAX_SRC} positions`);
    }
    return this.transformer.encoder.forward(this.#embed(this.src_embed, this.src_pos, src), {
      srcKeyPaddingMask: padding,
    });
  }

  /** Logits `[B, Tout, vocab]` of every next target token given the previous ones `[B, Tout]` (causal). */
  decode(memory: Tensor, padding: Tensor, prev: Tensor): Tensor {
    const T = prev.shape[1];
    const y = this.transformer.decoder.forward(this.#embed(this.tgt_embed, this.tgt_pos, prev), memory, {
      tgtMask: nn.generateSquareSubsequentMask(T, { device: prev.device }),
      tgtIsCausal: true,
      memoryKeyPaddingMask: padding,
    });
    return this.out.forward(y);
  }
}

/** Padded source ids `[B, Tin]` and the padding mask (true at padding). */
function sourceBatch(vocab: SourceVocab, pairs: readonly DatePair[], device: string): [Tensor, Tensor] {
  const ids = pairs.map((p) => vocab.encode(p.input));
  const T = Math.max(...ids.map((s) => s.length));
  const rows = ids.map((s) => Array.from({ length: T }, (_, t) => s[t] ?? 0));
  const src = tensor(rows, { dtype: "int32" });
  return [src.to(device), src.eq(0).to(device)];
}

/** Target ids `[t0 … t9, </s>]` of each pair. */
function targetIds(p: DatePair): number[] {
  return [...[...p.target].map((c) => TGT.indexOf(c)), EOS];
}

/** Greedy decoding: the ISO string each source reads as. */
export async function greedyDecode(
  model: DateTransformer,
  vocab: SourceVocab,
  pairs: readonly DatePair[],
  device: string,
): Promise<string[]> {
  model.eval();
  const [src, padding] = sourceBatch(vocab, pairs, device);
  const memory = noGrad(() => model.encode(src, padding));
  const tokens: number[][] = pairs.map(() => [SOS]);
  for (let t = 0; t < TGT_LEN - 1; t++) {
    const next = tidy(() =>
      noGrad(() => {
        const logits = model.decode(memory, padding, tensor(tokens, { dtype: "int32" }).to(device));
        return logits.select(1, t).argmax(-1);
      })
    );
    const ids = await next.data();
    next.dispose();
    tokens.forEach((row, b) => row.push(ids[b]));
  }
  memory.dispose();
  model.train();
  return tokens.map((row) => row.slice(1).filter((i) => i > EOS).map((i) => TGT[i]).join(""));
}

/** What one run needs. */
export interface RunConfig {
  /** Training pairs. */
  train: number;
  /** Held-out pairs. */
  test: number;
  /** Passes over the training pairs. */
  epochs: number;
  /** Pairs per step. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Model sizes but the vocabulary. */
  model: Omit<DateTransformerConfig, "srcVocab">;
  /** Stop training after this many minutes. */
  minutes: number;
  /** Seeds the data, the weights and the shuffling. */
  seed: number;
  /** "cpu" or "webgpu". */
  device: string;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

/** What one run gives. */
export interface RunResult {
  /** The trained model. */
  model: DateTransformer;
  /** Mean training loss per logged window. */
  losses: number[];
  /** Held-out exact match with greedy decoding. */
  exactMatch: number;
  /** Training steps taken. */
  steps: number;
  /** Training seconds. */
  seconds: number;
  /** A few held-out inputs with the model's output. */
  samples: [string, string, string][];
}

/** Trains on the date pairs and measures held-out exact match. */
export async function trainDates(cfg: RunConfig): Promise<RunResult> {
  const log = cfg.log ?? ((line: string) => console.log(line));
  manualSeed(cfg.seed);
  const { train, test } = makeDateData(cfg.train, cfg.test, cfg.seed);
  const vocab = new SourceVocab([...train, ...test].map((p) => p.input));
  const model = new DateTransformer({ srcVocab: vocab.size, ...cfg.model }).to(cfg.device);
  const params = [...model.parameters()];
  const opt = new optim.AdamW([
    { params: params.filter((p) => p.ndim >= 2), weightDecay: 0.01 },
    { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
  ], { lr: cfg.lr });
  const criterion = new nn.CrossEntropyLoss();
  log(`${train.length} training pairs, ${test.length} held-out; ${model.numParameters()} parameters on ${cfg.device}`);
  const g = new Generator(cfg.seed + 1);
  const start = performance.now(), budget = cfg.minutes * 60_000;
  const total = cfg.epochs * Math.ceil(train.length / cfg.batchSize);
  const losses: number[] = [];
  let step = 0, window = 0, windowSteps = 0;
  outer: for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const order = g.randperm(train.length);
    for (let i = 0; i < train.length; i += cfg.batchSize) {
      const progress = Math.max(step / total, (performance.now() - start) / budget);
      if (progress >= 1) {
        log(`stopped in epoch ${epoch}: the ${cfg.minutes}-minute budget ran out`);
        break outer;
      }
      const rate = progress < 0.05 ? cfg.lr * Math.max(progress, 0.002) / 0.05 : cfg.lr / 20 +
        (cfg.lr - cfg.lr / 20) * (1 + Math.cos(Math.PI * (progress - 0.05) / 0.95)) / 2;
      for (const group of opt.paramGroups) group.lr = rate;
      const pairs = order.slice(i, i + cfg.batchSize).map((k) => train[k]);
      const [src, padding] = sourceBatch(vocab, pairs, cfg.device);
      const gold = pairs.map(targetIds);
      const prev = tensor(gold.map((s) => [SOS, ...s.slice(0, -1)]), { dtype: "int32" }).to(cfg.device);
      const target = tensor(gold, { dtype: "int32" }).to(cfg.device);
      const loss = tidy(() => {
        opt.zeroGrad();
        const logits = model.decode(model.encode(src, padding), padding, prev);
        const l = criterion.forward(logits.reshape([-1, TGT.length]), target.reshape([-1]));
        l.backward();
        optim.clipGradNorm(model.parameters(), 1);
        opt.step();
        return l.detach();
      });
      window += await loss.item();
      loss.dispose();
      windowSteps++;
      step++;
      if (step % 25 === 0 || step === total) {
        losses.push(window / windowSteps);
        const secs = (performance.now() - start) / 1000;
        log(
          `epoch ${epoch}/${cfg.epochs} step ${step}/${total}  loss ${(window / windowSteps).toFixed(4)}  ${
            (step * cfg.batchSize / secs).toFixed(0)
          } pairs/s  ${secs.toFixed(0)} s`,
        );
        window = 0;
        windowSteps = 0;
      }
    }
  }
  if (windowSteps > 0) losses.push(window / windowSteps);
  const seconds = (performance.now() - start) / 1000;
  let right = 0;
  const samples: [string, string, string][] = [];
  for (let i = 0; i < test.length; i += 500) {
    const chunk = test.slice(i, i + 500);
    const outputs = await greedyDecode(model, vocab, chunk, cfg.device);
    outputs.forEach((o, k) => {
      if (o === chunk[k].target) right++;
      if (samples.length < 6) samples.push([chunk[k].input, o, chunk[k].target]);
    });
  }
  return { model, losses, exactMatch: right / test.length, steps: step, seconds, samples };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      train: { type: "string", default: "12000" },
      test: { type: "string", default: "2000" },
      epochs: { type: "string", default: "10" },
      "batch-size": { type: "string", default: "64" },
      lr: { type: "string", default: "0.002" },
      width: { type: "string", default: "64" },
      heads: { type: "string", default: "4" },
      layers: { type: "string", default: "2" },
      dropout: { type: "string", default: "0" },
      minutes: { type: "string", default: "15" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "seq2seq_transformer.safetensors" },
      quick: { type: "boolean", default: false },
    },
  });
  if (values.device === "webgpu") await gpu.useWebGPU();
  else if (values.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${values.device}"`);
  const quick = values.quick;
  const r = await trainDates({
    train: quick ? 500 : Number(values.train),
    test: quick ? 100 : Number(values.test),
    epochs: quick ? 1 : Number(values.epochs),
    batchSize: Number(values["batch-size"]),
    lr: Number(values.lr),
    model: {
      width: quick ? 32 : Number(values.width),
      heads: Number(values.heads),
      layers: quick ? 1 : Number(values.layers),
      dropout: Number(values.dropout),
    },
    minutes: Number(values.minutes),
    seed: Number(values.seed),
    device: values.device,
  });
  for (const [input, output, target] of r.samples) {
    console.log(`  ${JSON.stringify(input).padEnd(34)} → ${output} ${output === target ? "✓" : `✗ (${target})`}`);
  }
  console.table({
    "steps": r.steps,
    "training time (s)": Number(r.seconds.toFixed(1)),
    "held-out exact match (greedy)": Number(r.exactMatch.toFixed(4)),
  });
  if (!quick) {
    await models.save(r.model, values.out);
    console.log(`weights saved to ${values.out}`);
  }
}

if (import.meta.main) await main();
