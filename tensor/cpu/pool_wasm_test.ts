import { deepStrictEqual, ok } from "node:assert/strict";
import type { Pool2dGeometry } from "../backend.ts";
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from "./pool.ts";
import { wasmAvgPool2d, wasmAvgPool2dBackward, wasmMaxPool2d, wasmMaxPool2dBackward } from "./pool_wasm.ts";
import { wasmOps } from "./wasm/runtime.ts";
import { freeAll, heapArray, heapF32 } from "./wasm_test_util.ts";

const hasWasm = wasmOps() !== null;

// ---- helpers -------------------------------------------------------------------------

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shape {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh?: number;
  dw?: number;
  ceil?: boolean;
  countIncludePad?: boolean;
}

/** Output size along one axis, PyTorch's rule (in ceil mode the last window must start before the right padding). */
function outSize(n: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = n + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}

function geometry(s: Shape): Pool2dGeometry {
  const dh = s.dh ?? 1, dw = s.dw ?? 1, ceil = s.ceil ?? false;
  return {
    n: s.n,
    c: s.c,
    h: s.h,
    w: s.w,
    kh: s.kh,
    kw: s.kw,
    strideH: s.sh,
    strideW: s.sw,
    padH: s.ph,
    padW: s.pw,
    dilationH: dh,
    dilationW: dw,
    outH: outSize(s.h, s.kh, s.sh, s.ph, dh, ceil),
    outW: outSize(s.w, s.kw, s.sw, s.pw, dw, ceil),
    countIncludePad: s.countIncludePad ?? true,
  };
}

/** Small integers (ties everywhere), some −0, ±∞ and NaN. */
function fillData(a: Float32Array, r: () => number, special = true): void {
  for (let i = 0; i < a.length; i++) {
    const u = r();
    if (special && u < 0.02) a[i] = NaN;
    else if (special && u < 0.04) a[i] = -Infinity;
    else if (special && u < 0.05) a[i] = Infinity;
    else if (special && u < 0.08) a[i] = -0;
    else a[i] = Math.floor(r() * 7) - 3;
  }
}

/** Elementwise identity, −0 and NaN included. */
function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  deepStrictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

// ---- direct reference loops (float64) -----------------------------------------------

/**
 * Max pooling by definition: the window's in-bounds taps in row-major
 * order; the first NaN if there is one, else the first tap equal to the
 * largest value (−0 and +0 equal); −∞ and index −1 for a window with no tap.
 */
function refMax(x: ArrayLike<number>, g: Pool2dGeometry): { out: number[]; idx: number[] } {
  const out: number[] = [], idx: number[] = [];
  for (let p = 0; p < g.n * g.c; p++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        const taps: number[] = [];
        for (let ki = 0; ki < g.kh; ki++) {
          for (let kj = 0; kj < g.kw; kj++) {
            const ih = oh * g.strideH - g.padH + ki * g.dilationH, iw = ow * g.strideW - g.padW + kj * g.dilationW;
            if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) taps.push(ih * g.w + iw);
          }
        }
        const v = (at: number) => x[p * g.h * g.w + at];
        let at = taps.find((t) => Number.isNaN(v(t)));
        if (at === undefined && taps.length > 0) {
          const m = Math.max(...taps.map(v));
          at = taps.find((t) => v(t) === m);
        }
        out.push(at === undefined ? -Infinity : v(at));
        idx.push(at ?? -1);
      }
    }
  }
  return { out, idx };
}

/** Adds `go[o]` at `base + idx[o]` for indices that land inside `dx` (typed-array writes past the end are lost). */
function refMaxBackward(go: ArrayLike<number>, idx: ArrayLike<number>, dx: number[], g: Pool2dGeometry): void {
  const P = g.outH * g.outW, plane = g.h * g.w;
  for (let o = 0; o < g.n * g.c * P; o++) {
    const at = Math.floor(o / P) * plane + idx[o];
    if (idx[o] >= 0 && at < dx.length) dx[at] = Math.fround(dx[at] + go[o]);
  }
}

