/**
 * The fused optimizer steps and `axpy` of the CPU backend with the WebAssembly
 * SIMD kernels of `wasm/optim_kernel.ts`, in place on float32 storage that
 * lives in the heap. Drop-in versions of `fused.ts`'s `sgdUpdate` and
 * `adamUpdate` and of `CpuBackend.axpy`, each returning whether it did the
 * work; their results are bit-identical to those (float64 arithmetic in the
 * same order, rounded once on store).
 *
 * @module
 */

import type { AdamUpdateOptions, SgdUpdateOptions, Storage, View } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { isContiguous, numel } from "../shape.ts";
import { cpuData } from "./storage.ts";
import { ADAM_AMSGRAD, ADAM_L2, SGD_FIRST, SGD_NESTEROV, SGD_UPDATE, SGD_WD } from "./wasm/optim_kernel.ts";
import { heapAddress, wasmOps } from "./wasm/runtime.ts";

/** Byte address of a float32 array of exactly `n` elements in the heap, else -1. */
function storageAddr(a: TypedArray, n: number): number {
  return a instanceof Float32Array && a.length === n ? heapAddress(a) : -1;
}

/** Byte address of the first element of a contiguous float32 view of `n` elements in the heap, else -1. */
function contiguousAddr(v: View, n: number): number {
  if (!isContiguous(v.shape, v.strides) || numel(v.shape) !== n) return -1;
  const data = cpuData(v.storage);
  if (!(data instanceof Float32Array) || v.offset < 0 || v.offset + n > data.length) return -1;
  const at = heapAddress(data);
  return at < 0 ? -1 : at + v.offset * 4;
}

/**
 * One SGD step in place (`Backend.sgdUpdate`; see `SgdUpdateOptions`): param,
 * the contiguous gradient view and (with momentum) the buffer, all float32 in
 * the heap. Returns false, having written nothing, otherwise — including when
 * the TypeScript path would throw (a missing momentum buffer, a gradient that
 * is not contiguous or of another length), so that it reports the error.
 *
 * @example
 * ```ts
 * import { wasmSgdUpdate } from "./optim_wasm.ts";
 * import { CpuStorage } from "./storage.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const p = heapAllocStorage(Float32Array, 3), g = heapAllocStorage(Float32Array, 3);
 * if (p && g) {
 *   g.data.set([1, 2, 3]);
 *   const grad = { storage: new CpuStorage(g.data), shape: [3], strides: [1], offset: 0 };
 *   const o = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: true };
 *   wasmSgdUpdate(new CpuStorage(p.data), grad, null, o); // p.data ≈ [-0.1, -0.2, -0.3]
 * }
 * ```
 */
export function wasmSgdUpdate(
  param: Storage,
  grad: View,
  momentumBuffer: Storage | null,
  o: SgdUpdateOptions,
): boolean {
  const ops = wasmOps();
  const p = cpuData(param), n = p.length;
  const pa = storageAddr(p, n), ga = contiguousAddr(grad, n);
  const mu = o.momentum;
  const ba = mu !== 0 && momentumBuffer ? storageAddr(cpuData(momentumBuffer), n) : 0;
  if (!ops || pa < 0 || ga < 0 || ba < 0 || (mu !== 0 && !momentumBuffer)) return false;
  let variant = o.weightDecay !== 0 ? SGD_WD : 0;
  if (mu !== 0) variant |= (o.firstStep ? SGD_FIRST : SGD_UPDATE) | (o.nesterov ? SGD_NESTEROV : 0);
  ops.opt_sgd(pa, ga, ba, n, variant, o.lr, mu, 1 - o.dampening, o.weightDecay, o.maximize ? -1 : 1);
  return true;
}

