import { ok, throws } from "node:assert/strict";
import type { RnnCellMode } from "../backend.ts";
import { gradcheck } from "../gradcheck.ts";
import { manualSeed } from "../random.ts";
import type { Tensor } from "../tensor.ts";
import { randn, tensor } from "./creation.ts";
import { rnnLayer, type RnnLayerInputs, setFusedRnn } from "./rnn.ts";
import { close, vals } from "./test_util.ts";

const sig = (x: number) => 1 / (1 + Math.exp(-x));

interface Case {
  mode: RnnCellMode;
  T: number;
  B: number;
  H: number;
  /** Projection size (LSTM), 0 for none. */
  P: number;
  batchSizes: number[] | null;
  reverse: boolean;
}

/** The layer written out directly from PyTorch's equations, in float64, one sequence and one unit at a time. */
function reference(c: Case, inp: RnnLayerInputs): { out: number[][][]; h: number[][]; c: number[][] } {
  const { mode, T, B, H } = c;
  const P = c.P || H;
  const G = (mode === "lstm" ? 4 : mode === "gru" ? 3 : 1) * H;
  const xg = vals(inp.xGates), w = vals(inp.wHh), wr = inp.wHr ? vals(inp.wHr) : null;
  const bh = inp.bHh ? vals(inp.bHh) : null;
  const h0 = vals(inp.h0), c0 = inp.c0 ? vals(inp.c0) : null;
  const hs = Array.from({ length: B }, (_, b) => h0.slice(b * P, (b + 1) * P));
  const cs = Array.from({ length: B }, (_, b) => (c0 ? c0.slice(b * H, (b + 1) * H) : []));
  const out = Array.from({ length: T }, () => Array.from({ length: B }, () => new Array<number>(P).fill(NaN)));
  for (let step = 0; step < T; step++) {
    const t = c.reverse ? T - 1 - step : step;
    const n = c.batchSizes ? c.batchSizes[t] : B;
    for (let b = 0; b < n; b++) {
      const x = (k: number) => xg[(t * B + b) * G + k];
      const hh = (k: number) => {
        let s = bh ? bh[k] : 0;
        for (let p = 0; p < P; p++) s += w[k * P + p] * hs[b][p];
        return s;
      };
      let h: number[];
      if (mode === "lstm") {
        const raw: number[] = [], cn: number[] = [];
        for (let j = 0; j < H; j++) {
          const i = sig(x(j) + hh(j)), f = sig(x(H + j) + hh(H + j));
          const g = Math.tanh(x(2 * H + j) + hh(2 * H + j)), o = sig(x(3 * H + j) + hh(3 * H + j));
          cn.push(f * cs[b][j] + i * g);
          raw.push(o * Math.tanh(cn[j]));
        }
        cs[b] = cn;
        h = wr ? Array.from({ length: P }, (_, p) => raw.reduce((s, v, j) => s + wr[p * H + j] * v, 0)) : raw;
      } else if (mode === "gru") {
        h = [];
        for (let j = 0; j < H; j++) {
          const r = sig(x(j) + hh(j)), z = sig(x(H + j) + hh(H + j));
          const nn = Math.tanh(x(2 * H + j) + r * hh(2 * H + j));
          h.push((1 - z) * nn + z * hs[b][j]);
        }
      } else {
        h = Array.from({ length: H }, (_, j) => {
          const v = x(j) + hh(j);
          return mode === "rnnTanh" ? Math.tanh(v) : Math.max(v, 0);
        });
      }
      hs[b] = h;
      out[t][b] = h;
    }
  }
  return { out, h: hs, c: cs };
}

function makeInputs(c: Case, dtype: "float32" | "float64"): RnnLayerInputs {
  const { mode, T, B, H } = c;
  const P = c.P || H;
  const G = (mode === "lstm" ? 4 : mode === "gru" ? 3 : 1) * H;
  const r = (shape: number[], s = 1) => randn(shape, { dtype }).mul(s).requiresGrad_();
  return {
    xGates: r([T, B, G]),
    wHh: r([G, P], 0.5),
    bHh: mode === "gru" ? r([G], 0.5) : null,
    wHr: c.P ? r([P, H], 0.5) : null,
    h0: r([B, P], 0.5),
    c0: mode === "lstm" ? r([B, H], 0.5) : null,
  };
}

