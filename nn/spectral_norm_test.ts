import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { gradcheck, linspace, manualSeed, noGrad, randn, type Tensor, tensor } from "@dendrite/tensor";
import * as nn from "./mod.ts";

const vals = (t: Tensor) => Array.from(t.dataSync());
/** The parameter spectralNorm moved the weight to. */
const origOf = (m: nn.Module) => (m as unknown as { weight_orig: nn.Parameter }).weight_orig;

/** The matrix σ is taken of, by direct loops: row r holds every weight entry whose index along `dim` is r. */
function matrixOf(weight: number[], shape: number[], dim: number): number[][] {
  const rows: number[][] = Array.from({ length: shape[dim] }, () => []);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  // Walk the indices with `dim` first and the rest in order: PyTorch's permute-then-reshape.
  const order = [dim, ...[...shape.keys()].filter((d) => d !== dim)];
  const idx = new Array(shape.length).fill(0);
  const total = weight.length;
  for (let k = 0; k < total; k++) {
    let rest = k;
    for (let j = order.length - 1; j >= 0; j--) {
      idx[order[j]] = rest % shape[order[j]];
      rest = Math.floor(rest / shape[order[j]]);
    }
    rows[idx[dim]].push(weight[idx.reduce((a, v, i) => a + v * strides[i], 0)]);
  }
  return rows;
}

const matVec = (m: number[][], v: number[]) => m.map((row) => row.reduce((a, x, j) => a + x * v[j], 0));
const matTVec = (m: number[][], u: number[]) => m[0].map((_, j) => m.reduce((a, row, i) => a + row[j] * u[i], 0));
const unit = (v: number[]) => {
  const n = Math.max(Math.hypot(...v), 1e-12);
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

/** The largest singular value in float64: power iteration on WᵀW from a fixed start, run to convergence. */
function largestSingularValue(m: number[][]): number {
  let v = unit(m[0].map((_, j) => 1 + 0.1 * j));
  let sigma = 0;
  for (let i = 0; i < 5000; i++) {
    const next = matTVec(m, matVec(m, v));
    const s = Math.sqrt(Math.hypot(...next));
    v = unit(next);
    if (Math.abs(s - sigma) < 1e-15 * s) break;
    sigma = s;
  }
  return Math.hypot(...matVec(m, v));
}

function close(got: number[], want: number[], tol: number, what: string): void {
  deepStrictEqual(got.length, want.length, `${what}: length`);
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]) / (1 + Math.abs(want[i]))));
  ok(worst <= tol, `${what}: worst relative difference ${worst}`);
}

Deno.test("spectralNorm: hand-worked σ — diag(3, 1, 0.5) gives 3, a rank-one a·bᵀ gives ‖a‖·‖b‖", () => {
  manualSeed(1);
  const diag = nn.utils.spectralNorm(new nn.Linear(3, 3, { bias: false }));
  const rank1 = nn.utils.spectralNorm(new nn.Linear(3, 2, { bias: false }));
  noGrad(() => {
    origOf(diag).copy_(tensor([[3, 0, 0], [0, 1, 0], [0, 0, 0.5]]));
    origOf(rank1).copy_(tensor([[1 * 2, 1 * -1, 1 * 2], [-3 * 2, -3 * -1, -3 * 2]])); // a = [1, -3], b = [2, -1, 2]
  });
  const x = tensor([[1, 1, 1]]);
  for (let i = 0; i < 30; i++) diag.forward(x), rank1.forward(x);
  close(vals(diag.weight), [1, 0, 0, 0, 1 / 3, 0, 0, 0, 0.5 / 3], 1e-5, "diag / 3");
  const sigma = Math.sqrt(10) * 3; // ‖[1, −3]‖·‖[2, −1, 2]‖
  close(vals(rank1.weight), [2, -1, 2, -6, 3, -6].map((w) => w / sigma), 1e-5, "a·bᵀ / (‖a‖‖b‖)");
});

Deno.test("spectralNorm: after power iteration to convergence the weight is W / σ_max (Linear, Conv2d dim 0, ConvTranspose2d dim 1) against float64 loops", () => {
  manualSeed(2);
  const cases: [nn.Module, Tensor, number][] = [
    [new nn.Linear(5, 6), randn([2, 5]).double(), 0],
    [new nn.Conv2d(3, 4, 3), randn([1, 3, 5, 5]).double(), 0],
    [new nn.ConvTranspose2d(3, 4, 2), randn([1, 3, 4, 4]).double(), 1],
  ];
  for (const [layer, x, dim] of cases) {
    layer.to("float64");
    nn.utils.spectralNorm(layer);
    const orig = origOf(layer);
    for (let i = 0; i < 300; i++) noGrad(() => layer.forward(x));
    const w = vals(orig), shape = [...orig.shape];
    const sigma = largestSingularValue(matrixOf(w, shape, dim));
    const got = vals((layer as unknown as { weight: Tensor }).weight);
    close(got, w.map((v) => v / sigma), 1e-9, `${layer.constructor.name} W/σ`);
  }
});

