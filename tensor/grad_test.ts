// grad(): the functional gradient, against hand-worked values and finite differences; its errors; second order.
import assert from "node:assert/strict";
import { grad, gradgradcheck, manualSeed, noGrad, randn, record, type Tensor, tensor } from "./mod.ts";
import { close, vals } from "./ops/test_util.ts";
import { conv2d } from "./ops/conv.ts";
import { avgPool2d, maxPool2d } from "./ops/pool.ts";
import { batchNorm, groupNorm, layerNorm } from "./ops/norm.ts";
import { interpolate } from "./ops/interpolate.ts";
import { convTranspose2d } from "./ops/conv_transpose.ts";
import { crossEntropy } from "./ops/nn_ops.ts";

manualSeed(16);

const f64 = (v: number[] | number[][]) => tensor(v, { dtype: "float64" });
const leaf = (v: number[] | number[][]) => f64(v).requiresGrad_();
const normal = (...shape: number[]) => randn(shape, { dtype: "float64" }).requiresGrad_();

Deno.test("grad: returns dy/dx and leaves every .grad untouched", () => {
  const x = leaf([1, 2, 3]);
  const w = leaf([0.5, -1, 2]);
  const y = x.pow(3).mul(w).sum(); // dy/dx = 3x²·w
  const [dx] = grad(y, [x], { retainGraph: true });
  close(vals(dx), [1.5, -12, 54]);
  assert.equal(x.grad, null);
  assert.equal(w.grad, null, "a leaf that was not asked for is not accumulated into either");
  assert.equal(dx.requiresGrad, false, "without createGraph the gradient has no graph");
  // The graph was retained: backward still works, and accumulates as usual.
  y.backward();
  close(vals(x.grad!), [1.5, -12, 54]);
  close(vals(w.grad!), [1, 8, 27]);
});

Deno.test("grad: several outputs with gradOutputs give the vector-Jacobian product", () => {
  const x = leaf([1, 2]);
  const y = leaf([3]);
  // a = x·y (shape [2]), b = x₀² + y² (one element)
  const a = x.mul(y);
  const b = x.narrow(0, 0, 1).square().add(y.square()).sum();
  const [dx, dy] = grad([a, b], [x, y], { gradOutputs: [f64([10, 100]), null] });
  // dx = [10·y + 2·x₀, 100·y] = [32, 300]; dy = 10·x₀ + 100·x₁ + 2y = 216
  close(vals(dx), [32, 300]);
  close(vals(dy), [216]);
});

Deno.test("grad: a non-leaf input gets the gradient arriving at it; upstream runs only when needed", () => {
  const x = leaf([1, -2]);
  const h = x.mul(3); // non-leaf
  let upstream = 0;
  x.registerHook(() => {
    upstream++;
  });
  const z = h.square().sum();
  const [dh] = grad(z, h, { retainGraph: true });
  close(vals(dh), [6, -12]); // 2h
  assert.equal(upstream, 0, "nothing beyond the input h ran");
  const [dh2, dx] = grad(z, [h, x]);
  close(vals(dh2), [6, -12]);
  close(vals(dx), [18, -36]); // 2h·3
  assert.equal(upstream, 1);
  assert.equal(x.grad, null);
});

Deno.test("grad: an input given twice, or reached as an output, gets its own gradient tensor", () => {
  const x = leaf([2]);
  const y = x.square();
  const [a, b] = grad(y, [x, x], { retainGraph: true });
  close(vals(a), [4]);
  close(vals(b), [4]);
  assert.notEqual(a, b);
  // An output that is itself an input gets its gradOutput.
  const [dy] = grad(y, y, { gradOutputs: f64([7]) });
  close(vals(dy), [7]);
});

Deno.test("grad: a tensor hook on an input sees and may replace its gradient, as in PyTorch", () => {
  const x = leaf([1, 2]);
  x.registerHook((g) => g.mul(10));
  const [dx] = grad(x.square().sum(), x);
  close(vals(dx), [20, 40]);
});

