/**
 * A decoder-only character Transformer (a small GPT, after nanoGPT) learning
 * *Moby-Dick*: token and position embeddings, pre-norm blocks of causal
 * self-attention (the fused `scaledDotProductAttention`) and a GELU MLP, a
 * final LayerNorm and an output layer tied to the token embedding; AdamW
 * (weight decay on matrices only) with a linear warm-up and cosine decay (over
 * the steps or the time budget, whichever ends first),
 * gradient clipping. Prints validation bits per character and samples text
 * with and without a KV cache (same seed, so the same text), reporting tokens/s.
 *
 *   deno run -A examples/gpt.ts [--steps 1500] [--batch-size 16] [--block-size 128] [--layers 4] [--heads 4]
 *       [--width 128] [--lr 0.002] [--dropout 0] [--activation gelu|relu] [--max-minutes 4.5] [--text FILE]
 *       [--device cpu|webgpu] [--seed 0]
 *       [--out gpt.safetensors] [--quick]
 *
 * The split is `data.splitTrainVal`'s (the last 10% validates), the character LSTM example's; bits per
 * character are the mean cross-entropy over that tenth in windows of `--block-size`, divided by ln 2, printed
 * beside the unigram baseline.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  arange,
  type AttentionImplementation,
  data,
  Generator,
  gpu,
  manualSeed,
  models,
  nn,
  noGrad,
  optim,
  scaledDotProductAttention,
  type Tensor,
  tensor,
  tidy,
} from "../mod.ts";

/** The model's sizes. */
export interface GptConfig {
  /** Distinct tokens. */
  vocabSize: number;
  /** Longest context (positions learned). */
  blockSize: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads per block. */
  nHead: number;
  /** Width of the residual stream. */
  nEmbd: number;
  /** Dropout on attention weights, residual branches and embeddings. */
  dropout: number;
  /** Which attention path to run (default "auto": the fused kernel where the backend has one). */
  attention?: AttentionImplementation;
  /** The MLP's activation (default "gelu", nanoGPT's; "relu" is cheaper on the CPU, whose erf is a TypeScript loop). */
  activation?: "gelu" | "relu";
}

/** Causal self-attention: one projection to q, k and v, the fused attention, an output projection. */
class CausalSelfAttention extends nn.Module {
  c_attn: nn.Linear;
  c_proj: nn.Linear;
  resid_dropout: nn.Dropout;

  constructor(readonly cfg: GptConfig) {
    super();
    this.c_attn = new nn.Linear(cfg.nEmbd, 3 * cfg.nEmbd);
    this.c_proj = new nn.Linear(cfg.nEmbd, cfg.nEmbd);
    this.resid_dropout = new nn.Dropout(cfg.dropout);
  }

  /** `x` `[B, T, C]`; with a cache, its keys and values are appended and the queries see every cached token. */
  override forward(x: Tensor, cache?: nn.KVCache): Tensor {
    const [B, T, C] = x.shape, H = this.cfg.nHead, hd = C / H;
    const [q, k, v] = this.c_attn.forward(x).split(C, 2).map((t) => t.reshape([B, T, H, hd]).transpose(1, 2));
    let keys = k, values = v, isCausal = true, attnMask: Tensor | null = null;
    if (cache) {
      const before = cache.size;
      [keys, values] = cache.update(k, v);
      if (before > 0) {
        // New queries i see cached keys and the new ones up to their own position (bottom-right causal).
        isCausal = false;
        if (T > 1) {
          const S = before + T;
          const rows = tensor(Array.from({ length: T }, (_, i) => i + before), { dtype: "int32", device: x.device });
          const cols = tensor(Array.from({ length: S }, (_, j) => j), { dtype: "int32", device: x.device });
          attnMask = cols.unsqueeze(0).le(rows.unsqueeze(1));
        }
      }
    }
    const y = scaledDotProductAttention(q, keys, values, {
      isCausal,
      attnMask,
      dropoutP: this.training ? this.cfg.dropout : 0,
      implementation: this.cfg.attention,
    });
    return this.resid_dropout.forward(this.c_proj.forward(y.transpose(1, 2).reshape([B, T, C])));
  }
}

/** The feed-forward block: 4× wider, GELU. */
class Mlp extends nn.Module {
  c_fc: nn.Linear;
  c_proj: nn.Linear;
  dropout: nn.Dropout;

  constructor(readonly cfg: GptConfig) {
    super();
    this.c_fc = new nn.Linear(cfg.nEmbd, 4 * cfg.nEmbd);
    this.c_proj = new nn.Linear(4 * cfg.nEmbd, cfg.nEmbd);
    this.dropout = new nn.Dropout(cfg.dropout);
  }

