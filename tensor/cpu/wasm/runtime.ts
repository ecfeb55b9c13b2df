/**
 * The WebAssembly SGEMM at run time: feature detection, one shared
 * `WebAssembly.Memory` (the "heap") reused across calls, and a pool of worker
 * threads that split each large GEMM.
 *
 * Heap layout (bytes): the control block (`protocol.ts`), then blocks handed
 * out by a size-class allocator (`heap.ts`): CPU tensor storage
 * ({@link heapAllocStorage}, so kernels run on tensors in place), per-call
 * scratch ({@link heapAlloc}) and each thread's packing buffers. The memory
 * only ever grows, and only when no freed block of the size asked for is
 * left; tensor storage stops taking new memory at {@link setCpuHeapLimit}'s
 * limit (later tensors get ordinary arrays, which kernels copy in and out).
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
import { OPS_WASM } from "./ops_wasm.ts";
import { HeapAllocator } from "./heap.ts";
import { MR, NR, relaxedProbe } from "./gemm_kernel.ts";
import type { PaddedFn, UnfoldFn } from "../im2col.ts";
import { CTRL, CTRL_BYTES, MAX_WORKERS, PACK_BYTES, packAAt, packBAt } from "./protocol.ts";
import { attentionBackwardChunk, type AttentionExports, attentionForwardChunk } from "./attention_jobs.ts";
import {
  type ConvJob,
  type CopyRowsFn,
  elementwiseChunk,
  encodeConvJob,
  encodeElementwiseJob,
  encodeGemmJob,
  type GemmFn,
  type GemmJob,
  JOB_ATTENTION_FORWARD,
  JOB_ELEMENTWISE,
  JOB_GEMM,
  type Kernels,
  logicalCores,
  nativeSlices,
  publishJob,
  runConvChunk,
  slicedGemm,
  workOnJob,
} from "./jobs.ts";
import {
  BLAS_MIN_MACS,
  blasGemmAt,
  blasLayout,
  type BlasLibrary,
  blasSelfTest,
  type BlasStatus,
  envVar,
  findBlas,
} from "../blas.ts";

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
  readonly allocator: HeapAllocator;
  /** The memory-bound kernels' module (`ops_kernel.ts`; its exports are `ops`), handed to the workers. */
  readonly opsModule: WebAssembly.Module;
  /** The memory's size in bytes as every thread sees it (the SGEMM module's `heap_bytes`). */
  readonly heapBytes: () => number;
  /** These kernels with `gemm` split across threads by {@link gemmHeap}: a convolution run whole on this thread. */
  splitGemm: Kernels;
  /** The native BLAS once looked for ({@link nativeBlas}): undefined until then, null when there is none. */
  blas?: BlasLibrary | null;
  /** One `cblas_sgemm` call on this thread (null without a native BLAS; set with `blas`). */
  nativeCall: GemmFn | null;
  /** A whole product on the native BLAS, its fixed slices in order. */
  nativeGemm: GemmFn | null;
}

/** The exports of the ops module: functions of i32/f32 arguments (byte addresses, counts, scalars). */
export type WasmOps = Readonly<Record<string, (...args: number[]) => number>>;

let engine: Engine | null | undefined;

function loadEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  try {
    const relaxed = WebAssembly.validate(relaxedProbe());
    const bytes = decode(relaxed ? GEMM_RELAXED_WASM : GEMM_SIMD_WASM);
    if (!WebAssembly.validate(bytes)) return null;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    heapBuffers.add(memory.buffer);
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const opsModule = new WebAssembly.Module(decode(OPS_WASM));
    const ops = new WebAssembly.Instance(opsModule, { env: { memory } });
    const kernels: Kernels = {
      gemm: instance.exports.gemm as GemmFn,
      nativeCall: null,
      nativeGemm: null,
      unfold: instance.exports.unfold as UnfoldFn,
      fold: instance.exports.fold as UnfoldFn,
      copyRows: instance.exports.copy_rows as CopyRowsFn,
      unfoldPadded: instance.exports.unfold_padded as PaddedFn,
      attn: instance.exports as unknown as AttentionExports,
      ops: ops.exports as unknown as WasmOps,
      opsNames: WebAssembly.Module.exports(opsModule).map((x) => x.name),
      heap: () => heapF32(),
      ctrl: new Int32Array(memory.buffer, 0, CTRL.words),
    };
    const e: Engine = {
      ...kernels,
      memory,
      module,
      kind: relaxed ? "relaxed-simd" : "simd",
      allocator: new HeapAllocator(CTRL_BYTES, (end) => growTo(memory, end)),
      opsModule,
      heapBytes: instance.exports.heap_bytes as () => number,
      splitGemm: {
        ...kernels,
        gemm: (m, n, k, a, ars, acs, b, brs, bcs, c, ldc, _pa, _pb, acc) =>
          gemmHeap(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, acc === 1, false),
        nativeGemm: (m, n, k, a, ars, acs, b, brs, bcs, c, ldc, _pa, _pb, acc) =>
          gemmHeap(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, acc === 1, true),
      },
      nativeCall: null,
      nativeGemm: null,
    };
    givePackBuffers(e, 0);
    Atomics.store(e.ctrl, CTRL.blasMinMacs, BLAS_MIN_MACS);
    engine = e;
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

// ---- native BLAS --------------------------------------------------------------

let blasEnabled = true;
let blasStatus: BlasStatus = { library: null, detail: null, reason: "not looked for yet" };

/**
 * Looks for the native BLAS once (`../blas.ts`): opens it, checks it on
 * products with known answers in heap scratch, and gives the engine its
 * GEMMs; null, with the reason kept in {@link getBlasStatus}, when there is
 * none, it may not be opened, or it fails the check.
 */
function nativeBlas(e: Engine): BlasLibrary | null {
  if (e.blas !== undefined) return e.blas;
  e.blas = null;
  const { lib, reason } = findBlas();
  blasStatus = { library: null, detail: null, reason };
  if (lib) {
    const refuse: GemmFn = () => {
      throw new Error("layout the self-test does not expect");
    };
    const scratch = heapAlloc(192 * 4);
    let ok = false;
    try {
      ok = scratch >= 0 &&
        blasSelfTest(blasGemmAt(lib, e.memory, e.heapBytes, CTRL_BYTES, refuse, () => 0), heapF32(), scratch);
    } catch {
      ok = false;
    } finally {
      if (scratch >= 0) heapFree(scratch);
    }
    if (ok) {
      e.blas = lib;
      e.nativeCall = blasGemmAt(
        lib,
        e.memory,
        e.heapBytes,
        CTRL_BYTES,
        e.gemm,
        () => Atomics.load(e.ctrl, CTRL.blasMinMacs),
      );
      e.nativeGemm = slicedGemm(e.nativeCall);
      // A convolution run whole on this thread calls the library directly when its images are split across jobs.
      e.splitGemm = { ...e.splitGemm, nativeCall: e.nativeCall };
      blasStatus = { library: lib.name, detail: lib.detail, reason };
    } else {
      blasStatus = {
        library: null,
        detail: null,
        reason: `${lib.name}: wrong results on a known product (wrong ABI?)`,
      };
    }
  }
  if (envVar("DENDRITE_BLAS_DEBUG")) {
    console.error(
      e.blas
        ? `dendrite: float32 GEMMs on ${blasStatus.library} (${blasStatus.detail ?? "unknown BLAS"})`
        : `dendrite: no native BLAS (${blasStatus.reason}); float32 GEMMs on WebAssembly SIMD`,
    );
  }
  return e.blas;
}

/** Whether float32 GEMMs run on the native BLAS now: it is loaded and {@link setCpuBlas} left it on. */
function nativeOn(e: Engine): boolean {
  return blasEnabled && nativeBlas(e) !== null;
}

/**
 * Turns the native BLAS path for float32 GEMMs (matmul, Linear, convolution)
 * on or off; on by default wherever a library loads (see `../blas.ts`). Off,
 * the WebAssembly SGEMM runs them. Results agree within float32 rounding.
 *
 * @example
 * ```ts
 * import { setCpuBlas } from "./runtime.ts";
 * setCpuBlas(false); // the WebAssembly SGEMM, e.g. to compare
 * ```
 */
export function setCpuBlas(enabled: boolean): void {
  if (typeof enabled !== "boolean") throw new TypeError(`setCpuBlas: expected a boolean, got ${String(enabled)}`);
  blasEnabled = enabled;
}

/**
 * For tests: the multiply-adds from which a product goes to the native BLAS
 * (default `BLAS_MIN_MACS`; smaller ones run the WebAssembly SGEMM, which is
 * as fast there). 0 sends every product through the library.
 */
export function setBlasMinMacs(macs: number): void {
  const e = loadEngine();
  if (e) Atomics.store(e.ctrl, CTRL.blasMinMacs, macs);
}

/** Whether float32 GEMMs run on the native BLAS now (loading it on first call). */
export function cpuBlasActive(): boolean {
  const e = loadEngine();
  return e !== null && nativeOn(e);
}

/** What the native BLAS search found: the library and what it is, or why there is none. */
export function getBlasStatus(): BlasStatus {
  const e = loadEngine();
  if (e) nativeBlas(e);
  else blasStatus = { library: null, detail: null, reason: "no WebAssembly SIMD heap to run on" };
  return blasStatus;
}

// ---- threads ----------------------------------------------------------------

function defaultThreads(): number {
  return Math.max(1, Math.min(MAX_WORKERS + 1, logicalCores()));
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

/** Allocates thread `t`'s packing buffers (kept for the life of the process) and records them in the control block. */
function givePackBuffers(e: Engine, t: number): void {
  const block = e.allocator.alloc(PACK_BYTES, MAX_HEAP_BYTES);
  if (!block) throw new RangeError("WebAssembly heap: no room for a thread's packing buffers");
  Atomics.store(e.ctrl, CTRL.pack + t, block.addr);
}

/** Workers whose instance is ready (and, for `native`, has the BLAS), counted from id 0 up to the first that is not. */
function readyWorkers(e: Engine, native = false): number {
  const ctrl = e.ctrl;
  let r = 0;
  while (
    r < workers.length && Atomics.load(ctrl, CTRL.ready + r) === 1 &&
    (!native || Atomics.load(ctrl, CTRL.native + r) === 1)
  ) r++;
  return r;
}

interface WorkerThreads {
  Worker: new (url: URL, options: { workerData: unknown }) => { unref(): void };
}

/** The global scope's event registration (absent in Node). */
interface EventHost {
  addEventListener?(type: string, fn: () => void): void;
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
    // `process.getBuiltinModule` loads node:worker_threads only when threads are used.
    const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
    const wt = proc?.getBuiltinModule?.("node:worker_threads") as WorkerThreads | undefined;
    if (!wt) throw new Error("node:worker_threads is unavailable");
    const url = new URL("./worker.ts", import.meta.url);
    if (workers.length === 0) (globalThis as EventHost).addEventListener?.("unload", () => stopWorkers(e));
    // Workers open the library this thread checked, so they can run native GEMMs too.
    const blas = nativeBlas(e)?.name ?? null;
    while (workers.length < numThreads - 1) {
      if (Atomics.load(e.ctrl, CTRL.pack + workers.length + 1) === 0) givePackBuffers(e, workers.length + 1);
      const w = new wt.Worker(url, {
        workerData: { memory: e.memory, module: e.module, ops: e.opsModule, id: workers.length, blas },
      });
      Atomics.add(e.ctrl, CTRL.alive, 1);
      w.unref();
      workers.push(w);
    }
  } catch {
    // Workers unavailable here: stay on the calling thread.
    workersFailed = true;
  }
}

/** Longest the host waits at unload for its workers to leave (a worker that failed to start never counts down). */
const STOP_WAIT_MS = 500;

/**
 * Run at `unload` (registered when the first worker starts): makes the
 * workers end with the runtime that started them. An unref'd worker asleep in
 * `Atomics.wait` is not ended when its host runtime ends: under `deno test`
 * every test module that ran a threaded GEMM left a thread and a V8 isolate
 * behind until the process exited (seven of them by the end of the suite), and
 * so would every Worker that used the CPU backend. The host sets `quit`, wakes
 * the workers and waits (at most {@link STOP_WAIT_MS}) until each has left its
 * loop; no worker starts after this, and later GEMMs run on the calling thread.
 */
function stopWorkers(e: Engine): void {
  const ctrl = e.ctrl;
  workersFailed = true;
  workers.length = 0;
  Atomics.store(ctrl, CTRL.quit, 1);
  Atomics.add(ctrl, CTRL.generation, 1);
  Atomics.notify(ctrl, CTRL.generation);
  const deadline = performance.now() + STOP_WAIT_MS;
  for (;;) {
    const alive = Atomics.load(ctrl, CTRL.alive);
    const left = deadline - performance.now();
    if (alive <= 0 || left <= 0) break;
    Atomics.wait(ctrl, CTRL.alive, alive, left);
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
/**
 * Every `SharedArrayBuffer` object the memory has shown (one per size it grew
 * to, recorded where it is created and in {@link growTo}): views over any of
 * them are heap views.
 */
const heapBuffers = new WeakSet<ArrayBufferLike>();

/** Largest heap: 2 GiB keeps every byte address a positive 32-bit integer (they travel through Int32Arrays). */
export const MAX_HEAP_BYTES = 2 ** 31 - PAGE;

/** Default of {@link setCpuHeapLimit}: how far tensor storage may grow the heap. */
const DEFAULT_STORAGE_LIMIT = 2 ** 30;
let storageLimit = DEFAULT_STORAGE_LIMIT;

function growTo(memory: WebAssembly.Memory, end: number): boolean {
  if (end > MAX_HEAP_BYTES) return false;
  const have = memory.buffer.byteLength;
  if (end > have) {
    memory.grow(Math.ceil((end - have) / PAGE));
    heapBuffers.add(memory.buffer);
  }
  return true;
}

/**
 * Sets how large the WebAssembly heap may grow to hold CPU tensors (default
 * 1 GiB; at most 2 GiB). Beyond it new tensors get ordinary arrays, which is
 * correct but slower: kernels copy such operands in and out. The heap never
 * shrinks, and tensors nobody disposed return their memory only when the
 * garbage collector finds them, so a loop that wraps each step in `tidy`
 * keeps the heap at one step's worth.
 *
 * @example
 * ```ts
 * import { setCpuHeapLimit } from "../../mod.ts";
 * setCpuHeapLimit(512 * 2 ** 20); // keep tensors to 512 MiB of WebAssembly memory
 * ```
 */
export function setCpuHeapLimit(bytes: number): void {
  if (!(bytes >= 0)) throw new RangeError(`setCpuHeapLimit: expected a byte count >= 0, got ${bytes}`);
  storageLimit = Math.min(bytes, MAX_HEAP_BYTES);
}

/** The limit set by {@link setCpuHeapLimit}. */
export function getCpuHeapLimit(): number {
  return storageLimit;
}

/**
 * A typed array of `length` elements in the heap for a CPU tensor's storage,
 * with its byte address (`fresh`: the block was carved from new memory, so it
 * is zero); null when the heap is unavailable or tensor storage reached
 * {@link setCpuHeapLimit}. A reused block is zeroed unless `zero` is false
 * (the caller then zeroes it with {@link heapZero} if it is read before being
 * overwritten). Free it with {@link heapFree}.
 */
export function heapAllocStorage<T extends Float32Array | Float64Array | Int32Array | Uint8Array>(
  ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
  length: number,
  zero = true,
): { data: T; addr: number; fresh: boolean } | null {
  const e = loadEngine();
  if (!e) return null;
  const block = e.allocator.alloc(Math.max(1, length * ctor.BYTES_PER_ELEMENT), storageLimit);
  if (!block) return null;
  const data = new ctor(e.memory.buffer, block.addr, length);
  // `fill(0)` on a view of shared memory is several times slower than `memory.fill`.
  if (!block.fresh && zero) e.ops.mem_zero(block.addr, length * ctor.BYTES_PER_ELEMENT);
  return { data, addr: block.addr, fresh: block.fresh };
}

/**
 * Scratch for one kernel call: the byte address of a block of at least
 * `bytes` (any contents), or -1 when the heap cannot hold it (callers fall
 * back to the TypeScript kernels). Give it back with {@link heapFree}.
 */
export function heapAlloc(bytes: number): number {
  const e = loadEngine();
  if (!e) return -1;
  return e.allocator.alloc(Math.max(1, bytes), MAX_HEAP_BYTES)?.addr ?? -1;
}

/** Zeroes `bytes` of the heap at byte address `addr` (`memory.fill`). */
export function heapZero(addr: number, bytes: number): void {
  loadEngine()?.ops.mem_zero(addr, bytes);
}

/**
 * `rows` rows of `n` four-byte elements from byte address `src` to `dst`, the rows `srcStride` and `dstStride` bytes
 * apart (the SGEMM module's `copy_rows`, four lanes at a time); false, having copied nothing, without WebAssembly SIMD.
 */
export function heapCopyRows(...args: Parameters<CopyRowsFn>): boolean {
  const e = loadEngine();
  if (!e) return false;
  e.copyRows(...args);
  return true;
}

/** Returns a block from {@link heapAlloc} or {@link heapAllocStorage} to the allocator. */
export function heapFree(addr: number): void {
  loadEngine()?.allocator.free(addr);
}

/**
 * The byte address of `a[0]` when `a` views the heap (storage from
 * {@link heapAllocStorage}, a {@link heapF32} subarray), else -1: kernels
 * pass heap operands by address and copy only the others.
 */
export function heapAddress(a: ArrayBufferView): number {
  return heapBuffers.has(a.buffer) ? a.byteOffset : -1;
}

/** Bytes of the shared memory right now (grows, never shrinks). */
export function heapBytes(): number {
  return loadEngine()?.memory.buffer.byteLength ?? 0;
}

/** Bytes in live heap blocks (tensor storage, scratch in use, packing buffers), for tests and benchmarks. */
export function heapInUse(): number {
  return loadEngine()?.allocator.inUse ?? 0;
}

/** A float32 view of the whole heap (fetch it again after allocating: growing makes a longer buffer). */
export function heapF32(): Float32Array {
  const e = loadEngine();
  if (!e) throw new Error("heapF32: WebAssembly SIMD is not available");
  if (!heapView || heapView.buffer.byteLength !== e.memory.buffer.byteLength) {
    heapView = new Float32Array(e.memory.buffer);
  }
  return heapView;
}

/** The ops module's exports (elementwise, pooling, reductions), or null where WebAssembly SIMD is unavailable. */
export function wasmOps(): WasmOps | null {
  return loadEngine()?.ops ?? null;
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
  const ctrl = e.ctrl;
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
  native?: boolean,
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
  if ((native ?? true) && nativeOn(e) && blasLayout(m, k, ars, acs) && blasLayout(k, n, brs, bcs)) {
    // The fixed slices of the product, run by whichever threads are free (the same result for any thread count).
    const s = nativeSlices(m, n, k);
    const threads = s.count > 1 ? threadsFor(s.count, m * n * k, true) : 1;
    lastThreads = threads;
    if (threads <= 1) {
      (e.nativeGemm as GemmFn)(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, packAAt(e.ctrl, 0), packBAt(e.ctrl, 0), acc);
      return;
    }
    const job: GemmJob = {
      m,
      n,
      k,
      a,
      ars,
      acs,
      b,
      brs,
      bcs,
      c,
      ldc,
      acc,
      splitN: s.splitN,
      width: s.width,
      native: 1,
    };
    run(e, JOB_GEMM, encodeGemmJob(job), s.count, threads);
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
    e.gemm(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, packAAt(e.ctrl, 0), packBAt(e.ctrl, 0), acc);
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
  const job: GemmJob = { m, n, k, a, ars, acs, b, brs, bcs, c, ldc, acc, splitN, width, native: 0 };
  run(e, JOB_GEMM, encodeGemmJob(job), Math.ceil(total / width), threads);
}

/** Publishes a job, works on it on this thread too, and returns when every chunk is done. */
function run(e: Engine, kind: number, args: number[], chunks: number, threads: number): void {
  const ctrl = e.ctrl;
  publishJob(ctrl, kind, args, chunks, threads);
  Atomics.notify(ctrl, CTRL.generation);
  const error = workOnJob(ctrl, e, 0);
  for (;;) {
    const d = Atomics.load(ctrl, CTRL.done);
    if (d >= chunks) break;
    Atomics.wait(ctrl, CTRL.done, d);
  }
  if (Atomics.exchange(ctrl, CTRL.failed, 0) !== 0) {
    throw error ?? new Error("a chunk of a threaded CPU kernel failed on a worker thread (its error is printed above)");
  }
}

/**
 * How many threads a job of `items` independent pieces worth `macs`
 * multiply-adds in all should use now: bounded by the pieces, the thread
 * count, the ready workers (for a `native` job, those that opened the BLAS),
 * and the work per thread.
 */
export function threadsFor(items: number, macs: number, native = false): number {
  const e = loadEngine();
  if (!e) return 1;
  let threads = Math.min(numThreads, items, Math.max(1, Math.floor(macs / MIN_MACS_PER_THREAD)));
  if (threads > 1) {
    if (workers.length < numThreads - 1) startWorkers(e);
    threads = Math.min(threads, readyWorkers(e, native) + 1, native ? e.blas?.maxCallers ?? 1 : Infinity);
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
    for (let i = 0; i < items; i++) runConvChunk(kind, job, e.splitGemm, 0, i);
    return;
  }
  lastThreads = threads;
  run(e, kind, encodeConvJob(job), items, threads);
}

/**
 * Runs `chunks` chunks of an attention job (`JOB_ATTENTION_FORWARD` or
 * `JOB_ATTENTION_BACKWARD`, described at heap byte address `desc`) on
 * `threads` threads; thread `t` uses its own scratch (see `attention_jobs.ts`).
 */
export function runAttentionJobs(kind: number, desc: number, chunks: number, threads: number): void {
  const e = loadEngine();
  if (!e) throw new Error("runAttentionJobs: WebAssembly SIMD is not available");
  lastThreads = threads;
  if (threads <= 1) {
    const chunk = kind === JOB_ATTENTION_FORWARD ? attentionForwardChunk : attentionBackwardChunk;
    for (let i = 0; i < chunks; i++) chunk(e.attn, e.heap, desc, 0, i);
    return;
  }
  run(e, kind, [desc], chunks, threads);
}

/** The ops module's export names to their index (what a job names its kernel by), built on first use. */
let opsIndex: Map<string, number> | undefined;

/** Elements below which an elementwise kernel stays on one thread (waking a worker costs tens of microseconds). */
const MIN_ELEMENTS_PER_THREAD = 1 << 16;

/**
 * Runs one call of the ops module's elementwise kernel `name` — `rows × cols` elements, inputs as
 * {@link ElementwiseJob} describes them, float32 `out` contiguous — cut into ranges across the ready workers when it
 * is large; on one thread it is the plain call. For the kernels whose arithmetic, not memory, sets the pace (GELU):
 * cutting a memory-bound kernel gains little on two cores.
 */
export function runElementwiseJob(
  name: string,
  rows: number,
  cols: number,
  ins: readonly (readonly [number, number, number])[],
  out: number,
): void {
  const e = loadEngine();
  if (!e) throw new Error("runElementwiseJob: WebAssembly SIMD is not available");
  opsIndex ??= new Map(e.opsNames.map((n, i) => [n, i]));
  const fn = opsIndex.get(name) ?? -1;
  if (fn < 0) throw new Error(`runElementwiseJob: the ops module has no kernel ${name}`);
  const span = rows === 1 ? cols : rows;
  let threads = 1;
  if (rows * cols >= 2 * MIN_ELEMENTS_PER_THREAD && numThreads > 1) {
    if (workers.length < numThreads - 1) startWorkers(e);
    threads = Math.min(numThreads, readyWorkers(e, false) + 1, Math.floor((rows * cols) / MIN_ELEMENTS_PER_THREAD));
  }
  // Column ranges in whole 16s keep every chunk but the last on the kernel's 16-wide step.
  const chunks = threads <= 1 ? 1 : Math.min(span, threads * CHUNKS_PER_THREAD);
  let chunk = Math.ceil(span / chunks);
  if (rows === 1) chunk = Math.ceil(chunk / 16) * 16;
  const job = encodeElementwiseJob({ fn, rows, cols, ins, out, chunk });
  const count = Math.ceil(span / chunk);
  if (threads <= 1 || count <= 1) {
    for (let i = 0; i < count; i++) elementwiseChunk(job, 0, e, i);
    return;
  }
  lastThreads = threads;
  run(e, JOB_ELEMENTWISE, job, count, threads);
}

/**
 * `c[cOff + i·n + j] = Σ_p a[i,p]·b[p,j]` for strided float32 operands:
 * operands that live in the heap (CPU tensor storage normally does) are read
 * and written in place; others are copied into heap scratch and back. Same
 * argument order as the TypeScript `gemm`. Returns false (having done
 * nothing) when the scratch does not fit the heap.
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
  const aHeap = heapAddress(a), bHeap = heapAddress(b), cHeap = heapAddress(c);
  const aSpan = aHeap < 0 ? span(m, k, ars, acs) : null, bSpan = bHeap < 0 ? span(k, n, brs, bcs) : null;
  const aLen = aSpan?.len ?? 0, bLen = bSpan?.len ?? 0;
  const bytes = (aLen + bLen + (cHeap < 0 ? m * n : 0)) * 4;
  const scratch = bytes > 0 ? heapAlloc(bytes) : 0;
  if (scratch < 0) return false;
  try {
    // Scratch holds, in order, the copies of A and B that are not in the heap and C's result when C is not.
    const [aAt, ar, ac] = aSpan ? place(scratch, a, aOff, m, k, ars, acs, aSpan) : [aHeap + aOff * 4, ars, acs];
    const bScratch = scratch + aLen * 4;
    const [bAt, br, bc] = bSpan ? place(bScratch, b, bOff, k, n, brs, bcs, bSpan) : [bHeap + bOff * 4, brs, bcs];
    const cAt = cHeap < 0 ? bScratch + bLen * 4 : cHeap + cOff * 4;
    gemmHeap(m, n, k, aAt, ar, ac, bAt, br, bc, cAt, n, false);
    if (cHeap < 0) c.set(heapF32().subarray(cAt / 4, cAt / 4 + m * n), cOff);
  } finally {
    if (bytes > 0) heapFree(scratch);
  }
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

/** Copies the operand to heap byte address `at`; returns where and with which strides to read it. */
function place(
  at: number,
  src: Float32Array,
  off: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
  s: Span,
): [number, number, number] {
  const h = heapF32(), dst = at / 4;
  if (s.raw) {
    // One memcpy of the footprint keeps the source strides (transposes and broadcasts cost nothing).
    h.set(src.subarray(off, off + s.len), dst);
    return [at, rs, cs];
  }
  let o = dst;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) h[o++] = src[off + i * rs + j * cs];
  return [at, cols, 1];
}
