// The native BLAS path (`blas.ts`): every GEMM shape class and the three convolution GEMMs on the native BLAS against
// the WebAssembly SGEMM and against direct float64 loops; results that do not depend on the thread count; the checks
// made before each FFI call; and the fallbacks (no --allow-ffi, no library, a library without cblas_sgemm, off), each
// in a child process, where matmul keeps working on WebAssembly and cpuInfo() says why.
//
// Where no BLAS loads, the native cases are skipped with a line saying so; CI sets DENDRITE_REQUIRE_BLAS=1 after
// installing OpenBLAS, so there they must run.
import { deepStrictEqual, ok, throws } from "node:assert/strict";
import type { Conv2dGeometry } from "../backend.ts";
import { BLAS_MIN_MACS, blasCandidates, blasGemmAt, blasLayout, blasSelfTest, envVar, openBlas } from "./blas.ts";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from "./conv.ts";
import { cpuInfo, setCpuBlas, setNumThreads } from "./kernels.ts";
import { workersReady } from "./wasm_test_util.ts";
import { gemmF32, gemmHeap, heapAllocStorage, heapFree, lastGemmThreads, setBlasMinMacs } from "./wasm/runtime.ts";
import { CTRL_BYTES } from "./wasm/protocol.ts";

const info = cpuInfo();
const native = info.gemm === "blas";
// Every product through the library, the small ones too (by default products under BLAS_MIN_MACS run WebAssembly).
setBlasMinMacs(0);
if (!native) {
  if (envVar("DENDRITE_REQUIRE_BLAS") === "1") {
    throw new Error(`DENDRITE_REQUIRE_BLAS=1 but no native BLAS loaded: ${info.blas.reason}`);
  }
  console.error(`!!! no native BLAS here (${info.blas.reason}): the native cases are skipped !!!`);
}

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

type Layout = "row" | "col" | "padded" | "paddedT" | "window" | "broadcast";

/**
 * A rows×cols operand: row-major, transposed (column-major), rows or columns padded wider than they are (a
 * leading dimension larger than the matrix, as a narrowed view has), every other element of a bigger buffer (no
 * unit stride: the BLAS cannot read it), or one row broadcast down the rows (stride 0).
 */
function operand(rows: number, cols: number, layout: Layout, seed: number): Operand {
  switch (layout) {
    case "row":
      return { data: rand(rows * cols, seed), off: 0, rs: cols, cs: 1 };
    case "col":
      return { data: rand(rows * cols, seed), off: 0, rs: 1, cs: rows };
    case "padded":
      return { data: rand(rows * (cols + 3) + 2, seed), off: 2, rs: cols + 3, cs: 1 };
    case "paddedT":
      return { data: rand(cols * (rows + 5) + 1, seed), off: 1, rs: 1, cs: rows + 5 };
    case "window": {
      const ld = 2 * cols + 1;
      return { data: rand((2 * rows + 3) * ld, seed), off: 2 * ld + 1, rs: 2 * ld, cs: 2 };
    }
    case "broadcast":
      return { data: rand(cols, seed), off: 0, rs: 0, cs: 1 };
  }
}

/** The product in float64, three loops. */
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

