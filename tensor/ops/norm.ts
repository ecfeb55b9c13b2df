/**
 * Normalization: batch norm and layer norm, composed from differentiable
 * tensor ops (so their derivatives are the composition's, and work to any
 * order). Running statistics are updated in place outside the graph.
 *
 * @module
 */

import { noGrad } from "@dendrite/autograd";
import { fmtShape, numel } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Scale per channel `[C]` (γ), or none. */
  weight?: Tensor | null;
  /** Shift per channel `[C]` (β), or none. */
  bias?: Tensor | null;
  /** Use batch statistics (and update the running ones) instead of the running ones (default false). */
  training?: boolean;
  /** Weight of the new batch in the running-average update (default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalization over every dim but the channel dim 1, exactly like
 * PyTorch's `F.batch_norm`: in training, normalizes with the batch mean and
 * biased variance and (when given) updates `runningMean`/`runningVar` in place
 * with `momentum`, using the unbiased variance for `runningVar`; otherwise
 * normalizes with the running statistics.
 *
 * @example
 * ```ts
 * import { randn, zeros, ones } from "../mod.ts";
 * import { batchNorm } from "./norm.ts";
 * const rm = zeros([3]), rv = ones([3]);
 * const y = batchNorm(randn([4, 3, 5, 5]), rm, rv, { training: true });
 * ```
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const op = "batchNorm";
  const training = options.training ?? false, momentum = options.momentum ?? 0.1, eps = options.eps ?? 1e-5;
  if (x.ndim < 2) throw new RangeError(`${op}: expected input [N, C, ...], got ${fmtShape(x.shape)}`);
  const c = x.shape[1];
  for (
    const [name, t] of [["weight", options.weight], ["bias", options.bias], ["runningMean", runningMean], [
      "runningVar",
      runningVar,
    ]] as const
  ) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new RangeError(`${op}: expected ${name} [${c}] for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    }
  }
  const statShape = x.shape.map((s, i) => (i === 1 ? s : 1));
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  let mean: Tensor, invStd: Tensor;
  if (training) {
    const count = numel(x.shape) / c;
    if (count <= 1) {
      throw new RangeError(
        `${op}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`,
      );
    }
    mean = x.mean(dims, { keepdim: true });
    const centered = x.sub(mean);
    const variance = centered.square().mean(dims, { keepdim: true });
    invStd = variance.add(eps).rsqrt();
    if (runningMean || runningVar) {
      noGrad(() => {
        if (runningMean) {
          runningMean.mul_(1 - momentum).add_(mean.reshape([c]).to(runningMean.dtype), momentum);
        }
        if (runningVar) {
          const unbiased = variance.reshape([c]).mul(count / (count - 1)).to(runningVar.dtype);
          runningVar.mul_(1 - momentum).add_(unbiased, momentum);
        }
      });
    }
    let y = centered.mul(invStd);
    if (options.weight) y = y.mul(options.weight.reshape(statShape));
    if (options.bias) y = y.add(options.bias.reshape(statShape));
    return y;
  }
  if (!runningMean || !runningVar) {
    throw new Error(`${op}: running statistics are required when not training`);
  }
  mean = runningMean.reshape(statShape);
  invStd = runningVar.reshape(statShape).add(eps).rsqrt();
  // Fold γ into the scale so eval costs two broadcast ops.
  const scale = options.weight ? invStd.mul(options.weight.reshape(statShape)) : invStd;
  let y = x.sub(mean).mul(scale);
  if (options.bias) y = y.add(options.bias.reshape(statShape));
  return y;
}

/**
 * Layer normalization over the trailing `normalizedShape` dims (biased
 * variance, like PyTorch), with optional elementwise `weight` and `bias` of
 * that shape.
 *
 * @example
 * ```ts
 * import { randn } from "../mod.ts";
 * import { layerNorm } from "./norm.ts";
 * const y = layerNorm(randn([2, 5, 8]), [8]);
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const op = "layerNorm";
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || x.ndim < k || ns.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
    throw new RangeError(`${op}: expected input [..., ${ns.join(", ")}], got ${fmtShape(x.shape)}`);
  }
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t && (t.ndim !== k || t.shape.some((s, i) => s !== ns[i]))) {
      throw new RangeError(`${op}: expected ${name} ${fmtShape(ns)}, got ${fmtShape(t.shape)}`);
    }
  }
  const dims = ns.map((_, i) => x.ndim - k + i);
  const mean = x.mean(dims, { keepdim: true });
  const centered = x.sub(mean);
  const variance = centered.square().mean(dims, { keepdim: true });
  let y = centered.mul(variance.add(eps).rsqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}