/** The window of output (oh, ow) clipped to the input, and its divisor (padded or clipped cell count). */
function avgWin(g: Pool2dGeometry, oh: number, ow: number) {
  const axis = (o: number, s: number, k: number, p: number, n: number) => {
    const lo = o * s - p, hi = Math.min(lo + k, n + p);
    const clo = Math.max(lo, 0), chi = Math.min(hi, n);
    return { lo: clo, hi: chi, count: g.countIncludePad ? hi - lo : chi - clo };
  };
  const r = axis(oh, g.strideH, g.kh, g.padH, g.h), c = axis(ow, g.strideW, g.kw, g.padW, g.w);
  return { r, c, div: r.count * c.count };
}

function refAvg(x: ArrayLike<number>, g: Pool2dGeometry): number[] {
  const out: number[] = [];
  for (let p = 0; p < g.n * g.c; p++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        const { r, c, div } = avgWin(g, oh, ow);
        let s = 0;
        for (let ih = r.lo; ih < r.hi; ih++) for (let iw = c.lo; iw < c.hi; iw++) s += x[p * g.h * g.w + ih * g.w + iw];
        out.push(Math.fround(div > 0 ? s / div : 0));
      }
    }
  }
  return out;
}

/** Each output's share go/div (float64) added to its cells, each sum rounded to float32, windows in order. */
function refAvgBackward(go: ArrayLike<number>, dx: number[], g: Pool2dGeometry): void {
  for (let p = 0; p < g.n * g.c; p++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        const { r, c, div } = avgWin(g, oh, ow);
        if (div <= 0) continue;
        const v = go[(p * g.outH + oh) * g.outW + ow] / div;
        for (let ih = r.lo; ih < r.hi; ih++) {
          for (let iw = c.lo; iw < c.hi; iw++) {
            const at = p * g.h * g.w + ih * g.w + iw;
            dx[at] = Math.fround(dx[at] + v);
          }
        }
      }
    }
  }
}

// ---- the cases -------------------------------------------------------------------------

const windows: Omit<Shape, "n" | "c" | "h" | "w">[] = [
  { kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 },
  { kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 },
  { kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1 },
  { kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, dh: 2, dw: 2 },
  { kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0, dh: 2, dw: 2 },
  { kh: 2, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0 },
  { kh: 3, kw: 3, sh: 3, sw: 3, ph: 0, pw: 0 },
  { kh: 5, kw: 4, sh: 2, sw: 2, ph: 2, pw: 2 },
  { kh: 2, kw: 3, sh: 1, sw: 2, ph: 1, pw: 0 },
  { kh: 3, kw: 2, sh: 2, sw: 1, ph: 0, pw: 1 },
  // 2 wide at stride 2 (the vector average backward) with overlapping rows and a divisor of 6.
  { kh: 3, kw: 2, sh: 1, sw: 2, ph: 1, pw: 0 },
  { kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0 },
  { kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, ceil: true },
  { kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, ceil: true },
  { kh: 3, kw: 3, sh: 2, sw: 2, ph: 0, pw: 0, ceil: true },
  // Windows of padding only (index −1, divisor of padded cells).
  { kh: 1, kw: 1, sh: 1, sw: 1, ph: 1, pw: 1 },
  { kh: 2, kw: 2, sh: 2, sw: 2, ph: 1, pw: 1 },
];

const sizes: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 1, 2, 2],
  [1, 1, 7, 9],
  [2, 3, 9, 7],
  [1, 2, 28, 28],
  [2, 1, 14, 14],
  [1, 1, 5, 17],
  [1, 2, 8, 33],
  [1, 1, 3, 64],
  [1, 1, 16, 35],
];

function cases(): Pool2dGeometry[] {
  const out: Pool2dGeometry[] = [];
  for (const [n, c, h, w] of sizes) {
    for (const win of windows) {
      for (const countIncludePad of [true, false]) {
        const g = geometry({ n, c, h, w, ...win, countIncludePad });
        if (g.outH > 0 && g.outW > 0) out.push(g);
      }
    }
  }
  return out;
}

