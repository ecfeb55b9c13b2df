import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { Generator } from "../../../mod.ts";
import { CartPole } from "./cartpole.ts";
import { discountedReturns } from "./policy.ts";
import { ReplayBuffer } from "./replay_buffer.ts";
import { ReturnTracker } from "./tracker.ts";
import { VectorEnv } from "./vector_env.ts";

Deno.test("discountedReturns: G_t = r_t + γ G_{t+1}, worked by hand", () => {
  // γ = 0.5, rewards 1, 2, 4: G_2 = 4, G_1 = 2 + 2 = 4, G_0 = 1 + 2 = 3.
  deepStrictEqual(Array.from(discountedReturns([1, 2, 4], 0.5)), [3, 4, 4]);
  deepStrictEqual(Array.from(discountedReturns([], 0.9)), []);
});

Deno.test("ReturnTracker: the trailing mean and the episode at which the solved rule first holds", () => {
  const t = new ReturnTracker(10, 3);
  for (const r of [4, 8, 12, 10, 8, 20]) t.push(r);
  // Means: 4, 6, 8, 10 (8,12,10) → solved at episode 4; then 10 (12,10,8), 12.67.
  deepStrictEqual(t.means.map((m) => Math.round(m * 100) / 100), [4, 6, 8, 10, 10, 12.67]);
  deepStrictEqual(t.solvedAt, 4);
  // A short run never counts, however high: the window must be full.
  const short = new ReturnTracker(10, 3);
  short.push(100);
  short.push(100);
  deepStrictEqual(short.solvedAt, null);
  throws(() => new ReturnTracker(475, 0), /window must be a positive integer/);
});

Deno.test("ReplayBuffer: keeps the last `capacity` transitions and samples only stored ones", () => {
  const buf = new ReplayBuffer(3, 2);
  for (let i = 0; i < 5; i++) buf.add([i, -i], i % 2, 10 * i, [i + 1, -i - 1], i === 4);
  deepStrictEqual(buf.size, 3);
  const b = buf.sample(200, new Generator(0));
  const seen = new Set<number>();
  for (let k = 0; k < 200; k++) {
    const i = b.observations[2 * k];
    seen.add(i);
    // Every field of a sampled row belongs to the same transition.
    deepStrictEqual([b.observations[2 * k + 1], b.actions[k], b.rewards[k]], [-i, i % 2, 10 * i]);
    deepStrictEqual([b.nextObservations[2 * k], b.terminated[k]], [i + 1, i === 4 ? 1 : 0]);
  }
  deepStrictEqual([...seen].sort(), [2, 3, 4]); // 0 and 1 were overwritten
  throws(() => buf.add([1], 0, 0, [1, 2], false), /observations must have 2 values/);
  throws(() => new ReplayBuffer(3, 2).sample(1, new Generator(0)), /empty/);
});

Deno.test("VectorEnv: steps copies together, resets finished ones, reports their returns in order", () => {
  const vec = new VectorEnv(() => new CartPole({ maxEpisodeSteps: 3 }), 2);
  const first = vec.reset(5);
  deepStrictEqual(Array.from(first.subarray(0, 4)), Array.from(new CartPole().reset(5)));
  deepStrictEqual(Array.from(first.subarray(4, 8)), Array.from(new CartPole().reset(6)));
  vec.step([0, 1]);
  vec.step([1, 0]);
  const r = vec.step([0, 0]);
  // Both copies hit the 3-step limit: truncated, reported with return 3, length 3, and reset.
  deepStrictEqual(Array.from(r.truncated), [1, 1]);
  deepStrictEqual(r.finished, [
    { env: 0, return: 3, length: 3, truncated: true },
    { env: 1, return: 3, length: 3, truncated: true },
  ]);
  ok(r.finalObservations.every((o) => o !== null && o.length === 4));
  // The observations returned are the fresh episodes' first ones, not the final ones.
  ok(r.observations.subarray(0, 4).every((v) => Math.abs(v) < 0.05));
  throws(() => vec.step([0]), /expected 2 actions, got 1/);
});
