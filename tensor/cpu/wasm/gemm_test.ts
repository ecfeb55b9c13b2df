import { deepStrictEqual, ok, throws } from "node:assert/strict";
import {
  gemmF32,
  gemmHeap,
  heapAddress,
  heapAlloc,
  heapAllocStorage,
  heapBytes,
  heapF32,
  heapFree,
  heapInUse,
  lastGemmThreads,
  MAX_HEAP_BYTES,
  setNumThreads,
  wasmKernelKind,
  workerChunksRun,
} from "./runtime.ts";
import { gemm, gemmTs } from "../matmul.ts";
import { buildGemmModule, PACK_A_BYTES, PACK_B_BYTES } from "./gemm_kernel.ts";
import { getCpuKernels, setCpuBlas, setCpuKernels } from "../kernels.ts";
import { workersReady } from "../wasm_test_util.ts";

// This file tests the WebAssembly SGEMM, its slicing and its threads; `../blas_test.ts` tests the native BLAS path
// (which GEMMs take by default where a BLAS loads) against it and against direct loops.
setCpuBlas(false);

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

interface Operand {
  data: Float32Array;
  off: number;
  rs: number;
  cs: number;
}

/** A rows×cols operand laid out row-major, transposed, or as a strided window inside a bigger buffer. */
function operand(rows: number, cols: number, layout: "row" | "col" | "window", seed: number): Operand {
  if (layout === "row") return { data: rand(rows * cols, seed), off: 0, rs: cols, cs: 1 };
  if (layout === "col") return { data: rand(rows * cols, seed), off: 0, rs: 1, cs: rows };
  // Every other row and column of a (2·rows+3)×(2·cols+1) buffer, starting at an offset.
  const ld = 2 * cols + 1;
  return { data: rand((2 * rows + 3) * ld, seed), off: 2 * ld + 1, rs: 2 * ld, cs: 2 };
}

/** The definition in float64: three loops. */
function reference(m: number, n: number, k: number, a: Operand, b: Operand): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.data[a.off + i * a.rs + p * a.cs] * b.data[b.off + p * b.rs + j * b.cs];
      c[i * n + j] = s;
    }
  }
  return c;
}

