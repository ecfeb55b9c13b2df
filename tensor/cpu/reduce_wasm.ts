/**
 * Sum, max and min of float32 tensors with the WebAssembly SIMD kernels of
 * `wasm/reduce_kernel.ts`, in place on storage that lives in the heap.
 *
 * {@link wasmReduce} takes what `Backend.reduce` takes: a view whose last
 * `reduceDims` dims are reduced (the ops layer permutes the reduced dims to the
 * back, so the view is strided in general). Both blocks — the kept dims and
 * the reduced dims — are first collapsed (size-1 dims dropped, dims contiguous
 * with each other merged); then one of two layouts applies:
 *
 * - runs: the reduced block is at most two dims and its last is contiguous,
 *   e.g. the rows of `[128, 256]` summed over the last dim (one run per output),
 *   or the conv-bias gradient `x.sum([0, 2, 3])` of x `[32, 32, 28, 28]`: the view is
 *   `[32 | 32, 28, 28]` with strides `[784 | 25088, 28, 1]`, whose reduced block
 *   collapses to `[32, 784]` strides `[25088, 1]` — each output sums 32 runs of
 *   784 contiguous floats;
 * - columns: the kept block's last dim is contiguous and the reduced block is
 *   at most two dims, e.g. `[N, F]` summed over N (a linear layer's bias
 *   gradient): rows are added into `F` accumulators in memory order.
 *
 * Leading kept dims that do not collapse are looped over here, one kernel call each.
 *
 * @module
 */

import type { ReduceOp, Storage, View } from "../backend.ts";
import { numel } from "../shape.ts";
import { cpuData } from "./storage.ts";
import { collapse, type Dims, forEachOffset } from "./reduce.ts";
import { heapAddress, heapAlloc, heapFree, wasmOps } from "./wasm/runtime.ts";

/** The kernel of each op and layout (`wasm/reduce_kernel.ts`). */
const KERNELS = {
  sum: { runs: "red_sum_runs", cols: "red_sum_cols" },
  max: { runs: "red_max_runs", cols: "red_max_cols" },
  min: { runs: "red_min_runs", cols: "red_min_cols" },
} as const;

/** Runs shorter than this are summed as columns when the kept block allows (fewer, longer vector loops). */
const MIN_RUN = 8;

/** The block as `[reps, n]` with strides `[repStride, stride]` (null when it has more than two dims). */
function asTwo(d: Dims): { reps: number; repStride: number; n: number; stride: number } | null {
  const k = d.shape.length;
  if (k > 2) return null;
  const n = d.shape[k - 1], stride = d.shape[k - 1] === 1 ? 1 : d.strides[k - 1];
  return k === 2 ? { reps: d.shape[0], repStride: d.strides[0], n, stride } : { reps: 1, repStride: 0, n, stride };
}

/**
 * Reduces the last `reduceDims` dims of float32 view `a` into `out` (one value
 * per leading index, row-major) with the WebAssembly kernels, as
 * `Backend.reduce` does. Handles `sum`, `max` and `min` over the layouts
 * described in this module's documentation; sums accumulate in float64 and
 * equal the TypeScript reduction to float32 rounding, max and min exactly
 * (NaN propagates; only where +0 and -0 tie for the result may its sign
 * differ from the TypeScript reduction's, which keeps the first).
 *
 * Returns false, having written nothing, when it does not apply: another op
 * (`prod`, `argmax`, `argmin`), a dtype other than float32, `a` or `out`
 * outside the WebAssembly heap, an empty tensor, an `out` shorter than the
 * kept dims, or a layout it does not handle (the caller's TypeScript path runs).
 *
 * @example
 * ```ts
 * import { wasmReduce } from "./reduce_wasm.ts";
 * import { CpuStorage } from "./storage.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const x = heapAllocStorage(Float32Array, 6), out = heapAllocStorage(Float32Array, 2);
 * if (x && out) {
 *   x.data.set([1, 2, 3, 4, 5, 6]);
 *   const rows = { storage: new CpuStorage(x.data), shape: [2, 3], strides: [3, 1], offset: 0 };
 *   wasmReduce("sum", rows, 1, new CpuStorage(out.data)); // true; out.data is [6, 15]
 * }
 * ```
 */
export function wasmReduce(op: ReduceOp, a: View, reduceDims: number, out: Storage): boolean {
  if (op !== "sum" && op !== "max" && op !== "min") return false;
  const x = cpuData(a.storage), o = cpuData(out);
  if (!(x instanceof Float32Array) || !(o instanceof Float32Array)) return false;
  const ops = wasmOps();
  const xa = heapAddress(x), oa = heapAddress(o);
  if (!ops || xa < 0 || oa < 0 || numel(a.shape) === 0) return false;
  const kept = a.shape.length - reduceDims;
  const outer = collapse(a.shape.slice(0, kept), a.strides.slice(0, kept));
  const inner = collapse(a.shape.slice(kept), a.strides.slice(kept));
  if (o.length < numel(outer.shape)) return false;
  const block = asTwo(inner);
  if (!block) return false;
  const no = outer.shape.length;
  const rows = outer.shape[no - 1], rowStride = outer.strides[no - 1];
  const leading: Dims = { shape: outer.shape.slice(0, no - 1), strides: outer.strides.slice(0, no - 1) };
  const src = xa + a.offset * 4;
  const colsFit = rowStride === 1 || rows === 1;
  const layout = block.stride === 1 && (block.n >= MIN_RUN || !colsFit) ? "runs" : colsFit ? "cols" : null;
  if (layout === null) return false;
  const { reps, repStride, n, stride } = block;
  if (layout === "runs" || op !== "sum") {
    const fn = ops[KERNELS[op][layout]];
    // runs: (src, out, rows, rowStride, reps, repStride, run); cols: (src, out, cols, reps, repStride, rows, rowStride).
    const call = layout === "runs"
      ? (at: number, i: number) => fn(src + at * 4, oa + i * rows * 4, rows, rowStride, reps, repStride, n)
      : (at: number, i: number) => fn(src + at * 4, oa + i * rows * 4, rows, reps, repStride, n, stride);
    forEachOffset(leading, 0, call);
    return true;
  }
  const acc = heapAlloc(rows * 8);
  if (acc < 0) return false;
  try {
    forEachOffset(leading, 0, (at, i) => {
      ops.red_sum_cols(src + at * 4, oa + i * rows * 4, rows, reps, repStride, n, stride, acc);
    });
  } finally {
    heapFree(acc);
  }
  return true;
}
