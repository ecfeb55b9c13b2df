import { ok } from "node:assert/strict";
import { Generator, noGrad, tensor } from "../../../mod.ts";
import { CartPole } from "./cartpole.ts";
import { checkAction, type StepResult } from "./env.ts";
import { dqn, greedyReturn } from "./dqn.ts";
import type { VectorObservationEnv } from "./vector_env.ts";

/**
 * One state, two actions. "Stay" (0) pays 1 and the episode is cut off by a one-step time limit (truncated: the
 * state is not terminal); "quit" (1) pays 3 and terminates. With γ = 0.5 the optimal values are worked by hand:
 * Q(quit) = 3 (nothing after a terminal state) and Q(stay) = 1 + 0.5 · max(Q(stay), Q(quit)) = 1 + 0.5 · 3 = 2.5.
 * A learner that zeroed the bootstrap on truncation would find Q(stay) = 1; one that bootstrapped through
 * termination would find Q(quit) = 3 + 0.5 · 3 = 4.5.
 */
class StayOrQuit implements VectorObservationEnv {
  readonly numActions = 2;
  readonly observationSize = 1;
  reset(): Float32Array {
    return Float32Array.of(1);
  }
  step(action: number): StepResult<Float32Array> {
    checkAction("StayOrQuit", action, 2);
    return { observation: Float32Array.of(1), reward: action === 0 ? 1 : 3, terminated: action === 1, truncated: true };
  }
}

for (const double of [true, false]) {
  Deno.test(`dqn (${double ? "double" : "plain"}): learns hand-worked Q-values, bootstrapping through truncation but not termination`, () => {
    const { qNet } = dqn(() => new StayOrQuit(), {
      double,
      gamma: 0.5,
      maxSteps: 1200,
      learningStarts: 64,
      trainFreq: 1,
      gradientSteps: 1,
      targetUpdate: 25,
      batchSize: 32,
      lr: 0.01,
      hidden: [16],
      epsilonStart: 1,
      epsilonEnd: 1, // act at random throughout, so both actions are seen
      seed: 3,
    });
    const q = noGrad(() => qNet.forward(tensor([[1]]))).dataSync();
    ok(
      Math.abs(q[0] - 2.5) < 0.1 && Math.abs(q[1] - 3) < 0.1,
      `Q(stay) ${q[0]} (expected 2.5), Q(quit) ${q[1]} (expected 3)`,
    );
  });
}

Deno.test("dqn: 4,000 steps on CartPole give a greedy policy far better than random play", () => {
  const { qNet } = dqn(() => new CartPole(), {
    maxSteps: 4000,
    learningStarts: 500,
    trainFreq: 1,
    gradientSteps: 1,
    targetUpdate: 100,
    hidden: [64, 64],
    lr: 0.001,
    epsilonEnd: 0.05,
    epsilonDecaySteps: 2000,
    seed: 0,
  });
  // The baseline: uniformly random pushes on the same ten starts (about 22 steps an episode).
  const env = new CartPole();
  const rng = new Generator(7);
  let randomTotal = 0;
  for (let e = 0; e < 10; e++) {
    env.reset(e === 0 ? 12345 : undefined);
    for (let done = false; !done;) {
      const r = env.step(rng.randint(0, 2));
      randomTotal += r.reward;
      done = r.terminated || r.truncated;
    }
  }
  const random = randomTotal / 10;
  const greedy = greedyReturn(qNet, new CartPole(), 10, 12345);
  ok(random < 40, `random play averaged ${random}`);
  ok(greedy > 4 * random, `greedy return ${greedy.toFixed(1)}, random ${random.toFixed(1)}`);
});
