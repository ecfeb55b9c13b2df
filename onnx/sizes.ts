/**
 * Sizes that depend on dynamic axes. The exporter traces the forward once
 * with the example inputs and again with each dynamic axis (and each pair of
 * them) one longer; an integer an op used (a reshape target, a slice end, an
 * output size) that differs between the traces is fitted exactly as a
 * polynomial of degree at most two in the axes' sizes (`B`, `T`, `B·T`,
 * `T - 1`) and computed in the graph from the inputs' shapes.
 *
 * @module
 */

/** A dynamic axis: its name, its size in the example inputs, and where it occurs (input index, axis). */
export interface SymbolicAxis {
  /** The name ONNX shows for it (`batch`). */
  readonly name: string;
  /** Its size in the example inputs. */
  readonly size: number;
  /** Every `[flat input index, axis]` it names. */
  readonly at: readonly (readonly [number, number])[];
}

/** The traces to run: per trace, how much each axis grows (0 or 1) over the example inputs. */
export function traceGrowth(symbols: number): number[][] {
  const zero = () => new Array<number>(symbols).fill(0);
  const out = [zero()];
  for (let s = 0; s < symbols; s++) {
    const g = zero();
    g[s] = 1;
    out.push(g);
  }
  for (let s = 0; s < symbols; s++) {
    for (let t = s + 1; t < symbols; t++) {
      const g = zero();
      g[s] = g[t] = 1;
      out.push(g);
    }
  }
  return out;
}

/**
 * An integer as a polynomial of the axes' sizes `S`: `constant + Σ linear[s]·S_s + Σ quadratic[s,t]·S_s·S_t`
 * (with `s < t`).
 */
export interface Poly {
  /** The constant term. */
  readonly constant: number;
  /** Per axis, the linear coefficient. */
  readonly linear: readonly number[];
  /** Products of two axes: `[s, t, coefficient]`. */
  readonly quadratic: readonly (readonly [number, number, number])[];
}

/** Whether `p` is a constant. */
export function isConstant(p: Poly): boolean {
  return p.linear.every((c) => c === 0) && p.quadratic.every(([, , c]) => c === 0);
}

/** The axis `p` is exactly (`S_s`), or -1. */
export function asSymbol(p: Poly): number {
  if (p.constant !== 0 || p.quadratic.some(([, , c]) => c !== 0)) return -1;
  const ones = p.linear.flatMap((c, s) => (c === 1 ? [s] : []));
  return ones.length === 1 && p.linear.every((c, s) => c === 0 || s === ones[0]) ? ones[0] : -1;
}

/**
 * Fits the value seen in each trace (in {@link traceGrowth}'s order) as a
 * polynomial of the axis sizes; `base` are the sizes in the first trace.
 * Returns null when the fitted coefficients are not integers.
 */
export function fitPoly(values: readonly number[], base: readonly number[]): Poly | null {
  const k = base.length;
  const c0 = values[0];
  const beta = base.map((_, s) => values[1 + s] - c0);
  const gamma: [number, number, number][] = [];
  let at = 1 + k;
  for (let s = 0; s < k; s++) {
    for (let t = s + 1; t < k; t++) gamma.push([s, t, values[at++] - values[1 + s] - values[1 + t] + c0]);
  }
  // From the centred form c0 + Σβ(S-n) + Σγ(S_s-n_s)(S_t-n_t) to plain coefficients.
  let constant = c0 - beta.reduce((a, b, s) => a + b * base[s], 0);
  const linear = [...beta];
  for (const [s, t, g] of gamma) {
    constant += g * base[s] * base[t];
    linear[s] -= g * base[t];
    linear[t] -= g * base[s];
  }
  const all = [constant, ...linear, ...gamma.map(([, , g]) => g)];
  if (!all.every(Number.isInteger)) return null;
  return { constant, linear, quadratic: gamma };
}

/** Evaluates `p` at axis sizes `sizes`. */
export function evalPoly(p: Poly, sizes: readonly number[]): number {
  let v = p.constant;
  p.linear.forEach((c, s) => (v += c * sizes[s]));
  for (const [s, t, c] of p.quadratic) v += c * sizes[s] * sizes[t];
  return v;
}

/** `p` written out (`2*batch*seq + 1`), for error messages and ONNX dim names. */
export function showPoly(p: Poly, names: readonly string[]): string {
  const terms: string[] = [];
  const term = (c: number, factors: string[]) => {
    if (c === 0) return;
    const body = factors.join("*");
    terms.push(c === 1 ? body : c === -1 ? `-${body}` : `${c}*${body}`);
  };
  p.quadratic.forEach(([s, t, c]) => term(c, [names[s], names[t]]));
  p.linear.forEach((c, s) => term(c, [names[s]]));
  if (p.constant !== 0 || terms.length === 0) terms.push(String(p.constant));
  return terms.join(" + ").replace(/\+ -/g, "- ");
}
