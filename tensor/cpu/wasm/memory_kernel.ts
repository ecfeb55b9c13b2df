/**
 * WebAssembly kernels: heap memory family (generator; see `ops_kernel.ts`).
 *
 * Why: `TypedArray.prototype.fill` on a view of shared memory runs several
 * times slower than on an ordinary array (the engine takes a per-element path
 * for shared buffers), and zeroing reused blocks and summing partial results
 * are on every training step's path. Exports (byte addresses, i32 unless
 * noted):
 *
 * - `mem_zero(dst, bytes)`: `memory.fill` with 0;
 * - `mem_fill_f32(dst, n, value: f32)`: `n` floats set to `value`;
 * - `mem_add_f32(dst, src, n)`: `dst[i] += src[i]` for `n` floats (4 lanes at a time; each sum rounds once, as the
 *   TypeScript `dst[i] += src[i]` does).
 *
 * @module
 */

import {
  add,
  F32,
  f32Add,
  f32Load,
  f32Store,
  f32x4Splat,
  Fn,
  forRange,
  I32,
  i32,
  memFill,
  seq,
  shl,
  sub,
  V128,
  vAdd,
  vLoad,
  vStore,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";

function zero(): Fn {
  const f = new Fn("mem_zero", [["dst", I32], ["bytes", I32]]);
  f.body = memFill(f.get("dst"), i32(0), f.get("bytes"));
  return f;
}

function fill(): Fn {
  const f = new Fn("mem_fill_f32", [["dst", I32], ["n", I32], ["value", F32]]);
  f.local(I32, "i", "end4");
  f.local(V128, "v");
  const at = (i: string) => add(f.get("dst"), shl(f.get(i), i32(2)));
  f.body = seq(
    f.set("v", f32x4Splat(f.get("value"))),
    // Whole vectors while 4 or more remain, then single floats.
    f.set("end4", sub(f.get("n"), i32(3))),
    forRange(f, "i", i32(0), f.get("end4"), i32(4), vStore(at("i"), f.get("v"))),
    forRange(f, "i", f.get("i"), f.get("n"), i32(1), f32Store(at("i"), f.get("value"))),
  );
  return f;
}

function addInto(): Fn {
  const f = new Fn("mem_add_f32", [["dst", I32], ["src", I32], ["n", I32]]);
  f.local(I32, "i", "end4", "d", "s");
  const d = () => add(f.get("dst"), shl(f.get("i"), i32(2)));
  const s = () => add(f.get("src"), shl(f.get("i"), i32(2)));
  f.body = seq(
    f.set("end4", sub(f.get("n"), i32(3))),
    forRange(f, "i", i32(0), f.get("end4"), i32(4), vStore(d(), vAdd(vLoad(d()), vLoad(s())))),
    forRange(f, "i", f.get("i"), f.get("n"), i32(1), f32Store(d(), f32Add(f32Load(d()), f32Load(s())))),
  );
  return f;
}

/** The memory kernels' functions and exports; `base` is the module index of the first function. */
export function memoryKernels(_base: number): KernelFamily {
  const fns = [zero(), fill(), addInto()];
  return { fns, exports: fns.map((f) => f.name) };
}
