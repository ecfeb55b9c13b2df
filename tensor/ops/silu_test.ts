import assert from "node:assert/strict";
import "../cpu/backend.ts";
import { tensor } from "./creation.ts";
import { siluBackward } from "./binary.ts";
import { silu } from "./nn_ops.ts";
import { vals } from "./test_util.ts";

Deno.test("silu and its gradient on long float32 rows (the WebAssembly SIMD path) within float32 rounding", () => {
  // 4,099 values over [-100, 100] (both saturated tails, zero, and a tail of 3 after the 16-wide loop): rows long
  // enough for the vector kernels, compared with float64 evaluations of x·σ(x) and y·σ(x)·(1 + x·(1 − σ(x))).
  const n = 4099;
  const xs = Array.from({ length: n }, (_, i) => {
    const u = -1 + (2 * i) / (n - 1);
    return 100 * u * u * u; // dense near zero, reaching the tails where e^(−x) overflows float32
  });
  const ys = xs.map((_, i) => Math.cos(i));
  const x = tensor(xs), y = tensor(ys);
  const f32 = (v: number) => Math.fround(v);
  const sigma = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
  const want = xs.map((v) => f32(v) * sigma(f32(v)));
  const wantGrad = xs.map((v, i) => {
    const s = sigma(f32(v));
    return f32(ys[i]) * s * (1 + f32(v) * (1 - s));
  });
  const got = vals(silu(x)), gotGrad = vals(siluBackward(x, y));
  const tol = (w: number) => 1e-6 + 1e-6 * Math.abs(w);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol(want[i]), `silu(${xs[i]}) = ${got[i]}, want ${want[i]}`);
    assert.ok(
      Math.abs(gotGrad[i] - wantGrad[i]) <= tol(wantGrad[i]),
      `siluBackward(${xs[i]}) = ${gotGrad[i]}, want ${wantGrad[i]}`,
    );
  }
  assert.ok(Number.isNaN(vals(silu(tensor(new Array(16).fill(NaN))))[3]), "silu(NaN) is NaN");
});
