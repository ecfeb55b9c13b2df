/**
 * What one chunk of a threaded job computes, run alike by the calling thread
 * and the workers (protocol in `protocol.ts`):
 *
 * - {@link JOB_GEMM}: a slice of the columns (or rows) of one SGEMM;
 * - the convolution kinds: one batch item each — an image for the forward
 *   and input-gradient kernels (unfolded by the thread that runs it, in its
 *   own column buffer in the heap, so im2col runs in parallel too), or one of
 *   {@link weightChunks} fixed groups of images for the weight gradient, each
 *   summed into its own partial so the result does not depend on the threads.
 *
 * @module
 */

import type { Conv2dGeometry } from "../../backend.ts";
import {
  col2imHeap,
  type FoldFn,
  type Im2col,
  im2colHeap,
  isPointwise,
  type PaddedFn,
  type UnfoldFn,
} from "../im2col.ts";
import { ARG_WORDS, CTRL, INDEX_BITS, MAX_CHUNKS, packAAt, packBAt, PARKED } from "./protocol.ts";
import { PACK_B_BYTES } from "./gemm_kernel.ts";
import { attentionBackwardChunk, type AttentionExports, attentionForwardChunk } from "./attention_jobs.ts";

/** A slice of one SGEMM. */
export const JOB_GEMM = 0;
/** Convolution forward, one image per chunk. */
export const JOB_CONV_FORWARD = 1;
/** Gradient with respect to the input, one image per chunk. */
export const JOB_CONV_BACKWARD_INPUT = 2;
/** Gradient with respect to the weight, one fixed group of images per chunk. */
export const JOB_CONV_BACKWARD_WEIGHT = 3;
/** Fused attention forward, one (batch, head, query block) per chunk (`attention_jobs.ts`). */
export const JOB_ATTENTION_FORWARD = 4;
/** Fused attention backward, one (batch, key/value head) per chunk. */
export const JOB_ATTENTION_BACKWARD = 5;
/** One elementwise kernel call of the ops module cut into column (or row) ranges (see {@link ElementwiseJob}). */
export const JOB_ELEMENTWISE = 6;

/** The SGEMM export's signature (byte addresses, element strides). */
export type GemmFn = (
  m: number,
  n: number,
  k: number,
  a: number,
  ars: number,
  acs: number,
  b: number,
  brs: number,
  bcs: number,
  c: number,
  ldc: number,
  pa: number,
  pb: number,
  acc: number,
) => void;

/** The module's exports a chunk runs with, and a float32 view of the shared memory. */
export interface Kernels {
  /** The WebAssembly SGEMM. */
  readonly gemm: GemmFn;
  /**
   * The native BLAS on this thread (`../blas.ts`), one `cblas_sgemm` call per
   * product, or null where it is not loaded: what a chunk of a native
   * {@link JOB_GEMM} runs.
   */
  readonly nativeCall: GemmFn | null;
  /**
   * The native BLAS for a whole product: the fixed slices of {@link nativeSlices}
   * in order (what a native convolution chunk runs), or null.
   */
  readonly nativeGemm: GemmFn | null;
  readonly unfold: UnfoldFn;
  readonly fold: FoldFn;
  readonly unfoldPadded: PaddedFn;
  /** `copy_rows(dst, dstStride, src, srcStride, rows, n)`: rows of `n` floats between strided places (bytes). */
  readonly copyRows: CopyRowsFn;
  /** The whole memory as float32 (refetched by the callee when the memory has grown). */
  heap(): Float32Array;
  /** The control block (it holds each thread's packing-buffer address). */
  readonly ctrl: Int32Array;
  /** The fused attention's kernels. */
  readonly attn: AttentionExports;
  /** The ops module's exports on this thread (elementwise kernels for {@link JOB_ELEMENTWISE}). */
  readonly ops: Readonly<Record<string, (...args: number[]) => number>>;
  /** The ops module's export names in its export order: a job names its kernel by index into this. */
  readonly opsNames: readonly string[];
}

