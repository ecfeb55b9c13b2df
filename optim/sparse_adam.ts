/**
 * SparseAdam (like `torch.optim.SparseAdam`): Adam for sparse gradients,
 * updating only the rows a gradient touches.
 *
 * @module
 */

import { getBackend, sparseMask, type SparseTensor, summedDuplicates, type Tensor, zerosLike } from "@dendrite/tensor";
import {
  checkBoolean,
  checkNonNegative,
  checkUnitInterval,
  Optimizer,
  type ParamGroup,
  type Params,
  Temps,
} from "./optimizer.ts";

/** SparseAdam's hyperparameters (PyTorch's defaults). */
export interface SparseAdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates (β1, β2) of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** Maximize the objective instead of minimizing (default false). */
  maximize: boolean;
}

/**
 * The "lazy" Adam of PyTorch's `SparseAdam`, for sparse gradients
 * (`Embedding({ sparse: true })`): the moments and the parameter change only
 * in the rows the gradient holds, so a step costs O(rows·dim) whatever the
 * table's size. With the gradient coalesced to rows `r` and values `g`
 * (t counts this parameter's steps):
 *
 * ```
 * m[r] = β1 m[r] + (1 − β1) g
 * v[r] = β2 v[r] + (1 − β2) g²
 * θ[r] = θ[r] − lr √(1 − β2^t) / (1 − β1^t) · m[r] / (√v[r] + ε)
 * ```
 *
 * Rows absent from a gradient keep their moments (unlike dense Adam, whose
 * moments decay every step). Dense gradients are refused, as in PyTorch.
 * State: `step` (a number), `exp_avg`, `exp_avg_sq`. On the CPU the gradient
 * is coalesced as PyTorch does; on a device that cannot read back
 * synchronously (WebGPU) its duplicate rows are summed on the device instead
 * (a scatter picks one entry per row to carry the sum, the others update
 * nothing), which gives the same step.
 *
 * @example
 * ```ts
 * import { nn, optim, tensor } from "../mod.ts";
 * const emb = new nn.Embedding(1000, 8, { sparse: true });
 * const opt = new optim.SparseAdam(emb.parameters(), { lr: 0.01 });
 * emb.forward(tensor([3, 7, 3], { dtype: "int32" })).square().sum().backward();
 * opt.step(); // rows 3 and 7 change; the other 998 are not touched
 * ```
 */
export class SparseAdam extends Optimizer<SparseAdamOptions> {
  /**
   * A SparseAdam over `params`, whose gradients must be sparse.
   *
   * @param params tensors (e.g. `embedding.parameters()`) or parameter groups `{ params, lr, ... }`
   * @param options hyperparameters; unset ones take PyTorch's defaults
   */
  constructor(params: Params<SparseAdamOptions>, options: Partial<SparseAdamOptions> = {}) {
    super("SparseAdam", params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      maximize: options.maximize ?? false,
    });
  }

  /** Checks lr, betas, eps and maximize. */
  protected override validate(o: SparseAdamOptions, where: string): void {
    super.validate(o, where);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new TypeError(`SparseAdam: invalid betas ${o.betas} in ${where} (expected [beta1, beta2])`);
    }
    checkUnitInterval("SparseAdam", where, "betas[0]", o.betas[0]);
    checkUnitInterval("SparseAdam", where, "betas[1]", o.betas[1]);
    checkNonNegative("SparseAdam", where, "eps", o.eps);
    checkBoolean("SparseAdam", where, "maximize", o.maximize);
  }

  /** Sparse gradients are what SparseAdam is for. */
  protected override sparseGradError(): null {
    return null;
  }

  /** Dense gradients are refused, as in PyTorch. */
  protected override denseGradError(): string {
    return "SparseAdam does not support dense gradients, please consider Adam instead";
  }

  /** The lazy Adam step on each parameter's coalesced gradient rows. */
  protected updateGroup(group: ParamGroup<SparseAdamOptions>): void {
    const { lr, betas: [beta1, beta2], eps, maximize } = group;
    for (const p of group.params) {
      if (!p.grad) continue;
      const tmp = new Temps();
      const raw = p.grad as SparseTensor;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.exp_avg = zerosLike(p);
        state.exp_avg_sq = zerosLike(p);
      }
      const step = (state.step as number) + 1;
      state.step = step;
      if (raw.nnz === 0) {
        tmp.dispose();
        continue;
      }
      // One entry per row: coalesced on the host where it can be read, else duplicates summed on the device with
      // `keep` marking the one entry per row that carries the sum.
      const { grad, values, keep } = getBackend(p.device).readSync ? coalesced(raw, tmp) : summedOnDevice(raw, tmp);
      const masked = (t: Tensor) => (keep ? tmp.keep(t.mul(keep)) : t);
      const expAvg = state.exp_avg as Tensor, expAvgSq = state.exp_avg_sq as Tensor;
      const g = maximize ? tmp.keep(values.neg()) : values;
      // m[r] += (1 − β1)(g − m[r]), and the same for v with g²: the old rows are read once and reused below.
      const oldM = tmp.keep(rowsAt(expAvg, grad, tmp));
      const updM = masked(tmp.keep(tmp.keep(g.sub(oldM)).mul(1 - beta1)));
      expAvg.add_(tmp.keep(grad._withValues(updM)));
      const oldV = tmp.keep(rowsAt(expAvgSq, grad, tmp));
      const updV = masked(tmp.keep(tmp.keep(tmp.keep(g.square()).sub(oldV)).mul(1 - beta2)));
      expAvgSq.add_(tmp.keep(grad._withValues(updV)));
      const numer = tmp.keep(updM.add(oldM));
      const denom = tmp.keep(tmp.keep(tmp.keep(updV.add(oldV)).sqrt()).add(eps));
      const stepSize = lr * Math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step);
      p.add_(tmp.keep(grad._withValues(masked(tmp.keep(numer.div(denom))))), -stepSize);
      tmp.dispose();
    }
  }
}

/** A sparse gradient with one entry per row, its values, and (device path only) a mask of the entries that count. */
interface RowGradient {
  /** The gradient whose indices address the rows. */
  grad: SparseTensor;
  /** Its values, duplicates summed. */
  values: Tensor;
  /** 1 for the entry that carries a row's sum, 0 for the row's other entries (null when there are none). */
  keep: Tensor | null;
}

/** PyTorch's way: sort the entries and sum duplicates on the host. */
function coalesced(raw: SparseTensor, tmp: Temps): RowGradient {
  const grad = raw.coalesce();
  if (grad !== raw) tmp.keep(grad);
  return { grad, values: tmp.keep(grad.values()), keep: null };
}

/** Duplicates summed on the device (see `summedDuplicates` in `@dendrite/tensor`). */
function summedOnDevice(raw: SparseTensor, tmp: Temps): RowGradient {
  const { values, carrier } = summedDuplicates(raw);
  tmp.keep(values);
  tmp.keep(carrier);
  const keep = tmp.keep(carrier.reshape([raw.nnz, ...values.shape.slice(1).map(() => 1)]));
  return { grad: raw, values, keep };
}

/** The rows of dense `x` at the (coalesced) gradient's positions, `[nnz, ...]`; the mask itself goes to `tmp`. */
function rowsAt(x: Tensor, grad: SparseTensor, tmp: Temps): Tensor {
  const mask = sparseMask(x, grad);
  tmp.keep(mask);
  return mask._values();
}
