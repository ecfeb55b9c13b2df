/**
 * The allocator behind the shared WebAssembly memory (the "heap"): CPU tensor
 * storage and the kernels' per-call scratch live in it, so the WebAssembly
 * kernels run on tensors in place.
 *
 * Size classes, not a general-purpose malloc: a request is rounded up to one
 * of four sizes per power of two (at most 25% waste, 64-byte granularity, so
 * every block is 64-byte aligned for SIMD and cache lines), freed blocks go on
 * their class's free list, and a request takes a free block of its class
 * before carving a new one from the top. A training loop allocates the same
 * shapes every step, so after the first step every request is served from a
 * free list and the memory stops growing. Blocks are never split or merged:
 * that keeps alloc and free O(1) and the bookkeeping out of the memory itself.
 *
 * @module
 */

/** Smallest block (bytes); also the alignment of every block. */
export const BLOCK_ALIGN = 64;

/** The block size a request of `bytes` is rounded up to. */
export function sizeClass(bytes: number): number {
  if (bytes <= BLOCK_ALIGN) return BLOCK_ALIGN;
  // Four classes per power of two: base·(1, 1.25, 1.5, 1.75).
  const base = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = Math.max(BLOCK_ALIGN, base / 4);
  const size = base + Math.ceil((bytes - base) / step) * step;
  return Math.ceil(size / BLOCK_ALIGN) * BLOCK_ALIGN;
}

/** Grows the memory so that byte `end` is addressable; false when it may not grow that far. */
export type GrowFn = (end: number) => boolean;

/** A size-class allocator over a region `[start, limit)` of a memory that grows on demand. */
export class HeapAllocator {
  #top: number;
  readonly #free = new Map<number, number[]>();
  readonly #live = new Map<number, number>();
  #inUse = 0;

  /** `start`: the first byte the allocator owns (rounded up to {@link BLOCK_ALIGN}); `grow` makes room at the top. */
  constructor(start: number, private readonly grow: GrowFn) {
    this.#top = Math.ceil(start / BLOCK_ALIGN) * BLOCK_ALIGN;
  }

  /**
   * A block of at least `bytes` that ends at or below `limit`, or null when
   * there is none (no free block of its class below the limit, and carving one
   * from the top would pass the limit or the memory cannot grow). `fresh` in the result says
   * whether the block was never used before (so still zero, as grown memory is).
   */
  alloc(bytes: number, limit: number): { addr: number; fresh: boolean } | null {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    if (list && list.length > 0) {
      // The most recently freed block that ends within the limit (scratch may have carved past it).
      for (let i = list.length - 1; i >= 0; i--) {
        const addr = list[i];
        if (addr + size > limit) continue;
        list[i] = list[list.length - 1];
        list.pop();
        this.#live.set(addr, size);
        this.#inUse += size;
        return { addr, fresh: false };
      }
    }
    const addr = this.#top;
    if (addr + size > limit || !this.grow(addr + size)) return null;
    this.#top = addr + size;
    this.#live.set(addr, size);
    this.#inUse += size;
    return { addr, fresh: true };
  }

  /** Returns a block to its class's free list (throws for an address that is not a live block). */
  free(addr: number): void {
    const size = this.#live.get(addr);
    if (size === undefined) throw new Error(`heap free: ${addr} is not a live block (double free?)`);
    this.#live.delete(addr);
    this.#inUse -= size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(addr);
  }

  /** Bytes in live blocks. */
  get inUse(): number {
    return this.#inUse;
  }

  /** The end of the highest block ever carved (the heap never needs to be larger). */
  get top(): number {
    return this.#top;
  }

  /** Live blocks. */
  get liveBlocks(): number {
    return this.#live.size;
  }
}
