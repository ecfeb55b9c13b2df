/**
 * CPU convolution kernels (forward and both backward kernels), as GEMMs:
 * one image and one group at a time is unfolded (im2col) into a reusable
 * scratch buffer `col[K = cInG·kh·kw][P = outH·outW]`, and the blocked
 * {@link gemm} multiplies it with the weight. A 1×1 convolution with unit
 * stride and no padding reads the input directly, without unfolding.
 *
 * - forward:         `out_g[cOutG, P] = W_g[cOutG, K] · col[K, P]`
 * - backward input:  `col[K, P] = W_gᵀ[K, cOutG] · gradOut_g[cOutG, P]`, folded back (col2im, summing)
 * - backward weight: `dW_g[cOutG, K] += gradOut_g[cOutG, P] · colᵀ[P, K]`, summed over the batch
 *
 * Transposed operands cost nothing: `gemm` takes arbitrary strides.
 *
 * Float32 convolutions with the WebAssembly kernels selected (the default)
 * run on the operands in the WebAssembly heap (copying in only those that are
 * not there) and split the batch across threads, each unfolding its images there and calling the SGEMM
 * (`wasmConv` below, `wasm/jobs.ts`; small output planes several images to a GEMM); the TypeScript path stays the
 * reference and the float64 path.
 *
 * @module
 */

import type { Conv2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { gemm } from "./matmul.ts";
import { col2im, im2col, isPointwise } from "./im2col.ts";
import { getCpuKernels } from "./kernels.ts";
import {
  cpuBlasActive,
  heapAddress,
  heapAlloc,
  heapF32,
  heapFree,
  runConvJobs,
  threadsFor,
  type WasmOps,
  wasmOps,
} from "./wasm/runtime.ts";
import {
  imageGroups,
  imagesPerGroup,
  JOB_CONV_BACKWARD_INPUT,
  JOB_CONV_BACKWARD_WEIGHT,
  JOB_CONV_FORWARD,
  transposedWeightGrad,
  weightChunks,
} from "./wasm/jobs.ts";

// Scratch buffers reused across calls (grown on demand): the unfolded image and
// a per-image weight-gradient partial. Float64 keeps the accumulation exact
// enough for float64 gradchecks and costs nothing for float32 inputs.
let colScratch = new Float64Array(0);
let wScratch = new Float64Array(0);

function colBuffer(size: number): Float64Array {
  if (colScratch.length < size) colScratch = new Float64Array(size);
  return colScratch;
}

function wBuffer(size: number): Float64Array {
  if (wScratch.length < size) wScratch = new Float64Array(size);
  return wScratch;
}

/** Convolution forward: x `[n,cIn,h,w]`, w `[cOut,cIn/groups,kh,kw]` into out `[n,cOut,outH,outW]`. */
export function conv2dForward(x: TypedArray, wt: TypedArray, out: TypedArray, g: Conv2dGeometry): void {
  if (wasmConv(JOB_CONV_FORWARD, x, wt, out, g)) return;
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW;
  if (P === 0 || g.n === 0) return;
  const pointwise = isPointwise(g);
  const col = pointwise ? null : colBuffer(K * P);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (b * g.cIn + gr * cInG) * g.h * g.w;
      const outOff = (b * g.cOut + gr * cOutG) * P;
      if (col) {
        im2col(x, xOff, g, cInG, col);
        gemm(cOutG, P, K, wt, gr * cOutG * K, K, 1, col, 0, P, 1, out, outOff);
      } else {
        gemm(cOutG, P, K, wt, gr * cOutG * K, K, 1, x, xOff, P, 1, out, outOff);
      }
    }
  }
}

/** Gradient with respect to the input, into out `[n,cIn,h,w]` (overwritten). */
export function conv2dBackwardInput(go: TypedArray, wt: TypedArray, out: TypedArray, g: Conv2dGeometry): void {
  if (wasmConv(JOB_CONV_BACKWARD_INPUT, go, wt, out, g)) return;
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW;
  out.fill(0);
  if (P === 0 || g.n === 0) return;
  const pointwise = isPointwise(g);
  const col = pointwise ? null : colBuffer(K * P);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (b * g.cIn + gr * cInG) * g.h * g.w;
      const goOff = (b * g.cOut + gr * cOutG) * P;
      // Wᵀ is read in place: row stride 1, column stride K.
      if (col) {
        gemm(K, P, cOutG, wt, gr * cOutG * K, 1, K, go, goOff, P, 1, col, 0);
        col2im(col, out, xOff, g, cInG);
      } else {
        gemm(K, P, cOutG, wt, gr * cOutG * K, 1, K, go, goOff, P, 1, out, xOff);
      }
    }
  }
}

/** Gradient with respect to the weight, into out `[cOut,cIn/groups,kh,kw]` (overwritten). */
export function conv2dBackwardWeight(go: TypedArray, x: TypedArray, out: TypedArray, g: Conv2dGeometry): void {
  if (wasmConv(JOB_CONV_BACKWARD_WEIGHT, go, x, out, g)) return;
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW;
  out.fill(0);
  if (P === 0 || g.n === 0) return;
  const pointwise = isPointwise(g);
  const col = pointwise ? null : colBuffer(K * P);
  const part = wBuffer(cOutG * K);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (b * g.cIn + gr * cInG) * g.h * g.w;
      const goOff = (b * g.cOut + gr * cOutG) * P;
      // colᵀ is read in place: row stride 1, column stride P.
      if (col) {
        im2col(x, xOff, g, cInG, col);
        gemm(cOutG, K, P, go, goOff, P, 1, col, 0, 1, P, part, 0);
      } else {
        gemm(cOutG, K, P, go, goOff, P, 1, x, xOff, 1, P, part, 0);
      }
      const wOff = gr * cOutG * K;
      for (let i = 0; i < cOutG * K; i++) out[wOff + i] += part[i];
    }
  }
}

