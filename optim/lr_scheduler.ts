/**
 * Learning-rate schedulers (like `torch.optim.lr_scheduler`): each sets the
 * `lr` of every parameter group of an optimizer, once per `step()`.
 *
 * @module
 */

import { type BaseOptions, type Optimizer, type ParamGroup, toSnake } from "./optimizer.ts";

/** A scheduler's state: `last_epoch`, `_step_count`, `base_lrs`, `_last_lr` and its settings, in PyTorch's names. */
export type SchedulerStateDict = Record<string, unknown>;

function copyValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyValue);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyValue(x)]));
  return v;
}

/** Python's `%` (the result has the divisor's sign), which PyTorch's formulas rely on. */
function pyMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Options every scheduler takes. */
export interface SchedulerOptions {
  /**
   * The index of the last epoch when resuming (default -1: start fresh). When
   * resuming, every group must already hold `initialLr`.
   */
  lastEpoch?: number;
}

/**
 * Base class of the learning-rate schedulers (like PyTorch's `LRScheduler`).
 *
 * A subclass stores its settings, lists their field names in
 * {@link LRScheduler.settingKeys} (for state dicts), computes the new rates in
 * {@link LRScheduler.getLr} (PyTorch's chainable form, from each group's
 * current `lr`), and ends its constructor with `this.initialStep()`.
 */
export abstract class LRScheduler {
  /** The optimizer whose groups' `lr` this scheduler sets. */
  readonly optimizer: Optimizer<BaseOptions>;
  /** Each group's `initialLr` when the scheduler was made. */
  baseLrs: number[] = [];
  /** The index of the current epoch (step); -1 before the first `step()`. */
  lastEpoch: number;
  /** How many times `step()` has run (including the one the constructor does). */
  stepCount = 0;
  /** The scheduler's name, for error messages. */
  protected readonly schedulerName: string;
  #lastLr: number[] = [];

  /**
   * A scheduler of `optimizer`'s learning rates; `name` names it in errors. Use a subclass.
   *
   * @param name the scheduler's name for error messages
   * @param optimizer the optimizer to drive
   * @param lastEpoch -1 to start fresh, or the last epoch index when resuming
   */
  protected constructor(name: string, optimizer: Optimizer<BaseOptions>, lastEpoch = -1) {
    this.schedulerName = name;
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) {
      throw new TypeError(`${name}: expected an Optimizer, got ${optimizer}`);
    }
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) {
      throw new RangeError(`${name}: lastEpoch must be an integer >= -1, got ${lastEpoch}`);
    }
    this.optimizer = optimizer;
    this.lastEpoch = lastEpoch;
  }

  /** Sets up `initialLr`/`baseLrs` and takes the first step (epoch 0); subclasses call it last in their constructor. */
  protected initialStep(): void {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new Error(
            `${this.schedulerName}: parameter group ${i} has no initialLr, which resuming (lastEpoch ${this.lastEpoch}) needs`,
          );
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.step();
  }

  /** The field names of this scheduler's settings, saved by {@link LRScheduler.stateDict}. */
  protected abstract settingKeys(): string[];

  /** The new learning rate of every group for epoch `lastEpoch` (already advanced). */
  protected abstract getLr(): number[];

  /** The parameter groups this scheduler drives. */
  protected get groups(): ParamGroup<BaseOptions>[] {
    return this.optimizer.paramGroups;
  }

  /** Advances one epoch (or batch) and sets every group's `lr`. Call it after `optimizer.step()`. */
  step(): void {
    // getLr reads the advanced counters; should it refuse (OneCycleLR past its total), they are put back.
    this.stepCount++;
    this.lastEpoch++;
    let lrs: number[];
    try {
      lrs = this.getLr();
    } catch (e) {
      this.stepCount--;
      this.lastEpoch--;
      throw e;
    }
    this.groups.forEach((g, i) => g.lr = lrs[i]);
    this.#lastLr = this.groups.map((g) => g.lr);
  }

  /** The learning rate of each group as last set by this scheduler. */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  /** The scheduler's state (everything but the optimizer), with PyTorch's names. */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {
      last_epoch: this.lastEpoch,
      _step_count: this.stepCount,
      base_lrs: this.baseLrs.slice(),
      _last_lr: this.#lastLr.slice(),
    };
    const self = this as unknown as Record<string, unknown>;
    for (const k of this.settingKeys()) out[toSnake(k)] = copyValue(self[k]);
    return out;
  }

  /** Restores the state from {@link LRScheduler.stateDict}. */
  loadStateDict(stateDict: SchedulerStateDict): void {
    const name = this.schedulerName;
    const need = ["last_epoch", "_step_count", "base_lrs", "_last_lr", ...this.settingKeys().map(toSnake)];
    const missing = need.filter((k) => !(k in stateDict));
    if (missing.length) throw new Error(`${name}.loadStateDict: missing key(s) ${missing.join(", ")}`);
    const baseLrs = stateDict.base_lrs as number[];
    if (!Array.isArray(baseLrs) || baseLrs.length !== this.groups.length) {
      throw new Error(
        `${name}.loadStateDict: the state dict has ${
          Array.isArray(baseLrs) ? baseLrs.length : "no"
        } base_lrs but the optimizer has ${this.groups.length} parameter group(s)`,
      );
    }
    // Every value is checked before any is taken.
    const lastLr = stateDict._last_lr as number[];
    const numbers = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "number");
    if (!numbers(baseLrs) || !numbers(lastLr) || lastLr.length !== baseLrs.length) {
      throw new TypeError(
        `${name}.loadStateDict: base_lrs and _last_lr must be arrays of ${baseLrs.length} numbers (one per group)`,
      );
    }
    const epoch = stateDict.last_epoch, count = stateDict._step_count;
    if (!Number.isInteger(epoch) || (epoch as number) < -1 || !Number.isInteger(count) || (count as number) < 0) {
      throw new TypeError(
        `${name}.loadStateDict: last_epoch must be an integer >= -1 and _step_count one >= 0, got ${epoch} and ${count}`,
      );
    }
    this.lastEpoch = stateDict.last_epoch as number;
    this.stepCount = stateDict._step_count as number;
    this.baseLrs = baseLrs.slice();
    this.#lastLr = (stateDict._last_lr as number[]).slice();
    const self = this as unknown as Record<string, unknown>;
    for (const k of this.settingKeys()) self[k] = copyValue(stateDict[toSnake(k)]);
  }
}

