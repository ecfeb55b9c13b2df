/**
 * Tabular Q-learning (Watkins, 1989) with ε-greedy exploration:
 * `Q(s, a) ← Q(s, a) + α (r + γ max_a' Q(s', a') − Q(s, a))`, where the
 * bootstrap term is dropped when `s'` is terminal (but kept on truncation:
 * running out of time does not make a state worthless).
 *
 * @module
 */

import { Generator } from "../../../mod.ts";
import type { Env } from "./env.ts";

/** Options of {@link qLearning}. */
export interface QLearningOptions {
  /** Rows of the table (how many observations there are). */
  numStates: number;
  /** Episodes to run. */
  episodes: number;
  /** Step size α (default 0.5). */
  alpha?: number;
  /** Discount γ (default 0.95). */
  gamma?: number;
  /** Exploration rate ε at the first episode (default 1). */
  epsilonStart?: number;
  /** ε at `epsilonDecayEpisodes` and after (default 0.05). */
  epsilonEnd?: number;
  /** Episodes over which ε falls linearly (default half of `episodes`). */
  epsilonDecayEpisodes?: number;
  /** Seed of the exploration stream and of the first `reset` (default 0). */
  seed?: number;
  /** Called after each episode. */
  onEpisode?: (e: QEpisode) => void;
  /** Called once with the table as it is created (it is then updated in place), e.g. to probe the greedy policy. */
  onTable?: (q: Float64Array) => void;
}

/** One episode's record. */
export interface QEpisode {
  /** 1-based episode number. */
  episode: number;
  /** Steps taken. */
  steps: number;
  /** Sum of rewards. */
  return: number;
  /** Whether it reached a terminal state (rather than being truncated). */
  terminated: boolean;
  /** ε used in the episode. */
  epsilon: number;
}

/** The greedy action in row `s` of `q` (lowest index on ties). */
export function greedyAction(q: Float64Array, s: number, numActions: number): number {
  let best = 0;
  for (let a = 1; a < numActions; a++) if (q[s * numActions + a] > q[s * numActions + best]) best = a;
  return best;
}

/**
 * Learns a Q-table on `env` (observations are integers in `[0, numStates)`). Ties between equal values are broken at
 * random while exploring, so an all-zero table does not always walk into the same wall. Returns the table
 * (`q[s * numActions + a]`) and every episode's record.
 */
export function qLearning(env: Env<number>, options: QLearningOptions): { q: Float64Array; episodes: QEpisode[] } {
  const { numStates, episodes } = options;
  const alpha = options.alpha ?? 0.5;
  const gamma = options.gamma ?? 0.95;
  const eps0 = options.epsilonStart ?? 1;
  const eps1 = options.epsilonEnd ?? 0.05;
  const decay = options.epsilonDecayEpisodes ?? Math.max(1, Math.floor(episodes / 2));
  if (!Number.isInteger(numStates) || numStates < 1) {
    throw new RangeError(`qLearning: numStates must be a positive integer, got ${numStates}`);
  }
  if (!Number.isInteger(episodes) || episodes < 0) {
    throw new RangeError(`qLearning: episodes must be a non-negative integer, got ${episodes}`);
  }
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`qLearning: alpha must be in (0, 1], got ${alpha}`);
  if (!(gamma >= 0 && gamma <= 1)) throw new RangeError(`qLearning: gamma must be in [0, 1], got ${gamma}`);
  const nA = env.numActions;
  const q = new Float64Array(numStates * nA);
  options.onTable?.(q);
  const rng = new Generator(options.seed ?? 0);
  const records: QEpisode[] = [];
  const ties: number[] = [];
  for (let ep = 0; ep < episodes; ep++) {
    const epsilon = ep >= decay ? eps1 : eps0 + (eps1 - eps0) * (ep / decay);
    let s = env.reset(ep === 0 ? options.seed ?? 0 : undefined);
    let steps = 0, ret = 0;
    for (;;) {
      let a: number;
      if (rng.random() < epsilon) a = rng.randint(0, nA);
      else {
        // Greedy, ties broken at random.
        const best = q[s * nA + greedyAction(q, s, nA)];
        ties.length = 0;
        for (let b = 0; b < nA; b++) if (q[s * nA + b] === best) ties.push(b);
        a = ties.length === 1 ? ties[0] : ties[rng.randint(0, ties.length)];
      }
      const { observation: s2, reward, terminated, truncated } = env.step(a);
      const target = terminated ? reward : reward + gamma * q[s2 * nA + greedyAction(q, s2, nA)];
      q[s * nA + a] += alpha * (target - q[s * nA + a]);
      s = s2;
      steps++;
      ret += reward;
      if (terminated || truncated) {
        const record = { episode: ep + 1, steps, return: ret, terminated, epsilon };
        records.push(record);
        options.onEpisode?.(record);
        break;
      }
    }
  }
  return { q, episodes: records };
}

/**
 * Follows the greedy policy of `q` from a fresh episode of a deterministic `env` for at most `maxSteps` steps.
 * Returns the cells visited (start included) and whether the episode terminated.
 */
export function greedyRollout(
  env: Env<number>,
  q: Float64Array,
  maxSteps: number,
): { path: number[]; terminated: boolean } {
  let s = env.reset();
  const path = [s];
  for (let t = 0; t < maxSteps; t++) {
    const r = env.step(greedyAction(q, s, env.numActions));
    s = r.observation;
    path.push(s);
    if (r.terminated) return { path, terminated: true };
    if (r.truncated) break;
  }
  return { path, terminated: false };
}
