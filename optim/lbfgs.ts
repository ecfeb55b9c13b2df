/**
 * L-BFGS with PyTorch's closure API and algorithm (`torch.optim.LBFGS`, after
 * minFunc): a limited history of curvature pairs, an optional strong-Wolfe
 * line search, PyTorch's defaults and stopping rules.
 *
 * @module
 */

import { cat, enableGrad, getBackend, keep, noGrad, Tensor, zerosLike } from "@dendrite/tensor";
import { checkNonNegative, Optimizer, type ParamGroup, type Params } from "./optimizer.ts";

/** L-BFGS's options (PyTorch's defaults). */
export interface LBFGSOptions {
  /** Learning rate: the step length tried first (default 1). */
  lr: number;
  /** Most iterations per `step` (default 20). */
  maxIter: number;
  /** Most closure evaluations per `step` (default `maxIter · 5/4`, rounded down). */
  maxEval: number;
  /** Stop when the largest gradient element is at most this (default 1e-7). */
  toleranceGrad: number;
  /** Stop when the loss or the step changes by less than this (default 1e-9). */
  toleranceChange: number;
  /** Curvature pairs kept (default 100). */
  historySize: number;
  /** `"strong_wolfe"` for a line search satisfying the strong Wolfe conditions, or null for fixed steps of `lr`. */
  lineSearchFn: "strong_wolfe" | null;
}

/** An L-BFGS closure: clears the gradients, computes the loss, calls `backward()` and returns the loss. */
export type LBFGSClosure = () => Tensor;

/** What the algorithm asks its driver for: a loss evaluation, or the value of a one-element tensor. */
const EVALUATE = Symbol("evaluate");
type Request = typeof EVALUATE | Tensor;

/**
 * L-BFGS exactly as PyTorch 1.13 runs it: each `step(closure)` makes up to `maxIter` iterations, each taking the
 * direction from the two-loop recursion over the last `historySize` pairs `(s, y)` scaled by `sᵀy / yᵀy`, and a step
 * of `lr` (the first iteration ever: `min(1, 1/‖g‖₁)·lr`), or of a strong-Wolfe line search's choice (cubic
 * interpolation, `c1 = 1e-4`, `c2 = 0.9`, at most 25 evaluations). It stops on a small gradient, a small change of
 * loss or step, or `maxEval` evaluations; the curvature history carries over to the next `step`.
 *
 * Like PyTorch's it takes one parameter group and reads scalars back every iteration, so `step(closure)` runs where
 * tensors can be read synchronously (the CPU); `await stepAsync(closure)` runs anywhere, and its closure may be
 * async. The state dict holds PyTorch's counters `func_evals` and `n_iter` (on the first parameter); the curvature
 * history is kept by the optimizer but not saved in it.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * // Rosenbrock's function, minimum 0 at (1, 1).
 * const p = tensor([-1.5, 2], { dtype: "float64" }).requiresGrad_();
 * const opt = new optim.LBFGS([p], { lineSearchFn: "strong_wolfe", maxIter: 100 });
 * const closure = () => {
 *   opt.zeroGrad();
 *   const [x, y] = [p.narrow(0, 0, 1), p.narrow(0, 1, 1)];
 *   const loss = x.neg().add(1).square().add(y.sub(x.square()).square().mul(100)).sum();
 *   loss.backward();
 *   return loss;
 * };
 * opt.step(closure);
 * console.log(await p.tolist()); // close to [1, 1]
 * ```
 */
export class LBFGS extends Optimizer<LBFGSOptions> {
  #params: Tensor[];
  #numel: number;
  // The carried-over state (PyTorch's `d`, `t`, `old_dirs`, `old_stps`, `ro`, `H_diag`, `prev_flat_grad`, `prev_loss`).
  #d: Tensor | null = null;
  #t = 0;
  #oldDirs: Tensor[] = [];
  #oldStps: Tensor[] = [];
  #ro: number[] = [];
  #hDiag = 1;
  #prevFlatGrad: Tensor | null = null;
  #prevLoss = 0;

  /**
   * An L-BFGS optimizer over `params`; `step(closure)` runs up to `maxIter` iterations.
   *
   * @param params the tensors to optimize (one group: L-BFGS takes no per-group options)
   * @param options options; unset ones take PyTorch's defaults
   */
  constructor(params: Params<LBFGSOptions>, options: Partial<LBFGSOptions> = {}) {
    const maxIter = options.maxIter ?? 20;
    super("LBFGS", params, {
      lr: options.lr ?? 1,
      maxIter,
      maxEval: options.maxEval ?? Math.floor((maxIter * 5) / 4),
      toleranceGrad: options.toleranceGrad ?? 1e-7,
      toleranceChange: options.toleranceChange ?? 1e-9,
      historySize: options.historySize ?? 100,
      lineSearchFn: options.lineSearchFn ?? null,
    });
    if (this.paramGroups.length !== 1) {
      throw new Error("LBFGS: doesn't support per-parameter options (parameter groups); pass one list of tensors");
    }
    this.#params = this.paramGroups[0].params;
    const device = this.#params[0].device, dtype = this.#params[0].dtype;
    for (const p of this.#params) {
      if (p.device !== device || p.dtype !== dtype) {
        throw new TypeError(
          `LBFGS: every parameter must share one device and dtype (its vectors are concatenated); got ${dtype} on ${device} and ${p.dtype} on ${p.device}`,
        );
      }
    }
    this.#numel = this.#params.reduce((n, p) => n + p.numel(), 0);
  }

