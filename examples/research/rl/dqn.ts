/**
 * DQN (Mnih et al., 2015): an ε-greedy agent whose Q-network learns from
 * minibatches of a {@link ReplayBuffer} towards `r + γ max_a' Q_target(s', a')`
 * (no bootstrap from a terminal `s'`; a truncated episode's last state is not
 * terminal), with the Huber loss and a target network copied from the online
 * one at intervals; by default Double DQN (van Hasselt et al., 2016), whose
 * online network picks the next action and whose target network values it.
 *
 * The defaults solve CartPole-v1: a 128-128 network, one gradient step on 64
 * transitions every 4 environment steps (a gradient step costs ~20 times an
 * action here, so training every step would spend most of the run on the
 * framework's per-op overhead), the target copied every 100 gradient steps,
 * ε from 1 to 0.05 over the first 10,000 steps, Adam at 0.001 decaying
 * linearly to 0.0001 over 150,000 steps. DQN on CartPole is known to
 * collapse after it first plays well; {@link DqnOptions.pauseTrainingAbove}
 * (which the CartPole example sets to 475) pauses training while the recent
 * episodes already reach it, so a good policy is not trained away.
 *
 * @module
 */

import { Generator, manualSeed, type nn, noGrad, optim, tensor, tidy } from "../../../mod.ts";
import { policyMlp, type TensorFn } from "./policy.ts";
import { ReplayBuffer } from "./replay_buffer.ts";
import { ReturnTracker, stopReason, type TrainBudget, type TrainResult } from "./tracker.ts";
import type { VectorObservationEnv } from "./vector_env.ts";