const CASES: Case[] = [];
for (const mode of ["lstm", "gru", "rnnTanh", "rnnRelu"] as RnnCellMode[]) {
  for (const reverse of [false, true]) {
    CASES.push({ mode, T: 4, B: 3, H: 5, P: 0, batchSizes: null, reverse });
    CASES.push({ mode, T: 5, B: 4, H: 3, P: 0, batchSizes: [4, 3, 3, 1, 1], reverse });
    if (mode === "lstm") CASES.push({ mode, T: 4, B: 3, H: 4, P: 3, batchSizes: [3, 2, 2, 1], reverse });
  }
}

const label = (c: Case) =>
  `${c.mode} T=${c.T} B=${c.B} H=${c.H} P=${c.P} bs=${c.batchSizes ?? "all"} reverse=${c.reverse}`;

/** Runs the layer with the fused kernels on or off. */
function run(fused: boolean, c: Case, inp: RnnLayerInputs) {
  const before = setFusedRnn(fused);
  try {
    return rnnLayer(c.mode, inp, { batchSizes: c.batchSizes, reverse: c.reverse });
  } finally {
    setFusedRnn(before);
  }
}

/** The valid output positions (t, b) of a case, flattened, for comparing outputs. */
function validOut(c: Case, out: number[] | number[][][], P: number): number[] {
  const flat = Array.isArray(out[0]) ? (out as number[][][]).flat(2) : (out as number[]);
  const picked: number[] = [];
  for (let t = 0; t < c.T; t++) {
    const n = c.batchSizes ? c.batchSizes[t] : c.B;
    for (let b = 0; b < n; b++) picked.push(...flat.slice((t * c.B + b) * P, (t * c.B + b + 1) * P));
  }
  return picked;
}

Deno.test("rnnLayer: fused and composed paths give the direct loop's outputs and final states (float64 and float32)", () => {
  manualSeed(11);
  for (const c of CASES) {
    for (const dtype of ["float64", "float32"] as const) {
      const inp = makeInputs(c, dtype);
      const ref = reference(c, inp);
      const P = c.P || c.H;
      const tol = dtype === "float64" ? 1e-12 : 2e-6;
      for (const fused of [true, false]) {
        const what = `${label(c)} ${dtype} fused=${fused}`;
        const got = run(fused, c, inp);
        close(validOut(c, vals(got.output), P), validOut(c, ref.out, P), tol, `${what} output`);
        close(vals(got.h), ref.h.flat(), tol, `${what} h`);
        if (c.mode === "lstm") close(vals(got.c!), ref.c.flat(), tol, `${what} c`);
        else ok(got.c === null, `${what}: no cell state`);
      }
    }
  }
});

/** 1 at the valid positions `[T, B, 1]` (the packed output leaves the others out), or null for full batches. */
function maskOf(c: Case, dtype: "float32" | "float64"): Tensor | null {
  if (!c.batchSizes) return null;
  const m: number[][][] = [];
  for (let t = 0; t < c.T; t++) m.push(Array.from({ length: c.B }, (_, b) => [b < c.batchSizes![t] ? 1 : 0]));
  return tensor(m, { dtype });
}

/** A scalar reading every output with its own weights, so every gradient path is exercised. */
function lossOf(out: { output: Tensor; h: Tensor; c: Tensor | null }, w: Tensor[], mask: Tensor | null): Tensor {
  const o = out.output.mul(w[0]);
  let total = (mask ? o.mul(mask) : o).sum().add(out.h.mul(w[1]).sum());
  if (out.c) total = total.add(out.c.mul(w[2]).sum());
  return total;
}

const NAMES = ["xGates", "wHh", "bHh", "wHr", "h0", "c0"] as const;

