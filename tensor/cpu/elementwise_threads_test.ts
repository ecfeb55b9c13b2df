// GELU and its gradient over large blocks run as threaded jobs (runElementwiseJob): cut into column or row ranges
// across the workers. Each range is one call of the same kernel, so the result must equal, bit for bit, the kernel
// run over slices small enough to stay on one thread — whatever ranges the threads took.
import { deepStrictEqual, ok } from "node:assert/strict";
import type { View } from "../backend.ts";
import { contiguousStrides } from "../shape.ts";
import { CpuStorage } from "./storage.ts";
import { wasmGeluBackward, wasmUnary } from "./elementwise_wasm.ts";
import { lastGemmThreads, setNumThreads, workerChunksRun } from "./wasm/runtime.ts";
import { freeAll, heapF32, random, workersReady } from "./wasm_test_util.ts";

const view = (data: Float32Array, shape: number[], strides = contiguousStrides(shape), offset = 0): View => ({
  storage: new CpuStorage(data),
  shape,
  strides,
  offset,
});

/** Asserts `a` and `b` equal bit for bit, naming the first difference (a full diff of 300,000 floats is too big). */
function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let first = -1, count = 0;
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  ok(
    a.length === b.length && count === 0,
    `${what}: ${count} of ${a.length} differ, first at ${first}: ${a[first]} vs ${b[first]}`,
  );
}

/** `op` over `shape` computed slice by slice along the first dim (each slice far below the threading threshold). */
function bySlices(shape: number[], run: (lo: number, hi: number, out: Float32Array) => void): Float32Array {
  const [n, ...rest] = shape, per = rest.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * per);
  const step = Math.max(1, Math.floor(4096 / per));
  for (let lo = 0; lo < n; lo += step) {
    const hi = Math.min(n, lo + step), part = heapF32((hi - lo) * per);
    run(lo, hi, part);
    out.set(part, lo * per);
  }
  return out;
}

Deno.test("threaded GELU and GELU backward equal the one-thread kernel bit for bit (one long row, many rows)", async () => {
  setNumThreads(2);
  await workersReady();
  try {
    // [1, 300_001]: a single row cut into column ranges (an odd tail); [1_000, 301]: cut into row ranges.
    for (const shape of [[300_001], [1_000, 301]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = random(heapF32(n), 7, 6), g = random(heapF32(n), 9, 2);
      const chunksBefore = workerChunksRun();
      const y = heapF32(n), dx = heapF32(n);
      ok(wasmUnary("gelu", view(x, shape), new CpuStorage(y)), "gelu ran");
      deepStrictEqual(lastGemmThreads(), 2, `gelu ${shape} used both threads`);
      ok(wasmGeluBackward(view(x, shape), view(g, shape), new CpuStorage(dx)), "geluBackward ran");
      ok(workerChunksRun() > chunksBefore, `the worker ran chunks for ${shape}`);
      const rows = shape.length === 1 ? [n] : shape; // slice the single row as [n] columns of one element each
      const per = shape.length === 1 ? 1 : shape[1];
      const sliced = (fn: (lo: number, hi: number, out: Float32Array) => void) => bySlices(rows, fn);
      const wantY = sliced((lo, hi, out) => {
        const s = shape.length === 1 ? [hi - lo] : [hi - lo, per];
        ok(wasmUnary("gelu", view(x, s, contiguousStrides(s), lo * per), new CpuStorage(out)));
      });
      const wantDx = sliced((lo, hi, out) => {
        const s = shape.length === 1 ? [hi - lo] : [hi - lo, per];
        const o = lo * per;
        ok(
          wasmGeluBackward(
            view(x, s, contiguousStrides(s), o),
            view(g, s, contiguousStrides(s), o),
            new CpuStorage(out),
          ),
        );
      });
      sameBits(y, wantY, `gelu ${shape}`);
      sameBits(dx, wantDx, `geluBackward ${shape}`);
    }
  } finally {
    setNumThreads(1);
    freeAll();
  }
});
