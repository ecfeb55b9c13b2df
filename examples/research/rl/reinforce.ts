/**
 * REINFORCE (Williams, 1992) with a learned state-value baseline: run a batch
 * of whole episodes with the current policy, then ascend
 * `Σ_t ∇ log π(a_t | s_t) · (G_t − V(s_t))`, the advantages normalised over
 * the batch, while `V` regresses on the returns `G_t`.
 *
 * @module
 */

import { Generator, manualSeed, nn, optim, tensor, tidy } from "../../../mod.ts";
import { discountedReturns, policyMlp, sampleActions } from "./policy.ts";
import { ReturnTracker, stopReason, type TrainBudget, type TrainResult } from "./tracker.ts";
import type { VectorObservationEnv } from "./vector_env.ts";

/** Options of {@link reinforce}. */
export interface ReinforceOptions extends TrainBudget {
  /** Episodes per policy update (run side by side; default 8). */
  episodesPerUpdate?: number;
  /** Discount γ (default 0.99). */
  gamma?: number;
  /** Adam learning rate of the policy (default 0.005). */
  lr?: number;
  /** Adam learning rate of the baseline (default 0.01). */
  valueLr?: number;
  /** Hidden layer sizes (default [64, 64]). */
  hidden?: number[];
  /** Seed of the networks, the action sampling and the episodes (default 0). */
  seed?: number;
  /** Called after each finished episode. */
  onEpisode?: (tracker: ReturnTracker, steps: number) => void;
}

/** Trains a policy on copies of `make(i)` with REINFORCE and a baseline; stops when solved or on a budget. */
export function reinforce(
  make: (index: number) => VectorObservationEnv,
  options: ReinforceOptions = {},
): TrainResult & { policy: nn.Sequential; value: nn.Sequential } {
  const seed = options.seed ?? 0;
  const batch = options.episodesPerUpdate ?? 8;
  const gamma = options.gamma ?? 0.99;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`reinforce: episodesPerUpdate must be a positive integer, got ${batch}`);
  }
  const envs = Array.from({ length: batch }, (_, i) => make(i));
  const obsSize = envs[0].observationSize;
  const nA = envs[0].numActions;
  manualSeed(seed);
  const hidden = options.hidden ?? [64, 64];
  const policy = policyMlp([obsSize, ...hidden, nA]);
  const value = policyMlp([obsSize, ...hidden, 1]);
  const policyOpt = new optim.Adam(policy.parameters(), { lr: options.lr ?? 0.005 });
  const valueOpt = new optim.Adam(value.parameters(), { lr: options.valueLr ?? 0.01 });
  // The baseline predicts returns divided by the horizon 1/(1-γ), so its targets are of order one.
  const scale = 1 / (1 - gamma);
  const rng = new Generator(seed);
  const tracker = new ReturnTracker();
  const start = performance.now();
  let steps = 0, updates = 0, round = 0;
  let stopped = stopReason(tracker, steps, start, options);
  while (stopped === null) {
    // Run `batch` episodes side by side.
    const obs = envs.map((env, i) => env.reset(seed * 1_000_003 + round * batch + i));
    const trajObs: number[][] = envs.map(() => []);
    const trajAct: number[][] = envs.map(() => []);
    const trajRew: number[][] = envs.map(() => []);
    const active = envs.map((_, i) => i);
    while (active.length > 0) {
      const x = new Float32Array(active.length * obsSize);
      active.forEach((e, r) => x.set(obs[e], r * obsSize));
      const { actions } = sampleActions(policy, x, active.length, rng);
      for (let r = active.length - 1; r >= 0; r--) {
        const e = active[r];
        const res = envs[e].step(actions[r]);
        trajObs[e].push(...obs[e]);
        trajAct[e].push(actions[r]);
        trajRew[e].push(res.reward);
        obs[e] = res.observation;
        steps++;
        if (res.terminated || res.truncated) active.splice(r, 1);
      }
    }
    for (const rewards of trajRew) {
      tracker.push(rewards.reduce((a, b) => a + b, 0));
      options.onEpisode?.(tracker, steps);
    }
    round++;
    // One update from the whole batch.
    const states = tensor(trajObs.flat()).reshape([-1, obsSize]);
    const acts = tensor(trajAct.flat(), { dtype: "int32" }).unsqueeze(1);
    const returns = tensor(trajRew.flatMap((r) => Array.from(discountedReturns(r, gamma))));
    tidy(() => {
      const v = value.forward(states).squeeze(1);
      const adv = returns.sub(v.detach().mul(scale));
      const normAdv = adv.sub(adv.mean()).div(adv.std().add(1e-8));
      const logp = policy.forward(states).logSoftmax(1).gather(1, acts).squeeze(1);
      policyOpt.zeroGrad();
      logp.mul(normAdv).mean().neg().backward();
      policyOpt.step();
      valueOpt.zeroGrad();
      nn.functional.mseLoss(v, returns.div(scale)).backward();
      valueOpt.step();
    });
    states.dispose();
    acts.dispose();
    returns.dispose();
    updates++;
    stopped = stopReason(tracker, steps, start, options);
  }
  return { tracker, steps, updates, seconds: (performance.now() - start) / 1000, stopped, policy, value };
}
