import { deepStrictEqual, ok } from "node:assert/strict";
import type { Conv2dGeometry } from "../backend.ts";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from "./conv.ts";
import { cpuInfo, setCpuBlas, setCpuKernels, setNumThreads } from "./kernels.ts";
import { workersReady } from "./wasm_test_util.ts";
import { heapAddress, heapAllocStorage, heapBytes, heapFree, lastGemmThreads } from "./wasm/runtime.ts";

interface Case {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  s: [number, number];
  p: [number, number];
  d: [number, number];
  groups: number;
}

function geom(c: Case): Conv2dGeometry {
  const outH = Math.floor((c.h + 2 * c.p[0] - c.d[0] * (c.kh - 1) - 1) / c.s[0]) + 1;
  const outW = Math.floor((c.w + 2 * c.p[1] - c.d[1] * (c.kw - 1) - 1) / c.s[1]) + 1;
  return {
    n: c.n,
    cIn: c.cIn,
    h: c.h,
    w: c.w,
    cOut: c.cOut,
    kh: c.kh,
    kw: c.kw,
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

function randArray(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    a[i] = s / 2147483648 - 0.5;
  }
  return a;
}

/** The definition, seven loops deep: out[b,o,y,x] = Σ_{c,i,j} x[b, g·cInG + c, y·s - p + i·d, x·s - p + j·d] · w[o,c,i,j]. */
function naive(x: Float64Array, w: Float64Array, g: Conv2dGeometry) {
  const cInG = g.cIn / g.groups, cOutG = g.cOut / g.groups;
  const out = new Float64Array(g.n * g.cOut * g.outH * g.outW);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length);
  const go = randArray(out.length, 99);
  const xi = (b: number, c: number, y: number, xx: number) => ((b * g.cIn + c) * g.h + y) * g.w + xx;
  const wi = (o: number, c: number, i: number, j: number) => ((o * cInG + c) * g.kh + i) * g.kw + j;
  for (let b = 0; b < g.n; b++) {
    for (let o = 0; o < g.cOut; o++) {
      const gr = Math.floor(o / cOutG);
      for (let y = 0; y < g.outH; y++) {
        for (let xx = 0; xx < g.outW; xx++) {
          const oi = ((b * g.cOut + o) * g.outH + y) * g.outW + xx;
          for (let c = 0; c < cInG; c++) {
            for (let i = 0; i < g.kh; i++) {
              for (let j = 0; j < g.kw; j++) {
                const iy = y * g.strideH - g.padH + i * g.dilationH;
                const ix = xx * g.strideW - g.padW + j * g.dilationW;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                const a = xi(b, gr * cInG + c, iy, ix), k = wi(o, c, i, j);
                out[oi] += x[a] * w[k];
                dx[a] += go[oi] * w[k];
                dw[k] += go[oi] * x[a];
              }
            }
          }
        }
      }
    }
  }
  return { out, dx, dw, go };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-10): void {
  deepStrictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    ok(
      Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

const CASES: Case[] = [
  { n: 2, cIn: 3, h: 7, w: 6, cOut: 4, kh: 3, kw: 3, s: [1, 1], p: [1, 1], d: [1, 1], groups: 1 },
  { n: 1, cIn: 2, h: 9, w: 8, cOut: 3, kh: 3, kw: 2, s: [2, 3], p: [1, 0], d: [1, 1], groups: 1 },
  { n: 2, cIn: 4, h: 8, w: 8, cOut: 6, kh: 3, kw: 3, s: [1, 2], p: [2, 1], d: [2, 1], groups: 2 },
  { n: 2, cIn: 4, h: 5, w: 5, cOut: 4, kh: 3, kw: 3, s: [1, 1], p: [1, 1], d: [1, 1], groups: 4 },
  { n: 3, cIn: 5, h: 4, w: 3, cOut: 7, kh: 1, kw: 1, s: [1, 1], p: [0, 0], d: [1, 1], groups: 1 },
  { n: 1, cIn: 2, h: 6, w: 6, cOut: 2, kh: 1, kw: 1, s: [2, 2], p: [1, 1], d: [1, 1], groups: 1 },
  { n: 1, cIn: 1, h: 3, w: 3, cOut: 1, kh: 5, kw: 5, s: [1, 1], p: [2, 2], d: [1, 1], groups: 1 },
];

Deno.test("conv2d CPU kernels match a naive 7-loop convolution (forward, both backward)", () => {
  for (const [ci, c] of CASES.entries()) {
    const g = geom(c);
    const x = randArray(g.n * g.cIn * g.h * g.w, 1 + ci);
    const w = randArray(g.cOut * (g.cIn / g.groups) * g.kh * g.kw, 50 + ci);
    const ref = naive(x, w, g);
    const out = new Float64Array(ref.out.length);
    conv2dForward(x, w, out, g);
    close(out, ref.out, `case ${ci} forward`);
    const dx = new Float64Array(x.length).fill(7); // kernels overwrite
    conv2dBackwardInput(ref.go, w, dx, g);
    close(dx, ref.dx, `case ${ci} dx`);
    const dw = new Float64Array(w.length).fill(7);
    conv2dBackwardWeight(ref.go, x, dw, g);
    close(dw, ref.dw, `case ${ci} dw`);
  }
});

Deno.test("conv2d CPU kernel writes float32 outputs", () => {
  const c = CASES[0];
  const g = geom(c);
  const x = Float32Array.from(randArray(g.n * g.cIn * g.h * g.w, 3));
  const w = Float32Array.from(randArray(g.cOut * g.cIn * g.kh * g.kw, 4));
  const ref = naive(Float64Array.from(x), Float64Array.from(w), g);
  const out = new Float32Array(ref.out.length);
  conv2dForward(x, w, out, g);
  close(out, ref.out, "float32 forward", 1e-6);
});

/** A copy of `a` in the WebAssembly heap. */
function inHeap(a: Float32Array): Float32Array {
  const block = heapAllocStorage(Float32Array, a.length);
  if (!block) throw new Error("no WebAssembly heap");
  block.data.set(a);
  return block.data;
}

Deno.test("float32 conv2d on the WebAssembly kernels and on the TypeScript kernels match the naive loops", async () => {
  // Cases big enough to split their batch across two threads (unevenly for n = 3), beside the edge cases above.
  const big: Case[] = [
    { n: 2, cIn: 16, h: 20, w: 20, cOut: 24, kh: 3, kw: 3, s: [1, 1], p: [1, 1], d: [1, 1], groups: 1 },
    { n: 3, cIn: 32, h: 24, w: 24, cOut: 32, kh: 3, kw: 3, s: [2, 1], p: [1, 0], d: [1, 2], groups: 2 },
    { n: 3, cIn: 64, h: 16, w: 16, cOut: 64, kh: 1, kw: 1, s: [1, 1], p: [0, 0], d: [1, 1], groups: 1 },
    // Planes of 1,024 pixels and more: the weight gradient is computed transposed (transposedWeightGrad).
    { n: 3, cIn: 8, h: 34, w: 33, cOut: 12, kh: 3, kw: 3, s: [1, 1], p: [1, 1], d: [1, 1], groups: 2 },
    // Small output planes: several images unfolded side by side per GEMM (ResNet's later stages).
    { n: 8, cIn: 48, h: 2, w: 2, cOut: 40, kh: 3, kw: 3, s: [1, 1], p: [1, 1], d: [1, 1], groups: 1 },
    { n: 7, cIn: 32, h: 8, w: 8, cOut: 48, kh: 3, kw: 3, s: [2, 2], p: [1, 1], d: [1, 1], groups: 2 },
    { n: 9, cIn: 64, h: 4, w: 4, cOut: 32, kh: 1, kw: 1, s: [1, 1], p: [0, 0], d: [1, 1], groups: 1 },
    { n: 40, cIn: 16, h: 4, w: 4, cOut: 16, kh: 1, kw: 1, s: [2, 2], p: [0, 0], d: [1, 1], groups: 1 },
  ];
  setNumThreads(2);
  await workersReady();
  // The WebAssembly SGEMM's threading (`blas_test.ts` runs these cases on the native BLAS).
  setCpuBlas(false);
  try {
    for (const kernels of ["wasm", "ts"] as const) {
      setCpuKernels(kernels);
      for (const [ci, c] of [...CASES, ...big].entries()) {
        const g = geom(c);
        const x = Float32Array.from(randArray(g.n * g.cIn * g.h * g.w, 1 + ci));
        const w = Float32Array.from(randArray(g.cOut * (g.cIn / g.groups) * g.kh * g.kw, 50 + ci));
        const ref = naive(Float64Array.from(x), Float64Array.from(w), g);
        const go = Float32Array.from(ref.go);
        const out = new Float32Array(ref.out.length);
        conv2dForward(x, w, out, g);
        close(out, ref.out, `${kernels} case ${ci} forward`, 1e-5);
        if (kernels === "wasm" && ci >= CASES.length && ci < CASES.length + 3) {
          deepStrictEqual(lastGemmThreads(), 2, `case ${ci} threads`);
        }
        const dx = new Float32Array(x.length).fill(7);
        conv2dBackwardInput(go, w, dx, g);
        close(dx, ref.dx, `${kernels} case ${ci} dx`, 1e-5);
        const dw = new Float32Array(w.length).fill(7);
        conv2dBackwardWeight(go, x, dw, g);
        close(dw, ref.dw, `${kernels} case ${ci} dw`, 1e-5);
        if (kernels === "wasm") {
          // Operands in the heap (as tensor storage is) run in place and give the same bits as copied-in ones.
          const [hx, hw, hgo, hout, hdx, hdw] = [x, w, go, out, dx, dw].map(inHeap);
          conv2dForward(hx, hw, hout, g);
          conv2dBackwardInput(hgo, hw, hdx, g);
          conv2dBackwardWeight(hgo, hx, hdw, g);
          deepStrictEqual([hout, hdx, hdw].map((a) => a.slice()), [out, dx, dw], `case ${ci} in the heap`);
          for (const a of [hx, hw, hgo, hout, hdx, hdw]) heapFree(heapAddress(a));
        }
      }
    }
  } finally {
    setCpuKernels("wasm");
    setCpuBlas(true);
    setNumThreads(1);
  }
});

Deno.test("repeated float32 conv2d steps reuse the WebAssembly heap (it does not grow)", () => {
  const g = geom({ n: 2, cIn: 3, h: 12, w: 12, cOut: 8, kh: 3, kw: 3, s: [1, 1], p: [1, 1], d: [1, 1], groups: 1 });
  const x = Float32Array.from(randArray(g.n * g.cIn * g.h * g.w, 1));
  const w = Float32Array.from(randArray(g.cOut * g.cIn * g.kh * g.kw, 2));
  const go = Float32Array.from(randArray(g.n * g.cOut * g.outH * g.outW, 3));
  const out = new Float32Array(go.length), dx = new Float32Array(x.length), dw = new Float32Array(w.length);
  const step = () => {
    conv2dForward(x, w, out, g);
    conv2dBackwardInput(go, w, dx, g);
    conv2dBackwardWeight(go, x, dw, g);
  };
  step();
  const before = heapBytes();
  for (let i = 0; i < 1000; i++) step();
  deepStrictEqual(heapBytes(), before);
});

for (
  const [label, c] of [
    ["large planes", {
      n: 5,
      cIn: 16,
      h: 20,
      w: 20,
      cOut: 16,
      kh: 3,
      kw: 3,
      s: [1, 1],
      p: [1, 1],
      d: [1, 1],
      groups: 1,
    }],
    ["small planes", {
      n: 37,
      cIn: 32,
      h: 4,
      w: 4,
      cOut: 64,
      kh: 3,
      kw: 3,
      s: [1, 1],
      p: [1, 1],
      d: [1, 1],
      groups: 1,
    }],
  ] as [string, Case][]
) {
  // On the WebAssembly SGEMM, and on the native BLAS where one loads (its GEMMs are cut at fixed places).
  const paths = cpuInfo().blas.library ? [false, true] : [false];
  for (const native of paths) {
    Deno.test(`float32 conv2d gradients are the same bit for bit on one thread and on two (${label}, ${native ? "native BLAS" : "WebAssembly"})`, async () => {
      setCpuBlas(native);
      const g = geom(c);
      const x = Float32Array.from(randArray(g.n * g.cIn * g.h * g.w, 1));
      const w = Float32Array.from(randArray(g.cOut * g.cIn * g.kh * g.kw, 2));
      const go = Float32Array.from(randArray(g.n * g.cOut * g.outH * g.outW, 3));
      const run = () => {
        const out = new Float32Array(go.length), dx = new Float32Array(x.length), dw = new Float32Array(w.length);
        conv2dForward(x, w, out, g);
        conv2dBackwardInput(go, w, dx, g);
        conv2dBackwardWeight(go, x, dw, g);
        return [out, dx, dw];
      };
      setNumThreads(1);
      const one = run();
      setNumThreads(2);
      await workersReady(native);
      try {
        const two = run();
        deepStrictEqual(lastGemmThreads(), 2);
        deepStrictEqual(two, one);
      } finally {
        setNumThreads(1);
        setCpuBlas(true);
      }
    });
  }
}
