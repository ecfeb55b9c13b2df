/**
 * CPU tensor storage and its lifetime. Storage lives in the WebAssembly heap
 * (`wasm/runtime.ts`) where it fits, so the WebAssembly kernels read and
 * write tensors in place; the typed array a storage holds is a view of its
 * heap block.
 *
 * A heap block goes back to the allocator when:
 * - the storage's refcount drops to 0 (`dispose()`, or `tidy` ending) — the
 *   fast, deterministic path;
 * - the garbage collector reclaims a storage nobody disposed (a PyTorch-style
 *   loop without `tidy`). Two mechanisms cover that: a FinalizationRegistry
 *   (its callbacks run only when the event loop turns), and, when the heap is
 *   full, a scan of weak references that frees the blocks of storages the
 *   collector found dead, synchronously, so a loop that never yields to the
 *   event loop still reuses its memory.
 *
 * Both need the collector to have run, and the first also an event-loop
 * turn, which a loop whose only `await` is on CPU reads never takes: so once
 * the heap is full and storage falls back to ordinary arrays, the next CPU
 * read (`await t.item()`, `data()`, `tolist()`) resolves after a timer turn
 * of the event loop (1–4 ms, once per heapful, not per step) instead of at
 * once, which lets the engine run its finalizers and release the storages
 * weak references were keeping for the current job, and the heap comes back
 * into use. (A message-channel round trip is faster but does not reach the
 * point of Deno's loop where the engine's tasks run.)
 *
 * The collector does not see heap blocks (only the small JavaScript objects
 * that own them), so after every {@link PRESSURE_BYTES} of new heap the
 * allocator also allocates (and drops) an ordinary buffer of that size: it
 * costs no memory until touched, and tells the engine that much memory is at
 * stake, so it collects about as often as it would for ordinary arrays.
 *
 * @module
 */

import type { Storage } from "../backend.ts";
import { allocArray, type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { heapAllocStorage, heapFree, heapZero } from "./wasm/runtime.ts";

/** CPU storage: a typed array (a view of a heap block, or an ordinary array) plus a refcount. */
export class CpuStorage implements Storage {
  /** Always "cpu". */
  readonly device = "cpu";
  /** Shared-tensor count. */
  refs = 0;
  /** The version counter the tensor layer bumps on every in-place write (see `Storage.version`). */
  version = 0;
  #data: TypedArray;
  #zeroPending: boolean;
  /**
   * Creates storage over `data`; `heapAddr` is its block's byte address when
   * `data` views the heap, else -1. `zeroPending`: the block was reused and is
   * zeroed on first access unless a kernel claims it with {@link overwrite}.
   */
  constructor(data: TypedArray, readonly heapAddr = -1, zeroPending = false) {
    this.#data = data;
    this.#zeroPending = zeroPending;
  }
  /** The elements (a view of the heap, or an ordinary array); zero until written. */
  get data(): TypedArray {
    if (this.#zeroPending) {
      this.#zeroPending = false;
      heapZero(this.heapAddr, this.#data.byteLength);
    }
    return this.#data;
  }
  /**
   * The elements for a kernel that writes every one of them before reading
   * any: a reused block is handed over without zeroing it first.
   */
  overwrite(): TypedArray {
    this.#zeroPending = false;
    return this.#data;
  }
  /** Internal: drops the elements once freed, so a stale use reads nothing rather than another tensor's block. */
  release(): void {
    this.#zeroPending = false;
    this.#data = this.#data.subarray(0, 0);
  }
  /** The element type (read without the pending zeroing: only the elements need it). */
  get dtype(): DType {
    return dtypeOfArray(this.#data);
  }
  /** Number of elements. */
  get length(): number {
    return this.#data.length;
  }
}

/** `s` as CPU storage (throws for storage of another device). */
function asCpu(s: Storage): CpuStorage {
  if (!(s instanceof CpuStorage)) throw new Error(`expected CPU storage, got storage on device "${s.device}"`);
  return s;
}

/** The typed array behind a CPU storage (throws for storage of another device). */
export function cpuData(s: Storage): TypedArray {
  return asCpu(s).data;
}

/**
 * The typed array behind a CPU output storage that the caller will write in
 * full before reading: a freshly allocated block is not zeroed for nothing.
 */
export function cpuOut(s: Storage): TypedArray {
  return asCpu(s).overwrite();
}

const HEAP_CTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
} as const;

/** Each live heap block's owner, held weakly: a dead owner means the block can go back. */
const owners = new Map<number, WeakRef<CpuStorage>>();

/** Frees `addr` if its owner is gone (a block reused by a new, live owner is left alone). */
function reclaimIfDead(addr: number): boolean {
  const owner = owners.get(addr);
  if (!owner || owner.deref() !== undefined) return false;
  owners.delete(addr);
  heapFree(addr);
  return true;
}

const finalizer = new FinalizationRegistry<number>(reclaimIfDead);

/** Cleared by any collection: whether a scan for dead owners can find anything new. */
let collectedSinceScan = new WeakRef({});

/** Frees the blocks of every storage the collector reclaimed; returns how many. */
function reclaimDead(): number {
  if (collectedSinceScan.deref() !== undefined) return 0;
  collectedSinceScan = new WeakRef({});
  let freed = 0;
  for (const addr of [...owners.keys()]) if (reclaimIfDead(addr)) freed++;
  return freed;
}

/** New heap bytes after which the collector is told about them (see the module doc). */
export const PRESSURE_BYTES = 64 * 2 ** 20;
let unreported = 0;
/** Whether storage fell back to an ordinary array since the last {@link yieldIfHeapFull}. */
let heapFull = false;

/** New zeroed storage, in the heap where it fits, else an ordinary array. */
export function newStorage(dtype: DType, length: number): CpuStorage {
  if (length > 0) {
    const ctor = HEAP_CTORS[dtype];
    let block = heapAllocStorage<TypedArray>(ctor, length, false);
    if (!block && reclaimDead() > 0) block = heapAllocStorage<TypedArray>(ctor, length, false);
    if (block) {
      // A reused block is zeroed lazily: most outputs are overwritten whole by their kernel (see cpuOut).
      const s = new CpuStorage(block.data, block.addr, !block.fresh);
      owners.set(block.addr, new WeakRef(s));
      finalizer.register(s, block.addr);
      if (block.fresh && (unreported += length * ctor.BYTES_PER_ELEMENT) >= PRESSURE_BYTES) {
        unreported = 0;
        // Never touched, so never backed by pages; only the engine's memory accounting sees it.
        new ArrayBuffer(PRESSURE_BYTES);
      }
      return s;
    }
    heapFull = true;
  }
  return new CpuStorage(allocArray(dtype, length));
}

/**
 * Resolves at once, or, when the heap filled up since the last call, after a
 * timer turn of the event loop (so finalizers run and dead storages' blocks return).
 */
export function yieldIfHeapFull(): Promise<void> {
  if (!heapFull) return Promise.resolve();
  heapFull = false;
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Returns a storage's heap block now (refcount 0); a no-op for ordinary arrays and for storage already freed. */
export function freeStorage(s: CpuStorage): void {
  if (s.heapAddr < 0 || owners.get(s.heapAddr)?.deref() !== s) return;
  owners.delete(s.heapAddr);
  s.release();
  heapFree(s.heapAddr);
}

/**
 * A kernel's own temporary (a strided operand made contiguous): an ordinary
 * array the garbage collector takes, so a temporary nobody frees never holds
 * a heap block.
 */
export function tempStorage(dtype: DType, length: number): CpuStorage {
  return new CpuStorage(allocArray(dtype, length));
}