Deno.test("grad: outputs that depend on each other are run in order", () => {
  const x = leaf([1, 2]);
  const y = x.square(); // y is an output, and z is computed from it
  const z = y.sum().mul(3);
  const [dx] = grad([y, z], x, { gradOutputs: [f64([1, 1]), null] });
  // d/dx Σy + d/dx 3Σx² = 2x + 6x = 8x
  close(vals(dx), [8, 16]);
});

Deno.test("grad: errors as PyTorch gives them, before anything runs", () => {
  const x = leaf([1, 2]);
  const c = f64([3, 4]); // no grad
  const y = x.mul(2).sum();
  assert.throws(() => grad(c.sum(), x), /grad: output 0 does not require grad/);
  assert.throws(() => grad(y, [x, c], { retainGraph: true }), /grad: input 1 \(shape \[2\]\) does not require grad/);
  assert.throws(() => grad(x.mul(2), x), /only for one-element outputs; output 0 has shape \[2\], so pass gradOutputs/);
  assert.throws(
    () => grad(x.mul(2), x, { gradOutputs: f64([1, 2, 3]) }),
    /gradOutputs\[0\] has shape \[3\] but output 0 has shape \[2\]/,
  );
  assert.throws(() => grad(y, x, { gradOutputs: [f64([1]), f64([1])] }), /got 2 gradOutputs for 1 outputs/);
  assert.throws(() => grad(x.mul(2), x, { gradOutputs: tensor([1, 1]) }), /float32 on cpu but output 0 is float64/);
  assert.throws(() => grad([], x), /no outputs/);
  // None of the refusals above ran the graph: it can still be differentiated.
  close(vals(grad(y, x)[0]), [2, 2]);
});

Deno.test("grad: an input not used by the outputs is an error, or null with allowUnused", () => {
  const x = leaf([1, 2]);
  const unused = leaf([5]);
  const y = x.square().sum();
  // Refused before anything runs: the graph is still there for the next call.
  assert.throws(
    () => grad(y, [x, unused]),
    /input 1 \(shape \[1\]\) appears not to have been used in the graph of the outputs; pass \{ allowUnused: true \}/,
  );
  const [dx, du] = grad(y, [x, unused], { allowUnused: true });
  close(vals(dx!), [2, 4]);
  assert.equal(du, null);
});

Deno.test("grad: without retainGraph the graph is freed; a second pass says so", () => {
  const x = leaf([1, 2]);
  const y = x.exp().sum();
  grad(y, x);
  assert.throws(() => grad(y, x), /backward through the graph a second time/);
});