/**
 * An elementwise kernel call `fn(rows, cols, in0, in0RowBytes, …, out)` of the ops module (see
 * `elementwise_kernel.ts`), float32 output, cut into `chunk`-wide ranges: of columns when `rows` is 1 (an input
 * moves `colBytes` per column: 4 for a vector, 0 for a splat), else of rows. Each range is one call of the same
 * kernel, so the result does not depend on the threads.
 */
export interface ElementwiseJob {
  /** Index of the kernel in {@link Kernels.opsNames}. */
  fn: number;
  rows: number;
  cols: number;
  /** Per input: byte address, row stride in bytes, column step in bytes. */
  ins: readonly (readonly [number, number, number])[];
  out: number;
  /** Columns (when `rows` is 1) or rows per chunk. */
  chunk: number;
}

/** An elementwise job as argument words: fn, rows, cols, out, chunk, the input count, then each input's three. */
export function encodeElementwiseJob(j: ElementwiseJob): number[] {
  return [j.fn, j.rows, j.cols, j.out, j.chunk, j.ins.length, ...j.ins.flat()];
}

/** Chunk `i` of an encoded {@link ElementwiseJob} (`w` from word `at` on). */
export function elementwiseChunk(w: Int32Array | number[], at: number, k: Kernels, i: number): void {
  const [fi, rows, cols, out, chunk, nIns] = [0, 1, 2, 3, 4, 5].map((o) => w[at + o]);
  const fn = k.ops[k.opsNames[fi]];
  if (typeof fn !== "function") throw new Error(`elementwiseChunk: no kernel ${fi} (${k.opsNames[fi]})`);
  const lo = i * chunk;
  const byCols = rows === 1;
  const n = Math.min((byCols ? cols : rows) - lo, chunk);
  if (n <= 0) return;
  const args: number[] = byCols ? [1, n] : [n, cols];
  for (let k2 = 0; k2 < nIns; k2++) {
    const [addr, rowBytes, colBytes] = [0, 1, 2].map((o) => w[at + 6 + 3 * k2 + o]);
    args.push(addr + lo * (byCols ? colBytes : rowBytes), rowBytes);
  }
  args.push(out + lo * (byCols ? 4 : cols * 4));
  fn(...args);
}

/** The `copy_rows` export of the SGEMM module. */
export type CopyRowsFn = (
  dst: number,
  dstStride: number,
  src: number,
  srcStride: number,
  rows: number,
  n: number,
) => void;

/**
 * GEMM columns a convolution aims for per call. Images with fewer output
 * pixels than this (ResNet's later stages: 4×4, 2×2) are unfolded side by side
 * into one `[K, images·P]` matrix, so one GEMM serves several images: with one
 * image per call a 2×2 output made 4-column GEMMs that packed the whole weight
 * for every image and ran at a fifth of the speed.
 */
const TARGET_COLS = 512;

/** Images unfolded side by side per GEMM for output planes of `p` pixels (1 when a plane alone is wide enough). */
export function imagesPerGroup(n: number, p: number): number {
  return Math.max(1, Math.min(n, Math.ceil(TARGET_COLS / Math.max(1, p))));
}

/** Image groups of a batch of `n`, `ipg` images each (the last may be short). */
export function imageGroups(n: number, ipg: number): number {
  return Math.ceil(n / ipg);
}

/**
 * Into how many fixed chunks of image groups a weight gradient is summed (each
 * into its own partial, added up in order afterwards): a function of the batch
 * shape and the machine only, never of the threads that ran, so results are
 * the same bit for bit whether or not the workers are up.
 */
export function weightChunks(n: number, ipg = 1): number {
  return Math.max(1, Math.min(imageGroups(n, ipg), Math.max(4, logicalCores())));
}