function label(g: Pool2dGeometry): string {
  return `[${g.n},${g.c},${g.h},${g.w}] k${g.kh}x${g.kw} s${g.strideH},${g.strideW} p${g.padH},${g.padW} ` +
    `d${g.dilationH},${g.dilationW} out${g.outH}x${g.outW} cip=${g.countIncludePad}`;
}

Deno.test({
  name: "wasm maxPool2d: values and indices equal the definition and pool.ts (ties, NaN, ±∞, −0, tails)",
  ignore: !hasWasm,
  fn() {
    const r = rng(1);
    for (const g of cases()) {
      if (!g.countIncludePad) continue; // max pooling ignores it
      try {
        const N = g.n * g.c * g.h * g.w, P = g.n * g.c * g.outH * g.outW;
        for (const special of [true, false]) {
          const x = heapF32(N), out = heapF32(P), idx = heapArray(Int32Array, P);
          fillData(x, r, special);
          out.fill(12345), idx.fill(12345);
          ok(wasmMaxPool2d(x, out, idx, g), label(g));
          const ref = refMax(x, g);
          sameBits(out, ref.out, `max out ${label(g)}`);
          deepStrictEqual([...idx], ref.idx, `max idx ${label(g)}`);
          const tsOut = new Float32Array(P), tsIdx = new Int32Array(P);
          maxPool2d(x, tsOut, tsIdx, g);
          sameBits(out, tsOut, `max out vs pool.ts ${label(g)}`);
          deepStrictEqual([...idx], [...tsIdx], `max idx vs pool.ts ${label(g)}`);
        }
      } finally {
        freeAll();
      }
    }
  },
});

Deno.test({
  name: "wasm maxPool2dBackward: adds each gradient at its argmax into out, as the definition and pool.ts",
  ignore: !hasWasm,
  fn() {
    const r = rng(2);
    for (const g of cases()) {
      if (!g.countIncludePad) continue;
      try {
        const N = g.n * g.c * g.h * g.w, P = g.n * g.c * g.outH * g.outW;
        const x = heapF32(N), idx = heapArray(Int32Array, P), go = heapF32(P), dx = heapF32(N);
        fillData(x, r);
        maxPool2d(x, new Float32Array(P), idx, g);
        for (let i = 0; i < P; i++) go[i] = r() * 2 - 1;
        // A non-zero starting out shows the kernel adds.
        for (let i = 0; i < N; i++) dx[i] = Math.floor(r() * 5) - 2;
        const expected = [...dx], ts = Float32Array.from(dx);
        ok(wasmMaxPool2dBackward(go, idx, dx, g), label(g));
        refMaxBackward(go, idx, expected, g);
        sameBits(dx, expected, `max backward ${label(g)}`);
        maxPool2dBackward(go, idx, ts, g);
        sameBits(dx, ts, `max backward vs pool.ts ${label(g)}`);
      } finally {
        freeAll();
      }
    }
  },
});

