/**
 * What the generative examples (autoencoder, GAN, diffusion) share: the
 * device flag, the output folder, MNIST scaled to [-1, 1], digit grids and
 * the latent map as PNG (through `@dendrite/utils`), and the closing report
 * of {@link DigitScorer} scores.
 *
 * @module
 */

import { data, gpu, manualSeed, nn, noGrad, type Tensor, tensor, utils } from "../mod.ts";
import { classLine, type DigitScore, type DigitScorer, scoreTable } from "./digit_score.ts";

/** Registers WebGPU when asked; throws for an unknown device. */
export async function useDevice(device: string): Promise<void> {
  if (device === "webgpu") await gpu.useWebGPU();
  else if (device !== "cpu") throw new RangeError(`--device must be "cpu" or "webgpu", got "${device}"`);
}

/** Creates the output folder and returns a function joining a file name onto it. */
export async function outputFolder(dir: string): Promise<(name: string) => string> {
  await Deno.mkdir(dir, { recursive: true });
  return (name) => `${dir.replace(/\/$/, "")}/${name}`;
}

/** Labels `offset…offset + n − 1` modulo 10 (int32 `[n]`): every class equally often across batches. */
export function balancedLabels(offset: number, n: number, device = "cpu"): Tensor {
  return tensor(Array.from({ length: n }, (_, i) => (offset + i) % 10), { dtype: "int32", device });
}

/** A positive integer flag, or a clear error naming it. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

/** A positive number flag, or a clear error naming it. */
export function numberFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`--${name} must be a positive number, got "${value}"`);
  return n;
}

/** The MNIST training images scaled from [0, 1] to [-1, 1] (what tanh outputs), seeded. */
export async function mnistMinusOneToOne(seed: number): Promise<{ mnist: data.Mnist; train: Tensor }> {
  manualSeed(seed);
  const mnist = await data.loadMnist();
  return { mnist, train: mnist.train.images.mul(2).sub(1) };
}

/** `[-1, 1]` images back to `[0, 1]` (clamped), what the scorer and the PNGs take. */
export function toUnit(x: Tensor): Tensor {
  return x.add(1).mul(0.5).clamp(0, 1);
}

/**
 * Writes digits `[B, 1, 28, 28]` (values in [0, 1]) as one PNG grid, `nrow`
 * per row on black, each pixel a `scale × scale` block so 28-pixel digits
 * are big enough to read: nearest-neighbour upsampling, then
 * `utils.saveImage` (torchvision's `save_image`).
 */
export async function saveDigits(
  images: Tensor,
  path: string,
  options: { nrow?: number; padding?: number; scale?: number } = {},
): Promise<void> {
  const scale = options.scale ?? 2;
  const big = noGrad(() => scale === 1 ? images : nn.F.interpolate(images, { scaleFactor: scale, mode: "nearest" }));
  await utils.saveImage(big.clamp(0, 1), path, { nrow: options.nrow ?? 8, padding: (options.padding ?? 2) * scale });
}

/**
 * Writes a scatter plot of 2-D points (`xy`, row-major pairs) coloured by
 * digit label (one series per digit, matplotlib's tab10 colours, a legend)
 * as PNG, `utils.Plot`.
 */
export async function saveLatentMap(
  xy: ArrayLike<number>,
  labels: ArrayLike<number>,
  path: string,
  options: { title?: string; xLabel?: string; yLabel?: string } = {},
): Promise<void> {
  const plot = new utils.Plot({ title: options.title, xLabel: options.xLabel, yLabel: options.yLabel });
  for (let d = 0; d < 10; d++) {
    const xs: number[] = [], ys: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === d) xs.push(xy[2 * i]), ys.push(xy[2 * i + 1]);
    plot.scatter(xs, ys, { label: String(d), color: utils.SERIES_COLORS[d], radius: 2 });
  }
  await plot.savePng(path, 720, 600);
}

/** Seconds since `start` (a `performance.now()`), one decimal. */
export function seconds(start: number): string {
  return ((performance.now() - start) / 1000).toFixed(1);
}

/**
 * Scores named sample sets with `scorer` and prints them with the scale beside
 * each: real training digits and uniform noise, as many as the set holds (the
 * Fréchet distance of few samples is biased upwards, so each set is compared
 * with the scale at its own size), then each set's class shares. Returns the
 * scores by name.
 */
