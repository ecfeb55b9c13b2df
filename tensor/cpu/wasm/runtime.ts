/**
 * The WebAssembly SGEMM at run time: feature detection, one shared
 * `WebAssembly.Memory` (the "heap") reused across calls, and a pool of worker
 * threads that split each large GEMM.
 *
 * Heap layout (bytes): the control block (`protocol.ts`), then one pair of
 * packing buffers per thread, then a data region that callers reserve per call
 * with {@link reserveHeap} for their operands. The memory only ever grows, and
 * only when a call needs more than any call before it.
 *
 * Threads: `node:worker_threads` workers, `unref`'d so they never keep the
 * process alive; they block in `Atomics.wait` between jobs and claim chunks of
 * each job dynamically (`protocol.ts`, `jobs.ts`). The pool starts on the
 * first GEMM big enough to share and its workers join as they become ready;
 * until then, or where workers cannot start (loading `worker.ts` needs read
 * permission, so without `--allow-read` all work stays on the calling
 * thread), GEMMs run on the calling thread. Results are the same bit for bit
 * whichever threads ran.
 *
 * @module
 */

import { GEMM_RELAXED_WASM, GEMM_SIMD_WASM } from "./gemm_wasm.ts";
import { MR, NR, relaxedProbe } from "./gemm_kernel.ts";
import type { UnfoldFn } from "../im2col.ts";
import { CTRL, CTRL_BYTES, MAX_WORKERS, PACK_BYTES, packAAt, packBAt } from "./protocol.ts";
import {
  type ConvJob,
  encodeConvJob,
  encodeGemmJob,
  type GemmFn,
  type GemmJob,
  JOB_GEMM,
  type Kernels,
  publishJob,
  runConvChunk,
  workOnJob,
} from "./jobs.ts";

const PAGE = 65536;
/** Multiply-adds below which a GEMM stays on one thread (waking workers costs tens of microseconds). */
const MIN_MACS_PER_THREAD = 1 << 19;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

interface Engine extends Kernels {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly kind: "relaxed-simd" | "simd";
}

let engine: Engine | null | undefined;

function loadEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  try {
    const relaxed = WebAssembly.validate(relaxedProbe());
    const bytes = decode(relaxed ? GEMM_RELAXED_WASM : GEMM_SIMD_WASM);
    if (!WebAssembly.validate(bytes)) return null;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    engine = {
      memory,
      module,
      gemm: instance.exports.gemm as GemmFn,
      unfold: instance.exports.unfold as UnfoldFn,
      fold: instance.exports.fold as UnfoldFn,
      heap: () => heapF32(),
      kind: relaxed ? "relaxed-simd" : "simd",
    };
  } catch {
    // No SIMD or no shared memory in this engine: the TypeScript kernels serve.
    engine = null;
  }
  return engine;
}

/** Which WebAssembly kernel this engine runs: FMA via relaxed SIMD, plain SIMD, or none (unsupported). */
export function wasmKernelKind(): "relaxed-simd" | "simd" | "none" {
  return loadEngine()?.kind ?? "none";
}

// ---- threads ----------------------------------------------------------------

function defaultThreads(): number {
  const n = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(MAX_WORKERS + 1, n));
}

let numThreads = defaultThreads();
/** Workers started so far (index = worker id). */
const workers: { unref(): void }[] = [];
let workersFailed = false;

/**
 * Sets how many threads (the caller's included) a large GEMM is split across.
 * Default: `navigator.hardwareConcurrency`. `1` keeps all work on the calling
 * thread; raising it starts more workers in the background.
 *
 * @example
 * ```ts
 * import { setNumThreads } from "./runtime.ts";
 * setNumThreads(1); // deterministic single-threaded timing
 * ```
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected an integer >= 1, got ${n}`);
  numThreads = Math.min(n, MAX_WORKERS + 1);
}

/** The thread count set by {@link setNumThreads} (or its default). */
export function getNumThreads(): number {
  return numThreads;
}

