/**
 * The Rényi-DP accountant of the subsampled Gaussian mechanism, as Opacus
 * (`RDPAccountant`) and TensorFlow Privacy compute it: DP-SGD that samples each
 * example with probability `q` and adds Gaussian noise of `σ` times the
 * clipping norm is `(α, ε_α)`-RDP per step with `ε_α = log(A_α) / (α − 1)`
 * (Mironov, Talwar and Zhang, "Rényi Differential Privacy of the Sampled
 * Gaussian Mechanism", 2019, §3.3: a finite sum for integer α, two series with
 * `erfc` for fractional α); steps compose by adding RDP; and RDP converts to
 * `(ε, δ)`-DP by Balle et al.'s bound ("Hypothesis Testing Interpretations and
 * Rényi Differential Privacy", 2020, Theorem 21),
 * `ε = ε_α + log((α−1)/α) − (log δ + log α)/(α − 1)`, minimised over the orders.
 * The classical conversion `ε_α − log δ/(α − 1)` is available for comparison.
 *
 * @module
 */

/** Opacus's default RDP orders: 1.1, 1.2, …, 10.9 and 12, 13, …, 63. */
export const DEFAULT_ALPHAS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
];

/** `log(e^a + e^b)`, exact at −∞. */
function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b), hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

/** `log(e^a − e^b)` for `a ≥ b`. */
function logSub(a: number, b: number): number {
  if (a < b) throw new RangeError("rdp: logSub of a larger from a smaller number");
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  const d = Math.expm1(a - b);
  return Number.isFinite(d) ? Math.log(d) + b : a;
}

/**
 * `log(erfc(x))` in double precision for every x: the power series of erf for `|x| < 2`, and for `|x| ≥ 2` the
 * continued fraction `erfc(x) = e^{−x²}/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …))))`, kept in log space so that large
 * arguments do not underflow.
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = x, sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.log(1 - (2 / Math.sqrt(Math.PI)) * sum);
  }
  let f = ax;
  for (let n = 120; n >= 1; n--) f = ax + n / 2 / f;
  const logTail = -ax * ax - 0.5 * Math.log(Math.PI) - Math.log(f); // log erfc(|x|)
  return x > 0 ? logTail : Math.log(2 - Math.exp(logTail));
}

/** `log A_α` for an integer order (the binomial sum). */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0; // log C(α, i)
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const s = logBinom + i * Math.log(q) + (alpha - i) * Math.log(1 - q) + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, s);
  }
  return logA;
}

/** `log A_α` for a fractional order (the two erfc series, summed until their terms fall below e^−30). */
function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity, logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let coef = 1; // C(α, i), which changes sign once i > α
  for (let i = 0;; i++) {
    if (i > 0) coef *= (alpha - i + 1) / i;
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log(1 - q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log(1 - q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
  }
  return logAdd(logA0, logA1);
}

/** RDP `ε_α` of one step of the sampled Gaussian mechanism with sampling rate `q` and noise multiplier `sigma`. */
export function rdpOfStep(q: number, sigma: number, alpha: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`rdp: the sampling rate must be in [0, 1], got ${q}`);
  if (!(sigma >= 0)) throw new RangeError(`rdp: the noise multiplier must be non-negative, got ${sigma}`);
  if (!(alpha > 1)) throw new RangeError(`rdp: orders must be greater than 1, got ${alpha}`);
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** RDP at each order after `steps` steps (RDP composes additively). */
export function computeRdp(
  q: number,
  sigma: number,
  steps: number,
  orders: readonly number[] = DEFAULT_ALPHAS,
): number[] {
  if (!Number.isInteger(steps) || steps < 0) {
    throw new RangeError(`rdp: steps must be a non-negative integer, got ${steps}`);
  }
  return orders.map((a) => rdpOfStep(q, sigma, a) * steps);
}

/** How RDP becomes `(ε, δ)`: Balle et al. 2020 (Opacus's, tighter) or the classical `ε_α − log δ/(α−1)`. */
export type RdpConversion = "balle2020" | "classic";

/** The smallest `ε` over `orders` for the given `delta`, and the order that gives it. */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: RdpConversion = "balle2020",
): { epsilon: number; order: number } {
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new RangeError(`rdp: expected one RDP value per order, got ${orders.length} orders and ${rdp.length} values`);
  }
  if (!(delta > 0 && delta < 1)) throw new RangeError(`rdp: delta must be in (0, 1), got ${delta}`);
  let best = { epsilon: Infinity, order: NaN };
  orders.forEach((a, k) => {
    const eps = conversion === "classic"
      ? rdp[k] - Math.log(delta) / (a - 1)
      : rdp[k] - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return best;
}

/**
 * Keeps the history of DP-SGD steps (noise multiplier, sampling rate, count) and reports `ε` for a `δ`, as Opacus's
 * `RDPAccountant`.
 *
 * @example
 * ```ts
 * import { RDPAccountant } from "./rdp_accountant.ts";
 * const accountant = new RDPAccountant();
 * for (let i = 0; i < 2250; i++) accountant.step(1.5, 0.04);
 * console.log(accountant.getEpsilon(1e-5).toFixed(4)); // 7.3291 (Opacus's test)
 * ```
 */
export class RDPAccountant {
  /** `[noiseMultiplier, sampleRate, steps]` runs, in order. */
  readonly history: [number, number, number][] = [];

  /** Records one step (consecutive identical steps share one history entry). */
  step(noiseMultiplier: number, sampleRate: number): void {
    rdpOfStep(sampleRate, noiseMultiplier, 2); // validates before recording
    const last = this.history[this.history.length - 1];
    if (last && last[0] === noiseMultiplier && last[1] === sampleRate) last[2]++;
    else this.history.push([noiseMultiplier, sampleRate, 1]);
  }

  /** `ε` and the best order for `delta`. */
  getPrivacySpent(delta: number, orders: readonly number[] = DEFAULT_ALPHAS): { epsilon: number; order: number } {
    if (this.history.length === 0) return { epsilon: 0, order: NaN };
    const rdp = orders.map(() => 0);
    for (const [sigma, q, steps] of this.history) computeRdp(q, sigma, steps, orders).forEach((v, k) => (rdp[k] += v));
    return epsilonFromRdp(orders, rdp, delta);
  }

  /** `ε` for `delta`. */
  getEpsilon(delta: number, orders: readonly number[] = DEFAULT_ALPHAS): number {
    return this.getPrivacySpent(delta, orders).epsilon;
  }
}
