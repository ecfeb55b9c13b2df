/**
 * Branch-free fast paths for the CPU elementwise hot spots of a training
 * step, with exactly the results of the table's JavaScript expressions
 * (`elementwise_table.ts`, still the reference):
 *
 * - comparisons as `+(x > y)` instead of `(x > y ? 1 : 0)`;
 * - ReLU of contiguous float32 data on the bit patterns: `(x > 0 ? x : 0)`
 *   keeps `x` exactly when its int32 bits are in `(0, 0x7f800000]` (positive,
 *   up to +∞; NaN, −0 and negatives become +0);
 * - `where(cond, a, 0)` and `where(cond, 0, b)` over contiguous float32 data
 *   as an int32 mask.
 *
 * Why: on data whose signs are random (activations, gradients) the ternaries
 * compile to branches that mispredict half the time; these run 4–5× faster.
 *
 * @module
 */

import type { BinaryOp } from "../backend.ts";

/** Comparison expressions equal to the table's, without a branch. */
export const FAST_BINARY_JS: Partial<Record<BinaryOp, string>> = {
  eq: "+(x === y)",
  ne: "+(x !== y)",
  lt: "+(x < y)",
  le: "+(x <= y)",
  gt: "+(x > y)",
  ge: "+(x >= y)",
};

/** Bits of +∞ as float32. */
const INF_BITS = 0x7f800000;

/** `out[i] = x[xOff + i] > 0 ? x[xOff + i] : 0` for `n` contiguous float32 elements, on their bits. */
export function reluF32(x: Float32Array, xOff: number, out: Float32Array, n: number): void {
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length);
  const oi = new Int32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < n; i++) {
    const b = xi[xOff + i];
    oi[i] = b & -(+(b > 0) & +(b <= INF_BITS));
  }
}

/**
 * `out[i] = cond[cOff + i] ? a[aOff + i] : 0` (or `cond ? 0 : a` when `negate`)
 * for `n` contiguous elements of a bool condition and float32 data.
 */
export function selectF32(
  cond: Uint8Array,
  cOff: number,
  a: Float32Array,
  aOff: number,
  out: Float32Array,
  n: number,
  negate: boolean,
): void {
  const ai = new Int32Array(a.buffer, a.byteOffset, a.length);
  const oi = new Int32Array(out.buffer, out.byteOffset, out.length);
  const flip = negate ? 1 : 0;
  for (let i = 0; i < n; i++) {
    // A bool storage holds 0 or 1; `!== 0` keeps any other nonzero byte truthy like the table's `x ? y : z`.
    const keep = +(cond[cOff + i] !== 0) ^ flip;
    oi[i] = ai[aOff + i] & -keep;
  }
}