  override forward(x: Tensor): Tensor {
    const h = this.c_fc.forward(x);
    return this.dropout.forward(this.c_proj.forward(this.cfg.activation === "relu" ? h.relu() : h.gelu()));
  }
}

/** A pre-norm block: `x + attn(ln(x))`, then `x + mlp(ln(x))`. */
class Block extends nn.Module {
  ln_1: nn.LayerNorm;
  attn: CausalSelfAttention;
  ln_2: nn.LayerNorm;
  mlp: Mlp;

  constructor(cfg: GptConfig) {
    super();
    this.ln_1 = new nn.LayerNorm(cfg.nEmbd);
    this.attn = new CausalSelfAttention(cfg);
    this.ln_2 = new nn.LayerNorm(cfg.nEmbd);
    this.mlp = new Mlp(cfg);
  }

  override forward(x: Tensor, cache?: nn.KVCache): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x), cache));
    return h.add(this.mlp.forward(this.ln_2.forward(h)));
  }
}

/**
 * The GPT: `wte`, `wpe`, `h.0 … h.{n-1}`, `ln_f`, and `lm_head` sharing
 * `wte`'s weight (nanoGPT's names without its `transformer.` prefix).
 */
export class Gpt extends nn.Module {
  wte: nn.Embedding;
  wpe: nn.Embedding;
  drop: nn.Dropout;
  h: nn.ModuleList;
  ln_f: nn.LayerNorm;
  lm_head: nn.Linear;

  /** A model with nanoGPT's initialisation: N(0, 0.02), residual projections scaled by 1/√(2·nLayer). */
  constructor(readonly cfg: GptConfig) {
    super();
    if (cfg.nEmbd % cfg.nHead !== 0) {
      throw new RangeError(`Gpt: width ${cfg.nEmbd} must be a multiple of the head count ${cfg.nHead}`);
    }
    this.wte = new nn.Embedding(cfg.vocabSize, cfg.nEmbd);
    this.wpe = new nn.Embedding(cfg.blockSize, cfg.nEmbd);
    this.drop = new nn.Dropout(cfg.dropout);
    this.h = new nn.ModuleList(Array.from({ length: cfg.nLayer }, () => new Block(cfg)));
    this.ln_f = new nn.LayerNorm(cfg.nEmbd);
    this.lm_head = new nn.Linear(cfg.nEmbd, cfg.vocabSize, { bias: false });
    this.lm_head.weight = this.wte.weight; // weight tying
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith("c_proj.weight")) nn.init.normal_(p, 0, 0.02 / Math.sqrt(2 * cfg.nLayer));
      else if (name.endsWith(".weight") && p.ndim === 2) nn.init.normal_(p, 0, 0.02);
      else if (name.endsWith(".bias")) nn.init.zeros_(p);
    }
  }

  /**
   * Logits `[B, T, vocab]` for ids `[B, T]` (int32). With `caches` (one per
   * block), the ids continue the cached sequence at position `caches[0].size`.
   */
  override forward(idx: Tensor, caches?: nn.KVCache[]): Tensor {
    const [, T] = idx.shape;
    const start = caches?.[0].size ?? 0;
    if (start + T > this.cfg.blockSize) {
      throw new RangeError(`Gpt: positions up to ${start + T} exceed the block size ${this.cfg.blockSize}`);
    }
    // arange rather than a literal list, so an ONNX export computes the positions from the input's length.
    const pos = arange(start, start + T, 1, { dtype: "int32", device: idx.device });
    let x = this.drop.forward(this.wte.forward(idx).add(this.wpe.forward(pos)));
    [...this.h].forEach((block, i) => (x = (block as Block).forward(x, caches?.[i])));
    return this.lm_head.forward(this.ln_f.forward(x));
  }

  /** Empty KV caches for generating `batch` sequences. */
  newCaches(batch = 1): nn.KVCache[] {
    const { nLayer, nHead, nEmbd, blockSize } = this.cfg;
    const device = this.wte.weight.device;
    return Array.from({ length: nLayer }, () => new nn.KVCache(batch, blockSize, nHead, nEmbd / nHead, { device }));
  }
}

