/**
 * Whether operations record a graph: `noGrad(fn)` and `enableGrad(fn)`.
 *
 * @module
 */

let enabled = true;

/** Whether new operations record the graph (false inside {@link noGrad}). */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Sets whether operations record the graph; returns the previous setting. */
export function setGradEnabled(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

function runWith<R>(on: boolean, fn: () => R): R {
  const prev = setGradEnabled(on);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    enabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    // An async body keeps the mode until it settles (like awaiting inside `with torch.no_grad()`).
    return result.finally(() => {
      enabled = prev;
    }) as R;
  }
  enabled = prev;
  return result;
}

/**
 * Runs `fn` without recording a graph (like `with torch.no_grad():`): results
 * do not require gradients and no activations are kept.
 *
 * @example
 * ```ts
 * import { noGrad, ones } from "../mod.ts";
 * const w = ones([2]).requiresGrad_();
 * const y = noGrad(() => w.mul(2));
 * console.log(y.requiresGrad); // false
 * ```
 */
export function noGrad<R>(fn: () => R): R {
  return runWith(false, fn);
}

/** Runs `fn` with graph recording on, even inside {@link noGrad}. */
export function enableGrad<R>(fn: () => R): R {
  return runWith(true, fn);
}