Deno.test("spectralNorm: one training forward is one power-iteration step from the stored u, v (in place), σ = uᵀWv; eval mode leaves u and v alone", () => {
  manualSeed(3);
  const layer = nn.utils.spectralNorm(new nn.Conv2d(2, 3, 2).to("float64"));
  const u = layer.getBuffer("weight_u")!, v = layer.getBuffer("weight_v")!;
  const u0 = vals(u), v0 = vals(v);
  close([Math.hypot(...u0), Math.hypot(...v0)], [1, 1], 1e-12, "u and v start as unit vectors");
  const x = randn([1, 2, 3, 3]).double();
  const m = matrixOf(vals(origOf(layer)), [...origOf(layer).shape], 0);
  const out = layer.forward(x);
  const v1 = unit(matTVec(m, u0)), u1 = unit(matVec(m, v1));
  close(vals(v), v1, 1e-12, "v ← Wᵀu/‖Wᵀu‖");
  close(vals(u), u1, 1e-12, "u ← Wv/‖Wv‖");
  const sigma = dot(u1, matVec(m, v1));
  close(vals(layer.weight), vals(origOf(layer)).map((w) => w / sigma), 1e-12, "weight = W/σ");
  const direct = noGrad(() => nn.F.conv2d(x, origOf(layer).div(sigma), layer.bias));
  close(vals(out), vals(direct), 1e-12, "the layer convolves with W/σ");

  const [uTrained, vTrained] = [vals(u), vals(v)];
  layer.eval();
  noGrad(() => layer.forward(x));
  noGrad(() => layer.forward(x));
  deepStrictEqual(vals(u), uTrained, "eval: u unchanged");
  deepStrictEqual(vals(v), vTrained, "eval: v unchanged");
  close(vals(layer.weight), vals(origOf(layer)).map((w) => w / sigma), 1e-12, "eval: W/σ with the stored u, v");
});

Deno.test("spectralNorm: gradient of the output in weight_orig (through σ, u and v held) matches finite differences in float64", () => {
  manualSeed(4);
  for (const layer of [new nn.Linear(4, 3), new nn.ConvTranspose2d(2, 3, 2)]) {
    layer.to("float64");
    nn.utils.spectralNorm(layer);
    const orig = origOf(layer);
    const x = layer instanceof nn.Linear ? randn([2, 4]).double() : randn([1, 2, 2, 2]).double();
    noGrad(() => layer.forward(x)); // a few steps so u and v are not the random start
    layer.eval();
    ok(gradcheck(() => (layer.forward(x) as Tensor).tanh(), [orig]), layer.constructor.name);
  }
});

Deno.test("spectralNorm: two training forwards before one backward (a GAN's real and fake batches) give the gradient of both", () => {
  manualSeed(5);
  const layer = nn.utils.spectralNorm(new nn.Linear(3, 2).to("float64"));
  const a = randn([2, 3]).double(), b = randn([2, 3]).double();
  const loss = layer.forward(a).sum().add(layer.forward(b).square().sum());
  loss.backward();
  const g = vals(origOf(layer).grad!);
  ok(g.every(Number.isFinite) && g.some((x) => x !== 0), `gradient ${g}`);
});

Deno.test("spectralNorm: PyTorch's parameters and state-dict keys; a state dict moves to a fresh normalised layer", () => {
  manualSeed(6);
  const layer = nn.utils.spectralNorm(new nn.Linear(4, 2));
  deepStrictEqual([...layer.namedParameters()].map(([n]) => n), ["bias", "weight_orig"]);
  deepStrictEqual(Object.keys(layer.stateDict()), ["bias", "weight_orig", "weight_u", "weight_v"]);
  const convT = nn.utils.spectralNorm(new nn.ConvTranspose2d(3, 5, 4));
  deepStrictEqual(convT.getBuffer("weight_u")!.shape, [5], "ConvTranspose2d: u indexes output channels (dim 1)");
  deepStrictEqual(convT.getBuffer("weight_v")!.shape, [3 * 16]);
  const net = new nn.Sequential(nn.utils.spectralNorm(new nn.Conv2d(1, 2, 3)), new nn.ReLU());
  deepStrictEqual(Object.keys(net.stateDict()), ["0.bias", "0.weight_orig", "0.weight_u", "0.weight_v"]);

  const x = randn([3, 4]);
  layer.forward(x);
  const other = nn.utils.spectralNorm(new nn.Linear(4, 2));
  other.loadStateDict(layer.stateDict());
  layer.eval(), other.eval();
  close(vals(noGrad(() => other.forward(x))), vals(noGrad(() => layer.forward(x))), 1e-6, "same outputs");
});