/** Float32 sums of k terms of size <= 1 (or results compared with each other): error grows like k·eps. */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, k: number, what: string): void {
  deepStrictEqual(got.length, want.length, `${what}: length`);
  const tol = 1e-6 * (k + 4) * 4;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol)) throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (diff ${d} > ${tol})`);
  }
}

/** `gemmF32` on the native BLAS (`on`) or the WebAssembly SGEMM, into a fresh array (NaN around it, to catch strays). */
function product(on: boolean, m: number, n: number, k: number, a: Operand, b: Operand): Float32Array {
  setCpuBlas(on);
  try {
    const c = new Float32Array(m * n + 4).fill(NaN);
    gemmF32(m, n, k, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, c, 2);
    ok(Number.isNaN(c[0]) && Number.isNaN(c[1]) && Number.isNaN(c[m * n + 2]), "wrote outside its output");
    return c.subarray(2, 2 + m * n);
  } finally {
    setCpuBlas(true);
  }
}

// Shape classes: tiny, a row, a column, an outer product, tall and thin, short and wide, inner dimension longer than
// both, block edges, and products large enough to be cut into slices for threads.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 5],
  [29, 1, 7],
  [13, 11, 1],
  [2000, 3, 5],
  [2, 3000, 7],
  [3, 4, 900],
  [17, 33, 65],
  [130, 260, 70],
  [300, 140, 90],
];
const PAIRS: [Layout, Layout][] = [
  ["row", "row"],
  ["row", "col"],
  ["col", "row"],
  ["col", "col"],
  ["padded", "paddedT"],
  ["paddedT", "padded"],
  ["window", "row"],
  ["row", "broadcast"],
];

Deno.test({
  name: "native GEMM: every shape class and layout equals the WebAssembly SGEMM and a float64 loop",
  ignore: !native,
  fn: () => {
    let seed = 1;
    for (const [m, n, k] of SHAPES) {
      for (const [la, lb] of PAIRS) {
        const a = operand(m, k, la, seed++), b = operand(k, n, lb, seed++);
        const want = reference(m, n, k, a, b);
        const blas = product(true, m, n, k, a, b), wasm = product(false, m, n, k, a, b);
        const what = `${m}x${k}·${k}x${n} ${la}/${lb}`;
        assertClose(blas, want, k, `native ${what}`);
        assertClose(wasm, want, k, `wasm ${what}`);
        assertClose(blas, wasm, k, `native vs wasm ${what}`);
      }
    }
  },
});

Deno.test({
  name: "native GEMM: k = 0 writes zeros, accumulate adds into C, and operands in the heap are read in place",
  ignore: !native,
  fn: () => {
    const a = operand(4, 0, "row", 1), b = operand(0, 6, "row", 2);
    deepStrictEqual([...product(true, 4, 6, 0, a, b)], new Array(24).fill(0));
    // gemmHeap straight on heap blocks: C += A·B over a C that holds ones.
    const m = 70, n = 90, k = 50;
    const blocks = [m * k, k * n, m * n].map((len) => heapAllocStorage(Float32Array, len)!);
    try {
      const [ha, hb, hc] = blocks;
      ha.data.set(rand(m * k, 3));
      hb.data.set(rand(k * n, 4));
      hc.data.fill(1);
      gemmHeap(m, n, k, ha.addr, k, 1, hb.addr, n, 1, hc.addr, n, true);
      const want = reference(m, n, k, { data: ha.data, off: 0, rs: k, cs: 1 }, { data: hb.data, off: 0, rs: n, cs: 1 });
      assertClose(hc.data, want.map((v) => v + 1), k, "accumulate");
    } finally {
      for (const b of blocks) heapFree(b.addr);
    }
  },
});

Deno.test({
  name: "native GEMM: products under BLAS_MIN_MACS run the WebAssembly SGEMM (the same bits), larger ones the library",
  ignore: !native,
  fn: () => {
    setBlasMinMacs(BLAS_MIN_MACS);
    try {
      const small = 30, large = 40; // 27,000 and 64,000 multiply-adds
      for (const [size, viaWasm] of [[small, true], [large, false]] as const) {
        const a = operand(size, size, "row", size), b = operand(size, size, "col", size + 1);
        const blas = product(true, size, size, size, a, b), wasm = product(false, size, size, size, a, b);
        deepStrictEqual(
          blas.every((v, i) => v === wasm[i]),
          viaWasm,
          `${size}³ on ${viaWasm ? "WebAssembly" : "the BLAS"}`,
        );
      }
    } finally {
      setBlasMinMacs(0);
    }
  },
});

Deno.test({
  name: "native GEMM: the same bits on one thread and on two (fixed slices), and the workers take slices",
  ignore: !native,
  fn: async () => {
    const m = 256, n = 384, k = 200;
    const a = operand(m, k, "row", 5), b = operand(k, n, "col", 6);
    setNumThreads(1);
    const one = product(true, m, n, k, a, b).slice();
    setNumThreads(2);
    await workersReady(native);
    try {
      const two = product(true, m, n, k, a, b).slice();
      deepStrictEqual(lastGemmThreads(), 2, "the product was split across a worker");
      deepStrictEqual(two, one);
      assertClose(two, reference(m, n, k, a, b), k, "threaded");
    } finally {
      setNumThreads(1);
    }
  },
});

Deno.test("a chunk that fails on a worker thread ends the job and is reported on the caller, which keeps working", async () => {
  setNumThreads(2);
  await workersReady(native);
  try {
    for (const on of native ? [true, false] : [false]) {
      setCpuBlas(on);
      const m = 256, n = 384, k = 200;
      const blocks = [m * k, k * n, m * n].map((len) => heapAllocStorage(Float32Array, len)!);
      try {
        const [a, b, c] = blocks;
        // B's address lies past the end of the heap: every slice fails, on whichever thread claims it.
        const beyond = 2 ** 31 - 2 ** 20;
        throws(
          () => gemmHeap(m, n, k, a.addr, k, 1, beyond, n, 1, c.addr, n, false),
          // The caller's own error when it ran a failing slice, else the report that a worker's did.
          on
            ? /operand B .* outside the heap|a chunk of a threaded CPU kernel failed/
            : /out of bounds|a chunk of a threaded CPU kernel failed/,
          `${on ? "native" : "WebAssembly"} path`,
        );
        a.data.fill(1);
        b.data.fill(2);
        gemmHeap(m, n, k, a.addr, k, 1, b.addr, n, 1, c.addr, n, false);
        deepStrictEqual(c.data.every((v) => v === 2 * k), true, "the next product is right");
        deepStrictEqual(lastGemmThreads(), 2);
      } finally {
        for (const blk of blocks) heapFree(blk.addr);
      }
    }
  } finally {
    setCpuBlas(true);
    setNumThreads(1);
  }
});

interface ConvCase {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  groups: number;
}

function geom(c: ConvCase): Conv2dGeometry {
  const outH = Math.floor((c.h + 2 * c.p[0] - c.d[0] * (c.k[0] - 1) - 1) / c.s[0]) + 1;
  const outW = Math.floor((c.w + 2 * c.p[1] - c.d[1] * (c.k[1] - 1) - 1) / c.s[1]) + 1;
  return {
    n: c.n,
    cIn: c.cIn,
    h: c.h,
    w: c.w,
    cOut: c.cOut,
    kh: c.k[0],
    kw: c.k[1],
    strideH: c.s[0],
    strideW: c.s[1],
    padH: c.p[0],
    padW: c.p[1],
    dilationH: c.d[0],
    dilationW: c.d[1],
    groups: c.groups,
    outH,
    outW,
  };
}

/** The three convolution results as direct float64 loops: y, dx, dw (for a given upstream gradient go). */
function convReference(x: Float32Array, w: Float32Array, go: Float32Array, g: Conv2dGeometry) {
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const y = new Float64Array(go.length), dx = new Float64Array(x.length), dw = new Float64Array(w.length);
  for (let b = 0; b < g.n; b++) {
    for (let o = 0; o < g.cOut; o++) {
      const gr = Math.floor(o / cOutG);
      for (let oy = 0; oy < g.outH; oy++) {
        for (let ox = 0; ox < g.outW; ox++) {
          const yi = ((b * g.cOut + o) * g.outH + oy) * g.outW + ox;
          for (let c = 0; c < cInG; c++) {
            for (let i = 0; i < g.kh; i++) {
              const iy = oy * g.strideH - g.padH + i * g.dilationH;
              if (iy < 0 || iy >= g.h) continue;
              for (let j = 0; j < g.kw; j++) {
                const ix = ox * g.strideW - g.padW + j * g.dilationW;
                if (ix < 0 || ix >= g.w) continue;
                const xi = ((b * g.cIn + gr * cInG + c) * g.h + iy) * g.w + ix;
                const wi = ((o * cInG + c) * g.kh + i) * g.kw + j;
                y[yi] += x[xi] * w[wi];
                dx[xi] += go[yi] * w[wi];
                dw[wi] += go[yi] * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { y, dx, dw };
}

const CONV_CASES: ConvCase[] = [
  // 3×3, padding 1, one image per GEMM, split across threads by image.
  { n: 3, cIn: 16, h: 20, w: 20, cOut: 24, k: [3, 3], s: [1, 1], p: [1, 1], d: [1, 1], groups: 1 },
  // Stride, dilation, groups, unequal padding.
  { n: 2, cIn: 8, h: 13, w: 11, cOut: 12, k: [3, 2], s: [2, 1], p: [1, 0], d: [1, 2], groups: 2 },
  // Pointwise: read in place without unfolding.
  { n: 3, cIn: 32, h: 9, w: 9, cOut: 16, k: [1, 1], s: [1, 1], p: [0, 0], d: [1, 1], groups: 1 },
  // Small planes: several images side by side per GEMM; weight gradient over many image chunks.
  { n: 11, cIn: 24, h: 4, w: 4, cOut: 40, k: [3, 3], s: [1, 1], p: [1, 1], d: [1, 1], groups: 1 },
  { n: 9, cIn: 16, h: 8, w: 8, cOut: 16, k: [3, 3], s: [2, 2], p: [1, 1], d: [1, 1], groups: 4 },
  // Planes of 1,024 pixels and more (where the WebAssembly path computes the weight gradient transposed).
  { n: 2, cIn: 4, h: 34, w: 33, cOut: 8, k: [3, 3], s: [1, 1], p: [1, 1], d: [1, 1], groups: 1 },
  // A single output pixel and a single input channel.
  { n: 2, cIn: 1, h: 3, w: 3, cOut: 5, k: [3, 3], s: [1, 1], p: [0, 0], d: [1, 1], groups: 1 },
];

Deno.test({
  name: "native conv2d: forward and both backward kernels equal the WebAssembly SGEMM and direct loops",
  ignore: !native,
  fn: async () => {
    setNumThreads(2);
    await workersReady(native);
    try {
      for (const [ci, c] of CONV_CASES.entries()) {
        const g = geom(c);
        const x = rand(g.n * g.cIn * g.h * g.w, 10 + ci);
        const w = rand(g.cOut * (g.cIn / g.groups) * g.kh * g.kw, 20 + ci);
        const go = rand(g.n * g.cOut * g.outH * g.outW, 30 + ci);
        const ref = convReference(x, w, go, g);
        const run = (on: boolean) => {
          setCpuBlas(on);
          const y = new Float32Array(go.length), dx = new Float32Array(x.length).fill(7);
          const dw = new Float32Array(w.length).fill(7);
          conv2dForward(x, w, y, g);
          conv2dBackwardInput(go, w, dx, g);
          conv2dBackwardWeight(go, x, dw, g);
          setCpuBlas(true);
          return { y, dx, dw };
        };
        const blas = run(true), wasm = run(false);
        const kY = (g.cIn / g.groups) * g.kh * g.kw, kDx = (g.cOut / g.groups) * g.kh * g.kw;
        const kDw = g.n * g.outH * g.outW;
        for (const [name, kk] of [["y", kY], ["dx", kDx], ["dw", kDw]] as const) {
          assertClose(blas[name], ref[name], kk, `case ${ci} native ${name}`);
          assertClose(blas[name], wasm[name], kk, `case ${ci} native vs wasm ${name}`);
        }
      }
    } finally {
      setNumThreads(1);
      setCpuBlas(true);
    }
  },
});

Deno.test("blasLayout: which strided operands cblas_sgemm can read, and with what leading dimension", () => {
  const NO = 111, T = 112;
  deepStrictEqual(blasLayout(3, 4, 4, 1), [NO, 4]);
  deepStrictEqual(blasLayout(3, 4, 9, 1), [NO, 9]);
  deepStrictEqual(blasLayout(3, 4, 1, 3), [T, 3]);
  deepStrictEqual(blasLayout(3, 4, 1, 8), [T, 8]);
  // A size-1 dimension's stride does not matter.
  deepStrictEqual(blasLayout(1, 4, 0, 1), [NO, 4]);
  deepStrictEqual(blasLayout(3, 1, 5, 0), [NO, 5]);
  deepStrictEqual(blasLayout(1, 1, 0, 0), [NO, 1]);
  // Overlapping rows (a broadcast), no unit stride, or rows closer than their length: not readable.
  deepStrictEqual(blasLayout(3, 4, 0, 1), null);
  deepStrictEqual(blasLayout(3, 4, 8, 2), null);
  deepStrictEqual(blasLayout(3, 4, 2, 1), null);
  deepStrictEqual(blasLayout(3, 4, 1, 2), null);
});

Deno.test("blasSelfTest refuses a GEMM whose answers are wrong (what a wrong ABI gives)", () => {
  const floats = new Float32Array(512);
  // A "library" that ignores beta (always overwrites) and one that swaps A's transpose flag.
  const ignoresBeta = (
    m: number,
    n: number,
    k: number,
    a: number,
    ars: number,
    acs: number,
    b: number,
    brs: number,
    bcs: number,
    c: number,
    ldc: number,
  ) => {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += floats[a / 4 + i * ars + p * acs] * floats[b / 4 + p * brs + j * bcs];
        floats[c / 4 + i * ldc + j] = s;
      }
    }
  };
  deepStrictEqual(blasSelfTest(ignoresBeta, floats, 0), false);
  const right = (
    m: number,
    n: number,
    k: number,
    a: number,
    ars: number,
    acs: number,
    b: number,
    brs: number,
    bcs: number,
    c: number,
    ldc: number,
    _pa: number,
    _pb: number,
    acc: number,
  ) => {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = acc ? floats[c / 4 + i * ldc + j] : 0;
        for (let p = 0; p < k; p++) s += floats[a / 4 + i * ars + p * acs] * floats[b / 4 + p * brs + j * bcs];
        floats[c / 4 + i * ldc + j] = s;
      }
    }
  };
  deepStrictEqual(blasSelfTest(right, floats, 0), true, "the check itself accepts a correct GEMM");
  const swapsA: typeof right = (m, n, k, a, ars, acs, ...rest) => right(m, n, k, a, acs, ars, ...rest);
  deepStrictEqual(blasSelfTest(swapsA, floats, 0), false);
});

Deno.test({
  name: "native GEMM: an operand outside the heap is refused before the call, never passed to the library",
  ignore: !native,
  fn: () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const lib = openBlas(info.blas.library!);
    const fallback = () => {
      throw new Error("fallback");
    };
    const gemm = blasGemmAt(lib, memory, () => memory.buffer.byteLength, CTRL_BYTES, fallback, () => 0);
    const size = memory.buffer.byteLength;
    // In range: fine.
    new Float32Array(memory.buffer).fill(1);
    gemm(4, 4, 4, CTRL_BYTES, 4, 1, CTRL_BYTES + 64, 4, 1, CTRL_BYTES + 128, 4, 0, 0, 0);
    deepStrictEqual(new Float32Array(memory.buffer, CTRL_BYTES + 128, 4)[0], 4);
    // C's last row past the end, A inside the control block, a misaligned B, a leading dimension reaching past the end.
    throws(() => gemm(4, 4, 4, CTRL_BYTES, 4, 1, CTRL_BYTES, 4, 1, size - 32, 4, 0, 0, 0), /operand C .* outside/);
    throws(() => gemm(4, 4, 4, 0, 4, 1, CTRL_BYTES, 4, 1, CTRL_BYTES, 4, 0, 0, 0), /operand A .* outside/);
    throws(() => gemm(4, 4, 4, CTRL_BYTES, 4, 1, CTRL_BYTES + 2, 4, 1, CTRL_BYTES, 4, 0, 0, 0), /operand B/);
    throws(() => gemm(4, 4, 4, CTRL_BYTES, size / 4, 1, CTRL_BYTES, 4, 1, CTRL_BYTES, 4, 0, 0, 0), /operand A/);
    // A layout the library cannot read goes to the fallback.
    throws(() => gemm(4, 4, 4, CTRL_BYTES, 8, 2, CTRL_BYTES, 4, 1, CTRL_BYTES + 256, 4, 0, 0, 0), /fallback/);
  },
});

Deno.test({
  name: "native sgemm itself (no size floor): tiny products in every transpose equal a direct loop",
  ignore: !native,
  fn: () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const refuse = () => {
      throw new Error("fell back");
    };
    const gemm = blasGemmAt(
      openBlas(info.blas.library!),
      memory,
      () => memory.buffer.byteLength,
      CTRL_BYTES,
      refuse,
      () => 0,
    );
    const f = new Float32Array(memory.buffer);
    const A = CTRL_BYTES, B = A + 1024, C = B + 1024;
    for (const [m, n, k] of [[1, 1, 1], [1, 5, 3], [4, 1, 2], [3, 4, 1], [2, 3, 4], [7, 5, 6]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          // Small integers: exact sums.
          for (let i = 0; i < 256; i++) f[A / 4 + i] = (i % 7) - 3, f[B / 4 + i] = (i % 5) - 2;
          const [ars, acs] = ta ? [1, m] : [k, 1], [brs, bcs] = tb ? [1, k] : [n, 1];
          gemm(m, n, k, A, ars, acs, B, brs, bcs, C, n, 0, 0, 0);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let want = 0;
              for (let p = 0; p < k; p++) want += f[A / 4 + i * ars + p * acs] * f[B / 4 + p * brs + j * bcs];
              deepStrictEqual(
                f[C / 4 + i * n + j],
                want,
                `${m}x${n}x${k} ${ta ? "T" : "N"}${tb ? "T" : "N"} [${i},${j}]`,
              );
            }
          }
        }
      }
    }
  },
});

Deno.test("blasCandidates: OpenBLAS on Linux, Accelerate on macOS, OpenBLAS on Windows", () => {
  ok(blasCandidates("linux").includes("libopenblas.so.0"));
  ok(blasCandidates("darwin")[0].includes("Accelerate.framework"));
  ok(blasCandidates("windows")[0].endsWith(".dll"));
});

// ---- fallbacks, each in its own process (the library is looked for once per process) ----

const kernelsUrl = new URL("./kernels.ts", import.meta.url).href;
const runtimeUrl = new URL("./wasm/runtime.ts", import.meta.url).href;
const childScript = `
import { cpuInfo } from ${JSON.stringify(kernelsUrl)};
import { gemmF32 } from ${JSON.stringify(runtimeUrl)};
const a = Float32Array.from([1, 2, 3, 4, 5, 6]), b = Float32Array.from([1, 0, -1, 2, 0.5, 1]), c = new Float32Array(4);
gemmF32(2, 2, 3, a, 0, 3, 1, b, 0, 2, 1, c, 0);
console.log(JSON.stringify({ info: cpuInfo(), c: [...c] }));
`;
// [[1,2,3],[4,5,6]] · [[1,0],[-1,2],[0.5,1]]
const PRODUCT = [0.5, 7, 2, 16];

async function child(args: string[], env: Record<string, string> = {}) {
  // `deno run` on a file (`deno eval` grants every permission whatever it is told).
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, childScript);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args, file],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(file);
  const stderr = new TextDecoder().decode(out.stderr);
  deepStrictEqual(out.code, 0, `child failed: ${stderr}`);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { ...r, stderr } as { info: ReturnType<typeof cpuInfo>; c: number[]; stderr: string };
}

Deno.test("without the native path, GEMMs run on WebAssembly and cpuInfo says why (no permission, no library, off)", async () => {
  const linux = Deno.build.os === "linux";
  const [bare, noFfi, missing, noSymbol, off, debug] = await Promise.all([
    // No permission at all.
    child([]),
    // Everything a user might grant but FFI (read: the worker threads start; env: DENDRITE_* are read).
    child(["--allow-read", "--allow-env"]),
    child(["-A"], { DENDRITE_BLAS: "/nonexistent/libnothing.so" }),
    linux ? child(["-A"], { DENDRITE_BLAS: "libm.so.6" }) : null,
    child(["-A"], { DENDRITE_BLAS: "off" }),
    child(["-A"], { DENDRITE_BLAS_DEBUG: "1" }),
  ]);
  for (const r of [bare, noFfi, missing, noSymbol, off]) {
    if (!r) continue;
    deepStrictEqual(r.c, PRODUCT);
    deepStrictEqual(r.info.gemm, "wasm");
    deepStrictEqual(r.info.blas.library, null);
    deepStrictEqual(r.stderr.trim(), "", "the fallback is silent unless asked");
  }
  deepStrictEqual(bare.info.blas.reason, "no FFI permission (run with --allow-ffi)");
  deepStrictEqual(noFfi.info.blas.reason, "no FFI permission (run with --allow-ffi)");
  ok(/nonexistent\/libnothing\.so/.test(missing.info.blas.reason), missing.info.blas.reason);
  if (noSymbol) ok(/cblas_sgemm/.test(noSymbol.info.blas.reason), noSymbol.info.blas.reason);
  deepStrictEqual(off.info.blas.reason, "DENDRITE_BLAS=off");
  // The debug line names what was chosen (a library, or why none).
  deepStrictEqual(debug.c, PRODUCT);
  ok(/^dendrite: (float32 GEMMs on|no native BLAS)/.test(debug.stderr.trim()), debug.stderr);
  if (native) deepStrictEqual(debug.info.gemm, "blas");
});
