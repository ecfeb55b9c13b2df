/**
 * Episode returns and the "solved" rule: CartPole-v1 counts as solved when the
 * mean return of 100 consecutive episodes reaches 475 (Gymnasium's
 * `reward_threshold`). Episodes to solve is the number of the last episode of
 * the first such window.
 *
 * @module
 */

/** CartPole-v1's solved rule. */
export const CARTPOLE_SOLVED = { threshold: 475, window: 100 } as const;

/** Why a training run stopped. */
export type StopReason = "solved" | "episodes" | "steps" | "time";

/** A record of episode returns with a trailing mean and the episode at which the solved rule first held. */
export class ReturnTracker {
  /** Every episode's return, in order. */
  readonly returns: number[] = [];
  /** The trailing mean after each episode (over up to `window` episodes). */
  readonly means: number[] = [];
  /** The episode number (1-based) at which the trailing `window` first averaged `threshold` or more. */
  solvedAt: number | null = null;
  readonly #threshold: number;
  readonly #window: number;
  #sum = 0;

  /** A tracker for `threshold` over `window` consecutive episodes (default CartPole-v1's 475 over 100). */
  constructor(threshold: number = CARTPOLE_SOLVED.threshold, window: number = CARTPOLE_SOLVED.window) {
    if (!Number.isInteger(window) || window < 1) {
      throw new RangeError(`ReturnTracker: window must be a positive integer, got ${window}`);
    }
    this.#threshold = threshold;
    this.#window = window;
  }

  /** Records one episode's return. */
  push(ret: number): void {
    this.returns.push(ret);
    this.#sum += ret;
    if (this.returns.length > this.#window) this.#sum -= this.returns[this.returns.length - 1 - this.#window];
    const n = Math.min(this.returns.length, this.#window);
    const mean = this.#sum / n;
    this.means.push(mean);
    if (this.solvedAt === null && n === this.#window && mean >= this.#threshold) this.solvedAt = this.returns.length;
  }

  /** The trailing mean (0 before any episode). */
  get mean(): number {
    return this.means.length ? this.means[this.means.length - 1] : 0;
  }

  /** Episodes recorded. */
  get episodes(): number {
    return this.returns.length;
  }
}

/** Budgets shared by the CartPole agents: training stops at the first one reached, or when solved. */
export interface TrainBudget {
  /** Stop after this many episodes. */
  maxEpisodes?: number;
  /** Stop after this many environment steps. */
  maxSteps?: number;
  /** Stop after this many seconds. */
  maxSeconds?: number;
  /** Keep going after the solved rule first holds (default false: stop). */
  continueAfterSolved?: boolean;
}

/** The reason to stop now, or null to go on. */
export function stopReason(
  tracker: ReturnTracker,
  steps: number,
  start: number,
  budget: TrainBudget,
): StopReason | null {
  if (tracker.solvedAt !== null && !budget.continueAfterSolved) return "solved";
  if (budget.maxEpisodes !== undefined && tracker.episodes >= budget.maxEpisodes) return "episodes";
  if (budget.maxSteps !== undefined && steps >= budget.maxSteps) return "steps";
  if (budget.maxSeconds !== undefined && (performance.now() - start) / 1000 >= budget.maxSeconds) return "time";
  return null;
}

/** What every CartPole agent returns. */
export interface TrainResult {
  /** The returns and trailing means. */
  tracker: ReturnTracker;
  /** Environment steps taken. */
  steps: number;
  /** Gradient steps taken. */
  updates: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** Why training stopped. */
  stopped: StopReason;
}
