/**
 * Checks derivative rules against central finite differences in float64.
 * It lives in `tensor/` (not `autograd/`, where DESIGN.md lists it) because it
 * must create and perturb tensors, and `autograd/` sits below `tensor/` on the
 * import ladder.
 *
 * @module
 */

import { enableGrad, noGrad } from "@dendrite/autograd";
import { Tensor } from "./tensor.ts";
import { cpuBackend, cpuData } from "./cpu/backend.ts";
import { grad } from "./grad.ts";
import { randnLike, zerosLike } from "./ops/creation.ts";
import { cat } from "./ops/join.ts";
import { fmtShape, shapesEqual } from "./shape.ts";

/** Tolerances of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
}

/**
 * Compares the analytical Jacobian of `fn` (from backward) with central finite
 * differences, for every input that requires grad. Inputs must be contiguous
 * float64 CPU leaves. Returns true, or throws naming the input and element
 * that disagree.
 *
 * @example
 * ```ts
 * import { gradcheck, randn } from "../mod.ts";
 * const x = randn([3], { dtype: "float64" }).requiresGrad_();
 * gradcheck((a) => a.exp().sum(), [x]); // true
 * ```
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradcheckOptions = {},
): boolean {
  const eps = options.eps ?? 1e-6, atol = options.atol ?? 1e-5, rtol = options.rtol ?? 1e-3;
  for (const [i, x] of inputs.entries()) {
    if (x.dtype !== "float64" || x.device !== "cpu") {
      throw new TypeError(`gradcheck: input ${i} must be a float64 CPU tensor, got ${x.dtype} on ${x.device}`);
    }
    if (!x.isContiguous() || x.offset !== 0) throw new TypeError(`gradcheck: input ${i} must be contiguous`);
  }
  const out0 = fn(...inputs);
  const nOut = out0.numel();
  const outShape = out0.shape;
  const checked = inputs.filter((x) => x.requiresGrad);
  if (checked.length === 0) throw new Error("gradcheck: no input requires grad");
  if (!out0.requiresGrad) throw new Error("gradcheck: the output does not require grad (does fn use its inputs?)");

  // Analytical Jacobian: one backward per output element.
  const analytic = checked.map((x) => new Float64Array(nOut * x.numel()));
  for (let o = 0; o < nOut; o++) {
    for (const x of checked) x.grad = null;
    const out = fn(...inputs);
    const seed = new Float64Array(nOut);
    seed[o] = 1;
    out.backward(new Tensor(cpuBackend.upload(seed), outShape));
    checked.forEach((x, k) => {
      const g = x.grad ? x.grad.dataSync() : new Float64Array(x.numel());
      for (let j = 0; j < g.length; j++) analytic[k][o * g.length + j] = g[j];
    });
  }
  for (const x of checked) x.grad = null;

  // Numerical Jacobian by central differences.
  checked.forEach((x, k) => {
    const data = cpuData(x.storage) as Float64Array;
    for (let j = 0; j < data.length; j++) {
      const orig = data[j];
      data[j] = orig + eps;
      const plus = noGrad(() => fn(...inputs)).dataSync();
      data[j] = orig - eps;
      const minus = noGrad(() => fn(...inputs)).dataSync();
      data[j] = orig;
      for (let o = 0; o < nOut; o++) {
        const numeric = (plus[o] - minus[o]) / (2 * eps);
        const a = analytic[k][o * data.length + j];
        if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
          throw new Error(
            `gradcheck: Jacobian mismatch for input ${
              inputs.indexOf(x)
            }, element ${j}, output ${o}: analytical ${a}, numerical ${numeric}`,
          );
        }
      }
    }
  });
  return true;
}

/** Options of {@link gradgradcheck}: {@link gradcheck}'s tolerances and the vector the first gradient is taken with. */
export interface GradgradcheckOptions extends GradcheckOptions {
  /** The gradient of the output the first derivative is taken with (default: standard normal, float64, drawn from the global generator). */
  gradOutputs?: Tensor;
}

/**
 * Checks second derivatives (PyTorch's `gradgradcheck`): runs {@link gradcheck} on the map
 * `(inputs, v) ↦ grad(fn(inputs), inputs, { gradOutputs: v, createGraph: true })`, so the derivative rules of the
 * backward pass itself are compared with finite differences — what `createGraph` users (Hessian-vector products,
 * MAML, gradient penalties) depend on. Inputs as for {@link gradcheck}.
 *
 * @example
 * ```ts
 * import { gradgradcheck, randn } from "../mod.ts";
 * const x = randn([3], { dtype: "float64" }).requiresGrad_();
 * gradgradcheck((a) => a.tanh().mul(a).sum(), [x]); // true
 * ```
 */
export function gradgradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradgradcheckOptions = {},
): boolean {
  const out0 = noGrad(() => fn(...inputs));
  const v = options.gradOutputs?.detach() ?? randnLike(out0, { dtype: "float64" });
  if (!shapesEqual(v.shape, out0.shape) || v.dtype !== "float64") {
    throw new RangeError(
      `gradgradcheck: gradOutputs must be float64 of the output's shape ${fmtShape(out0.shape)}, got ${v.dtype} ${
        fmtShape(v.shape)
      }`,
    );
  }
  const vLeaf = v.isContiguous() && v.offset === 0 ? v : v.contiguous();
  vLeaf.requiresGrad_();
  const n = inputs.length;
  const firstGrad = (...args: Tensor[]): Tensor =>
    // gradcheck takes its finite differences under noGrad; the first derivative needs its graph all the same.
    enableGrad(() => {
      const xs = args.slice(0, n);
      const wrt = xs.filter((x) => x.requiresGrad);
      const gs = grad(fn(...xs), wrt, { gradOutputs: args[n], createGraph: true, allowUnused: true });
      return cat(gs.map((g, k) => (g ?? zerosLike(wrt[k])).reshape([-1])));
    });
  return gradcheck(firstGrad, [...inputs, vLeaf], options);
}
