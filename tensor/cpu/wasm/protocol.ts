/**
 * The layout of the start of the shared WebAssembly memory and the job
 * protocol between the main thread (`runtime.ts`) and the GEMM workers
 * (`worker.ts`). Offsets in the control block are 32-bit words.
 *
 * A job is split into `chunks` independent pieces that threads claim one at a
 * time, so a thread the OS has descheduled (the machine is shared, tests run
 * in parallel) delays at most the chunk it holds and the others pick up the
 * rest. `next` holds `tag << 20 | index` of the next chunk, the tag changing
 * with every job.
 *
 * Publishing: the main thread stores {@link PARKED} into `next` (its index
 * part exceeds any chunk count, so no claim succeeds while it writes), writes
 * the kind, arguments and chunk count, zeroes `done`, stores `next = tag << 20`,
 * then bumps `generation` and wakes the workers.
 *
 * Claiming (every thread, the main one included): read `next`; stop if its
 * index is `>= chunks` (or its own thread id is `>= threads`); snapshot the kind and arguments; `compareExchange`
 * `next` to the following index. Success proves `next` did not change in
 * between, so the snapshot belongs to the job the chunk does. Run it, add 1 to
 * `done`, notify at `chunks`. The main thread then waits until `done == chunks`
 * before it publishes again. All accesses are `Atomics` operations.
 *
 * @module
 */

import { PACK_A_BYTES, PACK_B_BYTES } from "./gemm_kernel.ts";

/** Most worker threads the control block has room for. */
export const MAX_WORKERS = 63;

/** Bits of `next` holding the chunk index (the rest hold the job's tag). */
export const INDEX_BITS = 20;
/** Largest chunk count a job may have. */
export const MAX_CHUNKS = (1 << INDEX_BITS) - 1;
/** A `next` value whose index no chunk count reaches: claims fail while a job is being written. */
export const PARKED = MAX_CHUNKS;

/** Word offsets inside the control block. */
export const CTRL = {
  /** Job counter; idle workers wait on it. */
  generation: 0,
  /** Chunks finished. */
  done: 1,
  /** Next chunk to claim. */
  next: 2,
  /** Chunks in the current job. */
  chunks: 3,
  /** Job kind (see `jobs.ts`). */
  kind: 4,
  /** Threads that may work on the job: thread ids (0 = caller) from this up do not claim. */
  threads: 5,
  /** Set to 1 (then `generation` bumped) when the owner ends: workers leave their loop and their thread exits. */
  quit: 6,
  /** Workers started and not yet gone: the host counts one up per worker it starts, the worker down as it leaves. */
  alive: 7,
  /** Job arguments (up to {@link ARG_WORDS} words). */
  args: 8,
  /** Set to 1 by a thread whose chunk threw (the job still completes); the host reports it and clears it. */
  failed: 56,
  /** Multiply-adds below which a native GEMM call runs the WebAssembly SGEMM instead (`BLAS_MIN_MACS`; tests lower it). */
  blasMinMacs: 57,
  /** One ready flag per worker. */
  ready: 64,
  /** Chunks each thread has run (thread 0 is the caller), for tests. */
  stats: 64 + MAX_WORKERS + 1,
  /** Byte address of each thread's packing buffers (packed A, then packed B), set before the thread starts. */
  pack: 64 + 2 * (MAX_WORKERS + 1),
  /** One flag per worker, set before its ready flag: 1 when it opened the native BLAS and may run native GEMMs. */
  native: 64 + 3 * (MAX_WORKERS + 1),
  /** Words in the whole block. */
  words: 64 + 4 * (MAX_WORKERS + 1),
} as const;

/** Most argument words a job has. */
export const ARG_WORDS = 48;

/** Bytes reserved for the control block. */
export const CTRL_BYTES = 4096;

/** Bytes of packing buffers per thread. */
export const PACK_BYTES = PACK_A_BYTES + PACK_B_BYTES;

/** Byte address of thread `t`'s packed-A buffer (thread 0 is the caller, worker `id` is thread `id + 1`). */
export function packAAt(ctrl: Int32Array, t: number): number {
  return Atomics.load(ctrl, CTRL.pack + t);
}

/** Byte address of thread `t`'s packed-B buffer. */
export function packBAt(ctrl: Int32Array, t: number): number {
  return packAAt(ctrl, t) + PACK_A_BYTES;
}
