/**
 * DQN (Mnih et al., 2015): an ε-greedy agent whose Q-network learns from
 * minibatches of a {@link ReplayBuffer} towards `r + γ max_a' Q_target(s', a')`
 * (no bootstrap from a terminal `s'`; a truncated episode's last state is not
 * terminal), with the Huber loss and a target network copied from the online
 * one at intervals. The defaults follow Stable-Baselines3's tuned CartPole-v1
 * settings: train every 256 steps for 128 gradient steps, ε from 1 to 0.04
 * over the first 8,000 steps, Adam at 0.0023, a 256-256 network.
 *
 * @module
 */

import { Generator, manualSeed, type nn, noGrad, optim, tensor, tidy } from "../../../mod.ts";
import { policyMlp } from "./policy.ts";
import { ReplayBuffer } from "./replay_buffer.ts";
import { ReturnTracker, stopReason, type TrainBudget, type TrainResult } from "./tracker.ts";
import type { VectorObservationEnv } from "./vector_env.ts";

/** Options of {@link dqn}. */
export interface DqnOptions extends TrainBudget {
  /** Replay capacity (default 100,000). */
  bufferSize?: number;
  /** Steps of random play before learning starts (default 1,000). */
  learningStarts?: number;
  /** Train every this many environment steps (default 256). */
  trainFreq?: number;
  /** Gradient steps per training round (default 128). */
  gradientSteps?: number;
  /** Copy the online network to the target every this many gradient steps (default 128). */
  targetUpdate?: number;
  /** Minibatch size (default 64). */
  batchSize?: number;
  /** Discount γ (default 0.99). */
  gamma?: number;
  /** Adam learning rate (default 0.0023). */
  lr?: number;
  /** ε at the start (default 1). */
  epsilonStart?: number;
  /** ε after `epsilonDecaySteps` (default 0.04). */
  epsilonEnd?: number;
  /** Environment steps over which ε falls linearly (default 8,000). */
  epsilonDecaySteps?: number;
  /** Gradient-norm clip (default 10). */
  maxGradNorm?: number;
  /** Hidden layer sizes (default [256, 256]). */
  hidden?: number[];
  /** Seed of the network, exploration, replay sampling and episodes (default 0). */
  seed?: number;
  /** Called after each finished episode. */
  onEpisode?: (tracker: ReturnTracker, steps: number) => void;
}

/** `0.5 d²` for `|d| ≤ 1`, `|d| − 0.5` beyond (PyTorch's `smooth_l1_loss` with β = 1), averaged. */
function huber(d: ReturnType<typeof tensor>) {
  const a = d.abs();
  const q = a.clamp(null, 1);
  return q.mul(q).mul(0.5).add(a.sub(q)).mean();
}

/** Trains a Q-network on `make(0)` with DQN; stops when solved or on a budget. */
export function dqn(
  make: (index: number) => VectorObservationEnv,
  options: DqnOptions = {},
): TrainResult & { qNet: nn.Sequential } {
  const seed = options.seed ?? 0;
  const learningStarts = options.learningStarts ?? 1000;
  const trainFreq = options.trainFreq ?? 256;
  const gradientSteps = options.gradientSteps ?? 128;
  const targetUpdate = options.targetUpdate ?? 128;
  const batchSize = options.batchSize ?? 64;
  const gamma = options.gamma ?? 0.99;
  const eps0 = options.epsilonStart ?? 1;
  const eps1 = options.epsilonEnd ?? 0.04;
  const decay = options.epsilonDecaySteps ?? 8000;
  const maxGradNorm = options.maxGradNorm ?? 10;
  for (
    const [name, v] of [["trainFreq", trainFreq], ["gradientSteps", gradientSteps], ["targetUpdate", targetUpdate], [
      "batchSize",
      batchSize,
    ]] as const
  ) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`dqn: ${name} must be a positive integer, got ${v}`);
  }
  const env = make(0);
  const d = env.observationSize;
  const nA = env.numActions;
  manualSeed(seed);
  const hidden = options.hidden ?? [256, 256];
  const qNet = policyMlp([d, ...hidden, nA]);
  const target = policyMlp([d, ...hidden, nA]);
  target.loadStateDict(qNet.stateDict());
  target.requiresGrad_(false);
  const opt = new optim.Adam(qNet.parameters(), { lr: options.lr ?? 0.0023 });
  const buffer = new ReplayBuffer(options.bufferSize ?? 100_000, d);
  const rng = new Generator(seed);
  const tracker = new ReturnTracker();
  const start = performance.now();
  let obs = env.reset(seed * 1_000_003);
  let episodeReturn = 0;
  let steps = 0, updates = 0;
  let stopped = stopReason(tracker, steps, start, options);
  while (stopped === null) {
    const epsilon = steps >= decay ? eps1 : eps0 + (eps1 - eps0) * (steps / decay);
    let action: number;
    if (steps < learningStarts || rng.random() < epsilon) action = rng.randint(0, nA);
    else {
      const q = tidy(() => noGrad(() => qNet.forward(tensor(obs).reshape([1, d]))).dataSync());
      action = 0;
      for (let a = 1; a < nA; a++) if (q[a] > q[action]) action = a;
    }
    const r = env.step(action);
    buffer.add(obs, action, r.reward, r.observation, r.terminated);
    episodeReturn += r.reward;
    steps++;
    obs = r.observation;
    if (r.terminated || r.truncated) {
      tracker.push(episodeReturn);
      options.onEpisode?.(tracker, steps);
      episodeReturn = 0;
      obs = env.reset();
    }
    if (steps >= learningStarts && steps % trainFreq === 0) {
      qNet.train();
      for (let g = 0; g < gradientSteps; g++) {
        const b = buffer.sample(batchSize, rng);
        tidy(() => {
          const next = tensor(b.nextObservations).reshape([batchSize, d]);
          const y = noGrad(() =>
            target.forward(next).max(1)[0].mul(tensor(b.terminated).neg().add(1)).mul(gamma).add(tensor(b.rewards))
          );
          const q = qNet.forward(tensor(b.observations).reshape([batchSize, d]))
            .gather(1, tensor(b.actions, { dtype: "int32" }).unsqueeze(1)).squeeze(1);
          opt.zeroGrad();
          huber(q.sub(y)).backward();
          optim.clipGradNorm(qNet.parameters(), maxGradNorm);
          opt.step();
        });
        updates++;
        if (updates % targetUpdate === 0) target.loadStateDict(qNet.stateDict());
      }
    }
    if (r.terminated || r.truncated) stopped = stopReason(tracker, steps, start, options);
  }
  return { tracker, steps, updates, seconds: (performance.now() - start) / 1000, stopped, qNet };
}