function checkPositiveInt(name: string, key: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`${name}: ${key} must be a positive integer, got ${v}`);
  }
}

function checkFinite(name: string, key: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RangeError(`${name}: ${key} must be a finite number, got ${v}`);
  }
}

/** {@link StepLR}'s options. */
export interface StepLROptions extends SchedulerOptions {
  /** Multiplicative factor (default 0.1). */
  gamma?: number;
}

/**
 * Multiplies every group's lr by `gamma` every `stepSize` epochs:
 * lr = initialLr · gamma^⌊epoch / stepSize⌋.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1 });
 * const sched = new optim.StepLR(opt, 30, { gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) {
 *   // train ... opt.step()
 *   sched.step();
 * }
 * ```
 */
export class StepLR extends LRScheduler {
  /** Epochs between decays. */
  stepSize: number;
  /** Multiplicative factor. */
  gamma: number;

  /**
   * Multiplies each group's learning rate by `gamma` every `stepSize` epochs.
   *
   * @param optimizer the optimizer to drive
   * @param stepSize the period of the decay, in epochs
   * @param options `gamma` (default 0.1), `lastEpoch`
   */
  constructor(optimizer: Optimizer<BaseOptions>, stepSize: number, options: StepLROptions = {}) {
    super("StepLR", optimizer, options.lastEpoch);
    checkPositiveInt("StepLR", "stepSize", stepSize);
    checkFinite("StepLR", "gamma", options.gamma ?? 0.1);
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  /** The constructor settings kept in `stateDict()`. */
  protected settingKeys(): string[] {
    return ["stepSize", "gamma"];
  }

  /** The learning rate of each parameter group for the current epoch. */
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
}

/**
 * Multiplies every group's lr by `gamma` at each milestone epoch (a milestone
 * listed twice multiplies by gamma²).
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1 });
 * const sched = new optim.MultiStepLR(opt, [30, 80], { gamma: 0.1 });
 * sched.step();
 * ```
 */
export class MultiStepLR extends LRScheduler {
  /** The epochs at which lr decays, sorted. */
  milestones: number[];
  /** Multiplicative factor. */
  gamma: number;