Deno.test("grad: a tensor changed in place on the path is refused; one on a branch grad does not run is not read", () => {
  const x = leaf([1, 2]), z = leaf([1, 1]);
  const w = f64([3, 4]), other = f64([5, 6]);
  const y = x.mul(2).mul(w).sum().add(z.mul(other).sum()); // z's branch reads `other`; x's path does not
  noGrad(() => other.mul_(2));
  close(vals(grad(y, x, { retainGraph: true })[0]), [6, 8]); // 2·w: z's branch does not run, so `other` is not read
  // backward() runs every branch, so it reads `other` and refuses.
  assert.throws(() => y.backward(undefined, { retainGraph: true }), /modified by an inplace operation: \[MulBackward/);
  noGrad(() => w.mul_(2));
  assert.throws(() => grad(y, x), /modified by an inplace operation: \[MulBackward/);
});

Deno.test("grad with createGraph: a Hessian-vector product matches the hand-worked value", () => {
  // f(a, b) = a²·b + b³ at (1, 2): ∇f = (2ab, a² + 3b²) = (4, 13); H = [[2b, 2a], [2a, 6b]] = [[4, 2], [2, 12]].
  const p = leaf([1, 2]);
  const a = p.narrow(0, 0, 1), b = p.narrow(0, 1, 1);
  const f = a.square().mul(b).add(b.pow(3)).sum();
  const [g] = grad(f, p, { createGraph: true });
  close(vals(g), [4, 13]);
  assert.ok(g.requiresGrad, "the gradient carries a graph");
  const v = f64([1, -1]);
  const [hv] = grad(g.mul(v).sum(), p);
  close(vals(hv), [2, -10]); // H·v = (4 − 2, 2 − 12)
  assert.equal(p.grad, null);
});

Deno.test("grad with createGraph: an MLP's Hessian-vector product matches finite differences of gradients", () => {
  const x = randn([5, 3], { dtype: "float64" });
  const target = randn([5, 1], { dtype: "float64" });
  const w1 = normal(3, 4), w2 = normal(4, 1);
  const loss = (a: Tensor, b: Tensor) => x.matmul(a).tanh().matmul(b).sub(target).square().mean();
  const [g1, g2] = grad(loss(w1, w2), [w1, w2], { createGraph: true });
  const v1 = randn([3, 4], { dtype: "float64" }), v2 = randn([4, 1], { dtype: "float64" });
  const [hv1, hv2] = grad(g1.mul(v1).sum().add(g2.mul(v2).sum()), [w1, w2]);
  // (∇L(w + h·v) − ∇L(w − h·v)) / 2h
  const h = 1e-5;
  const gradAt = (s: number) => {
    const a = noGrad(() => w1.add(v1.mul(s))).requiresGrad_(), b = noGrad(() => w2.add(v2.mul(s))).requiresGrad_();
    return grad(loss(a, b), [a, b]).map(vals);
  };
  const [p1, p2] = gradAt(h), [m1, m2] = gradAt(-h);
  close(vals(hv1), p1.map((pv, i) => (pv - m1[i]) / (2 * h)), 1e-6, "H·v for w1");
  close(vals(hv2), p2.map((pv, i) => (pv - m2[i]) / (2 * h)), 1e-6, "H·v for w2");
});

Deno.test("grad with createGraph: one MAML step differentiates through the inner update", () => {
  // Inner: w' = w − α·∇L₁(w); outer: L₂(w'). d L₂/dw = (I − α·H₁)·∇L₂(w'), checked by central differences.
  const x1 = randn([6, 2], { dtype: "float64" }), y1 = randn([6, 1], { dtype: "float64" });
  const x2 = randn([6, 2], { dtype: "float64" }), y2 = randn([6, 1], { dtype: "float64" });
  const alpha = 0.3;
  const lossOn = (x: Tensor, y: Tensor, w: Tensor) => x.matmul(w).tanh().sub(y).square().mean();
  const outer = (w: Tensor, create: boolean) => {
    const [g] = grad(lossOn(x1, y1, w), w, { createGraph: create });
    return lossOn(x2, y2, w.sub(g.mul(alpha)));
  };
  const w = normal(2, 1);
  const [meta] = grad(outer(w, true), w);
  const base = Array.from(w.dataSync());
  const h = 1e-6;
  const numeric = base.map((_, i) => {
    const at = (d: number) => {
      const shifted = f64(base.map((b, j) => [b + (i === j ? d : 0)])).requiresGrad_();
      return outer(shifted, false).dataSync()[0];
    };
    return (at(h) - at(-h)) / (2 * h);
  });
  close(vals(meta), numeric, 1e-6, "meta-gradient");
  // First-order MAML (no createGraph) drops the Hessian term: it differs.
  const [firstOrder] = grad(outer(w, false), w, { allowUnused: true });
  assert.ok(firstOrder === null || vals(firstOrder).some((v, i) => Math.abs(v - numeric[i]) > 1e-4));
});

// Second derivatives of the ops whose backward runs a kernel: each records its own derivative, so gradgradcheck
// (finite differences of the first derivative) passes through them.
const yIdx = tensor([0, 2, -100, 1], { dtype: "int32" });
const classWeight = f64([0.5, 2, 1]);
const runMean = randn([3], { dtype: "float64" }), runVar = randn([3], { dtype: "float64" }).abs().add(0.5);
const perChannel = f64([1, 2, 3]).reshape([3, 1]);
const secondOrderCases: [string, (...xs: Tensor[]) => Tensor, () => Tensor[]][] = [
  [
    "conv2d",
    (x, w) => conv2d(x, w, null, { padding: 1 }).square().sum(),
    () => [normal(1, 2, 4, 4), normal(3, 2, 3, 3)],
  ],
  [
    "conv2d stride 2, groups 2",
    (x, w) => conv2d(x, w, null, { stride: 2, padding: 1, groups: 2 }).square().sum(),
    () => [normal(1, 2, 5, 5), normal(2, 1, 3, 3)],
  ],
  [
    "conv2d same",
    (x, w) => conv2d(x, w, null, { padding: "same" }).tanh().sum(),
    () => [normal(1, 2, 4, 4), normal(2, 2, 2, 2)],
  ],
  ["maxPool2d", (x) => maxPool2d(x, 3, { stride: 2, padding: 1 }).square().sum(), () => [normal(2, 1, 5, 5)]],
  [
    "avgPool2d",
    (x) => avgPool2d(x, 2, { padding: 1, countIncludePad: false }).square().sum(),
    () => [normal(1, 2, 4, 4)],
  ],
  [
    "batchNorm training",
    (x, g, b) => batchNorm(x, null, null, { training: true, weight: g, bias: b }).square().mul(perChannel).sum(),
    () => [normal(4, 3, 2), normal(3), normal(3)],
  ],
  [
    "batchNorm eval",
    (x, g, b) => batchNorm(x, runMean, runVar, { weight: g, bias: b }).square().sum(),
    () => [normal(4, 3, 2), normal(3), normal(3)],
  ],
  [
    "groupNorm",
    (x, g, b) => groupNorm(x, 2, g, b).square().mul(f64([1, 2, 3, 4]).reshape([4, 1])).sum(),
    () => [normal(2, 4, 3), normal(4), normal(4)],
  ],
  [
    "layerNorm",
    (x, g, b) => layerNorm(x, [2, 3], g, b).square().mul(f64([1, 2, 3, 4]).reshape([4, 1, 1])).sum(),
    () => [normal(4, 2, 3), normal(2, 3), normal(2, 3)],
  ],
  [
    "interpolate bilinear",
    (x) => interpolate(x.tanh(), { scaleFactor: 2, mode: "bilinear" }).square().sum(),
    () => [normal(1, 2, 3, 3)],
  ],
  [
    "interpolate nearest",
    (x) => interpolate(x.tanh(), { size: [5, 4] }).square().sum(),
    () => [normal(1, 1, 3, 2)],
  ],
  [
    "convTranspose2d stride 2",
    (x, w) => convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }).square().sum(),
    () => [normal(1, 2, 3, 3), normal(2, 3, 3, 3)],
  ],
  ["crossEntropy (fused)", (x) => crossEntropy(x, tensor([0, 2, 1, 1], { dtype: "int32" })), () => [normal(4, 3)]],
  [
    "crossEntropy weighted, smoothed, ignored",
    (x) => crossEntropy(x, yIdx, { weight: classWeight, labelSmoothing: 0.2 }),
    () => [normal(4, 3)],
  ],
  [
    "crossEntropy reduction none",
    (x) => crossEntropy(x, yIdx, { reduction: "none", labelSmoothing: 0.1 }).square().sum(),
    () => [normal(4, 3)],
  ],
  [
    "linear + tanh + softmax",
    (x, w) => x.matmul(w).tanh().softmax(1).square().sum(),
    () => [normal(3, 4), normal(4, 2)],
  ],
];
for (const [name, fn, inputs] of secondOrderCases) {
  Deno.test(`gradgradcheck: ${name}`, () => {
    assert.equal(gradgradcheck(fn, inputs()), true);
  });
}

Deno.test("gradgradcheck reports a first derivative that is right but not differentiable", () => {
  // x² with a rule that saves x detached: the first derivative 2x·g is right, its derivative in x is lost.
  const square = (x: Tensor) =>
    record(noGrad(() => x.square()), "SquareBackward", [x], (g) => [g.mul(x.detach()).mul(2)]);
  const x = normal(3);
  assert.equal(gradgradcheck((a) => a.square().sum(), [x]), true);
  assert.throws(() => gradgradcheck((a) => square(a).sum(), [x]), /gradcheck: Jacobian mismatch for input 0/);
});
