import { deepStrictEqual, ok } from "node:assert/strict";
import { type Backend, cpuBackend, type DType, randn, type Tensor } from "@dendrite/tensor";
import { Adam, type AdamOptions, AdamW } from "./adam.ts";
import { SGD, type SGDOptions } from "./sgd.ts";
import { assertClose, backward, makeParams, PROBLEM } from "./_testing.ts";

type Kernel = "adamUpdate" | "sgdUpdate";

/** Runs `fn` with the CPU backend's optional `kernel` hidden, so the optimizers take the tensor-op fallback. */
function withoutKernel<T>(kernel: Kernel, fn: () => T): T {
  const b = cpuBackend as unknown as Record<string, unknown>;
  b[kernel] = undefined;
  try {
    return fn();
  } finally {
    delete b[kernel];
  }
}

/** Counts calls of the CPU backend's `kernel` while `fn` runs. */
function countCalls(kernel: Kernel, fn: () => void): number {
  const b = cpuBackend as unknown as Record<string, unknown>;
  const orig = (cpuBackend as Backend)[kernel] as (...a: unknown[]) => void;
  let calls = 0;
  b[kernel] = (...a: unknown[]) => {
    calls++;
    orig.apply(cpuBackend, a);
  };
  try {
    fn();
  } finally {
    delete b[kernel];
  }
  return calls;
}

function train(make: (params: Tensor[]) => { step(): unknown; zeroGrad(): void }, dtype: DType, steps: number) {
  const params = makeParams(PROBLEM, dtype);
  const opt = make(params);
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    backward(params);
    opt.step();
  }
  return params.map((p) => Array.from(p.dataSync()));
}

const ADAM: [string, Partial<AdamOptions>][] = [
  ["plain", {}],
  ["weightDecay + amsgrad", { weightDecay: 0.1, amsgrad: true, betas: [0.8, 0.5] }],
  ["maximize", { maximize: true, lr: 0.01, weightDecay: 0.05 }],
];
const SGDS: [string, Partial<SGDOptions>][] = [
  ["plain", {}],
  ["momentum + dampening + weightDecay", { momentum: 0.8, dampening: 0.3, weightDecay: 0.1 }],
  ["nesterov + maximize", { momentum: 0.9, nesterov: true, maximize: true, lr: 0.01 }],
];

for (const dtype of ["float64", "float32"] as DType[]) {
  const tol = dtype === "float64" ? { atol: 1e-12, rtol: 1e-10 } : { atol: 1e-6, rtol: 1e-5 };
  for (const Ctor of [Adam, AdamW]) {
    for (const [name, o] of ADAM) {
      Deno.test(`fused ${Ctor.name} ${name} (${dtype}) matches the tensor-op fallback`, () => {
        const make = (ps: Tensor[]) => new Ctor(ps, { lr: 0.1, ...o });
        let fused: number[][] = [];
        const calls = countCalls("adamUpdate", () => fused = train(make, dtype, 5));
        ok(calls === 5 * PROBLEM.length, `the fused kernel ran ${calls} times`);
        const plain = withoutKernel("adamUpdate", () => train(make, dtype, 5));
        fused.forEach((f, i) => assertClose(f, plain[i], `${Ctor.name} ${name} param ${i}`, tol.atol, tol.rtol));
      });
    }
  }
  for (const [name, o] of SGDS) {
    Deno.test(`fused SGD ${name} (${dtype}) matches the tensor-op fallback`, () => {
      const make = (ps: Tensor[]) => new SGD(ps, { lr: 0.05, ...o });
      let fused: number[][] = [];
      const calls = countCalls("sgdUpdate", () => fused = train(make, dtype, 5));
      ok(calls === 5 * PROBLEM.length, `the fused kernel ran ${calls} times`);
      const plain = withoutKernel("sgdUpdate", () => train(make, dtype, 5));
      fused.forEach((f, i) => assertClose(f, plain[i], `SGD ${name} param ${i}`, tol.atol, tol.rtol));
    });
  }
}

Deno.test("fused optimizers: a non-contiguous parameter takes the fallback and gets the same update", () => {
  for (const kind of ["adam", "sgd"] as const) {
    const base = randn([3, 4], { dtype: "float64" });
    const strided = base.t().detach().requiresGrad_(); // [4, 3], not contiguous
    const dense = base.t().contiguous().detach().requiresGrad_();
    ok(!strided.isContiguous());
    const make = (p: Tensor) =>
      kind === "adam"
        ? new AdamW([p], { lr: 0.1, weightDecay: 0.1, amsgrad: true })
        : new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 });
    const opts = [make(strided), make(dense)];
    const kernel: Kernel = kind === "adam" ? "adamUpdate" : "sgdUpdate";
    let calls = 0;
    for (let s = 0; s < 3; s++) {
      [strided, dense].forEach((p, i) => {
        opts[i].zeroGrad();
        p.pow(3).sum().backward();
        calls += countCalls(kernel, () => opts[i].step());
      });
    }
    deepStrictEqual(calls, 3, `${kind}: only the contiguous parameter used the fused kernel`);
    assertClose(strided.contiguous().dataSync(), dense.dataSync(), kind);
  }
});
