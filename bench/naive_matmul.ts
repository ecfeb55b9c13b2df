/**
 * The textbook matmul the benchmarks compare against: three nested loops in
 * i, j, k order over row-major `Float32Array`s, one dot product per output,
 * no blocking, no packing. It is what one writes without thinking about
 * caches, so the ratio to it says what the blocked kernel buys.
 *
 * @module
 */

/**
 * `c = a · b` for row-major `a` (m×k) and `b` (k×n); returns `c` (m×n).
 *
 * @example
 * ```ts
 * import { naiveMatmul } from "./naive_matmul.ts";
 * const c = naiveMatmul(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, 0, 1]), 2, 2, 2);
 * console.log(c); // Float32Array [1, 2, 3, 4]
 * ```
 */
export function naiveMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
      c[i * n + j] = acc;
    }
  }
  return c;
}

/** `n` uniform floats in [-1, 1) from a small LCG, so the inputs need no library and are the same every run. */
export function randomFloats(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
