/**
 * `ReduceLROnPlateau` (like `torch.optim.lr_scheduler.ReduceLROnPlateau`):
 * lowers the learning rate when a watched metric stops improving.
 *
 * @module
 */

import type { BaseOptions, Optimizer } from "./optimizer.ts";
import type { SchedulerStateDict } from "./lr_scheduler.ts";

/** {@link ReduceLROnPlateau}'s options (PyTorch's defaults). */
export interface ReduceLROnPlateauOptions {
  /** "min": the metric should fall (a loss; default); "max": rise (an accuracy). */
  mode?: "min" | "max";
  /** lr is multiplied by this factor, < 1 (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before lowering lr (default 10). */
  patience?: number;
  /** How much better than the best a metric must be to count (default 1e-4). */
  threshold?: number;
  /** "rel": better by a factor `1 ∓ threshold` (default); "abs": by `threshold`. */
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after lowering lr before counting bad epochs again (default 0). */
  cooldown?: number;
  /** The lowest lr, one for all groups or one per group (default 0). */
  minLr?: number | readonly number[];
  /** A decrease smaller than this is not applied (default 1e-8). */
  eps?: number;
}

/**
 * Multiplies every group's lr by `factor` once the metric passed to
 * `step(metric)` has not improved for more than `patience` epochs (then
 * waits `cooldown` epochs before counting again), never below `minLr`.
 * PyTorch's rules exactly: "rel" mode "min" counts `metric < best·(1 −
 * threshold)` as better, "abs" mode `metric < best − threshold` (mirrored for
 * "max"). `stateDict()` holds its counters under PyTorch's names.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1 });
 * const sched = new optim.ReduceLROnPlateau(opt, { patience: 2, factor: 0.5 });
 * for (const valLoss of [1, 0.9, 0.95, 0.93, 0.92]) sched.step(valLoss);
 * console.log(opt.paramGroups[0].lr); // 0.05: no improvement on 0.9 for 3 epochs
 * ```
 */
export class ReduceLROnPlateau {
  /** The optimizer whose groups' lr this scheduler lowers. */
  readonly optimizer: Optimizer<BaseOptions>;
  /** "min" or "max". */
  mode: "min" | "max";
  /** The multiplicative factor. */
  factor: number;
  /** Bad epochs tolerated. */
  patience: number;
  /** The improvement threshold. */
  threshold: number;
  /** "rel" or "abs". */
  thresholdMode: "rel" | "abs";
  /** Epochs of cooldown after a decrease. */
  cooldown: number;
  /** The lowest lr per group. */
  minLrs: number[];
  /** The smallest decrease applied. */
  eps: number;
  /** The best metric seen. */
  best: number;
  /** Consecutive epochs without improvement. */
  numBadEpochs = 0;
  /** Cooldown epochs left. */
  cooldownCounter = 0;
  /** The last epoch index (the number of `step` calls). */
  lastEpoch = 0;
  #lastLr: number[];

