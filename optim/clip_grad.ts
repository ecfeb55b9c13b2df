/**
 * Gradient clipping (like `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`).
 *
 * @module
 */

import {
  fullLike,
  getBackend,
  noGrad,
  type SparseTensor,
  stack,
  summedDuplicates,
  Tensor,
  tensor,
} from "@dendrite/tensor";

/** {@link clipGradNorm}'s options. */
export interface ClipGradNormOptions {
  /**
   * Throw when the total norm is NaN or infinite (default false). Checking
   * reads the norm back to the host, so it needs a device that reads
   * synchronously (the CPU), as PyTorch's check also syncs.
   */
  errorIfNonfinite?: boolean;
}

function gradsOf(op: string, params: Tensor | Iterable<Tensor>): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: params[${i}] is not a Tensor`);
  });
  return list.flatMap((p) => p.grad ? [p.grad] : []);
}

/** The p-norm of all elements of `t` (p > 0, or Infinity for the max-abs norm); a sparse `t` after summing duplicates. */
function vectorNorm(t: Tensor, p: number): Tensor {
  if (t.isSparse) {
    // Duplicate entries must be summed before the norm; a device that cannot sort on the host sums them in place.
    const s = t as SparseTensor;
    if (getBackend(s.device).readSync) {
      const coalesced = s.coalesce();
      const values = coalesced.values();
      const norm = vectorNorm(values, p);
      values.dispose();
      if (coalesced !== s) coalesced.dispose();
      return norm;
    }
    const { values, carrier } = summedDuplicates(s);
    const norm = vectorNorm(values, p); // the non-carriers hold zeros, which no p-norm counts
    values.dispose();
    carrier.dispose();
    return norm;
  }
  if (p === Infinity) return t.abs().amax();
  if (p === 2) return t.square().sum().sqrt();
  if (p === 1) return t.abs().sum();
  return t.abs().pow(p).sum().pow(1 / p);
}

/**
 * Rescales the gradients of `params` in place so that their total norm (the
 * norm of the per-gradient norms, i.e. of all gradients as one vector) is at
 * most `maxNorm`: each is multiplied by min(1, maxNorm / (total + 1e-6)).
 * Returns the total norm before clipping as a 0-d Tensor (it stays on the
 * device; nothing is read back unless `errorIfNonfinite` asks for it).
 * Parameters without a gradient are skipped. A sparse gradient counts as the
 * dense tensor it stands for (duplicate entries summed) and is scaled in place.
 *
 * @param params the parameters (a Tensor or an iterable, e.g. `model.parameters()`)
 * @param maxNorm the largest total norm allowed
 * @param normType p of the p-norm: a number > 0, or `Infinity` / `"inf"` (default 2)
 * @param options `errorIfNonfinite`
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const w = tensor([0, 0]).requiresGrad_();
 * w.mul(tensor([3, 4])).sum().backward(); // grad [3, 4], norm 5
 * const total = optim.clipGradNorm([w], 1);
 * console.log(await total.item(), await w.grad!.tolist()); // 5, ~[0.6, 0.8]
 * ```
 */
export function clipGradNorm(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType: number | "inf" = 2,
  options: ClipGradNormOptions = {},
): Tensor {
  const p = normType === "inf" ? Infinity : normType;
  if (typeof p !== "number" || Number.isNaN(p) || p <= 0) {
    throw new RangeError(`clipGradNorm: normType must be a number > 0 or Infinity, got ${normType}`);
  }
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) {
    throw new TypeError(`clipGradNorm: maxNorm must be a number, got ${maxNorm}`);
  }
  const grads = gradsOf("clipGradNorm", params);
  if (grads.length === 0) return tensor(0);
  const device = grads[0].device;
  if (options.errorIfNonfinite && !getBackend(device).readSync) {
    throw new Error(
      `clipGradNorm: errorIfNonfinite reads the total norm back, which device "${device}" cannot do synchronously; ` +
        "leave it off and check the returned norm with `await total.item()`",
    );
  }
  return noGrad(() => {
    const dtype = grads[0].dtype;
    const norms = grads.map((g) => vectorNorm(g, p).to(dtype));
    const total = norms.length === 1 ? norms[0] : vectorNorm(stack(norms), p);
    if (options.errorIfNonfinite) {
      const v = total.dataSync()[0];
      if (!Number.isFinite(v)) {
        throw new Error(
          `clipGradNorm: the total norm of order ${normType} of the gradients is ${v}; ` +
            "set errorIfNonfinite to false to clip anyway",
        );
      }
    }
    // The coefficient stays a tensor so nothing is read back to the host.
    const shifted = total.add(1e-6);
    const numerator = fullLike(total, maxNorm);
    const ratio = numerator.div(shifted);
    const coef = ratio.minimum(1);
    for (const g of grads) g.mul_(coef);
    for (const t of [shifted, numerator, ratio, coef]) t.dispose();
    return total;
  });
}

/**
 * Clamps every gradient of `params` in place to [-clipValue, clipValue].
 * Parameters without a gradient are skipped.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const w = tensor([0, 0]).requiresGrad_();
 * w.mul(tensor([3, -0.5])).sum().backward();
 * optim.clipGradValue([w], 1); // grad [1, -0.5]
 * ```
 */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== "number" || !(clipValue >= 0)) {
    throw new RangeError(`clipGradValue: clipValue must be a number >= 0, got ${clipValue}`);
  }
  const grads = gradsOf("clipGradValue", params);
  grads.forEach((g, i) => {
    if (g.isSparse) {
      throw new TypeError(
        `clipGradValue: gradient ${i} is sparse; clamping its entries would not clamp their sums ` +
          "(PyTorch refuses too): use clipGradNorm, or a dense gradient",
      );
    }
  });
  noGrad(() => {
    for (const g of grads) g.clamp_(-clipValue, clipValue);
  });
}

/**
 * PyTorch's name, `torch.nn.utils.clip_grad_norm_` (the trailing underscore: the gradients change in place); the same
 * function as {@link clipGradNorm}.
 */
export const clipGradNorm_: typeof clipGradNorm = clipGradNorm;

/**
 * PyTorch's name, `torch.nn.utils.clip_grad_value_`; the same function as {@link clipGradValue}.
 */
export const clipGradValue_: typeof clipGradValue = clipGradValue;
