/**
 * The CPU backend's optional fused kernels: cross-entropy forward and
 * backward over rows of logits, and the Adam/AdamW and SGD updates in one pass
 * over a parameter, its gradient and its state (no temporaries). Arithmetic is
 * in float64 and rounded once on store.
 *
 * @module
 */

import type { AdamUpdateOptions, CrossEntropyArgs, SgdUpdateOptions, Storage, View } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { isContiguous, numel } from "../shape.ts";

/** The typed array of a CPU storage (passed in so this file does not import the backend). */
export type DataOf = (s: Storage) => TypedArray;

function targetAt(data: ArrayLike<number>, target: View, r: number): number {
  return data[target.offset + r * (target.strides[0] ?? 0)];
}

/** Checks a target (not `ignoreIndex`) is a class index; the ops layer checks first, this guards direct calls. */
function checkTarget(t: number, c: number, ignore: number): void {
  if (t !== ignore && (t < 0 || t >= c)) {
    throw new RangeError(
      `crossEntropy: target ${t} is out of bounds for ${c} classes (and is not ignoreIndex ${ignore})`,
    );
  }
}

/** See `Backend.crossEntropyForward`. */
export function crossEntropyForward(
  data: DataOf,
  args: CrossEntropyArgs,
  loss: Storage,
  rowWeight: Storage,
  saved: Storage,
): void {
  const { logits, target, weight, ignoreIndex, labelSmoothing: eps } = args;
  const [rows, c] = logits.shape;
  const x = data(logits.storage), td = data(target.storage);
  const w = weight ? data(weight.storage) : null;
  const wOff = weight?.offset ?? 0, wStr = weight?.strides[0] ?? 0;
  const lo = data(loss), rw = data(rowWeight), sv = data(saved);
  let wSum = c;
  if (w) {
    wSum = 0;
    for (let j = 0; j < c; j++) wSum += w[wOff + j * wStr];
  }
  for (let r = 0; r < rows; r++) {
    const t = targetAt(td, target, r);
    checkTarget(t, c, ignoreIndex);
    if (t === ignoreIndex) {
      lo[r] = 0;
      rw[r] = 0;
      sv[2 * r] = 0;
      sv[2 * r + 1] = 0;
      continue;
    }
    const base = logits.offset + r * c;
    let m = -Infinity;
    for (let j = 0; j < c; j++) if (x[base + j] > m) m = x[base + j];
    if (m === -Infinity) m = 0;
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(x[base + j] - m);
    const lse = m + Math.log(s);
    const wt = w ? w[wOff + t * wStr] : 1;
    let value = (1 - eps) * wt * (lse - x[base + t]);
    if (eps !== 0) {
      // Σ_c w_c (lse - x_c), summed term by term (lse·W - Σ w_c x_c would cancel badly).
      let smooth = 0;
      if (w) { for (let j = 0; j < c; j++) smooth += w[wOff + j * wStr] * (lse - x[base + j]); }
      else for (let j = 0; j < c; j++) smooth += lse - x[base + j];
      value += (eps / c) * smooth;
    }
    lo[r] = value;
    rw[r] = wt;
    sv[2 * r] = lse;
    sv[2 * r + 1] = (1 - eps) * wt + (eps / c) * wSum;
  }
}

