/**
 * PPO (Schulman et al., 2017), the clipped-surrogate actor-critic: rollouts of
 * `nSteps` on `nEnvs` copies, advantages by GAE(λ) (a truncated episode is
 * bootstrapped with the value of its final observation, a terminated one is
 * not), then `epochs` passes of
 * `−min(ρ Â, clip(ρ, 1−ε, 1+ε) Â) + c_v (V − R)²` with `ρ = π(a|s)/π_old(a|s)`.
 * The learning rate and ε fall linearly to zero over `annealSteps`, as
 * Stable-Baselines3's tuned CartPole-v1 settings do (which these defaults follow).
 *
 * @module
 */

import { Generator, manualSeed, nn, noGrad, optim, tensor, tidy } from "../../../mod.ts";
import { policyMlp, sampleActions } from "./policy.ts";
import { ReturnTracker, stopReason, type TrainBudget, type TrainResult } from "./tracker.ts";
import { VectorEnv, type VectorObservationEnv } from "./vector_env.ts";

/** Options of {@link ppo}. */
export interface PpoOptions extends TrainBudget {
  /** Copies of the environment (default 8). */
  nEnvs?: number;
  /** Steps per copy per rollout (default 32). */
  nSteps?: number;
  /** Passes over each rollout (default 20). */
  epochs?: number;
  /** Minibatch size (default: the whole rollout). */
  batchSize?: number;
  /** Discount γ (default 0.98). */
  gamma?: number;
  /** GAE λ (default 0.8). */
  gaeLambda?: number;
  /** Clip range ε at the start (default 0.2). */
  clip?: number;
  /** Adam learning rate at the start (default 0.001). */
  lr?: number;
  /** Environment steps over which lr and ε fall linearly to zero (default 100,000; 0: constant). */
  annealSteps?: number;
  /** Weight of the value loss (default 0.5). */
  valueCoef?: number;
  /** Gradient-norm clip (default 0.5). */
  maxGradNorm?: number;
  /** Hidden layer sizes of the actor and the critic (default [64, 64]). */
  hidden?: number[];
  /** Seed of the networks, sampling and episodes (default 0). */
  seed?: number;
  /** Called after each finished episode. */
  onEpisode?: (tracker: ReturnTracker, steps: number) => void;
}

