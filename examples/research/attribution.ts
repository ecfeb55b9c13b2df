/**
 * Attribution methods for image classifiers — which pixels made the model say
 * class c? — and the deletion metric that scores them. Used by
 * `interpretability.ts`; every gradient comes from `autograd.grad`, so no
 * parameter's `.grad` is touched.
 *
 * @module
 */

import { autograd, type Generator, type nn, noGrad, randn, type Tensor, tensor } from "../../mod.ts";
import type { Net } from "./common.ts";

/** The summed logits of each row's target class: what the methods explain. */
function targetScore(model: Net, x: Tensor, target: Tensor): Tensor {
  return model.forward(x).gather(1, target.reshape([-1, 1])).sum();
}

/** ∂(logit of the target) / ∂x for a batch `[N, C, H, W]`. */
export function inputGradient(model: Net, x: Tensor, target: Tensor): Tensor {
  const xg = x.detach().requiresGrad_();
  return autograd.grad(targetScore(model, xg, target), xg)[0];
}

/** `[N, C, H, W]` → `[N, H, W]`: the largest magnitude over channels (how saliency maps show colour images). */
function maxAbsOverChannels(t: Tensor): Tensor {
  return noGrad(() => t.abs().amax(1));
}

/** Vanilla gradient saliency (Simonyan et al., 2014): `max_c |∂ logit / ∂x|` per pixel, `[N, H, W]`. */
export function saliency(model: Net, x: Tensor, target: Tensor): Tensor {
  return maxAbsOverChannels(inputGradient(model, x, target));
}

/** Options of {@link smoothGrad}. */
export interface SmoothGradOptions {
  /** Noisy copies averaged (default 25). */
  samples?: number;
  /** Noise standard deviation as a fraction of the input's range (default 0.15). */
  noise?: number;
  /** Draws the noise. */
  generator?: Generator;
}

/** SmoothGrad (Smilkov et al., 2017): saliency averaged over noisy copies of the input, `[N, H, W]`. */
export function smoothGrad(model: Net, x: Tensor, target: Tensor, options: SmoothGradOptions = {}): Tensor {
  const samples = options.samples ?? 25;
  const sigma = noGrad(() => x.amax().sub(x.amin()).mul(options.noise ?? 0.15)); // stays on the device
  let sum: Tensor | null = null;
  for (let s = 0; s < samples; s++) {
    const noisy = x.add(randn(x.shape, { generator: options.generator, device: x.device }).mul(sigma));
    const g = inputGradient(model, noisy, target).abs();
    sum = sum ? sum.add(g) : g;
  }
  return noGrad(() => sum!.div(samples).amax(1));
}

/** Options of {@link integratedGradients}. */
export interface IntegratedGradientsOptions {
  /** The reference input (default zeros: a black image, or the mean colour of a normalized one). */
  baseline?: Tensor;
  /** Points on the straight path from the baseline (midpoint rule; default 32). */
  steps?: number;
}

/**
 * Integrated gradients (Sundararajan et al., 2017): `(x − x₀) ⊙ ∫₀¹ ∇f(x₀ + α(x − x₀)) dα` by the midpoint rule,
 * `[N, C, H, W]`. Completeness: the attributions of an image add up to `f(x) − f(x₀)`.
 */
export function integratedGradients(
  model: Net,
  x: Tensor,
  target: Tensor,
  options: IntegratedGradientsOptions = {},
): Tensor {
  const steps = options.steps ?? 32;
  const baseline = options.baseline ?? x.mul(0);
  const delta = x.sub(baseline);
  let sum: Tensor | null = null;
  for (let k = 0; k < steps; k++) {
    const g = inputGradient(model, baseline.add(delta.mul((k + 0.5) / steps)), target);
    sum = sum ? sum.add(g) : g;
  }
  return noGrad(() => delta.mul(sum!).div(steps));
}

/**
 * Grad-CAM (Selvaraju et al., 2017) at `layer`: its output activations A (read by a forward hook) weighted per
 * channel by the spatial mean of the target logit's gradient with respect to them (read by a full backward hook),
 * summed over channels, ReLU'd: `[N, h, w]` at the layer's resolution. The hooks are removed afterwards.
 */