Deno.test("rnnLayer: the fused backward gives the composed path's gradients for every input (float64)", () => {
  manualSeed(12);
  for (const c of CASES) {
    const inp = makeInputs(c, "float64");
    const P = c.P || c.H;
    const w = [randn([c.T, c.B, P], { dtype: "float64" }), randn([c.B, P], { dtype: "float64" })];
    w.push(randn([c.B, c.H], { dtype: "float64" }));
    const mask = maskOf(c, "float64");
    const grads = [true, false].map((fused) => {
      for (const k of NAMES) if (inp[k]) inp[k]!.grad = null;
      lossOf(run(fused, c, inp), w, mask).backward();
      return NAMES.map((k) => (inp[k] ? vals(inp[k]!.grad!) : []));
    });
    NAMES.forEach((k, i) => close(grads[0][i], grads[1][i], 1e-10, `${label(c)} d${k}`));
  }
});

Deno.test("rnnLayer: gradcheck of the fused path for every cell, packed, reversed and projected (float64)", () => {
  manualSeed(13);
  const cases: Case[] = [];
  for (const mode of ["lstm", "gru", "rnnTanh", "rnnRelu"] as RnnCellMode[]) {
    cases.push({ mode, T: 3, B: 2, H: 2, P: 0, batchSizes: null, reverse: false });
    cases.push({ mode, T: 3, B: 3, H: 2, P: 0, batchSizes: [3, 2, 1], reverse: true });
  }
  cases.push({ mode: "lstm", T: 3, B: 2, H: 3, P: 2, batchSizes: [2, 2, 1], reverse: false });
  cases.push({ mode: "lstm", T: 3, B: 2, H: 3, P: 2, batchSizes: [2, 1, 1], reverse: true });
  for (const c of cases) {
    const inp = makeInputs(c, "float64");
    const P = c.P || c.H;
    const w = [randn([c.T, c.B, P], { dtype: "float64" }), randn([c.B, P], { dtype: "float64" })];
    w.push(randn([c.B, c.H], { dtype: "float64" }));
    const keys = NAMES.filter((k) => inp[k]);
    const list = keys.map((k) => inp[k]!);
    ok(
      gradcheck(
        (...xs) => {
          const args = Object.fromEntries(keys.map((k, i) => [k, xs[i]])) as unknown as RnnLayerInputs;
          return lossOf(run(true, c, args), w, null);
        },
        list,
        { atol: 1e-8, rtol: 1e-6 },
      ),
      label(c),
    );
  }
});

Deno.test("rnnLayer: bad shapes and batch sizes are errors naming the layer and the shapes", () => {
  const c: Case = { mode: "lstm", T: 3, B: 2, H: 2, P: 0, batchSizes: null, reverse: false };
  const inp = makeInputs(c, "float32");
  throws(() => rnnLayer("lstm", { ...inp, h0: randn([3, 2]) }), /rnnLayer\(lstm\): expected h0 \[2, 2\], got \[3, 2\]/);
  throws(() => rnnLayer("lstm", { ...inp, c0: null }), /expected c0 \[2, 2\], got null/);
  throws(() => rnnLayer("lstm", { ...inp, wHh: randn([8, 3]) }), /expected wHh \[8, 2\], got \[8, 3\]/);
  throws(() => rnnLayer("gru", { ...inp, c0: null }), /gate width 8 .* is not 3·hidden/);
  throws(() => rnnLayer("lstm", inp, { batchSizes: [2, 2] }), /batchSizes has 2 entries for 3 time steps/);
  throws(() => rnnLayer("lstm", inp, { batchSizes: [2, 1, 2] }), /non-increasing/);
  throws(() => rnnLayer("lstm", inp, { batchSizes: [1, 1, 1] }), /from B = 2/);
});

Deno.test("rnnLayer: the fused path refuses double backward with a clear error; the composed path supports it", () => {
  const c: Case = { mode: "gru", T: 2, B: 1, H: 2, P: 0, batchSizes: null, reverse: false };
  const inp = makeInputs(c, "float64");
  const y = run(true, c, inp).h.sum();
  throws(() => y.backward(undefined, { createGraph: true }), /no double backward; call setFusedRnn\(false\)/);
  const z = run(false, c, inp).h.square().sum();
  z.backward(undefined, { createGraph: true });
  ok(inp.h0.grad!.requiresGrad, "a differentiable gradient");
});