/** Trains an actor and a critic on copies of `make(i)` with PPO; stops when solved or on a budget. */
export function ppo(
  make: (index: number) => VectorObservationEnv,
  options: PpoOptions = {},
): TrainResult & { actor: nn.Sequential; critic: nn.Sequential } {
  const seed = options.seed ?? 0;
  const nEnvs = options.nEnvs ?? 8;
  const nSteps = options.nSteps ?? 32;
  const epochs = options.epochs ?? 20;
  const rollout = nEnvs * nSteps;
  const batchSize = options.batchSize ?? rollout;
  const gamma = options.gamma ?? 0.98;
  const lambda = options.gaeLambda ?? 0.8;
  const clip0 = options.clip ?? 0.2;
  const lr0 = options.lr ?? 0.001;
  const annealSteps = options.annealSteps ?? 100_000;
  const valueCoef = options.valueCoef ?? 0.5;
  const maxGradNorm = options.maxGradNorm ?? 0.5;
  for (const [name, v] of [["nSteps", nSteps], ["epochs", epochs], ["batchSize", batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`ppo: ${name} must be a positive integer, got ${v}`);
  }
  const env = new VectorEnv(make, nEnvs);
  const obsSize = env.observationSize;
  manualSeed(seed);
  const hidden = options.hidden ?? [64, 64];
  const actor = policyMlp([obsSize, ...hidden, env.numActions]);
  const critic = policyMlp([obsSize, ...hidden, 1]);
  const params = [...actor.parameters(), ...critic.parameters()];
  const opt = new optim.Adam(params, { lr: lr0 });
  const rng = new Generator(seed);
  const tracker = new ReturnTracker();
  const valuesOf = (x: Float32Array, rows: number) =>
    tidy(() => noGrad(() => critic.forward(tensor(x).reshape([rows, obsSize])).reshape([rows])).dataSync());

  const obsBuf = new Float32Array(rollout * obsSize);
  const actBuf = new Int32Array(rollout);
  const logpBuf = new Float32Array(rollout);
  const valBuf = new Float32Array(rollout);
  const rewBuf = new Float32Array(rollout);
  const doneBuf = new Uint8Array(rollout);
  const advBuf = new Float32Array(rollout);
  const start = performance.now();
  let obs = env.reset(seed * 1_000_003);
  let steps = 0, updates = 0;
  let stopped = stopReason(tracker, steps, start, options);
  while (stopped === null) {
    const progress = annealSteps > 0 ? Math.max(0, 1 - steps / annealSteps) : 1;
    const clip = clip0 * progress;
    for (const g of opt.paramGroups) g.lr = lr0 * progress;
    // Collect a rollout.
    for (let t = 0; t < nSteps; t++) {
      const { actions, logProbs } = sampleActions(actor, obs, nEnvs, rng);
      const values = valuesOf(obs, nEnvs);
      const r = env.step(actions);
      obsBuf.set(obs, t * nEnvs * obsSize);
      actBuf.set(actions, t * nEnvs);
      logpBuf.set(logProbs, t * nEnvs);
      valBuf.set(values, t * nEnvs);
      for (let i = 0; i < nEnvs; i++) {
        let reward = r.rewards[i];
        // A truncated episode would have gone on: bootstrap with the value of where it stopped.
        if (r.truncated[i]) reward += gamma * valuesOf(r.finalObservations[i]!, 1)[0];
        rewBuf[t * nEnvs + i] = reward;
        doneBuf[t * nEnvs + i] = r.terminated[i] | r.truncated[i];
      }
      steps += nEnvs;
      for (const _ of r.finished) {
        tracker.push(_.return);
        options.onEpisode?.(tracker, steps);
      }
      obs = r.observations;
    }
    // GAE(λ).
    const lastValues = valuesOf(obs, nEnvs);
    for (let i = 0; i < nEnvs; i++) {
      let gae = 0;
      for (let t = nSteps - 1; t >= 0; t--) {
        const k = t * nEnvs + i;
        const next = t === nSteps - 1 ? lastValues[i] : valBuf[k + nEnvs];
        const notDone = 1 - doneBuf[k];
        const delta = rewBuf[k] + gamma * next * notDone - valBuf[k];
        gae = delta + gamma * lambda * notDone * gae;
        advBuf[k] = gae;
      }
    }
    // Optimise the clipped surrogate.
    const allObs = tensor(obsBuf).reshape([rollout, obsSize]);
    const allAct = tensor(actBuf, { dtype: "int32" });
    const allLogp = tensor(logpBuf);
    const allAdv = tensor(advBuf);
    const allRet = tensor(advBuf.map((a, k) => a + valBuf[k]));
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = batchSize === rollout ? null : rng.randperm(rollout);
      for (let b = 0; b < rollout; b += batchSize) {
        tidy(() => {
          const idx = order ? tensor(order.slice(b, b + batchSize), { dtype: "int32" }) : null;
          const pick = (t: ReturnType<typeof tensor>) => (idx ? t.indexSelect(0, idx) : t);
          const x = pick(allObs), a = pick(allAct).unsqueeze(1), oldLogp = pick(allLogp);
          const adv0 = pick(allAdv);
          const adv = adv0.sub(adv0.mean()).div(adv0.std().add(1e-8));
          const logp = actor.forward(x).logSoftmax(1).gather(1, a).squeeze(1);
          const ratio = logp.sub(oldLogp).exp();
          const surrogate = ratio.mul(adv).minimum(ratio.clamp(1 - clip, 1 + clip).mul(adv));
          const v = critic.forward(x).squeeze(1);
          const loss = surrogate.mean().neg().add(nn.functional.mseLoss(v, pick(allRet)).mul(valueCoef));
          opt.zeroGrad();
          loss.backward();
          optim.clipGradNorm(params, maxGradNorm);
          opt.step();
        });
        updates++;
      }
    }
    for (const t of [allObs, allAct, allLogp, allAdv, allRet]) t.dispose();
    stopped = stopReason(tracker, steps, start, options);
  }
  return { tracker, steps, updates, seconds: (performance.now() - start) / 1000, stopped, actor, critic };
}