  /**
   * Multiplies each group's learning rate by `gamma` at each of `milestones`.
   *
   * @param optimizer the optimizer to drive
   * @param milestones epoch indices at which to decay
   * @param options `gamma` (default 0.1), `lastEpoch`
   */
  constructor(optimizer: Optimizer<BaseOptions>, milestones: readonly number[], options: StepLROptions = {}) {
    super("MultiStepLR", optimizer, options.lastEpoch);
    if (!Array.isArray(milestones) || milestones.some((m) => !Number.isInteger(m))) {
      throw new TypeError(`MultiStepLR: milestones must be an array of integers, got ${milestones}`);
    }
    checkFinite("MultiStepLR", "gamma", options.gamma ?? 0.1);
    this.milestones = milestones.slice().sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  /** The constructor settings kept in `stateDict()`. */
  protected settingKeys(): string[] {
    return ["milestones", "gamma"];
  }

  /** The learning rate of each parameter group for the current epoch. */
  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (hits === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** hits);
  }
}

/**
 * Multiplies every group's lr by `gamma` every epoch: lr = initialLr · gamma^epoch.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1 });
 * const sched = new optim.ExponentialLR(opt, 0.9);
 * sched.step(); // lr 0.09
 * ```
 */
export class ExponentialLR extends LRScheduler {
  /** Multiplicative factor per epoch. */
  gamma: number;

  /**
   * Multiplies each group's learning rate by `gamma` every epoch.
   *
   * @param optimizer the optimizer to drive
   * @param gamma the factor per epoch
   * @param options `lastEpoch`
   */
  constructor(optimizer: Optimizer<BaseOptions>, gamma: number, options: SchedulerOptions = {}) {
    super("ExponentialLR", optimizer, options.lastEpoch);
    checkFinite("ExponentialLR", "gamma", gamma);
    this.gamma = gamma;
    this.initialStep();
  }

  /** The constructor settings kept in `stateDict()`. */
  protected settingKeys(): string[] {
    return ["gamma"];
  }

  /** The learning rate of each parameter group for the current epoch. */
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
}

/** {@link CosineAnnealingLR}'s options. */
export interface CosineAnnealingLROptions extends SchedulerOptions {
  /** The minimum learning rate (default 0). */
  etaMin?: number;
}

/**
 * Cosine annealing (SGDR without restarts): over `tMax` epochs the lr follows
 * η = ηmin + (η0 − ηmin)(1 + cos(π · epoch / tMax)) / 2, then rises again
 * (the cosine continues), computed in PyTorch's recursive form.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1 });
 * const sched = new optim.CosineAnnealingLR(opt, 100, { etaMin: 1e-4 });
 * sched.step();
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Epochs of half a cosine period. */
  tMax: number;
  /** The minimum learning rate. */
  etaMin: number;

  /**
   * Anneals each group's learning rate to `etaMin` along a cosine over `tMax` epochs.
   *
   * @param optimizer the optimizer to drive
   * @param tMax the number of epochs to anneal over
   * @param options `etaMin` (default 0), `lastEpoch`
   */
  constructor(optimizer: Optimizer<BaseOptions>, tMax: number, options: CosineAnnealingLROptions = {}) {
    super("CosineAnnealingLR", optimizer, options.lastEpoch);
    checkPositiveInt("CosineAnnealingLR", "tMax", tMax);
    checkFinite("CosineAnnealingLR", "etaMin", options.etaMin ?? 0);
    this.tMax = tMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }

  /** The constructor settings kept in `stateDict()`. */
  protected settingKeys(): string[] {
    return ["tMax", "etaMin"];
  }

  /** The learning rate of each parameter group for the current epoch. */
  protected getLr(): number[] {
    const { lastEpoch: e, tMax, etaMin } = this;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      // Resuming: jump straight to the closed form.
      return this.baseLrs.map((base) => etaMin + (base - etaMin) * (1 + Math.cos(e * Math.PI / tMax)) / 2);
    }
    if (pyMod(e - 1 - tMax, 2 * tMax) === 0) {
      return this.groups.map((g, i) => g.lr + (this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2);
    }
    return this.groups.map((g) =>
      (1 + Math.cos(Math.PI * e / tMax)) / (1 + Math.cos(Math.PI * (e - 1) / tMax)) * (g.lr - etaMin) + etaMin
    );
  }
}

/** {@link LinearLR}'s options. */
export interface LinearLROptions extends SchedulerOptions {
  /** The factor applied to lr at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** The factor reached at `totalIters`, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs over which the factor moves linearly (default 5). */
  totalIters?: number;
}

