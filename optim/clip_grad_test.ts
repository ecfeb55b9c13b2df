import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { tensor } from "@dendrite/tensor";
import { clipGradNorm, clipGradNorm_, clipGradValue } from "./clip_grad.ts";
import { assertClose } from "./_testing.ts";

/** Two float64 parameters with grads [3, 4] and [[12]] (total 2-norm 13). */
function withGrads() {
  const a = tensor([0, 0], { dtype: "float64" }).requiresGrad_();
  const b = tensor([[0]], { dtype: "float64" }).requiresGrad_();
  a.grad = tensor([3, 4], { dtype: "float64" });
  b.grad = tensor([[12]], { dtype: "float64" });
  return [a, b];
}

Deno.test("clipGradNorm: scales by maxNorm / (total + 1e-6) and returns the total norm as a tensor", () => {
  const params = withGrads();
  const total = clipGradNorm(params, 6.5);
  deepEqual(total.shape, []);
  assertClose(total.dataSync(), [13], "total");
  const coef = 6.5 / (13 + 1e-6);
  assertClose(params[0].grad!.dataSync(), [3 * coef, 4 * coef], "grad a");
  assertClose(params[1].grad!.dataSync(), [12 * coef], "grad b");
  // Hand-worked: the clipped total is maxNorm (up to the 1e-6).
  const clipped = Math.hypot(...params[0].grad!.dataSync(), ...params[1].grad!.dataSync());
  ok(Math.abs(clipped - 6.5) < 1e-6);
});

Deno.test("clipGradNorm: leaves gradients below maxNorm unchanged", () => {
  const params = withGrads();
  assertClose(clipGradNorm(params, 100).dataSync(), [13], "total");
  deepEqual(Array.from(params[0].grad!.dataSync()), [3, 4]);
  deepEqual(Array.from(params[1].grad!.dataSync()), [12]);
});

Deno.test("clipGradNorm: inf-norm and 1-norm and a generic p", () => {
  let params = withGrads();
  assertClose(clipGradNorm(params, 6, Infinity).dataSync(), [12], "inf");
  const c = 6 / (12 + 1e-6);
  assertClose(params[0].grad!.dataSync(), [3 * c, 4 * c], "inf-clipped");
  params = withGrads();
  assertClose(clipGradNorm(params, 1, "inf").dataSync(), [12], "'inf'");
  params = withGrads();
  assertClose(clipGradNorm(params, 100, 1).dataSync(), [19], "1-norm");
  params = withGrads();
  assertClose(clipGradNorm(params, 100, 3).dataSync(), [Math.cbrt(27 + 64 + 1728)], "3-norm");
});

Deno.test("clipGradNorm: a single tensor, skipped params without grad, and no grads at all", () => {
  const [a] = withGrads();
  const none = tensor([1, 2]).requiresGrad_();
  assertClose(clipGradNorm(a, 1).dataSync(), [5], "single tensor");
  assertClose(a.grad!.dataSync(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], "single tensor grad");
  equal(none.grad, null);
  assertClose(clipGradNorm([none, a], 100).dataSync(), [Math.hypot(3 / (5 + 1e-6), 4 / (5 + 1e-6))], "mixed");
  equal(none.grad, null);
  deepEqual(Array.from(clipGradNorm([none], 1).dataSync()), [0]);
});

Deno.test("clipGradNorm: float32 grads and errorIfNonfinite", () => {
  const w = tensor([0, 0, 0]).requiresGrad_();
  w.grad = tensor([1, 2, 2]);
  assertClose(clipGradNorm([w], 1.5).dataSync(), [3], "float32", 1e-6, 1e-6);
  assertClose(w.grad.dataSync(), [0.5, 1, 1], "float32 clipped", 1e-6, 1e-6);
  w.grad = tensor([1, NaN, 2]);
  throws(
    () => clipGradNorm([w], 1, 2, { errorIfNonfinite: true }),
    /clipGradNorm: the total norm of order 2 of the gradients is NaN/,
  );
  w.grad = tensor([1, Infinity, 2]);
  throws(() => clipGradNorm([w], 1, 2, { errorIfNonfinite: true }), /is Infinity/);
  throws(() => clipGradNorm([w], 1, 0), /normType must be a number > 0 or Infinity, got 0/);
  throws(() => clipGradNorm([w], NaN), /maxNorm must be a number/);
});

Deno.test("clipGradValue: clamps every gradient to [-clipValue, clipValue]", () => {
  const params = withGrads();
  params[0].grad = tensor([-7, 0.5], { dtype: "float64" });
  clipGradValue(params, 2);
  deepEqual(Array.from(params[0].grad.dataSync()), [-2, 0.5]);
  deepEqual(Array.from(params[1].grad!.dataSync()), [2]);
  throws(() => clipGradValue(params, -1), /clipValue must be a number >= 0, got -1/);
});

Deno.test("clipGradNorm: two leaves whose gradients meet in one storage are each scaled once", () => {
  // w's gradient reaches it through reshape (a view) of the gradient add hands b too; if the two leaves shared that
  // memory, clipping would scale it twice. Both grads are [2, 2, 2, 2]: total norm √32, so each entry → 2/√32.
  const w = tensor([1, 2, 3, 4]).requiresGrad_();
  const b = tensor([1, 1, 1, 1]).requiresGrad_();
  w.reshape([4]).add(b).mul(tensor([2, 2, 2, 2])).sum().backward();
  ok(w.grad!.storage !== b.grad!.storage, "each leaf owns its gradient's memory");
  clipGradNorm_([w, b], 1);
  const want = 2 / Math.sqrt(32);
  for (const g of [w.grad!, b.grad!]) for (const v of g.dataSync()) ok(Math.abs(v - want) < 1e-6, `${v} vs ${want}`);
});
