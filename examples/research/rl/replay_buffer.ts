/**
 * The experience replay of DQN (Lin, 1992; Mnih et al., 2015): a ring of the
 * last `capacity` transitions `(s, a, r, s', terminated)`, sampled uniformly,
 * so a gradient step sees decorrelated transitions from many past episodes.
 *
 * @module
 */

import type { Generator } from "../../../mod.ts";

/** A sampled minibatch, as flat arrays. */
export interface ReplayBatch {
  /** `[batch × observationSize]`. */
  observations: Float32Array;
  /** `[batch]`. */
  actions: Int32Array;
  /** `[batch]`. */
  rewards: Float32Array;
  /** `[batch × observationSize]`: the observation after the action. */
  nextObservations: Float32Array;
  /** `[batch]`: 1 where `s'` is terminal (no bootstrapping); a truncated episode's last step stores 0. */
  terminated: Float32Array;
}

/** A ring buffer of transitions with uniform sampling. */
export class ReplayBuffer {
  /** The most transitions kept. */
  readonly capacity: number;
  /** Length of one observation. */
  readonly observationSize: number;
  readonly #obs: Float32Array;
  readonly #next: Float32Array;
  readonly #act: Int32Array;
  readonly #rew: Float32Array;
  readonly #term: Float32Array;
  #pos = 0;
  #size = 0;

  /** An empty buffer for `capacity` transitions of observations of `observationSize` floats. */
  constructor(capacity: number, observationSize: number) {
    for (const [name, v] of [["capacity", capacity], ["observationSize", observationSize]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`ReplayBuffer: ${name} must be a positive integer, got ${v}`);
      }
    }
    this.capacity = capacity;
    this.observationSize = observationSize;
    this.#obs = new Float32Array(capacity * observationSize);
    this.#next = new Float32Array(capacity * observationSize);
    this.#act = new Int32Array(capacity);
    this.#rew = new Float32Array(capacity);
    this.#term = new Float32Array(capacity);
  }

  /** Transitions held. */
  get size(): number {
    return this.#size;
  }

  /** Adds one transition, overwriting the oldest when full. */
  add(
    observation: ArrayLike<number>,
    action: number,
    reward: number,
    next: ArrayLike<number>,
    terminated: boolean,
  ): void {
    const d = this.observationSize;
    if (observation.length !== d || next.length !== d) {
      throw new RangeError(
        `ReplayBuffer.add: observations must have ${d} values, got ${observation.length} and ${next.length}`,
      );
    }
    this.#obs.set(observation, this.#pos * d);
    this.#next.set(next, this.#pos * d);
    this.#act[this.#pos] = action;
    this.#rew[this.#pos] = reward;
    this.#term[this.#pos] = terminated ? 1 : 0;
    this.#pos = (this.#pos + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** `batch` transitions drawn uniformly with replacement. */
  sample(batch: number, rng: Generator): ReplayBatch {
    if (this.#size === 0) throw new Error("ReplayBuffer.sample: the buffer is empty");
    const d = this.observationSize;
    const out: ReplayBatch = {
      observations: new Float32Array(batch * d),
      actions: new Int32Array(batch),
      rewards: new Float32Array(batch),
      nextObservations: new Float32Array(batch * d),
      terminated: new Float32Array(batch),
    };
    for (let b = 0; b < batch; b++) {
      const i = rng.randint(0, this.#size);
      out.observations.set(this.#obs.subarray(i * d, (i + 1) * d), b * d);
      out.nextObservations.set(this.#next.subarray(i * d, (i + 1) * d), b * d);
      out.actions[b] = this.#act[i];
      out.rewards[b] = this.#rew[i];
      out.terminated[b] = this.#term[i];
    }
    return out;
  }
}
