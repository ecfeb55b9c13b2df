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

/**
 * Runs `fn` with a mode switched by `set` (which returns the previous setting), restoring it when `fn` returns or
 * throws; an async body keeps the mode until it settles (like awaiting inside `with torch.no_grad()`).
 */
function withMode<R>(set: (on: boolean) => boolean, on: boolean, fn: () => R): R {
  const prev = set(on);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    set(prev);
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      set(prev);
    }) as R;
  }
  set(prev);
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
  return withMode(setGradEnabled, false, fn);
}

/** Runs `fn` with graph recording on, even inside {@link noGrad}. */
export function enableGrad<R>(fn: () => R): R {
  return withMode(setGradEnabled, true, fn);
}

let anomaly = false;

/** Whether anomaly detection is on (see {@link detectAnomaly}). */
export function isAnomalyEnabled(): boolean {
  return anomaly;
}

/** Turns anomaly detection on or off globally; returns the previous setting. */
export function setDetectAnomaly(on: boolean): boolean {
  const prev = anomaly;
  anomaly = on;
  return prev;
}

/**
 * Runs `fn` with anomaly detection (like `torch.autograd.detect_anomaly()`):
 * every recorded op checks its output, and every derivative rule its
 * gradients, for NaN or ±Inf, and throws naming the op that produced them.
 * It reads values back after each op, so it is for debugging, not training.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "../mod.ts";
 * const x = tensor([0, 1]).requiresGrad_();
 * try {
 *   autograd.detectAnomaly(() => x.log().sum());
 * } catch (e) {
 *   console.log((e as Error).message); // "anomaly: Log (forward) produced -Infinity in its output ..."
 * }
 * ```
 */
export function detectAnomaly<R>(fn: () => R): R {
  return withMode(setDetectAnomaly, true, fn);
}