/** AdamW with weight decay on the matrices (embeddings included) and none on biases and LayerNorm weights. */
export function configureOptimizer(model: Gpt, lr: number, weightDecay = 0.1): optim.AdamW {
  const params = [...model.parameters()];
  return new optim.AdamW([
    { params: params.filter((p) => p.ndim >= 2), weightDecay },
    { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
  ], { lr, betas: [0.9, 0.95] });
}

/**
 * The learning rate at `progress` ∈ [0, 1] of training: a linear warm-up over
 * the first `warmup` fraction, then cosine decay to `lr/10` at the end.
 */
export function learningRate(progress: number, lr: number, warmup = 0.05): number {
  if (progress < warmup) return (lr * Math.max(progress, 1e-3)) / warmup;
  const t = Math.min(1, (progress - warmup) / (1 - warmup));
  const min = lr / 10;
  return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * t));
}

/** One optimizer step on a batch; returns the loss. */
export function trainStep(model: Gpt, opt: optim.Optimizer, x: Tensor, y: Tensor, clip = 1): Tensor {
  opt.zeroGrad();
  const logits = model.forward(x);
  const loss = nn.functional.crossEntropy(logits.reshape([-1, model.cfg.vocabSize]), y.reshape([-1]));
  loss.backward();
  optim.clipGradNorm(model.parameters(), clip);
  opt.step();
  return loss;
}

/** Mean cross-entropy in bits per character over `ids` in non-overlapping windows of the block size. */
export async function bitsPerChar(model: Gpt, ids: Int32Array, batch: number, maxChars = Infinity): Promise<number> {
  const T = model.cfg.blockSize;
  const windows = Math.floor(Math.min(ids.length - 1, maxChars) / T);
  const device = model.wte.weight.device;
  model.eval();
  let sum = 0, count = 0;
  for (let w0 = 0; w0 < windows; w0 += batch) {
    const B = Math.min(batch, windows - w0);
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      x.set(ids.subarray((w0 + b) * T, (w0 + b) * T + T), b * T);
      y.set(ids.subarray((w0 + b) * T + 1, (w0 + b) * T + T + 1), b * T);
    }
    const loss = tidy(() =>
      noGrad(() => {
        const logits = model.forward(tensor(x, { dtype: "int32", device }).reshape([B, T]));
        return nn.functional.crossEntropy(
          logits.reshape([-1, model.cfg.vocabSize]),
          tensor(y, { dtype: "int32", device }),
          { reduction: "sum" },
        );
      })
    );
    sum += await loss.item();
    count += B * T;
  }
  model.train();
  return sum / count / Math.LN2;
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Softmax temperature (default 0.8). */
  temperature?: number;
  /** Draws the tokens (default: a generator seeded 0). */
  generator?: Generator;
  /** Append keys and values to a KV cache instead of re-running the whole context every token (default true). */
  useCache?: boolean;
}