Deno.test("spectralNorm: bad options throw before the module changes", () => {
  const layer = new nn.Linear(3, 2);
  const before = Object.keys(layer.stateDict());
  throws(
    () => nn.utils.spectralNorm(layer, { name: "scale" }),
    /spectralNorm\(Linear\): the module has no parameter "scale"/,
  );
  throws(
    () => nn.utils.spectralNorm(layer, { nPowerIterations: 0 }),
    /nPowerIterations must be a positive integer, got 0/,
  );
  throws(() => nn.utils.spectralNorm(layer, { nPowerIterations: 1.5 }), /nPowerIterations must be a positive integer/);
  throws(() => nn.utils.spectralNorm(layer, { eps: 0 }), /eps must be a positive number/);
  throws(() => nn.utils.spectralNorm(layer, { dim: 2 }), /dim 2 is out of range for a weight of 2 dimensions/);
  deepStrictEqual(Object.keys(layer.stateDict()), before, "unchanged");
  ok(layer.weight instanceof nn.Parameter, "weight is still the parameter");
  nn.utils.spectralNorm(layer);
  throws(() => nn.utils.spectralNorm(layer), /cannot register two spectral norms on the same parameter "weight"/);
  deepStrictEqual(Object.keys(layer.stateDict()), ["bias", "weight_orig", "weight_u", "weight_v"]);
});

interface Stored {
  shape: number[];
  data: number[];
}
interface ReferenceCase {
  name: "Linear" | "Conv2d" | "ConvTranspose2d";
  state: Record<string, Stored>;
  keys: string[];
  input: Stored;
  calls: { mode: string; output: Stored; weight: Stored; u: Stored; v: Stored }[];
  grad_weight_orig: Stored;
}

const reference = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/spectral_norm_reference.json", import.meta.url)),
) as { cases: ReferenceCase[] };
const stored = (s: Stored) => tensor(s.data, { dtype: "float64" }).reshape(s.shape);

/** The case's layer in float64, spectrally normalised, holding PyTorch's state. */
function referenceLayer(c: ReferenceCase): nn.Module {
  const layer = c.name === "Linear"
    ? new nn.Linear(5, 4)
    : c.name === "Conv2d"
    ? new nn.Conv2d(2, 3, 3)
    : new nn.ConvTranspose2d(3, 2, 2);
  nn.utils.spectralNorm(layer.to("float64"));
  deepStrictEqual(Object.keys(layer.stateDict()), c.keys, `${c.name}: PyTorch's keys`);
  layer.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, stored(v)])));
  return layer;
}

Deno.test("spectralNorm: PyTorch's spectral_norm (nn/testdata/spectral_norm_reference.py) — two training calls and one eval call give its outputs, weights, u and v, and its gradient", () => {
  for (const c of reference.cases) {
    const layer = referenceLayer(c), x = stored(c.input);
    for (const [i, call] of c.calls.entries()) {
      layer.train(call.mode === "train");
      const out = noGrad(() => layer.forward(x) as Tensor);
      close(vals(out), call.output.data, 1e-10, `${c.name} call ${i} output`);
      close(
        vals((layer as unknown as { weight: Tensor }).weight),
        call.weight.data,
        1e-10,
        `${c.name} call ${i} weight`,
      );
      close(vals(layer.getBuffer("weight_u")!), call.u.data, 1e-10, `${c.name} call ${i} u`);
      close(vals(layer.getBuffer("weight_v")!), call.v.data, 1e-10, `${c.name} call ${i} v`);
    }
    const fresh = referenceLayer(c);
    const out = fresh.forward(x) as Tensor;
    out.mul(linspace(-1, 1, out.numel(), { dtype: "float64" }).reshape(out.shape)).sum().backward();
    close(vals(origOf(fresh).grad!), c.grad_weight_orig.data, 1e-9, `${c.name} gradient of weight_orig`);
  }
});