/** Options of {@link dqn}. */
export interface DqnOptions extends TrainBudget {
  /** Replay capacity (default 100,000). */
  bufferSize?: number;
  /** Steps of random play before learning starts (default 1,000). */
  learningStarts?: number;
  /** Train every this many environment steps (default 4). */
  trainFreq?: number;
  /** Gradient steps per training round (default 1). */
  gradientSteps?: number;
  /** Copy the online network to the target every this many gradient steps (default 100). */
  targetUpdate?: number;
  /** Minibatch size (default 64). */
  batchSize?: number;
  /** Discount γ (default 0.99). */
  gamma?: number;
  /** Adam's learning rate at the start (default 0.001). */
  lr?: number;
  /** ε at the start (default 1). */
  epsilonStart?: number;
  /** ε after `epsilonDecaySteps` (default 0.05). */
  epsilonEnd?: number;
  /** Environment steps over which ε falls linearly (default 10,000). */
  epsilonDecaySteps?: number;
  /** Gradient-norm clip (default 10; 0 turns clipping off). */
  maxGradNorm?: number;
  /** Double DQN: the online net picks `s'`'s action, the target net values it (default true); false: plain `max`. */
  double?: boolean;
  /** The learning rate falls linearly to `lr · lrEndFactor` over `lrDecaySteps` environment steps (default 0.1). */
  lrEndFactor?: number;
  /** Environment steps of the learning-rate decay (default 150,000). */
  lrDecaySteps?: number;
  /** Skip training rounds while the mean return of the last `pauseWindow` episodes is at least this (default: never). */
  pauseTrainingAbove?: number;
  /** Episodes in {@link DqnOptions.pauseTrainingAbove}'s mean (default 20). */
  pauseWindow?: number;
  /** Hidden layer sizes (default [128, 128]). */
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

/** Whether the last `window` returns average `threshold` or more (never before `window` episodes). */
function paused(returns: readonly number[], window: number, threshold: number): boolean {
  if (returns.length < window || threshold === Infinity) return false;
  let sum = 0;
  for (let i = returns.length - window; i < returns.length; i++) sum += returns[i];
  return sum / window >= threshold;
}

/** Trains a Q-network on `make(0)` with DQN; stops when solved or on a budget. */
export function dqn(
  make: (index: number) => VectorObservationEnv,
  options: DqnOptions = {},
): TrainResult & { qNet: nn.Sequential } {
  const seed = options.seed ?? 0;
  const learningStarts = options.learningStarts ?? 1000;
  const trainFreq = options.trainFreq ?? 4;
  const gradientSteps = options.gradientSteps ?? 1;
  const targetUpdate = options.targetUpdate ?? 100;
  const batchSize = options.batchSize ?? 64;
  const gamma = options.gamma ?? 0.99;
  const eps0 = options.epsilonStart ?? 1;
  const eps1 = options.epsilonEnd ?? 0.05;
  const decay = options.epsilonDecaySteps ?? 10_000;
  const maxGradNorm = options.maxGradNorm ?? 10;
  const double = options.double ?? true;
  const lr0 = options.lr ?? 0.001;
  const lrEndFactor = options.lrEndFactor ?? 0.1;
  const lrDecaySteps = options.lrDecaySteps ?? 150_000;
  const pauseAbove = options.pauseTrainingAbove ?? Infinity;
  const pauseWindow = options.pauseWindow ?? 20;
  for (
    const [name, v] of [["trainFreq", trainFreq], ["gradientSteps", gradientSteps], ["targetUpdate", targetUpdate], [
      "batchSize",
      batchSize,
    ], ["pauseWindow", pauseWindow]] as const
  ) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`dqn: ${name} must be a positive integer, got ${v}`);
  }
  if (!(lrEndFactor >= 0) || !(lrDecaySteps > 0)) {
    throw new RangeError(`dqn: lrEndFactor must be ≥ 0 and lrDecaySteps > 0, got ${lrEndFactor} and ${lrDecaySteps}`);
  }
  const env = make(0);
  const d = env.observationSize;
  const nA = env.numActions;
  manualSeed(seed);
  const hidden = options.hidden ?? [128, 128];
  const qNet = policyMlp([d, ...hidden, nA]);
  const target = policyMlp([d, ...hidden, nA]);
  target.loadStateDict(qNet.stateDict());
  target.requiresGrad_(false);
  const opt = new optim.Adam(qNet.parameters(), { lr: lr0 });
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
    if (steps >= learningStarts && steps % trainFreq === 0 && !paused(tracker.returns, pauseWindow, pauseAbove)) {
      qNet.train();
      opt.paramGroups[0].lr = lr0 * (1 + (lrEndFactor - 1) * Math.min(1, steps / lrDecaySteps));
      for (let g = 0; g < gradientSteps; g++) {
        const b = buffer.sample(batchSize, rng);
        tidy(() => {
          const next = tensor(b.nextObservations).reshape([batchSize, d]);
          const y = noGrad(() => {
            const qNext = target.forward(next);
            const best = double
              ? qNext.gather(1, qNet.forward(next).argmax(1, { keepdim: true })).squeeze(1)
              : qNext.max(1)[0];
            return best.mul(tensor(b.terminated).neg().add(1)).mul(gamma).add(tensor(b.rewards));
          });
          const q = qNet.forward(tensor(b.observations).reshape([batchSize, d]))
            .gather(1, tensor(b.actions, { dtype: "int32" }).unsqueeze(1)).squeeze(1);
          opt.zeroGrad();
          huber(q.sub(y)).backward();
          if (maxGradNorm > 0) optim.clipGradNorm(qNet.parameters(), maxGradNorm);
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

/**
 * The mean return of `episodes` episodes of `env` played greedily by `qNet` (no exploration), the first reset with
 * `seed`: how good the learned values are as a policy.
 */
export function greedyReturn(qNet: TensorFn, env: VectorObservationEnv, episodes: number, seed: number): number {
  const d = env.observationSize;
  let total = 0;
  for (let e = 0; e < episodes; e++) {
    let obs = env.reset(e === 0 ? seed : undefined);
    for (;;) {
      const q = tidy(() => noGrad(() => qNet.forward(tensor(obs).reshape([1, d]))).dataSync());
      let action = 0;
      for (let a = 1; a < env.numActions; a++) if (q[a] > q[action]) action = a;
      const r = env.step(action);
      total += r.reward;
      if (r.terminated || r.truncated) break;
      obs = r.observation;
    }
  }
  return total / episodes;
}
