import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { computeRdp, epsilonFromRdp, logErfc, RDPAccountant, rdpOfStep } from "./rdp_accountant.ts";

function near(actual: number, expected: number, tol: number, what: string): void {
  ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (±${tol})`);
}

Deno.test("RDP accountant: the published values of TensorFlow Privacy's and Opacus's tests", () => {
  // tensorflow/privacy rdp_accountant_test.py: compute_rdp(q, σ, steps, orders).
  near(computeRdp(0.1, 2, 10, [5])[0], 0.07737, 5e-6, "compute_rdp(0.1, 2, 10, 5)");
  const seq = computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, Infinity]);
  [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307].forEach((v, i) => near(seq[i], v, 1e-5, `order ${i}`));
  deepStrictEqual(seq[5], Infinity);
  // Their ε tests use the classical conversion ε_α − log δ / (α − 1).
  const orders = Array.from({ length: 31 }, (_, i) => i + 2);
  const spent = epsilonFromRdp(orders, computeRdp(0.01, 4, 10000, orders), 1e-5, "classic");
  near(spent.epsilon, 1.258575, 5e-6, "ε for q 0.01, σ 4, 10,000 steps");
  deepStrictEqual(spent.order, 20);
  const o2 = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
  const a = computeRdp(1e-4, 0.4, 40000, o2), b = computeRdp(0.1, 2, 100, o2);
  const composed = epsilonFromRdp(o2, a.map((v, k) => v + b[k]), 1e-5, "classic");
  near(composed.epsilon, 8.509656, 5e-6, "composition of two mechanisms");
  deepStrictEqual(composed.order, 2.5);
  // pytorch/opacus accountants_test.py: σ 1.5, q 0.04, 2,250 steps, δ 1e-5 with Balle et al.'s conversion
  // over the default orders; the best order is fractional (3.9), so the erfc series is exercised.
  const acc = new RDPAccountant();
  for (let i = 0; i < 2250; i++) acc.step(1.5, 0.04);
  deepStrictEqual(acc.history, [[1.5, 0.04, 2250]]);
  near(acc.getEpsilon(1e-5), 7.32911117143, 1e-9, "Opacus RDPAccountant");
  deepStrictEqual(acc.getPrivacySpent(1e-5).order, 3.9);
});

Deno.test("RDP accountant: log A_α and ε match numerical integration of the definition (mpmath)", async () => {
  const ref = JSON.parse(await Deno.readTextFile(new URL("./testdata/rdp_reference.json", import.meta.url))) as {
    log_a: { q: number; sigma: number; alpha: number; log_a: number }[];
    epsilon: { q: number; sigma: number; steps: number; delta: number; epsilon: number; order: number }[];
  };
  for (const c of ref.log_a) {
    const mine = rdpOfStep(c.q, c.sigma, c.alpha) * (c.alpha - 1);
    near(mine, c.log_a, 1e-9 + 1e-8 * Math.abs(c.log_a), `log A at q ${c.q}, σ ${c.sigma}, α ${c.alpha}`);
  }
  for (const r of ref.epsilon) {
    const acc = new RDPAccountant();
    for (let i = 0; i < r.steps; i++) acc.step(r.sigma, r.q);
    const spent = acc.getPrivacySpent(r.delta);
    near(spent.epsilon, r.epsilon, 1e-7 * r.epsilon, `ε for q ${r.q}, σ ${r.sigma}, ${r.steps} steps`);
    deepStrictEqual(spent.order, r.order);
  }
});

Deno.test("RDP accountant: the limits, the tighter conversion, and bad input", () => {
  deepStrictEqual(rdpOfStep(0, 1, 2), 0); // nothing sampled, nothing leaked
  deepStrictEqual(rdpOfStep(1, 2, 3), 3 / 8); // the Gaussian mechanism: α / (2σ²)
  deepStrictEqual(rdpOfStep(0.1, 0, 2), Infinity); // no noise
  // Sampling amplifies privacy: RDP grows with q, falls with σ.
  ok(rdpOfStep(0.01, 1, 4) < rdpOfStep(0.1, 1, 4) && rdpOfStep(0.1, 2, 4) < rdpOfStep(0.1, 1, 4));
  // Balle et al.'s conversion is never looser than the classical one.
  const rdp = computeRdp(0.02, 1.1, 1000);
  const orders = Array.from({ length: 151 }, (_, i) => (i < 99 ? 1 + (i + 1) / 10 : i - 87));
  ok(epsilonFromRdp(orders, rdp, 1e-5).epsilon < epsilonFromRdp(orders, rdp, 1e-5, "classic").epsilon);
  // log erfc against tabulated erfc values (Abramowitz & Stegun 7.1): erfc(1) = 0.157299207050285,
  // erfc(3) = 2.20904969985854e-5, erfc(−1) = 1.84270079294971; and the asymptotic series e^{−x²}/(x√π)(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶)) at x = 30.
  near(logErfc(1), Math.log(0.157299207050285), 1e-13, "log erfc(1)");
  near(logErfc(3), Math.log(2.20904969985854e-5), 1e-12, "log erfc(3)");
  near(logErfc(-1), Math.log(1.84270079294971), 1e-13, "log erfc(−1)");
  near(
    logErfc(30),
    -900 - Math.log(30 * Math.sqrt(Math.PI)) + Math.log1p(-1 / 1800 + 3 / (4 * 30 ** 4) - 15 / (8 * 30 ** 6)),
    1e-10,
    "log erfc(30)",
  );
  throws(() => rdpOfStep(1.5, 1, 2), /sampling rate must be in \[0, 1\], got 1.5/);
  throws(() => rdpOfStep(0.1, -1, 2), /noise multiplier must be non-negative/);
  throws(() => rdpOfStep(0.1, 1, 1), /orders must be greater than 1/);
  throws(() => epsilonFromRdp([2], [0.1], 0), /delta must be in \(0, 1\)/);
  const acc = new RDPAccountant();
  throws(() => acc.step(1, 2), /sampling rate/);
  deepStrictEqual(acc.history, []);
  deepStrictEqual(acc.getEpsilon(1e-5), 0);
});
