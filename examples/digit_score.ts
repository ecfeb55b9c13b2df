/**
 * The judge of the generative examples: a digit classifier trained once on
 * the real MNIST training split (`loadMnist`), its weights cached as
 * safetensors, that scores generated digits by numbers rather than by eye:
 *
 * - **confident**: the share of samples it classifies with probability ≥ 0.9
 *   (real test digits: ~0.97; noise: ~0);
 * - **class shares**: the share of samples given each digit (a model that
 *   makes only a few digits — mode collapse — shows here);
 * - **Fréchet distance** of the samples to the real test digits in the
 *   classifier's 64-d feature space (FID's recipe with our classifier in
 *   Inception's place), with the same distance for other real digits and for
 *   noise as the scale: real-vs-real is the floor, noise-vs-real the ceiling.
 *
 *   deno run -A examples/digit_score.ts            # trains (or loads) the classifier, prints the scale
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  cat,
  data,
  full,
  Generator as RandomGenerator,
  gpu,
  manualSeed,
  models,
  nn,
  noGrad,
  oneHot,
  optim,
  rand,
  type Tensor,
  tidy,
} from "../mod.ts";
import { shiftImages } from "./mnist_loop.ts";
import { fitGaussian, frechetDistance, type Gaussian } from "./frechet.ts";

/**
 * The classifier's weights, committed beside this file so every run (and every user) is judged by the same
 * classifier; `--retrain` rewrites them.
 */
export const DEFAULT_CLASSIFIER_PATH: string = fileURLToPath(
  new URL("./weights/digit_classifier.safetensors", import.meta.url),
);

/** The width of the feature space the Fréchet distance is computed in. */
export const FEATURES = 64;

/**
 * The classifier: two conv–batch-norm–ReLU–pool blocks, a 64-d feature layer
 * (the Fréchet distance's space), and the 10-way head.
 */
export class DigitClassifier extends nn.Module {
  /** Convolutions to the 64-d features. */
  body: nn.Sequential = new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(32),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(64),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(64 * 7 * 7, FEATURES),
    new nn.ReLU(),
  );
  /** Features to class logits. */
  head: nn.Sequential = new nn.Sequential(new nn.Dropout(0.2), new nn.Linear(FEATURES, 10));

  /** The 64-d features of images `[N, 1, 28, 28]` in [0, 1]. */
  features(x: Tensor): Tensor {
    return this.body.forward(x);
  }

  /** Class logits. */
  override forward(x: Tensor): Tensor {
    return this.head.forward(this.features(x));
  }
}

/** What {@link DigitScorer.score} reports. */
export interface DigitScore {
  /** How many samples were scored. */
  n: number;
  /** Share classified with probability ≥ 0.9. */
  confident: number;
  /** Share of samples given each digit 0–9 (argmax), summing to 1. */
  classShares: number[];
  /** Fréchet distance in feature space to the real test digits. */
  frechet: number;
}

