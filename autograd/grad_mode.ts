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
  const prev = setDetectAnomaly(true);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    anomaly = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      anomaly = prev;
    }) as R;
  }
  anomaly = prev;
  return result;
}