function assertClose(got: Float32Array, want: Float64Array, k: number, what: string): void {
  deepStrictEqual(got.length, want.length);
  // float32 accumulation of k terms of size <= 1: error grows like k·eps.
  const tol = 1e-6 * (k + 4) * 4;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol)) throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (diff ${d} > ${tol})`);
  }
}

const SIZES = [1, 3, 17, 65];
const LAYOUTS = ["row", "col", "window"] as const;

Deno.test("wasm kernel is available in Deno (relaxed SIMD or plain SIMD)", () => {
  ok(wasmKernelKind() !== "none");
  deepStrictEqual(getCpuKernels(), "wasm");
});

Deno.test("gemmF32 matches a float64 triple loop for edge sizes and strided/transposed operands", () => {
  setNumThreads(1);
  let seed = 1;
  for (const m of SIZES) {
    for (const n of SIZES) {
      for (const k of SIZES) {
        for (const la of LAYOUTS) {
          const lb = LAYOUTS[(SIZES.indexOf(m) + SIZES.indexOf(k)) % 3];
          const a = operand(m, k, la, seed++), b = operand(k, n, lb, seed++);
          const c = new Float32Array(m * n + 5).fill(NaN);
          gemmF32(m, n, k, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 2);
          assertClose(c.subarray(2, 2 + m * n), reference(m, n, k, a, b), k, `${m}x${k}·${k}x${n} ${la}/${lb}`);
          ok(Number.isNaN(c[0]) && Number.isNaN(c[1]) && Number.isNaN(c[m * n + 2]), "wrote outside its output");
        }
      }
    }
  }
});

Deno.test("gemmF32 handles blocks larger than the packing sizes (k > 256, m > 128, n > 2040) and broadcast operands", () => {
  setNumThreads(1);
  for (const [m, n, k] of [[130, 37, 600], [7, 2100, 30], [200, 50, 257]]) {
    const a = operand(m, k, "row", m), b = operand(k, n, "col", n);
    const c = new Float32Array(m * n);
    gemmF32(m, n, k, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 0);
    assertClose(c, reference(m, n, k, a, b), k, `${m}x${k}·${k}x${n}`);
  }
  // A stride-0 (expanded) B: every column equals the same vector.
  const a = operand(9, 11, "row", 5), vec = rand(11, 6);
  const b: Operand = { data: vec, off: 0, rs: 1, cs: 0 };
  const c = new Float32Array(9 * 13);
  gemmF32(9, 13, 11, a.data, 0, 11, 1, vec, 0, 1, 0, c, 0);
  assertClose(c, reference(9, 13, 11, a, b), 11, "broadcast B");
});

Deno.test("gemm dispatches float32 to wasm and agrees with the TypeScript kernel; float64 stays on TypeScript", () => {
  setNumThreads(1);
  const m = 33, n = 47, k = 70;
  const a = operand(m, k, "row", 11), b = operand(k, n, "row", 12);
  const viaWasm = new Float32Array(m * n), viaTs = new Float32Array(m * n);
  gemm(m, n, k, a.data, 0, k, 1, b.data, 0, n, 1, viaWasm, 0);
  setCpuKernels("ts");
  try {
    deepStrictEqual(getCpuKernels(), "ts");
    gemm(m, n, k, a.data, 0, k, 1, b.data, 0, n, 1, viaTs, 0);
  } finally {
    setCpuKernels("wasm");
  }
  const want = reference(m, n, k, a, b);
  assertClose(viaWasm, want, k, "wasm");
  assertClose(viaTs, want, k, "ts");
  const c64 = new Float64Array(m * n);
  gemmTs(m, n, k, Float64Array.from(a.data), 0, k, 1, Float64Array.from(b.data), 0, n, 1, c64, 0);
  for (let i = 0; i < c64.length; i++) ok(Math.abs(c64[i] - want[i]) < 1e-12);
  throws(() => setCpuKernels("gpu" as "ts"), /setCpuKernels/);
});

Deno.test("gemmHeap accumulate adds into C", () => {
  setNumThreads(1);
  const m = 10, n = 9, k = 5;
  const base = heapAlloc((m * k + k * n + m * n) * 4);
  ok(base > 0);
  const h = heapF32();
  const a = rand(m * k, 1), b = rand(k * n, 2);
  h.set(a, base / 4);
  h.set(b, base / 4 + m * k);
  const cAt = base + (m * k + k * n) * 4;
  h.fill(1, cAt / 4, cAt / 4 + m * n);
  gemmHeap(m, n, k, base, k, 1, base + m * k * 4, n, 1, cAt, n, true);
  const want = reference(m, n, k, { data: a, off: 0, rs: k, cs: 1 }, { data: b, off: 0, rs: n, cs: 1 });
  assertClose(heapF32().slice(cAt / 4, cAt / 4 + m * n), want.map((v) => v + 1), k, "accumulate");
  heapFree(base);
});

Deno.test("gemmF32 runs on heap operands in place, including views at an offset, and frees its scratch", () => {
  setNumThreads(1);
  const m = 13, n = 17, k = 19;
  const block = (len: number) => {
    const got = heapAllocStorage(Float32Array, len);
    if (!got) throw new Error("no heap");
    return got;
  };
  const a = block(m * k + 5), b = block(k * n + 3), c = block(m * n + 2);
  a.data.set(rand(m * k, 5), 5);
  b.data.set(rand(k * n, 6), 3);
  ok(heapAddress(a.data) === a.addr && heapAddress(c.data.subarray(2)) === c.addr + 8);
  ok(heapAddress(new Float32Array(4)) < 0, "an ordinary array is not in the heap");
  const inUse = heapInUse();
  ok(gemmF32(m, n, k, a.data, 5, k, 1, b.data, 3, 1, k, c.data, 2), "transposed B");
  deepStrictEqual(heapInUse(), inUse, "no scratch left allocated");
  const want = reference(m, n, k, { data: a.data, off: 5, rs: k, cs: 1 }, { data: b.data, off: 3, rs: 1, cs: k });
  assertClose(c.data.slice(2), want, k, "in place");
  deepStrictEqual(c.data[0], 0, "elements before the output offset are untouched");
  for (const block of [a, b, c]) heapFree(block.addr);
  throws(() => heapFree(a.addr), /not a live block/);
});

Deno.test("threaded gemm matches the reference and repeated calls do not grow the heap", async () => {
  setNumThreads(2);
  await workersReady();
  try {
    for (const [m, n, k] of [[150, 301, 190], [301, 150, 190], [64, 3136, 73], [6, 8, 3]]) {
      const a = operand(m, k, "row", m + 1), b = operand(k, n, "window", n + 1);
      const c = new Float32Array(m * n);
      gemmF32(m, n, k, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 0);
      assertClose(c, reference(m, n, k, a, b), k, `threaded ${m}x${k}·${k}x${n}`);
      deepStrictEqual(lastGemmThreads(), m * n * k > 1 << 20 ? 2 : 1, `threads used for ${m}x${k}·${k}x${n}`);
    }
    const m = 200, n = 200, k = 200;
    const a = rand(m * k, 3), b = rand(k * n, 4), c = new Float32Array(m * n);
    gemmF32(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0);
    const first = c.slice();
    const before = heapBytes(), chunksBefore = workerChunksRun();
    for (let i = 0; i < 50; i++) {
      c.fill(0);
      gemmF32(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0);
      // However the chunks fell between the threads, the result is the same bit for bit.
      deepStrictEqual(c, first);
    }
    deepStrictEqual(heapBytes(), before);
    ok(workerChunksRun() > chunksBefore, "the worker ran some chunks");
  } finally {
    setNumThreads(1);
  }
});

Deno.test("setNumThreads rejects bad counts", () => {
  throws(() => setNumThreads(0), /setNumThreads/);
  throws(() => setNumThreads(1.5), /setNumThreads/);
});

Deno.test("scratch too large for the WebAssembly heap is refused (gemm then runs the TypeScript kernel)", () => {
  deepStrictEqual(heapAlloc(MAX_HEAP_BYTES), -1);
  const small = heapAlloc(1024);
  ok(small > 0 && small % 64 === 0, "blocks are 64-byte aligned");
  heapFree(small);
});

Deno.test("the plain-SIMD build (the fallback without relaxed SIMD) computes the same products", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(buildGemmModule(false)), { env: { memory } });
  const gemmPlain = inst.exports.gemm as (...args: number[]) => void;
  const m = 37, n = 29, k = 300;
  const pa = 0, pb = PACK_A_BYTES, at = pb + PACK_B_BYTES, bt = at + m * k * 4, ct = bt + k * n * 4;
  memory.grow(Math.ceil((ct + m * n * 4) / 65536));
  const a = operand(m, k, "row", 21), b = operand(k, n, "col", 22);
  const h = new Float32Array(memory.buffer);
  h.set(a.data, at / 4);
  h.set(b.data, bt / 4);
  gemmPlain(m, n, k, at, a.rs, a.cs, bt, b.rs, b.cs, ct, n, pa, pb, 0);
  assertClose(new Float32Array(memory.buffer).slice(ct / 4, ct / 4 + m * n), reference(m, n, k, a, b), k, "plain SIMD");
});