/** Samples `n` ids after `prompt` (prompt + n ≤ block size); returns the new ids. */
export async function generate(model: Gpt, prompt: Int32Array, n: number, o: GenerateOptions = {}): Promise<number[]> {
  const temperature = o.temperature ?? 0.8, gen = o.generator ?? new Generator(0), useCache = o.useCache ?? true;
  if (prompt.length + n > model.cfg.blockSize) {
    throw new RangeError(`generate: ${prompt.length} + ${n} tokens exceed the block size ${model.cfg.blockSize}`);
  }
  const device = model.wte.weight.device;
  model.eval();
  const ids = Array.from(prompt), out: number[] = [];
  const caches = useCache ? model.newCaches() : undefined;
  let next = ids;
  for (let t = 0; t < n; t++) {
    const logits = tidy(() =>
      noGrad(() => {
        const input = tensor(useCache ? next : ids, { dtype: "int32", device }).reshape([1, -1]);
        const all = model.forward(input, caches);
        return all.select(1, all.shape[1] - 1).reshape([-1]).div(temperature).softmax(0);
      })
    );
    const probs = await logits.data();
    logits.dispose();
    let u = gen.random(), id = probs.length - 1;
    for (let i = 0; i < probs.length; i++) {
      u -= probs[i];
      if (u < 0) {
        id = i;
        break;
      }
    }
    ids.push(id);
    out.push(id);
    next = [id];
  }
  model.train();
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      steps: { type: "string", default: "1500" },
      "batch-size": { type: "string", default: "16" },
      "block-size": { type: "string", default: "128" },
      layers: { type: "string", default: "4" },
      heads: { type: "string", default: "4" },
      width: { type: "string", default: "128" },
      dropout: { type: "string", default: "0" },
      activation: { type: "string", default: "gelu" },
      lr: { type: "string", default: "0.002" },
      "max-minutes": { type: "string", default: "4.5" },
      text: { type: "string" },
      device: { type: "string", default: "cpu" },
      seed: { type: "string", default: "0" },
      out: { type: "string", default: "gpt.safetensors" },
      quick: { type: "boolean", default: false },
    },
  });
  const quick = values.quick;
  if (values.device === "webgpu") await gpu.useWebGPU();
  else if (values.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${values.device}"`);
  const device = values.device;
  manualSeed(Number(values.seed));
  const text = values.text ? await Deno.readTextFile(values.text) : await data.loadMobyDick();
  const vocab = data.CharVocabulary.fromText(text);
  const { train, val } = data.splitTrainVal(vocab.encode(text));
  const steps = quick ? 30 : Number(values.steps), B = Number(values["batch-size"]);
  const cfg: GptConfig = {
    vocabSize: vocab.size,
    blockSize: quick ? 64 : Number(values["block-size"]),
    nLayer: quick ? 2 : Number(values.layers),
    nHead: Number(values.heads),
    nEmbd: quick ? 64 : Number(values.width),
    dropout: Number(values.dropout),
    activation: values.activation === "relu" ? "relu" : "gelu",
  };
  const model = new Gpt(cfg).to(device);
  const lr = Number(values.lr);
  const opt = configureOptimizer(model, lr);
  console.log(`GPT on ${values.text ?? "Moby-Dick"}: ${text.length} characters, vocabulary ${vocab.size}`);
  const unigram = data.unigramBits(train, val, vocab.size);
  console.log(`train ${train.length}, validation ${val.length} (the last 10%: data.splitTrainVal, as char_lstm)`);
  console.log(
    `config ${JSON.stringify(cfg)}, ${model.numParameters()} parameters, ${steps} steps of ${B}×${cfg.blockSize}`,
  );
  const gen = new Generator(Number(values.seed) + 1);
  const budget = Number(values["max-minutes"]) * 60_000;
  const start = performance.now();
  let smooth = NaN, done = 0;
  for (let step = 0; step < steps; step++) {
    // Progress by steps or by the time budget, whichever is further: a run the clock stops still ends its schedule.
    const progress = Math.max(step / steps, (performance.now() - start) / budget);
    if (progress >= 1) {
      console.log(`  stopping at step ${done}: --max-minutes ${values["max-minutes"]} reached`);
      break;
    }
    const rate = learningRate(progress, lr);
    for (const g of opt.paramGroups) g.lr = rate;
    const loss = tidy(() => {
      const { x, y } = data.randomBatch(train, B, cfg.blockSize, gen);
      return trainStep(model, opt, x.to(device), y.to(device));
    });
    const value = await loss.item();
    loss.dispose();
    smooth = Number.isNaN(smooth) ? value : 0.95 * smooth + 0.05 * value;
    done = step + 1;
    if (done % 50 === 0 || done === steps) {
      const s = (performance.now() - start) / 1000;
      console.log(
        `  step ${done}/${steps}  loss ${smooth.toFixed(3)} (${(smooth / Math.LN2).toFixed(3)} bits/char)  lr ${
          rate.toExponential(2)
        }  ${(s / done * 1000).toFixed(0)} ms/step  ${s.toFixed(0)} s`,
      );
    }
  }
  const trainSeconds = (performance.now() - start) / 1000;
  const bpc = await bitsPerChar(model, val, 32, quick ? 20_000 : Infinity);
  const prompt = vocab.encode("CHAPTER 1. Loomings.\n\nCall me ");
  const n = cfg.blockSize - prompt.length;
  const timed = async (useCache: boolean) => {
    const t0 = performance.now();
    const ids = await generate(model, prompt, n, { useCache, generator: new Generator(7) });
    return { ids, rate: n / ((performance.now() - t0) / 1000) };
  };
  const cached = await timed(true), uncached = await timed(false);
  const same = cached.ids.every((id, i) => id === uncached.ids[i]);
  console.log(`\nsample (KV cache):\n${vocab.decode(prompt)}${vocab.decode(cached.ids)}\n`);
  console.table({
    "steps": done,
    "training time (s)": Number(trainSeconds.toFixed(1)),
    "ms per step": Number((trainSeconds * 1000 / done).toFixed(0)),
    "validation bits/char": Number(bpc.toFixed(3)),
    "unigram baseline bits/char": Number(unigram.toFixed(3)),
    "sampling tokens/s, KV cache": Number(cached.rate.toFixed(1)),
    "sampling tokens/s, no cache": Number(uncached.rate.toFixed(1)),
    "same text both ways": same,
  });
  if (!quick) {
    await models.save(model, values.out);
    console.log(`weights saved to ${values.out}`);
  }
}

if (import.meta.main) await main();