/**
 * One Adam/AdamW step in place (`Backend.adamUpdate`; see `AdamUpdateOptions`):
 * param, the contiguous gradient view, both moments and (when given, as for
 * AMSGrad) the running maximum, all float32 in the heap. Returns false, having
 * written nothing, otherwise — including when the TypeScript path would throw
 * (AMSGrad without `maxExpAvgSq`, a gradient that is not contiguous or of
 * another length).
 *
 * @example
 * ```ts
 * import { wasmAdamUpdate } from "./optim_wasm.ts";
 * import { CpuStorage } from "./storage.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const [p, g, m, v] = [0, 1, 2, 3].map(() => heapAllocStorage(Float32Array, 4));
 * if (p && g && m && v) {
 *   const grad = { storage: new CpuStorage(g.data), shape: [4], strides: [1], offset: 0 };
 *   const o = {
 *     lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false,
 *     maximize: false, stepSize: 1e-3 / (1 - 0.9), biasCorrection2Sqrt: Math.sqrt(1 - 0.999),
 *   };
 *   wasmAdamUpdate(new CpuStorage(p.data), grad, new CpuStorage(m.data), new CpuStorage(v.data), null, o);
 * }
 * ```
 */
export function wasmAdamUpdate(
  param: Storage,
  grad: View,
  expAvg: Storage,
  expAvgSq: Storage,
  maxExpAvgSq: Storage | null,
  o: AdamUpdateOptions,
): boolean {
  const ops = wasmOps();
  const p = cpuData(param), n = p.length;
  const pa = storageAddr(p, n), ga = contiguousAddr(grad, n);
  const ma = storageAddr(cpuData(expAvg), n), va = storageAddr(cpuData(expAvgSq), n);
  // As fused.ts: the running maximum is kept whenever its storage is given.
  const vma = maxExpAvgSq ? storageAddr(cpuData(maxExpAvgSq), n) : 0;
  if (!ops || pa < 0 || ga < 0 || ma < 0 || va < 0 || vma < 0 || (o.amsgrad && !maxExpAvgSq)) return false;
  const wd = o.weightDecay;
  const decay = wd !== 0 && o.decoupled ? 1 - o.lr * wd : 1;
  const l2 = wd !== 0 && !o.decoupled ? wd : 0;
  const variant = (l2 !== 0 ? ADAM_L2 : 0) | (maxExpAvgSq ? ADAM_AMSGRAD : 0);
  ops.opt_adam(
    pa,
    ga,
    ma,
    va,
    vma,
    n,
    variant,
    o.maximize ? -1 : 1,
    decay,
    l2,
    1 - o.beta1,
    o.beta2,
    1 - o.beta2,
    o.eps,
    o.stepSize,
    o.biasCorrection2Sqrt,
  );
  return true;
}

/**
 * `out[i] += alpha·x[i]` in place (`Backend.axpy`) for a contiguous float32 x
 * and out of at least `numel(x.shape)` elements, both in the heap. Returns
 * false, having written nothing, otherwise (a strided or broadcast x included:
 * the backend's path copies it first).
 *
 * @example
 * ```ts
 * import { wasmAxpy } from "./optim_wasm.ts";
 * import { CpuStorage } from "./storage.ts";
 * import { heapAllocStorage } from "./wasm/runtime.ts";
 *
 * const out = heapAllocStorage(Float32Array, 5), x = heapAllocStorage(Float32Array, 5);
 * if (out && x) {
 *   x.data.fill(2);
 *   wasmAxpy(new CpuStorage(out.data), { storage: new CpuStorage(x.data), shape: [5], strides: [1], offset: 0 }, -0.5);
 * }
 * ```
 */
export function wasmAxpy(out: Storage, x: View, alpha: number): boolean {
  const ops = wasmOps();
  const o = cpuData(out), n = numel(x.shape);
  const oa = o instanceof Float32Array && o.length >= n ? heapAddress(o) : -1;
  const xa = contiguousAddr(x, n);
  if (!ops || oa < 0 || xa < 0) return false;
  ops.opt_axpy(oa, xa, n, alpha);
  return true;
}
