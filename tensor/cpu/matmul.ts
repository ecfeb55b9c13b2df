/**
 * CPU matrix multiply: packed panels and a 4×4 register-blocked micro-kernel,
 * blocked over K and N so the packed panels stay in cache.
 *
 * `C[M,N] = A[M,K] · B[K,N]` for arbitrary strides (transposed operands cost
 * nothing extra: packing reads them once).
 *
 * {@link gemm} sends float32 products to the WebAssembly SGEMM (`wasm/`) unless
 * `setCpuKernels("ts")` chose this TypeScript kernel, which stays the
 * reference, the fallback, and the float64 path.
 *
 * @module
 */

import { getCpuKernels } from "./kernels.ts";
import { gemmF32 } from "./wasm/runtime.ts";

const MR = 4;
const NR = 4;
const KC = 256;
const NC = 512;
const MC = 64;

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);

/**
 * One 2-D product into `c` at `cOff` (row-major, leading dimension n), overwriting it.
 * Float32 operands run the WebAssembly SGEMM when `getCpuKernels()` is `"wasm"`; everything else runs {@link gemmTs}.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: ArrayLike<number>,
  aOff: number,
  aRowStride: number,
  aColStride: number,
  b: ArrayLike<number>,
  bOff: number,
  bRowStride: number,
  bColStride: number,
  c: { [i: number]: number; length: number },
  cOff: number,
): void {
  if (
    k !== 0 && a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array &&
    getCpuKernels() === "wasm"
  ) {
    // Operands too large for the WebAssembly heap fall through to the TypeScript kernel (which also zero-fills k = 0).
    if (gemmF32(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride, c, cOff)) return;
  }
  gemmTs(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride, c, cOff);
}

/** The TypeScript kernel behind {@link gemm} (float64 accumulation), whatever the dtype. */
export function gemmTs(
  m: number,
  n: number,
  k: number,
  a: ArrayLike<number>,
  aOff: number,
  aRowStride: number,
  aColStride: number,
  b: ArrayLike<number>,
  bOff: number,
  bRowStride: number,
  bColStride: number,
  c: { [i: number]: number; length: number },
  cOff: number,
): void {
  if (k === 0) {
    for (let i = 0; i < m * n; i++) c[cOff + i] = 0;
    return;
  }
  if (packA.length < MC * KC) packA = new Float64Array(MC * KC);
  if (packB.length < KC * (NC + NR)) packB = new Float64Array(KC * (NC + NR));
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanelB(b, bOff + pc * bRowStride + jc * bColStride, bRowStride, bColStride, kc, nc, packB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packPanelA(a, aOff + ic * aRowStride + pc * aColStride, aRowStride, aColStride, mc, kc, packA);
        macroKernel(mc, nc, kc, packA, packB, c, cOff + ic * n + jc, n, pc === 0);
      }
    }
  }
}

/** Packs an mc×kc block of A into row panels of MR rows: `[panel][k][MR]`, zero-padded. */
function packPanelA(
  a: ArrayLike<number>,
  off: number,
  rs: number,
  cs: number,
  mc: number,
  kc: number,
  out: Float64Array,
): void {
  let o = 0;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = Math.min(MR, mc - i0);
    for (let p = 0; p < kc; p++) {
      const base = off + i0 * rs + p * cs;
      for (let ii = 0; ii < MR; ii++) out[o++] = ii < rows ? a[base + ii * rs] : 0;
    }
  }
}

/** Packs a kc×nc block of B into column panels of NR columns: `[panel][k][NR]`, zero-padded. */
function packPanelB(
  b: ArrayLike<number>,
  off: number,
  rs: number,
  cs: number,
  kc: number,
  nc: number,
  out: Float64Array,
): void {
  let o = 0;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = Math.min(NR, nc - j0);
    if (cols === NR && cs === 1) {
      for (let p = 0; p < kc; p++) {
        const base = off + p * rs + j0;
        out[o] = b[base];
        out[o + 1] = b[base + 1];
        out[o + 2] = b[base + 2];
        out[o + 3] = b[base + 3];
        o += 4;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const base = off + p * rs + j0 * cs;
        for (let jj = 0; jj < NR; jj++) out[o++] = jj < cols ? b[base + jj * cs] : 0;
      }
    }
  }
}

function macroKernel(
  mc: number,
  nc: number,
  kc: number,
  pa: Float64Array,
  pb: Float64Array,
  c: { [i: number]: number; length: number },
  cOff: number,
  ldc: number,
  overwrite: boolean,
): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const pbOff = j0 * kc;
    const cols = Math.min(NR, nc - j0);
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const paOff = i0 * kc;
      const rows = Math.min(MR, mc - i0);
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let ia = paOff, ib = pbOff;
      for (let p = 0; p < kc; p++) {
        const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
        const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
        ia += 4;
        ib += 4;
      }
      const base = cOff + i0 * ldc + j0;
      if (rows === MR && cols === NR) {
        if (overwrite) {
          c[base] = c00, c[base + 1] = c01, c[base + 2] = c02, c[base + 3] = c03;
          const r1 = base + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
          c[r1] = c10, c[r1 + 1] = c11, c[r1 + 2] = c12, c[r1 + 3] = c13;
          c[r2] = c20, c[r2 + 1] = c21, c[r2 + 2] = c22, c[r2 + 3] = c23;
          c[r3] = c30, c[r3 + 1] = c31, c[r3 + 2] = c32, c[r3 + 3] = c33;
        } else {
          c[base] += c00, c[base + 1] += c01, c[base + 2] += c02, c[base + 3] += c03;
          const r1 = base + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
          c[r1] += c10, c[r1 + 1] += c11, c[r1 + 2] += c12, c[r1 + 3] += c13;
          c[r2] += c20, c[r2 + 1] += c21, c[r2 + 2] += c22, c[r2 + 3] += c23;
          c[r3] += c30, c[r3 + 1] += c31, c[r3 + 2] += c32, c[r3 + 3] += c33;
        }
      } else {
        const acc = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (let ii = 0; ii < rows; ii++) {
          for (let jj = 0; jj < cols; jj++) {
            const at = base + ii * ldc + jj;
            c[at] = overwrite ? acc[ii * 4 + jj] : c[at] + acc[ii * 4 + jj];
          }
        }
      }
    }
  }
}
