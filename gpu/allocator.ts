/**
 * Device memory: {@link GpuStorage} (a GPUBuffer behind the tensor layer's
 * refcounted `Storage`) and {@link BufferPool}, which keeps freed buffers by
 * size class and hands them out again, so a training loop stops creating
 * buffers after its first step.
 *
 * Every dtype is stored as 4-byte words: float32 as `f32`, int32 as `i32`,
 * bool as `u32` holding 0 or 1. float64 is not supported on WebGPU.
 *
 * @module
 */

import type { DType, Storage } from "@dendrite/tensor";

/** The WGSL element type that stores each dtype. */
export type WgslType = "f32" | "i32" | "u32";

/** The WGSL type of a dtype's words; float64 is a clear error. */
export function wgslType(dtype: DType, op = "webgpu"): WgslType {
  switch (dtype) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "bool":
      return "u32";
    default:
      throw new TypeError(
        `${op}: dtype ${dtype} is not supported on WebGPU (float32, int32 and bool are); ` +
          `float64 lives on the CPU only: convert with .to("float32") first`,
      );
  }
}

/** The usage every storage buffer gets: bound to kernels, copied in and out. */
export const STORAGE_USAGE: number = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * The size class of a request: powers of two split in four steps
 * (1, 1.25, 1.5, 1.75 × 2^k), so a pooled buffer wastes at most a fifth of
 * itself; at least 256 bytes (the binding-offset alignment).
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

/** Counters reported by `memory()`. */
export interface MemoryInfo {
  /** Bytes of buffers held by live storages. */
  bytesInUse: number;
  /** Number of buffers held by live storages. */
  buffersInUse: number;
  /** Bytes of free buffers the pool keeps for reuse. */
  bytesInPool: number;
  /** Number of free buffers in the pool. */
  buffersInPool: number;
}

/**
 * Reuses freed buffers by size class. A freed buffer may still be read by
 * dispatches recorded but not yet submitted, so it waits in a pending list
 * until the batch holding it is submitted ({@link BufferPool.onSubmit});
 * after that, queue ordering makes reuse safe.
 */
export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #pending: GPUBuffer[] = [];
  #inUse = 0;
  #inUseCount = 0;
  #pooled = 0;
  #pooledCount = 0;

  /** Creates a pool for `device`; the pool keeps at most `maxPooledBytes` (then destroys). */
  constructor(readonly device: GPUDevice, readonly maxPooledBytes: number = 1 << 30) {}

  /**
   * A buffer of at least `bytes` bytes; `fresh` is true when newly created
   * (and so zeroed and not yet used), false when reused from the pool.
   */
  acquire(bytes: number, label: string): { buffer: GPUBuffer; fresh: boolean } {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    this.#inUse += size;
    this.#inUseCount++;
    if (list && list.length) {
      this.#pooled -= size;
      this.#pooledCount--;
      return { buffer: list.pop()!, fresh: false };
    }
    const max = this.device.limits.maxBufferSize;
    if (size > max) {
      this.#inUse -= size;
      this.#inUseCount--;
      throw new RangeError(`${label}: ${bytes} bytes exceed the device's maxBufferSize of ${max} bytes`);
    }
    return { buffer: this.device.createBuffer({ size, usage: STORAGE_USAGE, label }), fresh: true };
  }

  /** Returns a buffer; it becomes reusable after the current batch is submitted. */
  release(buffer: GPUBuffer): void {
    this.#inUse -= buffer.size;
    this.#inUseCount--;
    this.#pending.push(buffer);
  }

  /** Called by the command queue after each submit: pending buffers become reusable. */
  onSubmit(): void {
    for (const b of this.#pending) {
      if (this.#pooled + b.size > this.maxPooledBytes) {
        b.destroy();
        continue;
      }
      let list = this.#free.get(b.size);
      if (!list) this.#free.set(b.size, list = []);
      list.push(b);
      this.#pooled += b.size;
      this.#pooledCount++;
    }
    this.#pending = [];
  }

  /** Destroys every pooled buffer (memory held by live tensors is untouched). */
  emptyCache(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#pooled = 0;
    this.#pooledCount = 0;
  }

  /** Bytes and buffers in use and in the pool (pending buffers count as pooled). */
  memory(): MemoryInfo {
    let pendingBytes = 0;
    for (const b of this.#pending) pendingBytes += b.size;
    return {
      bytesInUse: this.#inUse,
      buffersInUse: this.#inUseCount,
      bytesInPool: this.#pooled + pendingBytes,
      buffersInPool: this.#pooledCount + this.#pending.length,
    };
  }
}

interface Held {
  buffer: GPUBuffer | null;
}

/**
 * A tensor storage on WebGPU: one pooled GPUBuffer of 4-byte words. The
 * buffer goes back to the pool when the tensor layer frees it (refcount 0)
 * or, as a safety net, when the storage object is garbage-collected.
 */
export class GpuStorage implements Storage {
  /** Always "webgpu". */
  readonly device = "webgpu";
  /** Number of tensors sharing this storage. */
  refs = 0;
  /** The version counter the tensor layer bumps on every in-place write (see `Storage.version`). */
  version = 0;
  /**
   * True while the buffer may hold stale data from the pool and the
   * contract's zero-fill is still owed; kernels that overwrite every element
   * skip the clear, everything else clears first.
   */
  needsClear: boolean;
  readonly #held: Held;
  readonly #pool: BufferPool;

  /** Wraps `buffer` holding `length` elements of `dtype`. */
  constructor(
    readonly dtype: DType,
    readonly length: number,
    buffer: GPUBuffer,
    pool: BufferPool,
    needsClear: boolean,
  ) {
    this.#held = { buffer };
    this.#pool = pool;
    this.needsClear = needsClear;
    registry.register(this, { held: this.#held, pool }, this);
  }

  /** The buffer; throws after {@link GpuStorage.release}. */
  get buffer(): GPUBuffer {
    const b = this.#held.buffer;
    if (!b) throw new Error(`webgpu: storage of ${this.length} ${this.dtype} was used after it was freed`);
    return b;
  }

  /** Whether the buffer was returned already. */
  get released(): boolean {
    return this.#held.buffer === null;
  }

  /** Bytes the elements occupy (the buffer may be larger: size classes). */
  get bytes(): number {
    return this.length * 4;
  }

  /** Returns the buffer to the pool now (idempotent). */
  release(): void {
    const b = this.#held.buffer;
    if (!b) return;
    this.#held.buffer = null;
    registry.unregister(this);
    this.#pool.release(b);
  }
}

// The safety net: a storage dropped without free() still returns its buffer.
const registry = new FinalizationRegistry<{ held: Held; pool: BufferPool }>(({ held, pool }) => {
  const b = held.buffer;
  if (!b) return;
  held.buffer = null;
  pool.release(b);
});