/** Options of {@link DigitScorer.load}. */
export interface ScorerOptions {
  /** Where the weights are cached (default {@link DEFAULT_CLASSIFIER_PATH}). */
  path?: string;
  /** Device to score on (default "cpu"). */
  device?: string;
  /** Train even if the cache exists (default false). */
  retrain?: boolean;
  /** Training epochs when training (default 5). */
  epochs?: number;
  /** Stop each epoch after this many batches (tests; default all). */
  maxBatches?: number;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

/** Batches of `x` `[N, ...]` of at most `size` rows. */
function* batches(x: Tensor, size: number): Generator<Tensor> {
  for (let i = 0; i < x.shape[0]; i += size) yield x.narrow(0, i, Math.min(size, x.shape[0] - i));
}

/**
 * Images that are not digits, with the targets the classifier should give
 * them (outlier exposure, Hendrycks et al. 2019): uniform and smoothed noise
 * with the uniform distribution, and 50/50 blends of two training digits with
 * half of each label. Without them a classifier calls noise a digit with
 * confidence (ours called 99.9% of uniform-noise images an 8 with p ≥ 0.9),
 * and the confident share would reward a generator for noise or blends.
 */
export function junkBatch(x: Tensor, y: Tensor, count: number): { images: Tensor; target: Tensor } {
  const n = x.shape[0], k = Math.max(1, Math.floor(count / 4));
  const noise = rand([k, 1, 28, 28]);
  const smooth = nn.F.interpolate(rand([k, 1, 7, 7]), { size: 28, mode: "bilinear" });
  const m = Math.min(2 * k, n - 1);
  // Each digit blended with its neighbour in the (shuffled) batch.
  const a = x.narrow(0, 0, m), b = x.narrow(0, 1, m);
  const blend = a.add(b).mul(0.5);
  const uniform = full([2 * k, 10], 0.1);
  const mixed = oneHot(y.narrow(0, 0, m), 10).to("float32").add(oneHot(y.narrow(0, 1, m), 10).to("float32")).mul(0.5);
  return { images: cat([noise, smooth, blend], 0), target: cat([uniform, mixed], 0) };
}

/**
 * Trains the classifier on the real training digits with ±2-pixel shifts and
 * {@link junkBatch}es; returns its test accuracy.
 */
export async function trainClassifier(
  model: DigitClassifier,
  mnist: data.Mnist,
  opts: { epochs: number; maxBatches?: number; device: string; log: (s: string) => void },
): Promise<number> {
  manualSeed(0);
  const gen = new data.DataLoader(new data.TensorDataset(mnist.train.images, mnist.train.labels), {
    batchSize: 64,
    shuffle: true,
  });
  const opt = new optim.Adam(model.parameters(), { lr: 2e-3 });
  const steps = opts.epochs * Math.min(gen.length, opts.maxBatches ?? Infinity);
  const sched = new optim.OneCycleLR(opt, 2e-3, { totalSteps: steps });
  const crit = new nn.CrossEntropyLoss();
  const shifts = new RandomGenerator(1);
  let step = 0;
  const start = performance.now();
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    model.train();
    let seen = 0, lossSum = 0, b = 0;
    for await (const [x, y] of gen) {
      const loss = tidy(() => {
        const shifted = shiftImages(x, shifts.randint(-2, 3), shifts.randint(-2, 3)).to(opts.device);
        const junk = junkBatch(x, y, 32);
        opt.zeroGrad();
        const logits = model.forward(cat([shifted, junk.images.to(opts.device)], 0));
        const l = crit.forward(logits.narrow(0, 0, x.shape[0]), y.to(opts.device));
        const lj = crit.forward(logits.narrow(0, x.shape[0], junk.images.shape[0]), junk.target.to(opts.device));
        l.add(lj.mul(0.5)).backward();
        opt.step();
        return l;
      });
      sched.step();
      lossSum += (await loss.item()) * x.shape[0];
      seen += x.shape[0];
      step++;
      if (++b >= (opts.maxBatches ?? Infinity)) break;
    }
    opts.log(
      `  classifier epoch ${epoch}/${opts.epochs}: loss ${(lossSum / seen).toFixed(4)} (${
        ((performance.now() - start) / 1000).toFixed(0)
      } s, ${step} steps)`,
    );
  }
  model.eval();
  return await testAccuracy(model, mnist, opts.device);
}

/** The classifier's accuracy on the real test digits. */
export async function testAccuracy(model: DigitClassifier, mnist: data.Mnist, device: string): Promise<number> {
  let correct = 0;
  const { images, labels } = mnist.test;
  for (let i = 0; i < mnist.test.length; i += 500) {
    const n = Math.min(500, mnist.test.length - i);
    const [, preds] = noGrad(() => model.forward(images.narrow(0, i, n).to(device))).max(1);
    correct += await preds.eq(labels.narrow(0, i, n).to(device)).sum().item();
  }
  return correct / mnist.test.length;
}

/** Scores generated digits against the real ones (see the module doc). */
export class DigitScorer {
  #real: Gaussian | null = null;

  /** A scorer around a trained classifier (in eval mode) on `device`. */
  constructor(readonly model: DigitClassifier, readonly mnist: data.Mnist, readonly device = "cpu") {
    model.eval();
  }

  /**
   * Loads the cached classifier, or trains one on the real training digits
   * (about a minute on two CPU cores) and caches it.
   */
  static async load(options: ScorerOptions = {}): Promise<DigitScorer> {
    const path = options.path ?? DEFAULT_CLASSIFIER_PATH, device = options.device ?? "cpu";
    const log = options.log ?? console.log;
    const mnist = await data.loadMnist();
    const model = new DigitClassifier();
    let cached = false;
    if (!options.retrain) {
      try {
        await Deno.stat(path);
        cached = true;
      } catch {
        // not cached yet
      }
    }
    if (cached) {
      models.load(model, path);
      model.to(device);
    } else {
      log(`Training the digit classifier on the ${mnist.train.length} real training digits (cached at ${path})`);
      model.to(device);
      const acc = await trainClassifier(model, mnist, {
        epochs: options.epochs ?? 5,
        maxBatches: options.maxBatches,
        device,
        log,
      });
      log(`  classifier test accuracy ${(100 * acc).toFixed(2)}% on ${mnist.test.length} real test digits`);
      await Deno.mkdir(path.replace(/[^/]*$/, "") || ".", { recursive: true });
      await models.save(model, path);
    }
    return new DigitScorer(model, mnist, device);
  }

