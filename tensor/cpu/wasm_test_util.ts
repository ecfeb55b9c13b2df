/**
 * Helpers for the tests of the CPU backend's WebAssembly dispatchers
 * (`*_wasm_test.ts`): arrays in the WebAssembly heap that a test frees
 * together, seeded data, and a float32 ulp to compare float64 sums with.
 * (Test-only; not exported from mod.ts.)
 *
 * @module
 */

import { ok } from "node:assert/strict";
import { cpuThreadsReady, heapAllocStorage, heapFree, threadsFor } from "./wasm/runtime.ts";

type HeapArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const live: number[] = [];

/**
 * `n` elements of `ctor` in the WebAssembly heap, starting `offset` elements
 * into a block (so not 16-byte aligned for odd offsets); {@link freeAll}
 * returns the block.
 */
export function heapArray<T extends HeapArray>(
  ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
  n: number,
  offset = 0,
): T {
  const s = heapAllocStorage(ctor, n + offset);
  ok(s, "heap storage");
  live.push(s.addr);
  return (offset === 0 ? s.data : s.data.subarray(offset)) as T;
}

/** {@link heapArray} of float32. */
export function heapF32(n: number, offset = 0): Float32Array {
  return heapArray(Float32Array, n, offset);
}

/** Returns every block {@link heapArray} handed out. */
export function freeAll(): void {
  for (const a of live.splice(0)) heapFree(a);
}

/** Fills `a` with seeded values uniform in `[shift - scale, shift + scale)` (a linear congruential generator). */
export function random(a: Float32Array, seed: number, scale = 1, shift = 0): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 4294967296) * 2 - 1) * scale + shift;
  }
  return a;
}

/** One float32 ulp at |v|. */
export function ulp(v: number): number {
  const a = Math.abs(Math.fround(v));
  return a === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

/**
 * Starts the worker threads and waits until one can take work (for the native
 * BLAS too, with `native`), for tests that assert a job was split: under
 * `deno test --parallel` on a loaded machine a worker can take longer to start
 * than `cpuThreadsReady`'s own 10 s.
 */
export async function workersReady(native = false): Promise<void> {
  const end = performance.now() + 60_000;
  do await cpuThreadsReady(); while (threadsFor(2, 2 ** 30, native) < 2 && performance.now() < end);
}