function ctrlView(e: Engine): Int32Array {
  return new Int32Array(e.memory.buffer, 0, CTRL.words);
}

/** Workers whose instance is ready, counted from id 0 up to the first that is not. */
function readyWorkers(e: Engine): number {
  const ctrl = ctrlView(e);
  let r = 0;
  while (r < workers.length && Atomics.load(ctrl, CTRL.ready + r) === 1) r++;
  return r;
}

interface WorkerThreads {
  Worker: new (url: URL, options: { workerData: unknown }) => { unref(): void };
}

/**
 * Starts workers up to the thread count. Synchronous, with no pending promise
 * or timer left behind (so tests that happen to trigger it pass Deno's
 * sanitizers): the workers mark themselves ready in shared memory and GEMMs
 * use whichever are ready.
 */
function startWorkers(e: Engine): void {
  if (workersFailed || workers.length >= numThreads - 1) return;
  try {
    ensureHeap(e, 0);
    // `process.getBuiltinModule` loads node:worker_threads only when threads are used.
    const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
    const wt = proc?.getBuiltinModule?.("node:worker_threads") as WorkerThreads | undefined;
    if (!wt) throw new Error("node:worker_threads is unavailable");
    const url = new URL("./worker.ts", import.meta.url);
    while (workers.length < numThreads - 1) {
      const w = new wt.Worker(url, { workerData: { memory: e.memory, module: e.module, id: workers.length } });
      w.unref();
      workers.push(w);
    }
  } catch {
    // Workers unavailable here: stay on the calling thread.
    workersFailed = true;
  }
}

/**
 * Starts the worker pool for the current {@link setNumThreads} count (if not
 * started) and resolves once every worker is ready. GEMMs never wait for this:
 * they use whatever workers are ready. Benchmarks await it for steady numbers.
 */