export function gradCam(model: Net, layer: nn.Module, x: Tensor, target: Tensor): Tensor {
  let activations: Tensor | null = null, gradients: Tensor | null = null;
  const forward = layer.registerForwardHook((_m, _args, out) => {
    activations = (out as Tensor).detach();
  });
  const backward = layer.registerFullBackwardHook((_m, _gradIn, gradOut) => {
    gradients = gradOut[0];
  });
  try {
    inputGradient(model, x, target); // runs the forward and backward passes the hooks watch
  } finally {
    forward.remove();
    backward.remove();
  }
  if (!activations || !gradients) {
    throw new Error(`gradCam: the layer ${layer.constructor.name} was not called by the model's forward pass`);
  }
  const a = activations as Tensor, g = gradients as Tensor;
  return noGrad(() => g.mean([2, 3], { keepdim: true }).mul(a).sum(1).relu());
}

/** A deletion curve: the target's mean probability after deleting each fraction of the pixels. */
export interface DeletionCurve {
  /** Fractions of pixels deleted, 0 … 1. */
  fractions: number[];
  /** Mean probability of the target class at each fraction. */
  probs: number[];
  /** Area under the curve (trapezoid over the fractions): lower means the ranking found what matters sooner. */
  area: number;
}

/**
 * The deletion metric (Petsiuk et al., 2018): pixels are replaced by `baseline` in the order of `ranking`
 * `[N, H, W]`, highest first, and the target's softmax probability is measured after each `1/steps` of them.
 * `baseline` is one value for every channel (default 0: black for images in [0, 1]) or one per channel — for a
 * normalized input pass the normalized black pixel, `−mean/std`, since 0 there is the mean colour, which changes the
 * background the model saw and makes every deletion order look alike.
 */
export async function deletionCurve(
  model: Net,
  x: Tensor,
  target: Tensor,
  ranking: Tensor,
  options: { steps?: number; baseline?: number | readonly number[] } = {},
): Promise<DeletionCurve> {
  const steps = options.steps ?? 20;
  const [n, c, h, w] = x.shape, hw = h * w;
  const baseline = options.baseline ?? 0;
  if (typeof baseline !== "number" && baseline.length !== c) {
    throw new Error(`deletionCurve: baseline has ${baseline.length} values for an input of ${c} channels [${x.shape}]`);
  }
  const base = typeof baseline === "number"
    ? baseline
    : tensor(Float32Array.from(baseline), { shape: [1, c, 1, 1] }).to(x.device).expand([n, c, h, w]);
  const scores = await ranking.data();
  // rank[i][p]: the position of pixel p in image i's deletion order.
  const rank = new Int32Array(n * hw);
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: hw }, (_, p) => p).sort((a, b) => scores[i * hw + b] - scores[i * hw + a]);
    order.forEach((p, r) => (rank[i * hw + p] = r));
  }
  const rankT = tensor(rank, { shape: [n, 1, h, w], dtype: "int32" }).to(x.device);
  const fractions = Array.from({ length: steps + 1 }, (_, j) => j / steps);
  const probs: number[] = [];
  model.eval();
  for (const f of fractions) {
    const p = noGrad(() => {
      const deleted = rankT.lt(Math.round(f * hw)).expand([n, c, h, w]);
      const xd = typeof base === "number" ? x.maskedFill(deleted, base) : base.where(deleted, x);
      return model.forward(xd).softmax(1).gather(1, target.reshape([-1, 1])).mean();
    });
    probs.push(await p.item());
  }
  let area = 0;
  for (let j = 1; j < fractions.length; j++) {
    area += ((probs[j] + probs[j - 1]) / 2) * (fractions[j] - fractions[j - 1]);
  }
  return { fractions, probs, area };
}

/** A random ranking `[N, H, W]`: deletion in random order, the curve every method must beat. */
export function randomRanking(n: number, h: number, w: number, generator: Generator): Tensor {
  const v = new Float32Array(n * h * w).map(() => generator.random());
  return tensor(v, { shape: [n, h, w] });
}