/**
 * Scales lr by a factor that moves linearly from `startFactor` to `endFactor`
 * over `totalIters` epochs, then stays (a common warm-up):
 * lr = initialLr · (start + (end − start) · min(epoch, totalIters) / totalIters).
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1 });
 * const warmup = new optim.LinearLR(opt, { startFactor: 0.1, totalIters: 4 });
 * warmup.step();
 * ```
 */
export class LinearLR extends LRScheduler {
  /** Factor at epoch 0. */
  startFactor: number;
  /** Factor from `totalIters` on. */
  endFactor: number;
  /** Epochs of the linear ramp. */
  totalIters: number;

  /**
   * Scales each group's learning rate linearly from `startFactor` to `endFactor` over `totalIters` epochs.
   *
   * @param optimizer the optimizer to drive
   * @param options `startFactor` (1/3), `endFactor` (1), `totalIters` (5), `lastEpoch`
   */
  constructor(optimizer: Optimizer<BaseOptions>, options: LinearLROptions = {}) {
    super("LinearLR", optimizer, options.lastEpoch);
    const startFactor = options.startFactor ?? 1 / 3;
    const endFactor = options.endFactor ?? 1;
    const totalIters = options.totalIters ?? 5;
    if (typeof startFactor !== "number" || !(startFactor > 0 && startFactor <= 1)) {
      throw new RangeError(`LinearLR: startFactor must be in (0, 1], got ${startFactor}`);
    }
    if (typeof endFactor !== "number" || !(endFactor >= 0 && endFactor <= 1)) {
      throw new RangeError(`LinearLR: endFactor must be in [0, 1], got ${endFactor}`);
    }
    checkPositiveInt("LinearLR", "totalIters", totalIters);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }

  /** The constructor settings kept in `stateDict()`. */
  protected settingKeys(): string[] {
    return ["startFactor", "endFactor", "totalIters"];
  }

  /** The learning rate of each parameter group for the current epoch. */
  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
}

/** {@link OneCycleLR}'s options. Give `totalSteps`, or `epochs` and `stepsPerEpoch`. */
export interface OneCycleLROptions extends SchedulerOptions {
  /** Steps in the cycle. */
  totalSteps?: number;
  /** Epochs to train (with `stepsPerEpoch`, gives totalSteps). */
  epochs?: number;
  /** Steps per epoch (with `epochs`, gives totalSteps). */
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing lr (default 0.3). */
  pctStart?: number;
  /** "cos" (default) or "linear" annealing. */
  annealStrategy?: "cos" | "linear";
  /** Cycle momentum (or Adam's β1) inversely to lr (default true). */
  cycleMomentum?: boolean;
  /** Lowest momentum, reached at the peak lr (default 0.85; one value or one per group). */
  baseMomentum?: number | number[];
  /** Highest momentum, at the start and end (default 0.95; one value or one per group). */
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Use three phases (up, down to initialLr, then down to minLr) as fast.ai (default false). */
  threePhase?: boolean;
}