// ---- WebAssembly path (float32) -----------------------------------------------

/**
 * The three kernels on the WebAssembly heap: operands whose storage lives in
 * the heap (CPU tensors normally do) are read and written in place, others
 * are copied in and out once; the batch is split across threads (each
 * unfolds its own images into its own column buffer). With fewer images than
 * threads, each GEMM is split across threads instead. False, having written
 * nothing, unless all three arrays are float32 and the WebAssembly kernels are
 * selected, or when the heap has no room for the scratch.
 */
function wasmConv(kind: number, in0: TypedArray, in1: TypedArray, out: TypedArray, g: Conv2dGeometry): boolean {
  if (
    !(in0 instanceof Float32Array && in1 instanceof Float32Array && out instanceof Float32Array) ||
    getCpuKernels() !== "wasm"
  ) return false;
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW;
  if (P === 0 || g.n === 0) {
    out.fill(0);
    return true;
  }
  const weight = kind === JOB_CONV_BACKWARD_WEIGHT;
  // Small output planes are unfolded several images to a GEMM (see imagesPerGroup).
  const ipg = imagesPerGroup(g.n, P);
  // Threads split image groups, or for the weight gradient fixed chunks of them (see weightChunks).
  const items = weight ? weightChunks(g.n, ipg) : imageGroups(g.n, ipg);
  const native = cpuBlasActive();
  const threads = threadsFor(items, g.n * g.cOut * P * K, native);
  const colLen = isPointwise(g) && ipg === 1 ? 0 : K * P * ipg;
  const tmpLen = ipg > 1 ? cOutG * P * ipg : 0;
  const in0Heap = heapAddress(in0), in1Heap = heapAddress(in1), outHeap = heapAddress(out);
  // A weight gradient sums per-chunk partials, possibly transposed (the WebAssembly SGEMM's choice: a BLAS reads
  // either operand transposed at full speed); a single untransposed chunk can go straight out.
  const wt = weight && !native && transposedWeightGrad(P * ipg) ? 1 : 0;
  const direct = outHeap >= 0 && (!weight || (items === 1 && !wt));
  const outLen = weight ? items * g.cOut * K : out.length;
  const in0Len = in0Heap < 0 ? in0.length : 0, in1Len = in1Heap < 0 ? in1.length : 0;
  const scratchLen = in0Len + in1Len + (direct ? 0 : outLen) + threads * (colLen + tmpLen);
  const scratch = heapAlloc(scratchLen * 4);
  // Too large for the WebAssembly heap: the caller runs the TypeScript kernel.
  if (scratch < 0) return false;
  try {
    const h = heapF32();
    let at = scratch;
    const in0At = in0Heap >= 0 ? in0Heap : at;
    if (in0Heap < 0) h.set(in0, at / 4), at += in0Len * 4;
    const in1At = in1Heap >= 0 ? in1Heap : at;
    if (in1Heap < 0) h.set(in1, at / 4), at += in1Len * 4;
    const outAt = direct ? outHeap : at;
    if (!direct) at += outLen * 4;
    const colAt = at, tmpAt = colAt + threads * colLen * 4;
    // col2im sums into dx.
    if (kind === JOB_CONV_BACKWARD_INPUT) (wasmOps() as WasmOps).mem_zero(outAt, outLen * 4);
    runConvJobs(
      kind,
      {
        in0: in0At,
        in1: in1At,
        out: outAt,
        col: colAt,
        colBytes: colLen * 4,
        ipg,
        tmp: tmpAt,
        tmpBytes: tmpLen * 4,
        wt,
        native: native ? 1 : 0,
        // Several items spread across threads: one BLAS call per GEMM. One item: its GEMMs in fixed slices that the
        // threads share. Either way a function of the shape alone, so the result does not depend on the threads.
        sliced: items === 1 ? 1 : 0,
        g,
      },
      items,
      threads,
    );
    if (direct) return true;
    const hv = heapF32();
    if (!weight) {
      out.set(hv.subarray(outAt / 4, outAt / 4 + outLen));
      return true;
    }
    // Sum the chunks' weight-gradient partials, in chunk order, into the first; transposed ones go back per group
    // from [K][cOutG] to out's [cOutG][K].
    const wl = g.cOut * K, ops = wasmOps() as WasmOps;
    for (let c = 1; c < items; c++) ops.mem_add_f32(outAt, outAt + c * wl * 4, wl);
    const base = outAt / 4;
    if (!wt) {
      out.set(hv.subarray(base, base + wl));
      return true;
    }
    for (let gr = 0; gr < g.groups; gr++) {
      const at = base + gr * cOutG * K;
      for (let o = 0; o < cOutG; o++) {
        const row = gr * cOutG * K + o * K;
        for (let kk = 0; kk < K; kk++) out[row + kk] = hv[at + kk * cOutG + o];
      }
    }
    return true;
  } finally {
    heapFree(scratch);
  }
}
