import assert from "node:assert/strict";
import "../cpu/backend.ts";
import { gradcheck, gradgradcheck } from "../gradcheck.ts";
import { manualSeed } from "../random.ts";
import { randn, tensor } from "./creation.ts";
import { geluBackward } from "./binary.ts";
import { gelu } from "./unary.ts";
import { close, vals } from "./test_util.ts";

// Φ and φ from an independent erf (its Maclaurin series, exact enough in float64 for |x| ≤ 3).
function erfSeries(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const cdf = (v: number) => 0.5 * (1 + erfSeries(v / Math.SQRT2));
const pdf = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);

Deno.test("gelu's fused gradient: y·(Φ(x) + x·φ(x)) against an independent erf; through gelu's backward", () => {
  const xs = [-3, -1.5, -0.5, 0, 0.25, 1, 2.5];
  const ys = [0.5, -1, 2, 1, 3, -2, 1.5];
  const x = tensor(xs, { dtype: "float64" }), y = tensor(ys, { dtype: "float64" });
  // The kernels' erf is specified to float32 accuracy (elementwise_table.ts).
  close(vals(geluBackward(x, y)), xs.map((v, i) => ys[i] * (cdf(v) + v * pdf(v))), 2e-7, "geluBackward");
  const leaf = x.clone().requiresGrad_();
  gelu(leaf).mul(y).sum().backward();
  close(vals(leaf.grad!), xs.map((v, i) => ys[i] * (cdf(v) + v * pdf(v))), 2e-7, "gelu backward");
});

Deno.test("gelu: first and second derivatives by finite differences (gradcheck, gradgradcheck)", () => {
  manualSeed(5);
  const x = () => randn([3, 4], { dtype: "float64" }).requiresGrad_();
  // float32-accurate erf: finite differences in float64 still see its 1e-7 error, hence the tolerance.
  const tol = { atol: 1e-5, rtol: 1e-4 };
  assert.equal(gradcheck((a) => gelu(a), [x()], tol), true);
  assert.equal(gradcheck((a, b) => geluBackward(a, b), [x(), x()], tol), true);
  assert.equal(gradgradcheck((a) => gelu(a).square().sum(), [x()], tol), true);
});
