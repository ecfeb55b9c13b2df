import { deepStrictEqual, ok } from "node:assert/strict";
import type { AdamUpdateOptions, SgdUpdateOptions, View } from "../backend.ts";
import { cpuData, CpuStorage } from "./storage.ts";
import * as fused from "./fused.ts";
import { wasmAdamUpdate, wasmAxpy, wasmSgdUpdate } from "./optim_wasm.ts";
import { wasmOps } from "./wasm/runtime.ts";
import { freeAll, heapArray, heapF32, random } from "./wasm_test_util.ts";

const HAVE_WASM = wasmOps() !== null;

/** A heap copy of `src`. */
function onHeap(src: Float32Array): Float32Array {
  const a = heapF32(src.length);
  a.set(src);
  return a;
}

/** A contiguous gradient view of `n` values placed `offset` elements into a longer heap storage. */
function gradView(values: Float32Array, offset: number): View {
  const data = heapF32(values.length + offset + 2).fill(1e9);
  data.set(values, offset);
  const n = values.length;
  const shape = n % 2 === 0 && n > 0 ? [2, n / 2] : [n];
  const strides = shape.length === 2 ? [n / 2, 1] : [1];
  return { storage: new CpuStorage(data), shape, strides, offset };
}

const SIZES = [0, 1, 2, 3, 4, 5, 7, 16, 17, 1000, 1031];