  /**
   * Watches a metric passed to `step(metric)` and lowers every group's learning rate when it stops improving.
   *
   * @param optimizer the optimizer to drive
   * @param options the rules (see {@link ReduceLROnPlateauOptions})
   */
  constructor(optimizer: Optimizer<BaseOptions>, options: ReduceLROnPlateauOptions = {}) {
    const name = "ReduceLROnPlateau";
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) {
      throw new TypeError(`${name}: expected an Optimizer, got ${optimizer}`);
    }
    const n = optimizer.paramGroups.length;
    const factor = options.factor ?? 0.1, patience = options.patience ?? 10, cooldown = options.cooldown ?? 0;
    const threshold = options.threshold ?? 1e-4, eps = options.eps ?? 1e-8;
    const mode = options.mode ?? "min", thresholdMode = options.thresholdMode ?? "rel";
    if (!(factor < 1 && factor >= 0)) throw new RangeError(`${name}: factor must be in [0, 1), got ${factor}`);
    if (mode !== "min" && mode !== "max") throw new RangeError(`${name}: mode must be "min" or "max", got ${mode}`);
    if (thresholdMode !== "rel" && thresholdMode !== "abs") {
      throw new RangeError(`${name}: thresholdMode must be "rel" or "abs", got ${thresholdMode}`);
    }
    for (const [key, v] of [["patience", patience], ["cooldown", cooldown]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: ${key} must be an integer ≥ 0, got ${v}`);
    }
    for (const [key, v] of [["threshold", threshold], ["eps", eps]] as const) {
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new RangeError(`${name}: ${key} must be a finite number ≥ 0, got ${v}`);
      }
    }
    const minLr = options.minLr ?? 0;
    const minLrs = typeof minLr === "number" ? new Array<number>(n).fill(minLr) : [...minLr];
    if (minLrs.length !== n) {
      throw new RangeError(`${name}: expected ${n} minLr values (one per parameter group), got ${minLrs.length}`);
    }
    if (minLrs.some((v) => !(v >= 0))) throw new RangeError(`${name}: minLr must be ≥ 0, got ${minLrs}`);
    this.optimizer = optimizer;
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLrs = minLrs;
    this.eps = eps;
    this.best = this.#worst();
    this.#lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  #worst(): number {
    return this.mode === "min" ? Infinity : -Infinity;
  }

  /** Whether `a` improves on `best` by the threshold rule. */
  isBetter(a: number, best: number): boolean {
    const t = this.threshold;
    if (this.mode === "min") return this.thresholdMode === "rel" ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === "rel" ? a > best * (t + 1) : a > best + t;
  }

  /** Records one epoch's metric (a validation loss, say) and lowers lr when it has plateaued. */
  step(metric: number): void {
    if (typeof metric !== "number") {
      throw new TypeError(`ReduceLROnPlateau.step: expected the metric as a number, got ${typeof metric}`);
    }
    this.lastEpoch++;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of each group after the last step. */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  /** The scheduler's state (everything but the optimizer), with PyTorch's names. */
  stateDict(): SchedulerStateDict {
    return {
      factor: this.factor,
      min_lrs: this.minLrs.slice(),
      patience: this.patience,
      cooldown: this.cooldown,
      cooldown_counter: this.cooldownCounter,
      mode: this.mode,
      threshold: this.threshold,
      threshold_mode: this.thresholdMode,
      best: this.best,
      num_bad_epochs: this.numBadEpochs,
      mode_worse: this.#worst(),
      eps: this.eps,
      last_epoch: this.lastEpoch,
      _last_lr: this.#lastLr.slice(),
    };
  }

  /** Restores the state from {@link ReduceLROnPlateau.stateDict}, checking it first. */
  loadStateDict(state: SchedulerStateDict): void {
    const name = "ReduceLROnPlateau.loadStateDict";
    const need = [
      "factor",
      "min_lrs",
      "patience",
      "cooldown",
      "cooldown_counter",
      "mode",
      "threshold",
      "threshold_mode",
      "best",
      "num_bad_epochs",
      "eps",
      "last_epoch",
    ];
    const missing = need.filter((k) => !(k in state));
    if (missing.length) throw new Error(`${name}: missing key(s) ${missing.join(", ")}`);
    const minLrs = state.min_lrs as number[];
    if (!Array.isArray(minLrs) || minLrs.length !== this.optimizer.paramGroups.length) {
      throw new Error(
        `${name}: the state dict has ${
          Array.isArray(minLrs) ? minLrs.length : "no"
        } min_lrs but the optimizer has ${this.optimizer.paramGroups.length} parameter group(s)`,
      );
    }
    this.factor = state.factor as number;
    this.minLrs = minLrs.slice();
    this.patience = state.patience as number;
    this.cooldown = state.cooldown as number;
    this.cooldownCounter = state.cooldown_counter as number;
    this.mode = state.mode as "min" | "max";
    this.threshold = state.threshold as number;
    this.thresholdMode = state.threshold_mode as "rel" | "abs";
    this.best = state.best as number;
    this.numBadEpochs = state.num_bad_epochs as number;
    this.eps = state.eps as number;
    this.lastEpoch = state.last_epoch as number;
    if (Array.isArray(state._last_lr)) this.#lastLr = (state._last_lr as number[]).slice();
  }
}
