/**
 * Test helpers for the optimizer tests (not exported): a tiny problem whose
 * gradient is known in closed form, so reference updates can be computed with
 * plain numbers, independently of the tensor code.
 *
 * @module
 */

import { equal } from "node:assert/strict";
import { type DType, type Tensor, tensor } from "@dendrite/tensor";

/** Coefficients of one parameter of the problem L = Σ (a·p − t)² + Σ p⁴ / 4. */
export interface ProblemParam {
  init: number[];
  shape: number[];
  a: number[];
  t: number[];
}

/** Two parameters: a 2×2 matrix and a 3-vector. */
export const PROBLEM: ProblemParam[] = [
  { init: [0.5, -1.2, 0.8, 0.3], shape: [2, 2], a: [1.0, 2.0, 0.5, 1.5], t: [0.3, -0.5, 1.0, 0.2] },
  { init: [1.5, -0.7, 0.2], shape: [3], a: [0.7, 1.1, 2.0], t: [1, -1, 0.5] },
];

/** Fresh float64 leaf tensors for the problem's parameters. */
export function makeParams(problem: ProblemParam[] = PROBLEM, dtype: DType = "float64"): Tensor[] {
  return problem.map((p) => tensor(p.init, { dtype }).reshape(p.shape).detach().requiresGrad_());
}

/** Fills every parameter's `.grad` by backpropagating the problem's loss through the tensor ops. */
export function backward(params: Tensor[], problem: ProblemParam[] = PROBLEM): void {
  let loss: Tensor | null = null;
  params.forEach((p, i) => {
    const a = tensor(problem[i].a, { dtype: p.dtype }).reshape(problem[i].shape);
    const t = tensor(problem[i].t, { dtype: p.dtype }).reshape(problem[i].shape);
    const term = p.mul(a).sub(t).square().sum().add(p.pow(4).sum().div(4));
    loss = loss ? loss.add(term) : term;
  });
  loss!.backward();
}

/** The problem's gradient for one parameter, in plain numbers: 2a(a·p − t) + p³. */
export function refGrad(theta: number[], prob: ProblemParam): number[] {
  return theta.map((x, j) => 2 * prob.a[j] * (prob.a[j] * x - prob.t[j]) + x ** 3);
}

/** Asserts two arrays are equal within `atol + rtol·|expected|` elementwise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  msg = "",
  atol = 1e-12,
  rtol = 1e-10,
) {
  equal(actual.length, expected.length, `${msg}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const ok = Math.abs(actual[i] - expected[i]) <= atol + rtol * Math.abs(expected[i]);
    if (!ok) {
      throw new Error(
        `${msg}: element ${i} is ${actual[i]}, expected ${expected[i]}\n  actual ${Array.from(actual)}\n  expected ${
          Array.from(expected)
        }`,
      );
    }
  }
}

/** A reference optimizer on plain numbers: updates `theta` (one parameter) in place given its gradient. */
export type RefStep = (theta: number[], grad: number[], state: Record<string, number[] | number>) => void;

/**
 * Runs `steps` steps of `opt` on the problem and of `ref` on plain numbers,
 * comparing every parameter after every step.
 */
export function compareWithReference(
  opt: { step(): unknown; zeroGrad(setToNone?: boolean): void },
  params: Tensor[],
  refs: RefStep[],
  steps: number,
  label: string,
  problem: ProblemParam[] = PROBLEM,
  tolerance: { atol: number; rtol: number } = { atol: 1e-12, rtol: 1e-10 },
): void {
  const thetas = problem.map((p) => p.init.slice());
  const states = problem.map(() => ({}));
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    backward(params, problem);
    opt.step();
    problem.forEach((prob, i) => {
      const g = refGrad(thetas[i], prob);
      refs[i](thetas[i], g, states[i]);
      assertClose(
        params[i].dataSync(),
        thetas[i],
        `${label}: param ${i} after step ${s + 1}`,
        tolerance.atol,
        tolerance.rtol,
      );
    });
  }
}