/** `navigator.hardwareConcurrency` (1 where the engine does not tell). */
export function logicalCores(): number {
  return (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 1;
}

/** Images of chunk `c` of {@link weightChunks}`(n, ipg)`: `[first, end)`, whole groups of `ipg`. */
function chunkImages(n: number, c: number, ipg = 1): [number, number] {
  const chunks = weightChunks(n, ipg), groups = imageGroups(n, ipg);
  const g0 = Math.floor((groups * c) / chunks), g1 = Math.floor((groups * (c + 1)) / chunks);
  return [Math.min(n, g0 * ipg), Math.min(n, g1 * ipg)];
}

/** Multiply-adds per slice below which a native GEMM is not cut further (one BLAS call costs a few microseconds). */
const NATIVE_SLICE_MACS = 1 << 20;
/** Narrowest native slice (columns or rows). */
const NATIVE_MIN_WIDTH = 64;

/** How a native GEMM is cut for threads: along the longer of M and N, `count` slices of `width`. */
export interface NativeSlices {
  splitN: number;
  width: number;
  count: number;
}

/**
 * The fixed slices of a native GEMM: a function of the shape and the machine
 * only, never of the threads that happen to be ready, so that a product's
 * result is the same bit for bit however many threads ran its slices (the
 * BLAS's own edge kernels make a product cut at other places differ in the
 * last bits). Up to two slices per core, each worth at least
 * {@link NATIVE_SLICE_MACS} and {@link NATIVE_MIN_WIDTH} wide.
 */
export function nativeSlices(m: number, n: number, k: number): NativeSlices {
  const splitN = n >= m ? 1 : 0, total = splitN ? n : m;
  const want = Math.min(
    2 * logicalCores(),
    Math.floor((m * n * k) / NATIVE_SLICE_MACS),
    Math.floor(total / NATIVE_MIN_WIDTH),
  );
  if (want <= 1) return { splitN, width: total, count: 1 };
  // Widths in whole 16s keep each slice on the BLAS's full-width micro-kernels but the last.
  const width = Math.ceil(total / want / 16) * 16;
  return { splitN, width, count: Math.ceil(total / width) };
}

/** Slice `i` of a product: its `[m, n, a, b, c]` (byte addresses moved `lo` columns or rows in). */
function sliceOf(
  splitN: number,
  width: number,
  i: number,
  m: number,
  n: number,
  a: number,
  ars: number,
  b: number,
  bcs: number,
  c: number,
  ldc: number,
): [number, number, number, number, number] {
  const lo = i * width;
  return splitN
    ? [m, Math.min(n - lo, width), a, b + lo * bcs * 4, c + lo * 4]
    : [Math.min(m - lo, width), n, a + lo * ars * 4, b, c + lo * ldc * 4];
}

/** `call` (one BLAS call per product) run over {@link nativeSlices} in order: a whole product on one thread. */
export function slicedGemm(call: GemmFn): GemmFn {
  return (m, n, k, a, ars, acs, b, brs, bcs, c, ldc, pa, pb, acc) => {
    const s = nativeSlices(m, n, k);
    for (let i = 0; i < s.count; i++) {
      const [sm, sn, sa, sb, sc] = sliceOf(s.splitN, s.width, i, m, n, a, ars, b, bcs, c, ldc);
      call(sm, sn, k, sa, ars, acs, sb, brs, bcs, sc, ldc, pa, pb, acc);
    }
  };
}

/** Arguments of a {@link JOB_GEMM}: the SGEMM's, then how it is sliced. */
export interface GemmJob {
  m: number;
  n: number;
  k: number;
  a: number;
  ars: number;
  acs: number;
  b: number;
  brs: number;
  bcs: number;
  c: number;
  ldc: number;
  acc: number;
  /** 1: chunks are column slices; 0: row slices. */
  splitN: number;
  /** Columns (or rows) per chunk. */
  width: number;
  /** 1: each chunk is one native BLAS call ({@link Kernels.nativeCall}); 0: the WebAssembly SGEMM. */
  native: number;
}

const GEMM_FIELDS = [
  "m",
  "n",
  "k",
  "a",
  "ars",
  "acs",
  "b",
  "brs",
  "bcs",
  "c",
  "ldc",
  "acc",
  "splitN",
  "width",
  "native",
] as const;

/**
 * Arguments of a convolution job; heap byte addresses of whole-batch tensors
 * (contiguous NCHW / OIHW):
 * - forward: `in0` = x, `in1` = weight, `out` = y;
 * - backward input: `in0` = gradOut, `in1` = weight, `out` = dx (zeroed first);
 * - backward weight: `in0` = gradOut, `in1` = x, `out` = the first of the
 *   {@link weightChunks} partials (transposed per group when `wt`).
 * Thread `t` unfolds into `col + t·colBytes` and, when `ipg > 1`, gathers or
 * scatters the `[cOutG, images·P]` GEMM operand of a group at `tmp + t·tmpBytes`.
 */
export interface ConvJob {
  in0: number;
  in1: number;
  out: number;
  col: number;
  colBytes: number;
  /** Images per group (see {@link imagesPerGroup}); a forward or input-gradient chunk is one group. */
  ipg: number;
  tmp: number;
  tmpBytes: number;
  /** Weight gradient only: 1 when the partials are transposed (see {@link transposedWeightGrad}). */
  wt: number;
  /**
   * 1: the GEMMs run on the native BLAS, one call each ({@link Kernels.nativeCall}: the job's items already spread
   * the work across threads) or, with `sliced`, cut into fixed slices ({@link Kernels.nativeGemm}: a job of one item,
   * whose slices the threads share); 0: the WebAssembly SGEMM.
   */
  native: number;
  /** See `native`. */
  sliced: number;
  g: Conv2dGeometry;
}

/** Unfolded rows (pixels per GEMM) from which the weight gradient is computed transposed. */
const TRANSPOSED_WEIGHT_GRAD_FROM = 1024;

/**
 * Whether a weight gradient is computed as `dWᵀ = col·goᵀ` rather than
 * `dW = go·colᵀ`. Both read the unfolded matrix (`[K, NP]`, NP = pixels of a
 * GEMM) transposed as one operand. As `go·colᵀ` that operand is the wide one
 * (K columns gathered with stride NP, repacked for every block): costly when
 * NP is long (56×56 planes: 48 GFLOP/s), cheap when it is short. As `col·goᵀ`
 * the gathered operand is only cOut wide, but the result is transposed and
 * must be transposed back — cheap when the weight is small, which long planes
 * go with (the early layers), dear for the 512×512×3×3 weights of small planes.
 */
export function transposedWeightGrad(pixelsPerGemm: number): boolean {
  return pixelsPerGemm >= TRANSPOSED_WEIGHT_GRAD_FROM;
}

/** A {@link ConvJob}'s fields but its geometry, in word order. */
const CONV_FIELDS = [
  "in0",
  "in1",
  "out",
  "col",
  "colBytes",
  "ipg",
  "tmp",
  "tmpBytes",
  "wt",
  "native",
  "sliced",
] as const;

const GEOMETRY_FIELDS = [
  "n",
  "cIn",
  "h",
  "w",
  "cOut",
  "kh",
  "kw",
  "strideH",
  "strideW",
  "padH",
  "padW",
  "dilationH",
  "dilationW",
  "groups",
  "outH",
  "outW",
] as const;

/** A GEMM job as argument words. */
export function encodeGemmJob(j: GemmJob): number[] {
  return GEMM_FIELDS.map((f) => j[f]);
}

/** A convolution job as argument words: its own fields, then the geometry's. */
export function encodeConvJob(j: ConvJob): number[] {
  return [...CONV_FIELDS.map((f) => j[f]), ...GEOMETRY_FIELDS.map((f) => j.g[f])];
}

/** The words from `at` on as the named fields, in order (the reverse of the encoders). */
function readFields<F extends string>(w: Int32Array, at: number, fields: readonly F[]): Record<F, number> {
  const o = {} as Record<F, number>;
  for (let i = 0; i < fields.length; i++) o[fields[i]] = w[at + i];
  return o;
}

function decodeGemmJob(w: Int32Array, at: number): GemmJob {
  return readFields(w, at, GEMM_FIELDS);
}

function decodeConvJob(w: Int32Array, at: number): ConvJob {
  return { ...readFields(w, at, CONV_FIELDS), g: readFields(w, at + CONV_FIELDS.length, GEOMETRY_FIELDS) };
}

/**
 * Claims and runs chunks of the job published in `ctrl` as thread `t` until
 * none are left (the claim protocol of `protocol.ts`). A chunk that throws
 * sets `failed` and counts as done; the first such error is returned.
 */
export function workOnJob(ctrl: Int32Array, k: Kernels, t: number): unknown {
  const snap = new Int32Array(CTRL.args + ARG_WORDS);
  let error: unknown = null;
  for (;;) {
    const v = Atomics.load(ctrl, CTRL.next);
    const chunks = Atomics.load(ctrl, CTRL.chunks);
    // Threads beyond the job's count stay out: their column buffers were not reserved.
    if ((v & MAX_CHUNKS) >= chunks || t >= Atomics.load(ctrl, CTRL.threads)) return error;
    snap[CTRL.kind] = Atomics.load(ctrl, CTRL.kind);
    for (let w = CTRL.args; w < CTRL.args + ARG_WORDS; w++) snap[w] = Atomics.load(ctrl, w);
    if (Atomics.compareExchange(ctrl, CTRL.next, v, v + 1) !== v) continue;
    try {
      runChunk(snap, k, t, v & MAX_CHUNKS);
    } catch (e) {
      // A failed chunk still counts as done, so the job ends (no thread waits forever) and the host reports it.
      error ??= e;
      Atomics.store(ctrl, CTRL.failed, 1);
    }
    Atomics.add(ctrl, CTRL.stats + t, 1);
    if (Atomics.add(ctrl, CTRL.done, 1) + 1 === chunks) Atomics.notify(ctrl, CTRL.done);
  }
}

let tag = 0;

/** Publishes a job (main thread only; the previous job must be finished). */
export function publishJob(ctrl: Int32Array, kind: number, args: number[], chunks: number, threads: number): void {
  if (args.length > ARG_WORDS || chunks > MAX_CHUNKS) throw new Error("publishJob: job too large");
  Atomics.store(ctrl, CTRL.next, PARKED);
  Atomics.store(ctrl, CTRL.kind, kind);
  for (let w = 0; w < args.length; w++) Atomics.store(ctrl, CTRL.args + w, args[w]);
  Atomics.store(ctrl, CTRL.chunks, chunks);
  Atomics.store(ctrl, CTRL.threads, threads);
  Atomics.store(ctrl, CTRL.done, 0);
  tag = (tag + 1) & ((1 << (31 - INDEX_BITS)) - 1);
  Atomics.store(ctrl, CTRL.next, tag << INDEX_BITS);
  Atomics.add(ctrl, CTRL.generation, 1);
}

/** Runs chunk `i` of the job whose kind and arguments are in `ctrl` (or a snapshot of it), as thread `t`. */
function runChunk(ctrl: Int32Array, k: Kernels, t: number, i: number): void {
  const kind = ctrl[CTRL.kind];
  if (kind === JOB_GEMM) runGemmChunk(decodeGemmJob(ctrl, CTRL.args), k, t, i);
  else if (kind === JOB_ATTENTION_FORWARD) attentionForwardChunk(k.attn, k.heap, ctrl[CTRL.args], t, i);
  else if (kind === JOB_ATTENTION_BACKWARD) attentionBackwardChunk(k.attn, k.heap, ctrl[CTRL.args], t, i);
  else if (kind === JOB_ELEMENTWISE) elementwiseChunk(ctrl, CTRL.args, k, i);
  else runConvChunk(kind, decodeConvJob(ctrl, CTRL.args), k, t, i);
}

/** Chunk `i` of a sliced SGEMM on thread `t`'s packing buffers. */
function runGemmChunk(j: GemmJob, k: Kernels, t: number, i: number): void {
  // A column slice starts `lo` columns into B and C; a row slice `lo` rows into A and C.
  const [m, n, a, b, c] = sliceOf(j.splitN, j.width, i, j.m, j.n, j.a, j.ars, j.b, j.bcs, j.c, j.ldc);
  const gemm = j.native ? k.nativeCall : k.gemm;
  if (!gemm) throw new Error(`runGemmChunk: thread ${t} has no native BLAS`);
  gemm(m, n, j.k, a, j.ars, j.acs, b, j.brs, j.bcs, c, j.ldc, packAAt(k.ctrl, t), packBAt(k.ctrl, t), j.acc);
}

/**
 * Chunk `i` (a group of `ipg` images, or for the weight gradient a chunk of
 * such groups) of a convolution kernel on thread `t`. `k.gemm` may itself
 * split across threads (when the caller runs a whole small batch alone).
 *
 * A group of `nb` images is one GEMM over `nb·P` columns: their unfolded
 * columns sit side by side in `col` (row stride `nb·P`), and the
 * `[cOutG, nb·P]` operand on the output side is gathered from (or scattered
 * to) the NCHW tensor through `tmp`. A group of one image reads and writes the
 * tensors in place, as does a pointwise (1×1) convolution.
 */
export function runConvChunk(kind: number, j: ConvJob, k: Kernels, t: number, i: number): void {
  const { g } = j;
  const gemm = !j.native ? k.gemm : j.sliced ? k.nativeGemm : k.nativeCall;
  if (!gemm) throw new Error(`runConvChunk: thread ${t} has no native BLAS`);
  const pa = packAAt(k.ctrl, t), pb = packBAt(k.ctrl, t), col = j.col + t * j.colBytes, tmp = j.tmp + t * j.tmpBytes;
  // unfold_padded's plane lives in the thread's packed-B buffer: unfolding is done before its GEMM packs.
  const { unfold, fold, unfoldPadded } = k;
  const im: Im2col = { unfold, fold, unfoldPadded, pad: pb, padBytes: PACK_B_BYTES };
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const K = cInG * g.kh * g.kw, P = g.outH * g.outW, HW = g.h * g.w;
  const pointwise = isPointwise(g);
  if (kind === JOB_CONV_FORWARD || kind === JOB_CONV_BACKWARD_INPUT) {
    const first = i * j.ipg, nb = Math.min(g.n - first, j.ipg), NP = nb * P;
    for (let gr = 0; gr < g.groups; gr++) {
      const xAt = (b: number) => j.in0 + ((first + b) * g.cIn + gr * cInG) * HW * 4;
      const wAt = j.in1 + gr * cOutG * K * 4;
      if (kind === JOB_CONV_FORWARD) {
        const yAt = j.out + (first * g.cOut + gr * cOutG) * P * 4;
        if (nb === 1) {
          if (!pointwise) im2colHeap(im, xAt(0), g, cInG, col);
          gemm(cOutG, P, K, wAt, K, 1, pointwise ? xAt(0) : col, P, 1, yAt, P, pa, pb, 0);
        } else {
          for (let b = 0; b < nb; b++) im2colHeap(im, xAt(b), g, cInG, col + b * P * 4, NP * 4);
          gemm(cOutG, NP, K, wAt, K, 1, col, NP, 1, tmp, NP, pa, pb, 0);
          scatterRows(k.copyRows, tmp, yAt, nb, cOutG, P, g.cOut * P);
        }
      } else {
        const dxAt = (b: number) => j.out + ((first + b) * g.cIn + gr * cInG) * HW * 4;
        const goAt = j.in0 + (first * g.cOut + gr * cOutG) * P * 4;
        if (nb === 1) {
          // Wᵀ is read in place: row stride 1, column stride K.
          gemm(K, P, cOutG, wAt, 1, K, goAt, P, 1, pointwise ? dxAt(0) : col, P, pa, pb, 0);
          if (!pointwise) col2imHeap(im, col, dxAt(0), g, cInG);
        } else {
          gatherRows(k.copyRows, goAt, tmp, nb, cOutG, P, g.cOut * P);
          gemm(K, NP, cOutG, wAt, 1, K, tmp, NP, 1, col, NP, pa, pb, 0);
          for (let b = 0; b < nb; b++) col2imHeap(im, col + b * P * 4, dxAt(b), g, cInG, NP * 4);
        }
      }
    }
  } else if (kind === JOB_CONV_BACKWARD_WEIGHT) {
    const [first, end] = chunkImages(g.n, i, j.ipg);
    // Chunk i's partial is dW `[groups][cOutG][K]`, or with `wt` dWᵀ `[groups][K][cOutG]` (see transposedWeightGrad).
    // Each element's sum runs over the same pixels in the same order either way.
    for (let gr = 0; gr < g.groups; gr++) {
      const dwAt = j.out + (i * g.cOut + gr * cOutG) * K * 4;
      for (let b0 = first; b0 < end; b0 += j.ipg) {
        const nb = Math.min(end - b0, j.ipg), NP = nb * P;
        const xAt = (b: number) => j.in1 + (b * g.cIn + gr * cInG) * HW * 4;
        const goAt = j.in0 + (b0 * g.cOut + gr * cOutG) * P * 4;
        const acc = b0 > first ? 1 : 0;
        if (nb === 1) {
          if (!pointwise) im2colHeap(im, xAt(b0), g, cInG, col);
          const c = pointwise ? xAt(b0) : col;
          // The transposed operand (goᵀ or colᵀ) is read in place: row stride 1, column stride P.
          if (j.wt) gemm(K, cOutG, P, c, P, 1, goAt, 1, P, dwAt, cOutG, pa, pb, acc);
          else gemm(cOutG, K, P, goAt, P, 1, c, 1, P, dwAt, K, pa, pb, acc);
        } else {
          for (let b = 0; b < nb; b++) im2colHeap(im, xAt(b0 + b), g, cInG, col + b * P * 4, NP * 4);
          gatherRows(k.copyRows, goAt, tmp, nb, cOutG, P, g.cOut * P);
          if (j.wt) gemm(K, cOutG, NP, col, NP, 1, tmp, 1, NP, dwAt, cOutG, pa, pb, acc);
          else gemm(cOutG, K, NP, tmp, NP, 1, col, 1, NP, dwAt, K, pa, pb, acc);
        }
      }
    }
  } else {
    throw new Error(`runConvChunk: unknown job kind ${kind}`);
  }
}

/** `tmp[r, b·p : (b+1)·p] = src[b·imageStride + r·p : … + p]` for `nb` images of `rows` rows (byte addresses). */
function gatherRows(
  copy: CopyRowsFn,
  src: number,
  tmp: number,
  nb: number,
  rows: number,
  p: number,
  imageStride: number,
) {
  for (let b = 0; b < nb; b++) copy(tmp + b * p * 4, nb * p * 4, src + b * imageStride * 4, p * 4, rows, p);
}

/** The reverse of {@link gatherRows}: writes the `[rows, nb·p]` block at `tmp` back to `nb` images at `dst`. */
function scatterRows(
  copy: CopyRowsFn,
  tmp: number,
  dst: number,
  nb: number,
  rows: number,
  p: number,
  imageStride: number,
) {
  for (let b = 0; b < nb; b++) copy(dst + b * imageStride * 4, p * 4, tmp + b * p * 4, nb * p * 4, rows, p);
}