  /** Checks the options before anything changes, naming `where` in errors. */
  protected override validate(o: LBFGSOptions, where: string): void {
    super.validate(o, where);
    for (const key of ["maxIter", "maxEval", "historySize"] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 1) {
        throw new RangeError(`LBFGS: invalid ${key} ${o[key]} in ${where} (expected an integer >= 1)`);
      }
    }
    checkNonNegative("LBFGS", where, "toleranceGrad", o.toleranceGrad);
    checkNonNegative("LBFGS", where, "toleranceChange", o.toleranceChange);
    if (o.lineSearchFn !== null && o.lineSearchFn !== "strong_wolfe") {
      throw new RangeError(`LBFGS: lineSearchFn must be "strong_wolfe" or null, got ${JSON.stringify(o.lineSearchFn)}`);
    }
  }

  /** Not used: L-BFGS works on all parameters at once in {@link LBFGS.step}. */
  protected updateGroup(_group: ParamGroup<LBFGSOptions>): void {
    throw new Error("LBFGS: step(closure) updates the parameters; updateGroup is not used");
  }

  /**
   * Runs up to `maxIter` iterations, calling `closure` (with grad mode on) for every loss and gradient it needs.
   * Returns the loss of the first evaluation, as PyTorch does. Needs a device that reads synchronously (the CPU);
   * elsewhere use {@link LBFGS.stepAsync}.
   */
  override step(closure?: LBFGSClosure): Tensor {
    const run = this.#start(closure, "step");
    if (!getBackend(this.#params[0].device).readSync) {
      throw new Error(
        `LBFGS.step: the parameters are on ${
          this.#params[0].device
        }, which cannot be read synchronously; use await optimizer.stepAsync(closure)`,
      );
    }
    let r = noGrad(() => run.next());
    while (!r.done) {
      const answer = r.value === EVALUATE ? checkLoss(enableGrad(closure!)) : r.value.dataSync()[0];
      r = noGrad(() => run.next(answer));
    }
    return this.#finish(r.value);
  }

  /** {@link LBFGS.step} for any device: reads scalars back asynchronously; `closure` may return a promise. */
  async stepAsync(closure: () => Tensor | Promise<Tensor>): Promise<Tensor> {
    const run = this.#start(closure, "stepAsync");
    let r = noGrad(() => run.next());
    while (!r.done) {
      const answer = r.value === EVALUATE ? checkLoss(await enableGrad(closure)) : (await r.value.data())[0];
      r = noGrad(() => run.next(answer));
    }
    return this.#finish(r.value);
  }

  #start(closure: unknown, method: string): Generator<Request, Tensor, Tensor | number> {
    if (typeof closure !== "function") {
      throw new TypeError(
        `LBFGS.${method}: a closure is required (it clears the gradients, computes the loss, calls backward() and returns the loss)`,
      );
    }
    return this.#iterate();
  }

  #finish(loss: Tensor): Tensor {
    // The carried state outlives the step: keep it out of any enclosing `tidy` scope.
    for (const t of [this.#d, this.#prevFlatGrad, ...this.#oldDirs, ...this.#oldStps]) if (t) keep(t);
    return loss;
  }

  /** PyTorch's global L-BFGS state lives on the first parameter (`func_evals`, `n_iter`). */
  #counters(): { func_evals: number; n_iter: number } {
    const s = this.stateOf(this.#params[0]);
    s.func_evals ??= 0;
    s.n_iter ??= 0;
    return s as { func_evals: number; n_iter: number };
  }

  /** One `step`: PyTorch's `LBFGS.step`, yielding whenever it needs the closure or a scalar. */
  *#iterate(): Generator<Request, Tensor, Tensor | number> {
    const group = this.paramGroups[0];
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, lineSearchFn, historySize } = group;
    const state = this.#counters();

    const origLoss = (yield EVALUATE) as Tensor;
    let loss = (yield origLoss) as number;
    let currentEvals = 1;
    state.func_evals += 1;
    let flatGrad = this.#gatherFlatGrad();
    let optCond = ((yield flatGrad.abs().max()) as number) <= toleranceGrad;
    if (optCond) return origLoss;

    let d = this.#d, t = this.#t, hDiag = this.#hDiag;
    const oldDirs = this.#oldDirs, oldStps = this.#oldStps, ro = this.#ro;
    let prevFlatGrad = this.#prevFlatGrad, prevLoss = this.#prevLoss;

    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      state.n_iter++;

      // The descent direction.
      if (state.n_iter === 1) {
        d = flatGrad.neg();
        oldDirs.length = oldStps.length = ro.length = 0;
        hDiag = 1;
      } else {
        const y = flatGrad.sub(prevFlatGrad!);
        const s = d!.mul(t);
        const ys = (yield dot(y, s)) as number;
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) {
            // Shift the history by one (limited memory).
            oldDirs.shift()!.dispose();
            oldStps.shift()!.dispose();
            ro.shift();
          }
          oldDirs.push(keep(y));
          oldStps.push(keep(s));
          ro.push(1 / ys);
          hDiag = ys / ((yield dot(y, y)) as number);
        }
        // The two-loop recursion: d = −H·g with H the L-BFGS inverse-Hessian approximation. The coefficients stay
        // on the device as one-element tensors (no read-back per history entry).
        const al: Tensor[] = new Array(oldDirs.length);
        let q = flatGrad.neg();
        for (let i = oldDirs.length - 1; i >= 0; i--) {
          al[i] = dot(oldStps[i], q).mul(ro[i]);
          q = q.sub(oldDirs[i].mul(al[i]));
        }
        let r = q.mul(hDiag);
        for (let i = 0; i < oldDirs.length; i++) {
          const be = dot(oldDirs[i], r).mul(ro[i]);
          r = r.add(oldStps[i].mul(al[i].sub(be)));
        }
        d!.dispose(); // the previous direction (s above is its own tensor)
        d = r;
      }

      if (prevFlatGrad === null) prevFlatGrad = keep(flatGrad.clone());
      else prevFlatGrad.copy_(flatGrad);
      prevLoss = loss;

      // The step length: the first iteration ever scales by the gradient's 1-norm.
      t = state.n_iter === 1 ? Math.min(1, 1 / ((yield flatGrad.abs().sum()) as number)) * lr : lr;

      const gtd = (yield dot(flatGrad, d!)) as number;
      if (gtd > -toleranceChange) break; // not a descent direction (within tolerance)

      let lsFuncEvals = 0;
      if (lineSearchFn === "strong_wolfe") {
        const xInit = this.#params.map((p) => p.clone());
        const found = yield* this.#strongWolfe(xInit, t, d!, loss, flatGrad, gtd, toleranceChange);
        [loss, flatGrad, t, lsFuncEvals] = found;
        for (const x of xInit) x.dispose();
        this.#addGrad(t, d!);
        optCond = ((yield flatGrad.abs().max()) as number) <= toleranceGrad;
      } else {
        this.#addGrad(t, d!);
        if (nIter !== maxIter) {
          // Re-evaluate only when another iteration follows (in a stochastic setting the last one is of no use).
          loss = (yield (yield EVALUATE) as Tensor) as number;
          flatGrad = this.#gatherFlatGrad();
          optCond = ((yield flatGrad.abs().max()) as number) <= toleranceGrad;
          lsFuncEvals = 1;
        }
      }
      currentEvals += lsFuncEvals;
      state.func_evals += lsFuncEvals;

      // Stopping rules.
      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      if (((yield d!.mul(t).abs().max()) as number) <= toleranceChange) break; // lack of progress
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }

    this.#d = d;
    this.#t = t;
    this.#hDiag = hDiag;
    this.#prevFlatGrad = prevFlatGrad;
    this.#prevLoss = prevLoss;
    return origLoss;
  }

  /** Every parameter's gradient flattened into one vector (zeros for a parameter without one; sparse ones densified). */
  #gatherFlatGrad(): Tensor {
    return cat(this.#params.map((p) => (p.grad ? p.grad.toDense() : zerosLike(p)).reshape([-1])));
  }

  /** `params += step·update`, the flat update cut back into each parameter's shape. */
  #addGrad(step: number, update: Tensor): void {
    let offset = 0;
    for (const p of this.#params) {
      const n = p.numel();
      p.add_(update.narrow(0, offset, n).reshape(p.shape), step);
      offset += n;
    }
  }

  /** The loss and flat gradient at `x + t·d`; the parameters are put back to `x` after. */
  *#directionalEvaluate(x: Tensor[], t: number, d: Tensor): Generator<Request, [number, Tensor], Tensor | number> {
    this.#addGrad(t, d);
    const loss = (yield (yield EVALUATE) as Tensor) as number;
    const flatGrad = this.#gatherFlatGrad();
    this.#params.forEach((p, i) => p.copy_(x[i]));
    return [loss, flatGrad];
  }

  /**
   * PyTorch's `_strong_wolfe` (after Torch7's lswolfe.lua): bracket a step satisfying the strong Wolfe conditions,
   * then zoom by cubic interpolation. Returns the loss, flat gradient and step it settled on, and its evaluations.
   */
  *#strongWolfe(
    x: Tensor[],
    t0: number,
    d: Tensor,
    f: number,
    g: Tensor,
    gtd: number,
    toleranceChange: number,
    c1 = 1e-4,
    c2 = 0.9,
    maxLs = 25,
  ): Generator<Request, [number, Tensor, number, number], Tensor | number> {
    let t = t0;
    const dNorm = (yield d.abs().max()) as number;
    let [fNew, gNew] = yield* this.#directionalEvaluate(x, t, d);
    let lsFuncEvals = 1;
    let gtdNew = (yield dot(gNew, d)) as number;

    // Bracket an interval containing a point that satisfies the conditions.
    let tPrev = 0, fPrev = f, gPrev = g, gtdPrev = gtd;
    let done = false;
    let lsIter = 0;
    let bracket: number[] = [], bracketF: number[] = [], bracketG: Tensor[] = [], bracketGtd: number[] = [];
    while (lsIter < maxLs) {
      if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
        [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
        break;
      }
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
        done = true;
        break;
      }
      if (gtdNew >= 0) {
        [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
        break;
      }
      // Extrapolate.
      const minStep = t + 0.01 * (t - tPrev), maxStep = t * 10;
      const tmp = t;
      t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
      tPrev = tmp;
      fPrev = fNew;
      gPrev = gNew;
      gtdPrev = gtdNew;
      [fNew, gNew] = yield* this.#directionalEvaluate(x, t, d);
      lsFuncEvals++;
      gtdNew = (yield dot(gNew, d)) as number;
      lsIter++;
    }
    if (lsIter === maxLs) [bracket, bracketF, bracketG] = [[0, t], [f, fNew], [g, gNew]];

    // Zoom: refine the bracket until a point satisfies the conditions.
    let insufProgress = false;
    let [lowPos, highPos] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
    while (!done && lsIter < maxLs) {
      if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break; // the bracket is too small
      t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
      // Too close to an end of the bracket, or outside it: move 10% of its length inside.
      const hi = Math.max(...bracket), lo = Math.min(...bracket);
      const eps = 0.1 * (hi - lo);
      if (Math.min(hi - t, t - lo) < eps) {
        if (insufProgress || t >= hi || t <= lo) {
          t = Math.abs(t - hi) < Math.abs(t - lo) ? hi - eps : lo + eps;
          insufProgress = false;
        } else insufProgress = true;
      } else insufProgress = false;

      [fNew, gNew] = yield* this.#directionalEvaluate(x, t, d);
      lsFuncEvals++;
      gtdNew = (yield dot(gNew, d)) as number;
      lsIter++;

      if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
        // Armijo fails, or no lower than the lowest point: the new point becomes the high end.
        bracket[highPos] = t;
        bracketF[highPos] = fNew;
        bracketG[highPos] = gNew;
        bracketGtd[highPos] = gtdNew;
        [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
      } else {
        if (Math.abs(gtdNew) <= -c2 * gtd) done = true; // the strong Wolfe conditions hold
        else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
          // The old high end becomes the new low end.
          bracket[highPos] = bracket[lowPos];
          bracketF[highPos] = bracketF[lowPos];
          bracketG[highPos] = bracketG[lowPos];
          bracketGtd[highPos] = bracketGtd[lowPos];
        }
        bracket[lowPos] = t;
        bracketF[lowPos] = fNew;
        bracketG[lowPos] = gNew;
        bracketGtd[lowPos] = gtdNew;
      }
    }
    return [bracketF[lowPos], bracketG[lowPos], bracket[lowPos], lsFuncEvals];
  }
}

/** `aᵀb` of two vectors, as a one-element tensor. */
function dot(a: Tensor, b: Tensor): Tensor {
  return a.mul(b).sum();
}

/** The closure's result, checked: L-BFGS reads it as a number. */
function checkLoss(loss: unknown): Tensor {
  if (!(loss instanceof Tensor) || loss.numel() !== 1) {
    throw new TypeError(
      `LBFGS: the closure must return the loss as a one-element Tensor, got ${
        loss instanceof Tensor ? `shape [${loss.shape}]` : typeof loss
      }`,
    );
  }
  return loss;
}

/**
 * The minimiser of the cubic through `(x1, f1)` and `(x2, f2)` with slopes `g1`, `g2`, clamped to `bounds` (default:
 * between the two points); their midpoint when the cubic has no minimum. PyTorch's `_cubic_interpolate`.
 */
export function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [xMin, xMax] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2
      ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, xMin), xMax);
  }
  return (xMin + xMax) / 2;
}
