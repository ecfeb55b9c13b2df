import assert from "node:assert/strict";
import "../cpu/backend.ts";
import { gradcheck, gradgradcheck } from "../gradcheck.ts";
import { manualSeed } from "../random.ts";
import { randn, tensor } from "./creation.ts";
import { geluBackward } from "./binary.ts";
import { gelu } from "./unary.ts";
import { close, erfSeries, vals } from "./test_util.ts";

// Φ and φ from an independent erf (its Maclaurin series, exact enough in float64 for |x| ≤ 3).
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

Deno.test("gelu and its gradient on long float32 rows (the WebAssembly SIMD path) within float32 rounding", () => {
  // 4,099 values over [-9, 9] (both tails, zero, and a tail of 3 after the 16-wide loop): rows long enough for the
  // vector kernels, compared with float64 evaluations of x·Φ(x) and y·(Φ(x) + x·φ(x)).
  const n = 4099;
  const xs = Array.from({ length: n }, (_, i) => -9 + (18 * i) / (n - 1));
  const ys = xs.map((_, i) => Math.cos(i));
  const x = tensor(xs), y = tensor(ys);
  const f32 = (v: number) => Math.fround(v);
  const cdfAny = (v: number) => (Math.abs(v) <= 3 ? cdf(v) : v > 0 ? 1 - tail(v) : tail(-v));
  const want = xs.map((v) => f32(v) * cdfAny(f32(v)));
  const wantGrad = xs.map((v, i) => f32(ys[i]) * (cdfAny(f32(v)) + f32(v) * pdf(f32(v))));
  const got = vals(gelu(x)), gotGrad = vals(geluBackward(x, y));
  for (let i = 0; i < n; i++) {
    const tol = (w: number) => 2e-6 + 2e-5 * Math.abs(w);
    assert.ok(Math.abs(got[i] - want[i]) <= tol(want[i]), `gelu(${xs[i]}) = ${got[i]}, want ${want[i]}`);
    assert.ok(
      Math.abs(gotGrad[i] - wantGrad[i]) <= tol(wantGrad[i]),
      `geluBackward(${xs[i]}) = ${gotGrad[i]}, want ${wantGrad[i]}`,
    );
  }
});

/** Φ(−v) for v > 3 by its continued fraction (the series for erf loses digits there). */
function tail(v: number): number {
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / (v + f);
  return pdf(v) / (v + f);
}
