import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { BLOCK_ALIGN, HeapAllocator, sizeClass } from "./heap.ts";

Deno.test("size classes: at least the request, 64-byte multiples, at most 25% (or 64 bytes) over", () => {
  for (const bytes of [1, 63, 64, 65, 100, 128, 129, 1000, 4096, 4097, 802816 * 4, 3 * 2 ** 20 + 7]) {
    const size = sizeClass(bytes);
    ok(size >= bytes, `${bytes} -> ${size}`);
    deepStrictEqual(size % BLOCK_ALIGN, 0);
    ok(size <= Math.max(BLOCK_ALIGN, bytes * 1.25 + BLOCK_ALIGN), `${bytes} -> ${size} wastes too much`);
  }
  // Few classes: every request in one power of two maps to one of four sizes (for sizes well above 64 bytes).
  const classes = new Set<number>();
  for (let b = 2 ** 16 + 1; b <= 2 ** 17; b += 97) classes.add(sizeClass(b));
  deepStrictEqual(classes.size, 4);
});

Deno.test("HeapAllocator reuses freed blocks of the same class, grows only from the top, and honours its limit", () => {
  const grown: number[] = [];
  const heap = new HeapAllocator(100, (end) => {
    grown.push(end);
    return end <= 1 << 20;
  });
  const a = heap.alloc(1000, 1 << 20), b = heap.alloc(1000, 1 << 20);
  ok(a && b);
  deepStrictEqual(a.addr % BLOCK_ALIGN, 0);
  ok(a.addr >= 100, "blocks start after the reserved bytes");
  ok(a.fresh && b.fresh);
  deepStrictEqual(b.addr, a.addr + sizeClass(1000));
  heap.free(a.addr);
  const c = heap.alloc(990, 1 << 20); // same class as 1000
  deepStrictEqual(c, { addr: a.addr, fresh: false });
  const top = heap.top, growCalls = grown.length;
  // A request over the limit gets null and changes nothing.
  deepStrictEqual(heap.alloc(4096, top + 100), null);
  deepStrictEqual(heap.top, top);
  // The memory refusing to grow also gives null.
  deepStrictEqual(heap.alloc(2 << 20, 1 << 30), null);
  ok(grown.length > growCalls);
  deepStrictEqual(heap.liveBlocks, 2);
  deepStrictEqual(heap.inUse, 2 * sizeClass(1000));
  heap.free(b.addr);
  // A freed block that ends past a lower limit is not handed out under that limit.
  deepStrictEqual(heap.alloc(1000, b.addr), null);
  deepStrictEqual(heap.alloc(1000, b.addr + sizeClass(1000))?.addr, b.addr);
  heap.free(b.addr);
  heap.free(c.addr);
  deepStrictEqual(heap.inUse, 0);
  throws(() => heap.free(c.addr), /not a live block/);
});