/** One phase of the 1cycle schedule: up to `endStep`, anneal between the named group keys. */
export interface OneCycleLRPhase {
  /** The last step of the phase. */
  endStep: number;
  /** The group key holding the learning rate the phase starts from (`initialLr`, `maxLr`, `minLr`). */
  startLr: string;
  /** The group key holding the learning rate it ends at. */
  endLr: string;
  /** The group key holding the momentum it starts from (`maxMomentum`, `baseMomentum`). */
  startMomentum: string;
  /** The group key holding the momentum it ends at. */
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topin): lr rises from maxLr/divFactor to maxLr
 * over the first `pctStart` of the steps, then anneals to
 * maxLr/(divFactor·finalDivFactor); momentum (or Adam's β1) moves the
 * opposite way between `maxMomentum` and `baseMomentum`. Step it after every
 * batch. As in PyTorch, cycling momentum sets `momentum` even where it was 0
 * (SGD, RMSprop); pass `cycleMomentum: false` to leave it alone.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1, momentum: 0.9 });
 * const sched = new optim.OneCycleLR(opt, 0.1, { epochs: 10, stepsPerEpoch: 100 });
 * // per batch: opt.step(); sched.step();
 * ```
 */
export class OneCycleLR extends LRScheduler {
  /** Steps in the whole cycle. */
  totalSteps: number;
  /** The phases, with PyTorch's boundaries. */
  schedulePhases: OneCycleLRPhase[];
  /** "cos" or "linear". */
  annealStrategy: "cos" | "linear";
  /** Whether momentum/β1 is cycled. */
  cycleMomentum: boolean;
  /** Whether the optimizer's momentum is β1 of `betas` (Adam) rather than `momentum`. */
  useBeta1: boolean;

  /**
   * The one-cycle policy up to `maxLr` (one value, or one per group) over the run's steps.
   *
   * @param optimizer the optimizer to drive
   * @param maxLr the peak learning rate (one value, or one per group)
   * @param options `totalSteps` or `epochs` + `stepsPerEpoch`, and the shape of the cycle
   */
  constructor(optimizer: Optimizer<BaseOptions>, maxLr: number | number[], options: OneCycleLROptions = {}) {
    super("OneCycleLR", optimizer, options.lastEpoch);
    const name = "OneCycleLR";
    let totalSteps: number;
    if (options.totalSteps !== undefined) {
      checkPositiveInt(name, "totalSteps", options.totalSteps);
      totalSteps = options.totalSteps;
    } else if (options.epochs !== undefined && options.stepsPerEpoch !== undefined) {
      checkPositiveInt(name, "epochs", options.epochs);
      checkPositiveInt(name, "stepsPerEpoch", options.stepsPerEpoch);
      totalSteps = options.epochs * options.stepsPerEpoch;
    } else {
      throw new Error(`${name}: give either totalSteps or both epochs and stepsPerEpoch`);
    }
    const pctStart = options.pctStart ?? 0.3;
    if (typeof pctStart !== "number" || !(pctStart >= 0 && pctStart <= 1)) {
      throw new RangeError(`${name}: pctStart must be a number in [0, 1], got ${pctStart}`);
    }
    const annealStrategy = options.annealStrategy ?? "cos";
    if (annealStrategy !== "cos" && annealStrategy !== "linear") {
      throw new RangeError(`${name}: annealStrategy must be "cos" or "linear", got ${annealStrategy}`);
    }
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    checkFinite(name, "divFactor", divFactor);
    checkFinite(name, "finalDivFactor", finalDivFactor);
    const groups = optimizer.paramGroups;
    const maxLrs = perGroup(name, "maxLr", maxLr, groups.length);
    const cycleMomentum = options.cycleMomentum ?? true;
    let useBeta1 = false;
    let maxMomentums: number[] = [];
    let baseMomentums: number[] = [];
    if (cycleMomentum) {
      const defaults = optimizer.defaults as unknown as Record<string, unknown>;
      if (!("momentum" in defaults) && !("betas" in defaults)) {
        throw new Error(`${name}: the optimizer must have momentum or betas when cycleMomentum is on`);
      }
      useBeta1 = "betas" in defaults;
      maxMomentums = perGroup(name, "maxMomentum", options.maxMomentum ?? 0.95, groups.length);
      baseMomentums = perGroup(name, "baseMomentum", options.baseMomentum ?? 0.85, groups.length);
    }
    // All checks passed: now change the optimizer's groups (PyTorch does this only when starting fresh).
    if (this.lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
        if (cycleMomentum) {
          if (useBeta1) g.betas = [maxMomentums[i], ...(g.betas as number[]).slice(1)];
          else g.momentum = maxMomentums[i];
          g.maxMomentum = maxMomentums[i];
          g.baseMomentum = baseMomentums[i];
        }
      });
    }
    this.totalSteps = totalSteps;
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.schedulePhases = options.threePhase
      ? [
        {
          endStep: pctStart * totalSteps - 1,
          startLr: "initialLr",
          endLr: "maxLr",
          startMomentum: "maxMomentum",
          endMomentum: "baseMomentum",
        },
        {
          endStep: 2 * pctStart * totalSteps - 2,
          startLr: "maxLr",
          endLr: "initialLr",
          startMomentum: "baseMomentum",
          endMomentum: "maxMomentum",
        },
        {
          endStep: totalSteps - 1,
          startLr: "initialLr",
          endLr: "minLr",
          startMomentum: "maxMomentum",
          endMomentum: "maxMomentum",
        },
      ]
      : [
        {
          endStep: pctStart * totalSteps - 1,
          startLr: "initialLr",
          endLr: "maxLr",
          startMomentum: "maxMomentum",
          endMomentum: "baseMomentum",
        },
        {
          endStep: totalSteps - 1,
          startLr: "maxLr",
          endLr: "minLr",
          startMomentum: "baseMomentum",
          endMomentum: "maxMomentum",
        },
      ];
    this.initialStep();
  }

  /** The constructor settings kept in `stateDict()`. */
  protected settingKeys(): string[] {
    return ["totalSteps", "schedulePhases", "annealStrategy", "cycleMomentum", "useBeta1"];
  }

  #anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "linear") return (end - start) * pct + start;
    return end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1);
  }

  /** The learning rate of each parameter group for the current epoch. */
  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new Error(
        `OneCycleLR: tried to step ${stepNum} times; the schedule has totalSteps ${this.totalSteps}`,
      );
    }
    return this.groups.map((g) => {
      let startStep = 0;
      let lr = 0;
      let momentum = 0;
      const phases = this.schedulePhases;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i];
        if (stepNum <= phase.endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          lr = this.#anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
          if (this.cycleMomentum) {
            momentum = this.#anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
          }
          break;
        }
        startStep = phase.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) g.betas = [momentum, ...(g.betas as number[]).slice(1)];
        else g.momentum = momentum;
      }
      return lr;
    });
  }
}

/** One value per group (a single number repeated, or a list of the right length). */
function perGroup(name: string, key: string, v: number | number[], n: number): number[] {
  if (Array.isArray(v)) {
    if (v.length !== n) {
      throw new RangeError(`${name}: expected ${n} values for ${key} (one per group), got ${v.length}`);
    }
    v.forEach((x) => checkFinite(name, key, x));
    return v.slice();
  }
  checkFinite(name, key, v);
  return new Array(n).fill(v);
}

/** A learning-rate factor as a function of the epoch index. */
export type LrLambda = (epoch: number) => number;

/**
 * Sets each group's lr to its initial lr times a function of the epoch:
 * lr = initialLr · lrLambda(epoch), with one function for every group or one
 * per group. The functions are not saved in `stateDict()` (PyTorch saves
 * `lr_lambdas` as null for plain functions too); pass them again when
 * rebuilding the scheduler.
 *
 * @example
 * ```ts
 * import { optim, randn } from "../mod.ts";
 * const opt = new optim.SGD([randn([2]).requiresGrad_()], { lr: 0.1 });
 * // A linear warm-up over 10 steps.
 * const sched = new optim.LambdaLR(opt, (epoch) => Math.min(1, (epoch + 1) / 10));
 * sched.step(); // lr 0.02
 * ```
 */
export class LambdaLR extends LRScheduler {
  /** One factor function per parameter group. */
  readonly lrLambdas: LrLambda[];

  /**
   * Sets each group's learning rate to its initial rate times its factor function of the epoch.
   *
   * @param optimizer the optimizer to drive
   * @param lrLambda the factor function, or one per parameter group
   * @param options `lastEpoch`
   */
  constructor(
    optimizer: Optimizer<BaseOptions>,
    lrLambda: LrLambda | readonly LrLambda[],
    options: SchedulerOptions = {},
  ) {
    super("LambdaLR", optimizer, options.lastEpoch);
    const n = optimizer.paramGroups.length;
    const list = typeof lrLambda === "function" ? new Array<LrLambda>(n).fill(lrLambda) : [...(lrLambda ?? [])];
    if (list.length !== n || list.some((f) => typeof f !== "function")) {
      throw new TypeError(
        `LambdaLR: expected a function or ${n} functions (one per parameter group), got ${
          Array.isArray(lrLambda) ? `${lrLambda.length} values` : typeof lrLambda
        }`,
      );
    }
    this.lrLambdas = list;
    this.initialStep();
  }

  /** The constructor settings kept in `stateDict()`. */
  protected settingKeys(): string[] {
    return [];
  }

  /** The learning rate of each parameter group for the current epoch. */
  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => {
      const f = this.lrLambdas[i](this.lastEpoch);
      if (typeof f !== "number" || !Number.isFinite(f)) {
        throw new RangeError(`LambdaLR: lrLambda of group ${i} returned ${f} at epoch ${this.lastEpoch}`);
      }
      return base * f;
    });
  }

  /** The scheduler's state, with `lr_lambdas` as null per group (functions are not saved). */
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), lr_lambdas: this.lrLambdas.map(() => null) };
  }
}