export async function cpuThreadsReady(): Promise<void> {
  const e = loadEngine();
  if (!e || numThreads <= 1) return;
  startWorkers(e);
  // Poll with a timer: Atomics.waitAsync does not keep Deno's event loop alive.
  const deadline = performance.now() + 10_000;
  while (readyWorkers(e) < Math.min(workers.length, numThreads - 1) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// ---- heap ---------------------------------------------------------------------

let heapView: Float32Array | null = null;

function dataBase(threads: number): number {
  return CTRL_BYTES + threads * PACK_BYTES;
}

/** Largest heap: 2 GiB keeps every byte address a positive 32-bit integer (they travel through Int32Arrays). */
export const MAX_HEAP_BYTES = 2 ** 31 - PAGE;

function ensureHeap(e: Engine, bytes: number): void {
  const need = dataBase(Math.max(numThreads, workers.length + 1)) + bytes;
  const have = e.memory.buffer.byteLength;
  if (need > MAX_HEAP_BYTES) {
    throw new RangeError(`WebAssembly heap: ${need} bytes needed, more than the ${MAX_HEAP_BYTES} it may grow to`);
  }
  if (need > have) e.memory.grow(Math.ceil((need - have) / PAGE));
}

/** Whether a call needing `bytes` of operands fits the heap (callers fall back to the TypeScript kernels if not). */
export function heapFits(bytes: number): boolean {
  return dataBase(Math.max(numThreads, workers.length + 1)) + bytes <= MAX_HEAP_BYTES;
}

/** Bytes of the shared memory right now (grows, never shrinks). */
export function heapBytes(): number {
  return loadEngine()?.memory.buffer.byteLength ?? 0;
}

/**
 * Reserves `bytes` of the heap's data region for one call's operands and
 * returns its byte offset; everything previously reserved is invalidated (the
 * region is reused by every call). Read and write it through {@link heapF32}.
 */
export function reserveHeap(bytes: number): number {
  const e = loadEngine();
  if (!e) throw new Error("reserveHeap: WebAssembly SIMD is not available");
  ensureHeap(e, bytes);
  return dataBase(Math.max(numThreads, workers.length + 1));
}

/** A float32 view of the whole heap (fetch it again after {@link reserveHeap}: growing replaces the buffer). */
export function heapF32(): Float32Array {
  const e = loadEngine();
  if (!e) throw new Error("heapF32: WebAssembly SIMD is not available");
  if (!heapView || heapView.buffer !== e.memory.buffer) heapView = new Float32Array(e.memory.buffer);
  return heapView;
}

let lastThreads = 0;

/** How many threads the most recent threaded call was offered (1 when it ran alone), for tests and benchmarks. */
export function lastGemmThreads(): number {
  return lastThreads;
}

/** Chunks of threaded jobs the workers (not the calling thread) have run so far, for tests. */
export function workerChunksRun(): number {
  const e = loadEngine();
  if (!e) return 0;
  const ctrl = ctrlView(e);
  let sum = 0;
  for (let t = 1; t <= MAX_WORKERS; t++) sum += Atomics.load(ctrl, CTRL.stats + t);
  return sum;
}

// ---- GEMM ---------------------------------------------------------------------

/** Chunks per thread a job is cut into: enough that a descheduled thread's share is picked up by the others. */
const CHUNKS_PER_THREAD = 4;
/** Narrowest GEMM chunk (columns or rows) when there are enough to go round. */
const MIN_CHUNK = 256;

/**
 * `C[m,n] = A·B` (or `C += A·B` when `accumulate`) on float32 data already in
 * the heap: byte addresses `a`, `b`, `c`; element strides for A and B; `ldc`
 * the row stride of C. Splits across ready workers when the product is large.
 */
export function gemmHeap(
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
  accumulate: boolean,
): void {
  const e = loadEngine();
  if (!e) throw new Error("gemmHeap: WebAssembly SIMD is not available");
  if (m === 0 || n === 0) return;
  const acc = accumulate ? 1 : 0;
  if (k === 0) {
    if (!accumulate) {
      const h = heapF32();
      for (let i = 0; i < m; i++) h.fill(0, c / 4 + i * ldc, c / 4 + i * ldc + n);
    }
    return;
  }
  // Slice the larger of M and N into chunks of whole micro-tiles; every element's sum runs in the same order
  // however it is sliced, so results do not depend on the threads.
  const splitN = n >= m ? 1 : 0;
  const unit = splitN ? NR : MR;
  const tiles = Math.ceil((splitN ? n : m) / unit);
  const threads = threadsFor(tiles, m * n * k);
  lastThreads = threads;
  if (threads <= 1) {
    e.gemm(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, packAAt(0), packBAt(0), acc);
    return;
  }
  // Every chunk packs the whole other operand again (scalar copies, ~16× dearer per element than a multiply-add),
  // so chunks stay at least MIN_CHUNK columns (rows) wide unless that leaves a thread idle.
  const total = splitN ? n : m;
  const chunks = Math.min(
    tiles,
    Math.max(threads, Math.min(threads * CHUNKS_PER_THREAD, Math.ceil(total / MIN_CHUNK))),
  );
  const width = Math.ceil(tiles / chunks) * unit;
  const job: GemmJob = { m, n, k, a, ars, acs, b, brs, bcs, c, ldc, acc, splitN, width };
  run(e, JOB_GEMM, encodeGemmJob(job), Math.ceil(total / width), threads);
}

/** Publishes a job, works on it on this thread too, and returns when every chunk is done. */
function run(e: Engine, kind: number, args: number[], chunks: number, threads: number): void {
  const ctrl = ctrlView(e);
  publishJob(ctrl, kind, args, chunks, threads);
  Atomics.notify(ctrl, CTRL.generation);
  workOnJob(ctrl, e, 0);
  for (;;) {
    const d = Atomics.load(ctrl, CTRL.done);
    if (d >= chunks) break;
    Atomics.wait(ctrl, CTRL.done, d);
  }
}

/**
 * How many threads a job of `items` independent pieces worth `macs`
 * multiply-adds in all should use now: bounded by the pieces, the thread
 * count, the ready workers, and the work per thread.
 */
export function threadsFor(items: number, macs: number): number {
  const e = loadEngine();
  if (!e) return 1;
  let threads = Math.min(numThreads, items, Math.max(1, Math.floor(macs / MIN_MACS_PER_THREAD)));
  if (threads > 1) {
    if (workers.length < numThreads - 1) startWorkers(e);
    threads = Math.min(threads, readyWorkers(e) + 1);
  }
  return threads;
}

/**
 * Runs convolution kernel `kind` over `items` batch items (images, or weight
 * groups) on `threads` threads, thread `t` unfolding into `job.col + t·job.colBytes`.
 * On one thread its GEMMs are split across threads by {@link gemmHeap} instead.
 */
export function runConvJobs(kind: number, job: ConvJob, items: number, threads: number): void {
  const e = loadEngine();
  if (!e) throw new Error("runConvJobs: WebAssembly SIMD is not available");
  if (threads <= 1) {
    const parallel: GemmFn = (m, n, k, a, ars, acs, b, brs, bcs, c, ldc, _pa, _pb, acc) =>
      gemmHeap(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, acc === 1);
    for (let i = 0; i < items; i++) {
      runConvChunk(kind, job, { gemm: parallel, unfold: e.unfold, fold: e.fold, heap: e.heap }, 0, i);
    }
    return;
  }
  lastThreads = threads;
  run(e, kind, encodeConvJob(job), items, threads);
}

/**
 * `c[cOff + i·n + j] = Σ_p a[i,p]·b[p,j]` for strided float32 operands in
 * ordinary typed arrays: copies A and B into the heap, runs {@link gemmHeap},
 * copies C out. Same argument order as the TypeScript `gemm`. Returns false
 * (having done nothing) when the operands do not fit the heap.
 */
export function gemmF32(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  ars: number,
  acs: number,
  b: Float32Array,
  bOff: number,
  brs: number,
  bcs: number,
  c: Float32Array,
  cOff: number,
): boolean {
  if (m === 0 || n === 0) return true;
  const aSpan = span(m, k, ars, acs), bSpan = span(k, n, brs, bcs);
  const bytes = (aSpan.len + bSpan.len + m * n) * 4;
  if (!heapFits(bytes)) return false;
  const base = reserveHeap(bytes);
  const h = heapF32();
  const aAt = base, bAt = aAt + aSpan.len * 4, cAt = bAt + bSpan.len * 4;
  const [ar, ac] = place(h, aAt, a, aOff, m, k, ars, acs, aSpan);
  const [br, bc] = place(h, bAt, b, bOff, k, n, brs, bcs, bSpan);
  gemmHeap(m, n, k, aAt, ar, ac, bAt, br, bc, cAt, n, false);
  c.set(h.subarray(cAt / 4, cAt / 4 + m * n), cOff);
  return true;
}

interface Span {
  /** Elements the operand occupies in the heap. */
  len: number;
  /** Whether the source's own footprint is copied as is (else it is gathered densely). */
  raw: boolean;
}

/** How to bring a rows×cols strided operand into the heap: its footprint if dense enough, else a gather. */
function span(rows: number, cols: number, rs: number, cs: number): Span {
  if (rs < 0 || cs < 0) return { len: rows * cols, raw: false };
  const footprint = (rows - 1) * rs + (cols - 1) * cs + 1;
  return footprint <= 2 * rows * cols + 64 ? { len: footprint, raw: true } : { len: rows * cols, raw: false };
}

/** Copies the operand to heap byte address `at`; returns the strides to read it with. */
function place(
  h: Float32Array,
  at: number,
  src: Float32Array,
  off: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
  s: Span,
): [number, number] {
  const dst = at / 4;
  if (s.raw) {
    // One memcpy of the footprint keeps the source strides (transposes and broadcasts cost nothing).
    h.set(src.subarray(off, off + s.len), dst);
    return [rs, cs];
  }
  let o = dst;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) h[o++] = src[off + i * rs + j * cs];
  return [cols, 1];
}