  /** Class probabilities `[N, 10]` and features `[N, 64]` of images `[N, 1, 28, 28]` in [0, 1], read back. */
  async evaluate(images: Tensor): Promise<{ probs: Float32Array; features: Float32Array }> {
    if (images.ndim !== 4 || images.shape[1] !== 1 || images.shape[2] !== 28 || images.shape[3] !== 28) {
      throw new RangeError(`DigitScorer: expected images [N, 1, 28, 28] in [0, 1], got [${images.shape.join(", ")}]`);
    }
    const probs: Tensor[] = [], feats: Tensor[] = [];
    for (const b of batches(images, 500)) {
      noGrad(() => {
        const f = this.model.features(b.to(this.device));
        feats.push(f);
        probs.push(this.model.head.forward(f).softmax(1));
      });
    }
    const [p, f] = await Promise.all([cat(probs, 0).data(), cat(feats, 0).data()]);
    return { probs: p as Float32Array, features: f as Float32Array };
  }

  /** The Gaussian of the real test digits' features (computed once). */
  async realGaussian(): Promise<Gaussian> {
    if (!this.#real) {
      const { features } = await this.evaluate(this.mnist.test.images);
      this.#real = fitGaussian(features, this.mnist.test.length, FEATURES);
    }
    return this.#real;
  }

  /** Scores images `[N, 1, 28, 28]` with values in [0, 1] (see {@link DigitScore}). */
  async score(images: Tensor): Promise<DigitScore> {
    const n = images.shape[0];
    const { probs, features } = await this.evaluate(images);
    let confident = 0;
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (probs[i * 10 + c] > probs[i * 10 + best]) best = c;
      counts[best]++;
      if (probs[i * 10 + best] >= 0.9) confident++;
    }
    const frechet = frechetDistance(fitGaussian(features, n, FEATURES), await this.realGaussian());
    return { n, confident: confident / n, classShares: counts.map((c) => c / n), frechet };
  }

  /**
   * The scale for `n` samples: the score of `n` real training digits (which
   * the test digits' Gaussian never saw, though the classifier trained on
   * them, so this floor is slightly optimistic) and of `n` uniform-noise images.
   */
  async scale(n: number): Promise<{ real: DigitScore; noise: DigitScore }> {
    const count = Math.min(n, this.mnist.train.length);
    const real = await this.score(this.mnist.train.images.narrow(0, 0, count));
    manualSeed(12345);
    const noise = await this.score(rand([count, 1, 28, 28]));
    return { real, noise };
  }
}

/** A results table: one row per named score (confident share, smallest and largest class share, Fréchet distance). */
export function scoreTable(rows: [string, DigitScore][]): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`.padStart(7);
  const lines = [
    `${"".padEnd(22)} ${"n".padStart(5)} ${"conf≥0.9".padStart(8)} ${"min class".padStart(9)} ${
      "max class".padStart(9)
    } ${"Fréchet".padStart(8)}`,
  ];
  for (const [name, s] of rows) {
    lines.push(
      `${name.padEnd(22)} ${String(s.n).padStart(5)} ${pct(s.confident).padStart(8)} ${
        pct(Math.min(...s.classShares)).padStart(9)
      } ${pct(Math.max(...s.classShares)).padStart(9)} ${s.frechet.toFixed(2).padStart(8)}`,
    );
  }
  return lines.join("\n");
}

/** The class shares as one line: `0:10.2% 1:9.8% …`. */
export function classLine(s: DigitScore): string {
  return s.classShares.map((v, c) => `${c}:${(100 * v).toFixed(1)}%`).join(" ");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { device: { type: "string", default: "cpu" }, retrain: { type: "boolean", default: false } },
  });
  if (values.device === "webgpu") await gpu.useWebGPU();
  const scorer = await DigitScorer.load({ device: values.device, retrain: values.retrain });
  const acc = await testAccuracy(scorer.model, scorer.mnist, scorer.device);
  console.log(`classifier accuracy on the ${scorer.mnist.test.length} real test digits: ${(100 * acc).toFixed(2)}%`);
  const { real, noise } = await scorer.scale(1000);
  console.log(scoreTable([["real train digits", real], ["uniform noise", noise]]));
  console.log(`real digits per class: ${classLine(real)}`);
}