export async function reportScores(
  scorer: DigitScorer,
  sets: [string, Tensor][],
  log: (line: string) => void = console.log,
): Promise<Record<string, DigitScore>> {
  const out: Record<string, DigitScore> = {};
  const rows: [string, DigitScore][] = [];
  const scales = new Map<number, { real: DigitScore; noise: DigitScore }>();
  for (const [name, images] of sets) {
    out[name] = await scorer.score(images);
    rows.push([name, out[name]]);
  }
  for (const n of new Set(sets.map(([, t]) => t.shape[0]))) scales.set(n, await scorer.scale(n));
  for (const [n, { real, noise }] of scales) {
    const suffix = scales.size > 1 ? `, n=${n}` : " (scale)";
    rows.push([`real digits${suffix}`, real], [`uniform noise${suffix}`, noise]);
  }
  log(scoreTable(rows));
  for (const [name, s] of Object.entries(out)) log(`${name} per class: ${classLine(s)}`);
  return out;
}

/**
 * Recomputes the running statistics of every batch-norm layer in `model` from
 * `batches` (PyTorch's `torch.optim.swa_utils.update_bn`): each layer's
 * `running_mean` and `running_var` become the average over the batches of its
 * input's per-channel mean and unbiased variance, with the model in training
 * mode as it ran when it learned. A weight average (an {@link Ema}) needs this:
 * the statistics it copied were gathered by other weights, so in eval mode
 * its layers would normalise with the wrong mean and variance. Leaves the
 * model in eval mode.
 */
export function updateBatchNorm(model: nn.Module, batches: Iterable<Tensor>): void {
  const layers = [...model.modules()].filter((m): m is nn.BatchNormBase => m instanceof nn.BatchNormBase);
  const sums: { mean: Tensor; variance: Tensor }[] = [];
  let count = 0;
  const handles = layers.map((layer, i) =>
    layer.registerForwardPreHook((_m, [input]) => {
      const x = input as Tensor, dims = [0, ...[...x.shape.keys()].slice(2)];
      const mean = x.mean(dims), variance = x.var(dims);
      sums[i] = sums[i]
        ? { mean: sums[i].mean.add(mean), variance: sums[i].variance.add(variance) }
        : { mean, variance };
    })
  );
  try {
    model.train();
    noGrad(() => {
      for (const batch of batches) model.forward(batch), count++;
    });
  } finally {
    handles.forEach((h) => h.remove());
    model.eval();
  }
  if (count === 0) throw new RangeError("updateBatchNorm: expected at least one batch, got none");
  noGrad(() =>
    layers.forEach((layer, i) => {
      layer.runningMean?.copy_(sums[i].mean.div(count));
      layer.runningVar?.copy_(sums[i].variance.div(count));
    })
  );
}

/**
 * An exponential moving average of a model's parameters, the weights the
 * generative examples sample from (smoother than the last step's): after each
 * optimizer step, `θ̄ = d·θ̄ + (1 − d)·θ` with `d = min(decay, (1 + n)/(10 + n))`
 * so the first steps count; buffers (batch-norm statistics) are copied as they are.
 */
export class Ema<M extends nn.Module> {
  #steps = 0;

  /** Tracks `source` in `copy` (a fresh module of the same architecture), with the given decay. */
  constructor(source: M, readonly model: M, readonly decay: number) {
    // On the source's device first, so the copy stays on that device (a WebGPU tensor reads back only async).
    model.to(source.parameters().next().value!.device);
    model.loadStateDict(source.stateDict());
    model.eval();
  }

  /** Moves the average one step towards `source`. */
  update(source: M): void {
    this.#steps++;
    const d = Math.min(this.decay, (1 + this.#steps) / (10 + this.#steps));
    noGrad(() => {
      const src = [...source.parameters()];
      [...this.model.parameters()].forEach((p, i) => p.mul_(d).add_(src[i], 1 - d));
      const buffers = new Map(source.namedBuffers());
      for (const [name, b] of this.model.namedBuffers()) b.copy_(buffers.get(name)!);
    });
  }
}
