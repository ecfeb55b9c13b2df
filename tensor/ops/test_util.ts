/**
 * Helpers shared by the op tests: reading values back and comparing them
 * with a reference within a relative tolerance.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Tensor } from "../tensor.ts";

/** The elements of a CPU tensor in row-major order, as plain numbers. */
export const vals = (t: Tensor): number[] => Array.from(t.dataSync());

/**
 * Asserts `actual[i]` is within `tol·(1 + |expected[i]|)` of `expected[i]` for
 * every element; an expected NaN or ±Infinity must be matched exactly.
 * Failures name `what` and the element.
 */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9, what = "values"): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `${what}[${i}]: ${a}, expected NaN`);
    else if (!Number.isFinite(e)) assert.equal(a, e, `${what}[${i}]`);
    else assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${a}, expected ${e}`);
  }
}

/** erf from its Maclaurin series, independent of any kernel's approximation (float64-exact enough for |x| ≤ 3). */
export function erfSeries(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
