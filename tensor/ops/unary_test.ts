import assert from "node:assert/strict";
import { erf, type Tensor, tensor } from "../mod.ts";
import { close, erfSeries, vals } from "./test_util.ts";

const xs = [-2.5, -1.3, -0.5, 0, 0.2, 0.7, 1.5, 2.9];
const pos = [0.05, 0.3, 1, 2.2, 7.5];
const cases: [string, (t: Tensor) => Tensor, (x: number) => number, number[]][] = [
  ["neg", (t) => t.neg(), (x) => -x, xs],
  ["exp", (t) => t.exp(), Math.exp, xs],
  ["log", (t) => t.log(), Math.log, pos],
  ["sqrt", (t) => t.sqrt(), Math.sqrt, [0, ...pos]],
  ["rsqrt", (t) => t.rsqrt(), (x) => 1 / Math.sqrt(x), pos],
  ["abs", (t) => t.abs(), Math.abs, xs],
  ["sign", (t) => t.sign(), Math.sign, xs],
  ["relu", (t) => t.relu(), (x) => Math.max(0, x), xs],
  ["sigmoid", (t) => t.sigmoid(), (x) => 1 / (1 + Math.exp(-x)), [...xs, -40, 40]],
  ["tanh", (t) => t.tanh(), Math.tanh, xs],
  ["gelu", (t) => t.gelu(), (x) => 0.5 * x * (1 + erfSeries(x / Math.SQRT2)), xs],
  ["sin", (t) => t.sin(), Math.sin, xs],
  ["cos", (t) => t.cos(), Math.cos, xs],
  ["reciprocal", (t) => t.reciprocal(), (x) => 1 / x, [-2, -0.5, 0.25, 4]],
  ["floor", (t) => t.floor(), Math.floor, xs],
  ["ceil", (t) => t.ceil(), Math.ceil, xs],
  ["expm1", (t) => t.expm1(), Math.expm1, [...xs, 1e-7]],
  ["log1p", (t) => t.log1p(), Math.log1p, [-0.5, 1e-7, 0, 3]],
  ["erf", (t) => t.erf(), erfSeries, xs],
  ["erf (function)", (t) => erf(t), erfSeries, xs],
  ["square", (t) => t.square(), (x) => x * x, xs],
];

for (const [name, f, ref, inputs] of cases) {
  Deno.test(`unary ${name} matches Math in float32 and float64`, () => {
    close(vals(f(tensor(inputs, { dtype: "float64" }))), inputs.map(ref), 2e-7, `${name} float64`);
    const out32 = f(tensor(inputs));
    assert.equal(out32.dtype, "float32");
    close(vals(out32), inputs.map((x) => Math.fround(ref(Math.fround(x)))), 2e-6, `${name} float32`);
    // Strided input: a transposed 2-D view.
    const two = tensor([inputs, inputs.map((x) => x)], { dtype: "float64" }).t();
    close(vals(f(two)), inputs.flatMap((x) => [ref(x), ref(x)]), 2e-7, `${name} strided`);
  });
}

Deno.test("round is half to even like torch.round", () => {
  assert.deepEqual(vals(tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6, -2.6]).round()), [-2, -2, -0, 0, 2, 2, 3, -3]);
});

Deno.test("unary special values: log(0), sqrt(-1), exp overflow", () => {
  assert.deepEqual(vals(tensor([0, -1]).log()), [-Infinity, NaN]);
  assert.ok(Number.isNaN(vals(tensor([-1]).sqrt())[0]));
  assert.deepEqual(vals(tensor([100]).exp()), [Infinity]);
  assert.deepEqual(vals(tensor([1, Infinity, -Infinity, NaN]).isfinite()), [1, 0, 0, 0]);
});

Deno.test("unary dtypes: float ops promote integers to float32, others keep the dtype, logicalNot gives bool", () => {
  const i = tensor([-2, 0, 3], { dtype: "int32" });
  assert.equal(i.exp().dtype, "float32");
  close(vals(i.exp()), [-2, 0, 3].map((x) => Math.fround(Math.exp(x))), 1e-7, "int exp");
  assert.equal(i.sqrt().dtype, "float32");
  assert.equal(i.sigmoid().dtype, "float32");
  assert.equal(i.neg().dtype, "int32");
  assert.deepEqual(vals(i.neg()), [2, 0, -3]);
  assert.equal(i.abs().dtype, "int32");
  assert.deepEqual(vals(i.abs()), [2, 0, 3]);
  assert.deepEqual(vals(i.relu()), [0, 0, 3]);
  assert.deepEqual(vals(i.sign()), [-1, 0, 1]);
  const n = i.logicalNot();
  assert.equal(n.dtype, "bool");
  assert.deepEqual(vals(n), [0, 1, 0]);
  assert.equal(tensor([1.5]).isfinite().dtype, "bool");
});

Deno.test("relu's gradient is threshold_backward: 0 where x <= 0 or NaN (even for infinite g), and differentiable again in g", async () => {
  const { thresholdBackward } = await import("./binary.ts");
  const x = tensor([-1, 0, 2, NaN, 3]);
  const g = tensor([5, 5, Infinity, 7, -2]);
  assert.deepStrictEqual(await thresholdBackward(x, g).tolist(), [0, 0, Infinity, 0, -2]);
  // Double backward: d/dx [relu'(x·w)·x·c] summed, taken through the fused op's own rule (linear in g).
  const w = tensor([1, 1, 1, 1, 1], { requiresGrad: true });
  const xs = tensor([-1, 0.5, 2, -3, 4]);
  const y = xs.mul(w).relu().sum();
  y.backward(undefined, { createGraph: true });
  const gw = w.grad as Tensor;
  const plain = async (t: Tensor) => ((await t.tolist()) as number[]).map((v) => v + 0); // -0 → 0
  assert.deepStrictEqual(await plain(gw), [0, 0.5, 2, 0, 4]);
  const c = tensor([1, 2, 3, 4, 5], { requiresGrad: true });
  w.grad = null;
  gw.mul(c).sum().backward();
  // ∂/∂c Σ c·relu'(x·w)·x = relu'(x·w)·x.
  assert.deepStrictEqual(await plain(c.grad as Tensor), [0, 0.5, 2, 0, 4]);
});
