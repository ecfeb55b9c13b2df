// LBFGS against PyTorch 1.13's iterates (testdata/lbfgs_reference.py and its committed output) and known minima.
import assert from "node:assert/strict";
import { manualSeed, nn, randn, type Tensor, tensor, tidy } from "../mod.ts";
import { cubicInterpolate, LBFGS, type LBFGSOptions } from "./mod.ts";

interface ReferenceStep {
  loss: number;
  params: number[];
  func_evals: number;
  n_iter: number;
}
interface ReferenceCase {
  name: string;
  init: number[];
  options: Partial<LBFGSOptions>;
  data: { x: number[][]; y: number[] } | null;
  steps: ReferenceStep[];
}
const reference: { torch: string; cases: ReferenceCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/lbfgs_reference.json", import.meta.url)),
);

/** Σ 100·(p[i+1] − p[i]²)² + (1 − p[i])², the reference script's `rosenbrock`. */
function rosenbrock(p: Tensor): Tensor {
  const n = p.shape[0];
  const head = p.narrow(0, 0, n - 1), tail = p.narrow(0, 1, n - 1);
  return tail.sub(head.square()).square().mul(100).add(head.neg().add(1).square()).sum();
}

/** The reference script's `logistic`: mean BCE of `x·w[:3] + w[3]` plus 0.01·‖w[:3]‖². */
function logistic(data: { x: number[][]; y: number[] }): (w: Tensor) => Tensor {
  const x = tensor(data.x, { dtype: "float64" }), y = tensor(data.y, { dtype: "float64" });
  return (w) => {
    const weights = w.narrow(0, 0, 3);
    const z = x.matmul(weights).add(w.narrow(0, 3, 1));
    return nn.functional.binaryCrossEntropyWithLogits(z, y).add(weights.square().sum().mul(0.01));
  };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]}, PyTorch ${expected[i]}`,
    );
  }
}

for (const c of reference.cases) {
  Deno.test(`LBFGS matches PyTorch ${reference.torch} step by step: ${c.name}`, () => {
    const p = tensor(c.init, { dtype: "float64" }).requiresGrad_();
    const lossFn = c.data ? logistic(c.data) : rosenbrock;
    const opt = new LBFGS([p], c.options);
    const closure = () => {
      opt.zeroGrad();
      const loss = lossFn(p);
      loss.backward();
      return loss;
    };
    // Same algorithm, same float64 arithmetic but for the summation order of the dot products (BLAS's against ours):
    // the first step agrees to 1e-15, and such rounding differences grow along Rosenbrock's curved valley to about
    // 1e-7 before they converge again. The evaluation and iteration counts, which every branch of the line search
    // and of the stopping rules decides, must agree exactly.
    c.steps.forEach((want, k) => {
      const loss = opt.step(closure);
      close([loss.dataSync()[0]], [want.loss], 1e-8, `step ${k} loss`);
      close(p.dataSync(), want.params, k === 0 ? 1e-13 : 1e-6, `step ${k} params`);
      const s = opt.state.get(p)!;
      assert.deepEqual([s.func_evals, s.n_iter], [want.func_evals, want.n_iter], `step ${k} func_evals, n_iter`);
    });
  });
}

Deno.test("LBFGS with strong Wolfe finds Rosenbrock's minimum (1, 1) in one step", () => {
  const p = tensor([-1.5, 2], { dtype: "float64" }).requiresGrad_();
  const opt = new LBFGS([p], { lineSearchFn: "strong_wolfe", maxIter: 200, toleranceGrad: 1e-10, toleranceChange: 0 });
  opt.step(() => {
    opt.zeroGrad();
    const loss = rosenbrock(p);
    loss.backward();
    return loss;
  });
  close(p.dataSync(), [1, 1], 1e-6, "minimum");
  assert.ok(rosenbrock(p).dataSync()[0] < 1e-12);
});

Deno.test("LBFGS fits a small full-batch least-squares model to its closed-form solution", () => {
  manualSeed(3);
  const x = randn([40, 5], { dtype: "float64" });
  const y = x.matmul(tensor([[1], [-2], [0.5], [3], [-1]], { dtype: "float64" })).add(0.25);
  const model = new nn.Linear(5, 1, { dtype: "float64" });
  const opt = new LBFGS(model.parameters(), {
    lineSearchFn: "strong_wolfe",
    historySize: 10,
    maxIter: 50,
    toleranceChange: 1e-14,
  });
  const first = opt.step(() =>
    tidy(() => {
      opt.zeroGrad();
      const loss = model.forward(x).sub(y).square().mean();
      loss.backward();
      return loss;
    })
  );
  assert.ok(first.dataSync()[0] > 1, "the first loss is the starting point's");
  close(model.weight.dataSync(), [1, -2, 0.5, 3, -1], 1e-6, "weight");
  close(model.bias!.dataSync(), [0.25], 1e-6, "bias");
});

Deno.test("LBFGS: clear errors for what PyTorch refuses", () => {
  const p = tensor([1, 2]).requiresGrad_();
  assert.throws(() => new LBFGS([{ params: [p] }, { params: [tensor([1]).requiresGrad_()] }]), /parameter groups/);
  assert.throws(() => new LBFGS([p], { lineSearchFn: "armijo" as "strong_wolfe" }), /must be "strong_wolfe" or null/);
  assert.throws(() => new LBFGS([p], { historySize: 0 }), /invalid historySize 0/);
  assert.throws(() => new LBFGS([p, tensor([1], { dtype: "float64" }).requiresGrad_()]), /one device and dtype/);
  const opt = new LBFGS([p]);
  assert.throws(() => opt.step(), /a closure is required/);
  assert.throws(() => opt.step(() => p.mul(2)), /one-element Tensor, got shape \[2\]/);
});

Deno.test("LBFGS.stepAsync takes an async closure and gives what step gives", async () => {
  const run = async (asyncStep: boolean) => {
    const p = tensor([-1.2, 1], { dtype: "float64" }).requiresGrad_();
    const opt = new LBFGS([p], { lineSearchFn: "strong_wolfe", maxIter: 8 });
    const closure = () => {
      opt.zeroGrad();
      const loss = rosenbrock(p);
      loss.backward();
      return loss;
    };
    if (asyncStep) await opt.stepAsync(async () => await Promise.resolve(closure()));
    else opt.step(closure);
    return Array.from(p.dataSync());
  };
  assert.deepEqual(await run(true), await run(false));
});

Deno.test("cubicInterpolate: the minimiser of the cubic through two points and slopes", () => {
  // f(x) = (x − 1)² through x = 0 and x = 3 (a cubic with zero x³ term): the minimum is at 1.
  assert.ok(Math.abs(cubicInterpolate(0, 1, -2, 3, 4, 4) - 1) < 1e-12);
  // Bounds clamp it.
  assert.equal(cubicInterpolate(0, 1, -2, 3, 4, 4, [1.5, 2]), 1.5);
});

Deno.test("LBFGS takes sparse gradients (as PyTorch, densified): the same iterates as with dense ones", () => {
  const run = (sparse: boolean) => {
    manualSeed(4);
    const emb = new nn.Embedding(6, 3, { sparse, dtype: "float64" });
    const idx = tensor([1, 3, 3, 5], { dtype: "int32" });
    const target = tensor([[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]], { dtype: "float64" });
    const opt = new LBFGS(emb.parameters(), { maxIter: 5 });
    opt.step(() => {
      opt.zeroGrad();
      const loss = emb.forward(idx).sub(target).square().sum();
      loss.backward();
      return loss;
    });
    return Array.from(emb.weight.dataSync());
  };
  assert.deepEqual(run(true), run(false));
});
