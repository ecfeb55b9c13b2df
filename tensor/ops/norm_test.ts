import { deepStrictEqual, ok, throws } from "node:assert/strict";
import "../cpu/backend.ts";
import { gradcheck } from "../gradcheck.ts";
import type { Tensor } from "../tensor.ts";
import { manualSeed } from "../random.ts";
import { ones, randn, tensor, zeros } from "./creation.ts";
import { batchNorm } from "./norm.ts";

const f64 = (shape: number[]) => randn(shape, { dtype: "float64" });
const leaf = (shape: number[]) => f64(shape).requiresGrad_();

Deno.test("batchNorm: gradcheck in training, with and without affine, ranks 2 to 4", () => {
  manualSeed(11);
  for (const shape of [[4, 3], [3, 2, 5], [2, 3, 2, 3]]) {
    const c = shape[1];
    gradcheck((x, w, b) => batchNorm(x, null, null, { training: true, weight: w, bias: b }), [
      leaf(shape),
      leaf([c]),
      leaf([c]),
    ]);
    gradcheck((x) => batchNorm(x, null, null, { training: true }), [leaf(shape)]);
    // Running stats are updated but take no part in the gradient.
    const rm = zeros([c], { dtype: "float64" }), rv = ones([c], { dtype: "float64" });
    gradcheck((x, w) => batchNorm(x, rm, rv, { training: true, weight: w, eps: 1e-3 }), [leaf(shape), leaf([c])]);
  }
});

Deno.test("batchNorm: gradcheck in eval (running statistics), with and without affine", () => {
  manualSeed(12);
  const rm = f64([3]), rv = f64([3]).abs().add(0.5);
  const shape = [2, 3, 2, 2];
  gradcheck((x, w, b) => batchNorm(x, rm, rv, { weight: w, bias: b }), [leaf(shape), leaf([3]), leaf([3])]);
  gradcheck((x) => batchNorm(x, rm, rv), [leaf(shape)]);
  gradcheck((x, b) => batchNorm(x, rm, rv, { bias: b }), [leaf([5, 3]), leaf([3])]);
});

Deno.test("batchNorm: strided input and a frozen weight; one autograd node", () => {
  manualSeed(13);
  // x is [N, C, H, W] read through a permutation, so the kernels get a non-contiguous view.
  const base = leaf([3, 2, 4, 2]);
  const w = f64([2]); // frozen: no gradient wanted
  gradcheck((b, bias) => batchNorm(b.permute([0, 3, 1, 2]), null, null, { training: true, weight: w, bias }), [
    base,
    leaf([2]),
  ]);
  const y = batchNorm(base, null, null, { training: true, weight: w, bias: leaf([2]) });
  deepStrictEqual(y.gradFn?.name, "BatchNormBackward");
});

Deno.test("batchNorm: float32 training output and running stats against direct loops", () => {
  manualSeed(14);
  const [n, c, s] = [3, 4, 6];
  const x = randn([n, c, 2, 3]).mul(2).add(1);
  const w = randn([c]), b = randn([c]);
  const rm = randn([c]), rv = randn([c]).abs();
  const rm0 = [...rm.dataSync()], rv0 = [...rv.dataSync()];
  const y = batchNorm(x, rm, rv, { training: true, weight: w, bias: b, momentum: 0.2, eps: 1e-4 });
  const xv = x.dataSync(), yv = y.dataSync(), wv = w.dataSync(), bv = b.dataSync();
  for (let ch = 0; ch < c; ch++) {
    const vals: number[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < s; j++) vals.push(xv[(i * c + ch) * s + j]);
    const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
    const ss = vals.reduce((a, v) => a + (v - mean) ** 2, 0);
    const inv = 1 / Math.sqrt(ss / vals.length + 1e-4);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < s; j++) {
        const at = (i * c + ch) * s + j;
        const e = (xv[at] - mean) * inv * wv[ch] + bv[ch];
        ok(Math.abs(yv[at] - e) < 1e-5 * (1 + Math.abs(e)), `y[${at}] = ${yv[at]}, expected ${e}`);
      }
    }
    const em = 0.8 * rm0[ch] + 0.2 * mean, ev = 0.8 * rv0[ch] + 0.2 * ss / (vals.length - 1);
    ok(Math.abs(rm.dataSync()[ch] - em) < 1e-5, `runningMean[${ch}]`);
    ok(Math.abs(rv.dataSync()[ch] - ev) < 1e-5 * (1 + ev), `runningVar[${ch}]`);
  }
});

Deno.test("batchNorm: bad dtypes are named", () => {
  const x = randn([2, 3]);
  throws(() => batchNorm(x, null, null, { training: true, weight: ones([3], { dtype: "float64" }) }), {
    message: "batchNorm: expected weight of the input's dtype float32, got float64",
  });
  throws(
    () => batchNorm(tensor([[1, 2], [3, 4]], { dtype: "int32" }), null, null, { training: true }),
    /batchNorm: expected a floating input, got int32/,
  );
});

Deno.test("batchNorm: gradients are not differentiable again (documented), but first order works under createGraph", () => {
  manualSeed(15);
  const x = leaf([4, 2]);
  const y: Tensor = batchNorm(x, null, null, { training: true, weight: leaf([2]) });
  y.mul(y).sum().backward(undefined, { createGraph: true });
  ok(x.grad !== null && x.grad.shape.join() === "4,2");
});
