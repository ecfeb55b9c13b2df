/**
 * The WebAssembly path of the CPU backend's strided `copy` for four-byte
 * elements (float32, int32) in the heap: what `contiguous()` after a
 * transpose, a slice's gradient written into its place, and a concatenation
 * run on every Transformer step. The views are collapsed; when the innermost
 * dimension is contiguous on both sides and long enough, each plane of the
 * last two dimensions is one `copy_rows` call (SIMD rows between strided
 * places) and only the outer dimensions are looped here. Anything else —
 * a cast, a strided innermost run, an operand outside the heap — returns
 * false having written nothing, and the TypeScript loop runs instead. A copy
 * moves bits, so the results equal the loop's exactly.
 *
 * @module
 */

import type { View } from "../backend.ts";
import { collapseDims } from "./strided.ts";
import { cpuData } from "./storage.ts";
import { inBounds } from "./elementwise_wasm.ts";
import { heapAddress, heapCopyRows } from "./wasm/runtime.ts";

/** Shortest innermost run worth a kernel call (below it the call costs more than the loop). */
const MIN_RUN = 8;

/** Byte address of `v`'s first element when its storage is a heap array of four-byte elements, else -1. */
function address(v: View): number {
  const d = cpuData(v.storage);
  if (d.BYTES_PER_ELEMENT !== 4 || d instanceof Uint8Array) return -1;
  const base = heapAddress(d);
  return base >= 0 && inBounds(v, d.length) ? base + v.offset * 4 : -1;
}

/**
 * Copies `src` into `dst` (same shape, same four-byte element type) through the heap's row copy; false when it does
 * not apply.
 *
 * @example
 * ```ts ignore
 * if (!wasmCopy(src, dst)) runTheTypeScriptLoop();
 * ```
 */
export function wasmCopy(src: View, dst: View): boolean {
  if (cpuData(src.storage).constructor !== cpuData(dst.storage).constructor) return false;
  const s = address(src), d = address(dst);
  if (s < 0 || d < 0) return false;
  const c = collapseDims(src.shape, [src.strides, dst.strides]);
  const rank = c.shape.length, n = c.shape[rank - 1];
  const [ss, ds] = c.strides;
  if (n < MIN_RUN || ss[rank - 1] !== 1 || ds[rank - 1] !== 1) return false;
  const rows = rank >= 2 ? c.shape[rank - 2] : 1;
  const srcRow = rank >= 2 ? ss[rank - 2] * 4 : 0, dstRow = rank >= 2 ? ds[rank - 2] * 4 : 0;
  // The outer dimensions (all but the last two), looped as an odometer.
  const outer = c.shape.slice(0, Math.max(0, rank - 2));
  const index = new Array<number>(outer.length).fill(0);
  let so = s, dO = d;
  for (;;) {
    heapCopyRows(dO, dstRow, so, srcRow, rows, n);
    let k = outer.length - 1;
    for (; k >= 0; k--) {
      index[k]++;
      so += ss[k] * 4;
      dO += ds[k] * 4;
      if (index[k] < outer[k]) break;
      so -= ss[k] * 4 * outer[k];
      dO -= ds[k] * 4 * outer[k];
      index[k] = 0;
    }
    if (k < 0) return true;
  }
}
