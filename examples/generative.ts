/**
 * What the generative examples (autoencoder, GAN, diffusion) share: the
 * device flag, the output folder, progress lines, MNIST scaled to [-1, 1],
 * and the closing report of {@link DigitScorer} scores.
 *
 * @module
 */

import { data, gpu, manualSeed, type Tensor } from "../mod.ts";
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
