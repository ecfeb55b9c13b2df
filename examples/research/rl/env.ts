/**
 * The environment interface of the reinforcement-learning examples, shaped as
 * Gymnasium's: `reset(seed)` starts an episode (a seed restarts the
 * environment's random stream, as `env.reset(seed=…)` does), and `step(action)`
 * returns the observation, the reward, and whether the episode ended because
 * the task ended (`terminated`: the pole fell, the goal was reached) or because
 * time ran out (`truncated`: a bootstrapping agent still values the next state).
 *
 * @module
 */

/** What {@link Env.step} returns. */
export interface StepResult<O> {
  /** The observation after the step. */
  observation: O;
  /** The reward for the step. */
  reward: number;
  /** The episode ended in a terminal state (no future reward). */
  terminated: boolean;
  /** The episode was cut off by a time limit (the state is not terminal). */
  truncated: boolean;
}

/** An environment with `numActions` discrete actions `0 … numActions-1`. */
export interface Env<O> {
  /** How many discrete actions `step` takes. */
  readonly numActions: number;
  /** Starts an episode; a `seed` restarts the environment's random stream first. */
  reset(seed?: number): O;
  /** Applies `action` (an integer in `[0, numActions)`). Throws after the episode ended until `reset`. */
  step(action: number): StepResult<O>;
}

/** Throws unless `action` is an integer in `[0, numActions)`; `name` is the environment. */
export function checkAction(name: string, action: number, numActions: number): void {
  if (!Number.isInteger(action) || action < 0 || action >= numActions) {
    throw new RangeError(`${name}.step: action must be an integer in [0, ${numActions}), got ${action}`);
  }
}

/** Throws unless `seed` is undefined or a non-negative safe integer; `name` is the environment. */
export function checkSeed(name: string, seed: number | undefined): void {
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw new RangeError(`${name}.reset: seed must be a non-negative integer, got ${seed}`);
  }
}