/** See `Backend.crossEntropyBackward`. */
export function crossEntropyBackward(
  data: DataOf,
  args: CrossEntropyArgs,
  saved: View,
  gradLoss: View,
  out: Storage,
): void {
  const { logits, target, weight, ignoreIndex, labelSmoothing: eps } = args;
  const [rows, c] = logits.shape;
  const x = data(logits.storage), td = data(target.storage), sv = data(saved.storage), gd = data(gradLoss.storage);
  const w = weight ? data(weight.storage) : null;
  const wOff = weight?.offset ?? 0, wStr = weight?.strides[0] ?? 0;
  const o = data(out);
  const sOff = saved.offset, sR = saved.strides[0], sC = saved.strides[1];
  const gStr = gradLoss.strides[0] ?? 0;
  for (let r = 0; r < rows; r++) {
    const t = targetAt(td, target, r);
    const ob = r * c;
    if (t === ignoreIndex) {
      for (let j = 0; j < c; j++) o[ob + j] = 0;
      continue;
    }
    checkTarget(t, c, ignoreIndex);
    const g = gd[gradLoss.offset + r * gStr];
    const lse = sv[sOff + r * sR], coef = sv[sOff + r * sR + sC];
    const base = logits.offset + r * c;
    const smooth = eps / c;
    if (w) {
      for (let j = 0; j < c; j++) o[ob + j] = g * (Math.exp(x[base + j] - lse) * coef - smooth * w[wOff + j * wStr]);
    } else {
      for (let j = 0; j < c; j++) o[ob + j] = g * (Math.exp(x[base + j] - lse) * coef - smooth);
    }
    const wt = w ? w[wOff + t * wStr] : 1;
    const jt = ob + t;
    // The target's own term, recomputed whole so it rounds once.
    o[jt] = g * (Math.exp(x[base + t] - lse) * coef - (1 - eps) * wt - smooth * wt);
  }
}

/** The contiguous elements of `v` and where they start (the contract promises a contiguous gradient). */
function flat(data: DataOf, v: View, n: number, op: string): { g: TypedArray; at: number } {
  if (!isContiguous(v.shape, v.strides)) throw new Error(`${op}: expected a contiguous gradient`);
  const len = numel(v.shape);
  if (len !== n) throw new RangeError(`${op}: gradient has ${len} elements, parameter ${n}`);
  return { g: data(v.storage), at: v.offset };
}

/** See `Backend.adamUpdate`. */
export function adamUpdate(
  data: DataOf,
  param: Storage,
  grad: View,
  expAvg: Storage,
  expAvgSq: Storage,
  maxExpAvgSq: Storage | null,
  o: AdamUpdateOptions,
): void {
  const p = data(param), m = data(expAvg), v = data(expAvgSq), vm = maxExpAvgSq ? data(maxExpAvgSq) : null;
  const n = p.length;
  const { g, at } = flat(data, grad, n, "adamUpdate");
  const { beta1, beta2, eps, weightDecay: wd, stepSize, biasCorrection2Sqrt: bc2 } = o;
  const decay = wd !== 0 && o.decoupled ? 1 - o.lr * wd : 1;
  const l2 = wd !== 0 && !o.decoupled ? wd : 0;
  const sign = o.maximize ? -1 : 1;
  const a1 = 1 - beta1, a2 = 1 - beta2;
  if (o.amsgrad && !vm) throw new Error("adamUpdate: amsgrad needs a maxExpAvgSq storage");
  for (let i = 0; i < n; i++) {
    let th = p[i];
    let gi = sign * g[at + i];
    if (decay !== 1) th = p[i] = th * decay;
    if (l2 !== 0) gi += l2 * th;
    const mi = m[i] = m[i] + a1 * (gi - m[i]);
    let vi = v[i] = beta2 * v[i] + a2 * gi * gi;
    if (vm) vi = vm[i] = Math.max(vm[i], vi);
    p[i] = th - stepSize * (mi / (Math.sqrt(vi) / bc2 + eps));
  }
}

/** See `Backend.sgdUpdate`. */
export function sgdUpdate(
  data: DataOf,
  param: Storage,
  grad: View,
  momentumBuffer: Storage | null,
  o: SgdUpdateOptions,
): void {
  const p = data(param);
  const n = p.length;
  const { g, at } = flat(data, grad, n, "sgdUpdate");
  const { lr, momentum: mu, dampening, weightDecay: wd, nesterov, firstStep } = o;
  const sign = o.maximize ? -1 : 1;
  if (mu !== 0 && !momentumBuffer) throw new Error("sgdUpdate: momentum needs a momentumBuffer storage");
  const b = mu !== 0 ? data(momentumBuffer!) : null;
  const keep = 1 - dampening;
  for (let i = 0; i < n; i++) {
    let gi = sign * g[at + i];
    if (wd !== 0) gi += wd * p[i];
    if (b) {
      // Stored first, so the buffer and the update see the same (rounded) value the tensor path would.
      b[i] = firstStep ? gi : mu * b[i] + keep * gi;
      gi = nesterov ? gi + mu * b[i] : b[i];
    }
    p[i] -= lr * gi;
  }
}
