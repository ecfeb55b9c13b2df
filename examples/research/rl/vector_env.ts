/**
 * Several copies of one environment stepped together, as Gymnasium's
 * `SyncVectorEnv`: one batched forward pass of the policy serves every copy,
 * and a copy whose episode ended is reset at once (its final observation is
 * kept for bootstrapping a truncated episode).
 *
 * @module
 */

import type { Env } from "./env.ts";

/** An environment whose observations are float vectors of a fixed length. */
export interface VectorObservationEnv extends Env<Float32Array> {
  /** Length of an observation. */
  readonly observationSize: number;
}

/** A finished episode, in the order episodes finish (ties by copy index). */
export interface FinishedEpisode {
  /** Which copy ran it. */
  env: number;
  /** Sum of its rewards. */
  return: number;
  /** Its steps. */
  length: number;
  /** Whether it was cut off by the time limit rather than terminated. */
  truncated: boolean;
}

/** What {@link VectorEnv.step} returns. */
export interface VectorStep {
  /** The next observations, `[n × observationSize]` row-major: a fresh episode's first one where a copy was reset. */
  observations: Float32Array;
  /** Each copy's reward. */
  rewards: Float32Array;
  /** 1 where the copy's episode terminated. */
  terminated: Uint8Array;
  /** 1 where the copy's episode was truncated (and not terminated). */
  truncated: Uint8Array;
  /** The last observation of each copy whose episode ended in this step (before its reset), else null. */
  finalObservations: (Float32Array | null)[];
  /** The episodes that ended in this step. */
  finished: FinishedEpisode[];
}

/** `n` copies of an environment, stepped together with automatic resets. */
export class VectorEnv {
  /** The copies. */
  readonly envs: readonly VectorObservationEnv[];
  /** Length of one observation. */
  readonly observationSize: number;
  /** Actions per copy. */
  readonly numActions: number;
  #returns: Float64Array;
  #lengths: Int32Array;
  #obs: Float32Array;

  /** `n` copies made by `make(i)`. */
  constructor(make: (index: number) => VectorObservationEnv, n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`VectorEnv: n must be a positive integer, got ${n}`);
    this.envs = Array.from({ length: n }, (_, i) => make(i));
    this.observationSize = this.envs[0].observationSize;
    this.numActions = this.envs[0].numActions;
    this.#returns = new Float64Array(n);
    this.#lengths = new Int32Array(n);
    this.#obs = new Float32Array(n * this.observationSize);
  }

  /** How many copies. */
  get size(): number {
    return this.envs.length;
  }

  /** Resets every copy, copy `i` with seed `seed + i`. Returns the observations `[n × observationSize]`. */
  reset(seed: number): Float32Array {
    this.envs.forEach((env, i) => this.#obs.set(env.reset(seed + i), i * this.observationSize));
    this.#returns.fill(0);
    this.#lengths.fill(0);
    return this.#obs.slice();
  }

  /** Steps copy `i` with `actions[i]`, resetting the copies whose episode ended. */
  step(actions: ArrayLike<number>): VectorStep {
    const n = this.size;
    if (actions.length !== n) throw new RangeError(`VectorEnv.step: expected ${n} actions, got ${actions.length}`);
    const rewards = new Float32Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const finalObservations: (Float32Array | null)[] = new Array(n).fill(null);
    const finished: FinishedEpisode[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.envs[i].step(actions[i]);
      rewards[i] = r.reward;
      this.#returns[i] += r.reward;
      this.#lengths[i]++;
      let obs = r.observation;
      if (r.terminated || r.truncated) {
        terminated[i] = r.terminated ? 1 : 0;
        truncated[i] = r.terminated ? 0 : 1;
        finalObservations[i] = r.observation;
        finished.push({ env: i, return: this.#returns[i], length: this.#lengths[i], truncated: !r.terminated });
        this.#returns[i] = 0;
        this.#lengths[i] = 0;
        obs = this.envs[i].reset();
      }
      this.#obs.set(obs, i * this.observationSize);
    }
    return { observations: this.#obs.slice(), rewards, terminated, truncated, finalObservations, finished };
  }
}