Deno.test({
  name: "wasm maxPool2dBackward: indices outside the plane land where typed-array writes would",
  ignore: !hasWasm,
  fn() {
    try {
      const g = geometry({ n: 2, c: 1, h: 4, w: 4, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 });
      const idx = heapArray(Int32Array, 8), go = heapF32(8), dx = heapF32(32);
      idx.set([0, 5, -1, 16, 3, 16, 15, 2 ** 31 - 1]); // 16 in plane 0 is plane 1's cell 0; in plane 1, past the end
      go.set([1, 2, 3, 4, 5, 6, 7, 8]);
      const expected = new Array(32).fill(0), ts = new Float32Array(32);
      ok(wasmMaxPool2dBackward(go, idx, dx, g));
      refMaxBackward(go, idx, expected, g);
      maxPool2dBackward(go, idx, ts, g);
      sameBits(dx, expected, "scatter");
      sameBits(dx, ts, "scatter vs pool.ts");
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasm avgPool2d: float64 window sums over the divisor, as the definition and pool.ts",
  ignore: !hasWasm,
  fn() {
    const r = rng(3);
    for (const g of cases()) {
      try {
        const N = g.n * g.c * g.h * g.w, P = g.n * g.c * g.outH * g.outW;
        for (const special of [false, true]) {
          const x = heapF32(N), out = heapF32(P);
          if (special) fillData(x, r);
          else for (let i = 0; i < N; i++) x[i] = Math.fround((r() * 2 - 1) * 10 ** Math.floor(r() * 8 - 4));
          out.fill(12345);
          ok(wasmAvgPool2d(x, out, g), label(g));
          sameBits(out, refAvg(x, g), `avg ${label(g)}`);
          const ts = new Float32Array(P);
          avgPool2d(x, ts, g);
          sameBits(out, ts, `avg vs pool.ts ${label(g)}`);
        }
      } finally {
        freeAll();
      }
    }
  },
});

Deno.test({
  name: "wasm avgPool2dBackward: spreads gradients over windows in order, as the definition and pool.ts",
  ignore: !hasWasm,
  fn() {
    const r = rng(4);
    for (const g of cases()) {
      try {
        const N = g.n * g.c * g.h * g.w, P = g.n * g.c * g.outH * g.outW;
        const go = heapF32(P), dx = heapF32(N);
        // Thirds and sevenths round differently in float32 and float64, so a wrong order or rounding shows.
        for (let i = 0; i < P; i++) go[i] = Math.fround((r() * 2 - 1) * 10 ** Math.floor(r() * 6 - 3));
        for (let i = 0; i < N; i++) dx[i] = Math.fround(r() - 0.5);
        const expected = [...dx], ts = Float32Array.from(dx);
        ok(wasmAvgPool2dBackward(go, dx, g), label(g));
        refAvgBackward(go, expected, g);
        sameBits(dx, expected, `avg backward ${label(g)}`);
        avgPool2dBackward(go, ts, g);
        sameBits(dx, ts, `avg backward vs pool.ts ${label(g)}`);
      } finally {
        freeAll();
      }
    }
  },
});

Deno.test({
  name: "wasm pooling: large hot shapes (2×2/2 small CNN, 3×3/2 pad 1 ResNet stem) equal pool.ts",
  ignore: !hasWasm,
  fn() {
    const r = rng(5);
    const shapes: Shape[] = [
      { n: 4, c: 32, h: 28, w: 28, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 },
      { n: 4, c: 64, h: 14, w: 14, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 },
      { n: 2, c: 64, h: 32, w: 32, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 },
      { n: 1, c: 8, h: 113, w: 111, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 },
    ];
    for (const shape of shapes) {
      const g = geometry(shape);
      try {
        const N = g.n * g.c * g.h * g.w, P = g.n * g.c * g.outH * g.outW;
        const x = heapF32(N), out = heapF32(P), idx = heapArray(Int32Array, P), go = heapF32(P), dx = heapF32(N);
        fillData(x, r);
        for (let i = 0; i < P; i++) go[i] = r();
        const tsOut = new Float32Array(P), tsIdx = new Int32Array(P), tsDx = new Float32Array(N);
        ok(wasmMaxPool2d(x, out, idx, g));
        maxPool2d(x, tsOut, tsIdx, g);
        sameBits(out, tsOut, `max ${label(g)}`);
        deepStrictEqual([...idx], [...tsIdx], `max idx ${label(g)}`);
        ok(wasmMaxPool2dBackward(go, idx, dx, g));
        maxPool2dBackward(go, tsIdx, tsDx, g);
        sameBits(dx, tsDx, `max backward ${label(g)}`);
        ok(wasmAvgPool2d(x, out, g));
        avgPool2d(x, tsOut, g);
        sameBits(out, tsOut, `avg ${label(g)}`);
        dx.fill(0), tsDx.fill(0);
        ok(wasmAvgPool2dBackward(go, dx, g));
        avgPool2dBackward(go, tsDx, g);
        sameBits(dx, tsDx, `avg backward ${label(g)}`);
      } finally {
        freeAll();
      }
    }
  },
});

Deno.test("wasm pooling: operands outside the heap, not float32 or too short are declined, nothing written", () => {
  const g = geometry({ n: 1, c: 2, h: 6, w: 6, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 });
  const N = 72, P = 18;
  try {
    const plainX = Float32Array.from({ length: N }, (_, i) => i);
    const plainOut = new Float32Array(P).fill(7), plainIdx = new Int32Array(P).fill(7);
    const x = hasWasm ? heapF32(N) : plainX, out = hasWasm ? heapF32(P) : plainOut;
    const idx = hasWasm ? heapArray(Int32Array, P) : plainIdx, go = hasWasm ? heapF32(P) : new Float32Array(P);
    const dx = hasWasm ? heapF32(N) : new Float32Array(N);
    x.set(plainX), out.fill(7), idx.fill(7), go.fill(1), dx.fill(7);
    const untouched = () => {
      ok(out.every((v) => v === 7) && idx.every((v) => v === 7) && dx.every((v) => v === 7));
      ok(plainOut.every((v) => v === 7) && plainIdx.every((v) => v === 7));
    };
    // One operand outside the heap.
    ok(!wasmMaxPool2d(plainX, out, idx, g));
    ok(!wasmMaxPool2d(x, plainOut, idx, g));
    ok(!wasmMaxPool2d(x, out, plainIdx, g));
    ok(!wasmMaxPool2dBackward(new Float32Array(P), idx, dx, g));
    ok(!wasmMaxPool2dBackward(go, new Int32Array(P), dx, g));
    ok(!wasmMaxPool2dBackward(go, idx, new Float32Array(N), g));
    ok(!wasmAvgPool2d(plainX, out, g));
    ok(!wasmAvgPool2d(x, plainOut, g));
    ok(!wasmAvgPool2dBackward(new Float32Array(P), dx, g));
    ok(!wasmAvgPool2dBackward(go, new Float32Array(N), g));
    untouched();
    // Not float32.
    ok(!wasmMaxPool2d(new Float64Array(N), out, idx, g));
    ok(!wasmAvgPool2d(new Float64Array(N), out, g));
    ok(!wasmAvgPool2dBackward(new Float64Array(P), dx, g));
    ok(!wasmMaxPool2dBackward(new Float64Array(P), idx, dx, g));
    untouched();
    if (!hasWasm) return;
    const x64 = heapArray(Float64Array, N);
    ok(!wasmMaxPool2d(x64, out, idx, g));
    ok(!wasmAvgPool2d(x64, out, g));
    // Arrays shorter than the geometry, and geometries out of range.
    ok(!wasmMaxPool2d(x.subarray(0, N - 1), out, idx, g));
    ok(!wasmMaxPool2d(x, out.subarray(0, P - 1), idx, g));
    ok(!wasmMaxPool2dBackward(go, idx, dx.subarray(0, N - 1), g));
    ok(!wasmAvgPool2d(x, out.subarray(1), g));
    ok(!wasmAvgPool2dBackward(go.subarray(1), dx, g));
    ok(!wasmMaxPool2d(x, out, idx, { ...g, strideW: 0 }));
    ok(!wasmAvgPool2d(x, out, { ...g, padH: -1 }));
    ok(!wasmMaxPool2d(x, out, idx, { ...g, kh: 1.5 }));
    untouched();
    // Nothing to compute: done, nothing written.
    ok(wasmMaxPool2d(x, out, idx, { ...g, n: 0 }));
    ok(wasmAvgPool2dBackward(go, dx, { ...g, c: 0 }));
    untouched();
  } finally {
    freeAll();
  }
});

Deno.test({
  name: "wasm pooling: a heap subarray at an offset works like a fresh block",
  ignore: !hasWasm,
  fn() {
    try {
      const g = geometry({ n: 1, c: 3, h: 9, w: 13, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 });
      const N = 3 * 9 * 13, P = 3 * g.outH * g.outW;
      const big = heapF32(N + 5), x = big.subarray(5), out = heapF32(P + 3).subarray(3), idx = heapArray(Int32Array, P);
      fillData(x, rng(6));
      ok(wasmMaxPool2d(x, out, idx, g));
      const ref = refMax(x, g);
      sameBits(out, ref.out, "max at offset");
      deepStrictEqual([...idx], ref.idx);
    } finally {
      freeAll();
    }
  },
});