Deno.test({
  name: "wasmSgdUpdate: every flag combination equals a float64 loop and fused.sgdUpdate bit for bit",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const n of SIZES) {
        const p0 = random(new Float32Array(n), n, 2), g0 = random(new Float32Array(n), n + 1, 1);
        const b0 = random(new Float32Array(n), n + 2, 0.5);
        for (const momentum of [0, 0.9]) {
          for (const dampening of momentum ? [0, 0.1] : [0]) {
            for (const nesterov of momentum && !dampening ? [false, true] : [false]) {
              for (const weightDecay of [0, 1e-2]) {
                for (const maximize of [false, true]) {
                  for (const firstStep of momentum ? [true, false] : [false]) {
                    const o: SgdUpdateOptions = {
                      lr: 0.05,
                      momentum,
                      dampening,
                      weightDecay,
                      nesterov,
                      maximize,
                      firstStep,
                    };
                    const label = `n=${n} ${JSON.stringify(o)}`;
                    const p = onHeap(p0), b = onHeap(b0);
                    const grad = gradView(g0, 3);
                    ok(wasmSgdUpdate(new CpuStorage(p), grad, momentum ? new CpuStorage(b) : null, o), label);
                    // The update by its definition, in float64, rounded on store.
                    const wp = p0.slice(), wb = b0.slice();
                    for (let i = 0; i < n; i++) {
                      let gi = (maximize ? -1 : 1) * g0[i];
                      if (weightDecay) gi += weightDecay * wp[i];
                      if (momentum) {
                        wb[i] = firstStep ? gi : momentum * wb[i] + (1 - dampening) * gi;
                        gi = nesterov ? gi + momentum * wb[i] : wb[i];
                      }
                      wp[i] = wp[i] - 0.05 * gi;
                    }
                    deepStrictEqual(p, wp, `${label}: param`);
                    deepStrictEqual(b, momentum ? wb : b0, `${label}: buffer`);
                    // And the TypeScript kernel the backend runs otherwise.
                    const tp = p0.slice(), tb = b0.slice();
                    fused.sgdUpdate(
                      cpuData,
                      new CpuStorage(tp),
                      { ...grad, storage: new CpuStorage(cpuData(grad.storage).slice()) },
                      momentum ? new CpuStorage(tb) : null,
                      o,
                    );
                    deepStrictEqual(p, tp, `${label}: vs fused.ts`);
                    deepStrictEqual(b, tb);
                  }
                }
              }
            }
          }
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmAdamUpdate: Adam, AdamW, L2, AMSGrad, maximize over several steps equal a float64 loop bit for bit",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const n of SIZES) {
        for (const [weightDecay, decoupled] of [[0, false], [1e-2, false], [1e-2, true]] as const) {
          for (const amsgrad of [false, true]) {
            for (const maximize of [false, true]) {
              const p = onHeap(random(new Float32Array(n), n, 1)), m = heapF32(n), v = heapF32(n);
              const vm = amsgrad ? heapF32(n) : null;
              const wp = p.slice(), wm = new Float32Array(n), wv = new Float32Array(n), wvm = new Float32Array(n);
              const [beta1, beta2, eps, lr] = [0.9, 0.999, 1e-8, 1e-3];
              for (let step = 1; step <= 3; step++) {
                const g0 = random(new Float32Array(n), n * 7 + step, step === 2 ? 1e-3 : 1);
                const o: AdamUpdateOptions = {
                  lr,
                  beta1,
                  beta2,
                  eps,
                  weightDecay,
                  decoupled,
                  amsgrad,
                  maximize,
                  stepSize: lr / (1 - beta1 ** step),
                  biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
                };
                const label =
                  `n=${n} step ${step} wd=${weightDecay} decoupled=${decoupled} ams=${amsgrad} max=${maximize}`;
                ok(
                  wasmAdamUpdate(
                    new CpuStorage(p),
                    gradView(g0, 1),
                    new CpuStorage(m),
                    new CpuStorage(v),
                    vm && new CpuStorage(vm),
                    o,
                  ),
                  label,
                );
                for (let i = 0; i < n; i++) {
                  let th = wp[i];
                  if (decoupled && weightDecay) th *= 1 - lr * weightDecay;
                  let gi = (maximize ? -1 : 1) * g0[i];
                  if (!decoupled && weightDecay) gi += weightDecay * th;
                  const mi = wm[i] + (1 - beta1) * (gi - wm[i]);
                  let vi = beta2 * wv[i] + (1 - beta2) * gi * gi;
                  wm[i] = mi;
                  wv[i] = vi;
                  if (amsgrad) wvm[i] = vi = Math.max(wvm[i], vi);
                  wp[i] = th - o.stepSize * (mi / (Math.sqrt(vi) / o.biasCorrection2Sqrt + eps));
                }
                deepStrictEqual(p, wp, `${label}: param`);
                deepStrictEqual(m, wm, `${label}: exp_avg`);
                deepStrictEqual(v, wv, `${label}: exp_avg_sq`);
                if (vm) deepStrictEqual(vm, wvm, `${label}: max_exp_avg_sq`);
              }
            }
          }
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmAdamUpdate: equals fused.adamUpdate bit for bit (first step and later, large values)",
  ignore: !HAVE_WASM,
  fn() {
    try {
      const n = 4099;
      const o = (step: number, amsgrad: boolean): AdamUpdateOptions => ({
        lr: 3e-4,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-6,
        weightDecay: 0.1,
        decoupled: true,
        amsgrad,
        maximize: false,
        stepSize: 3e-4 / (1 - 0.8 ** step),
        biasCorrection2Sqrt: Math.sqrt(1 - 0.99 ** step),
      });
      for (const amsgrad of [false, true]) {
        const p = onHeap(random(new Float32Array(n), 5, 100)), m = heapF32(n), v = heapF32(n), vm = heapF32(n);
        const tp = p.slice(), tm = new Float32Array(n), tv = new Float32Array(n), tvm = new Float32Array(n);
        for (let step = 1; step <= 4; step++) {
          const g = random(new Float32Array(n), step, 10 ** (step - 2));
          const S = (a: Float32Array) => new CpuStorage(a);
          ok(wasmAdamUpdate(S(p), gradView(g, 0), S(m), S(v), amsgrad ? S(vm) : null, o(step, amsgrad)));
          const tg: View = { storage: S(g), shape: [n], strides: [1], offset: 0 };
          fused.adamUpdate(cpuData, S(tp), tg, S(tm), S(tv), amsgrad ? S(tvm) : null, o(step, amsgrad));
          deepStrictEqual([p, m, v, vm], [tp, tm, tv, tvm], `step ${step} amsgrad=${amsgrad}`);
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmAxpy: out += alpha·x equals the float64 loop bit for bit (tails, offsets)",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const n of SIZES) {
        for (const alpha of [1, -0.1, 1 / 3]) {
          const o0 = random(new Float32Array(n), n, 3), x0 = random(new Float32Array(n), n + 9, 2);
          const out = onHeap(o0);
          ok(wasmAxpy(new CpuStorage(out), gradView(x0, 5), alpha));
          const want = o0.slice();
          for (let i = 0; i < n; i++) want[i] += alpha * x0[i];
          deepStrictEqual(out, want, `n=${n} alpha=${alpha}`);
        }
      }
      // An out longer than x: only the first numel(x) values change.
      const out = heapF32(6).fill(1);
      ok(wasmAxpy(new CpuStorage(out), gradView(new Float32Array([1, 2, 3]), 0), 2));
      deepStrictEqual([...out], [3, 5, 7, 1, 1, 1]);
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "optimizer kernels return false and write nothing where they do not apply",
  ignore: !HAVE_WASM,
  fn() {
    try {
      const n = 6;
      const p = heapF32(n).fill(7), b = heapF32(n).fill(7), m = heapF32(n).fill(7), v = heapF32(n).fill(7);
      const vm = heapF32(n).fill(7);
      const S = (a: Float32Array) => new CpuStorage(a);
      const grad = gradView(new Float32Array(n).fill(1), 0);
      const sgd: SgdUpdateOptions = {
        lr: 0.1,
        momentum: 0.9,
        dampening: 0,
        weightDecay: 0,
        nesterov: false,
        maximize: false,
        firstStep: false,
      };
      const adam: AdamUpdateOptions = {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        weightDecay: 0,
        decoupled: false,
        amsgrad: true,
        maximize: false,
        stepSize: 1,
        biasCorrection2Sqrt: 1,
      };
      const strided: View = { ...grad, shape: [3], strides: [2] };
      const shortGrad: View = { ...grad, shape: [n - 1], strides: [1] };
      const plainGrad: View = { ...grad, storage: new CpuStorage(cpuData(grad.storage).slice()) };
      const f64 = heapArray(Float64Array, n);
      // SGD: momentum without a buffer; param, gradient or buffer not in the heap; strided or short gradient.
      ok(!wasmSgdUpdate(S(p), grad, null, sgd));
      ok(!wasmSgdUpdate(S(p.slice()), grad, S(b), sgd));
      ok(!wasmSgdUpdate(S(p), plainGrad, S(b), sgd));
      ok(!wasmSgdUpdate(S(p), grad, S(b.slice()), sgd));
      ok(!wasmSgdUpdate(S(p), strided, S(b), sgd));
      ok(!wasmSgdUpdate(S(p), shortGrad, S(b), sgd));
      ok(!wasmSgdUpdate(S(p), grad, S(heapF32(n - 1)), sgd), "buffer of another length");
      ok(!wasmSgdUpdate(new CpuStorage(f64), grad, S(b), sgd), "float64 param");
      // Adam: AMSGrad without the maximum; any state outside the heap; a strided gradient.
      ok(!wasmAdamUpdate(S(p), grad, S(m), S(v), null, adam));
      ok(!wasmAdamUpdate(S(p), grad, S(m.slice()), S(v), S(vm), adam));
      ok(!wasmAdamUpdate(S(p), grad, S(m), S(v.slice()), S(vm), adam));
      ok(!wasmAdamUpdate(S(p), grad, S(m), S(v), S(vm.slice()), adam));
      ok(!wasmAdamUpdate(S(p), strided, S(m), S(v), S(vm), adam));
      // axpy: strided or broadcast x, out too short or not in the heap.
      ok(!wasmAxpy(S(p), strided, 1));
      ok(!wasmAxpy(S(p), { ...grad, shape: [n], strides: [0] }, 1));
      ok(!wasmAxpy(S(heapF32(n - 1)), grad, 1));
      ok(!wasmAxpy(S(p.slice()), grad, 1));
      for (const a of [p, b, m, v, vm]) deepStrictEqual([...a], new Array(n).fill(7));
    } finally {
      freeAll();
    }
  },
});
