import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { models } from "../../mod.ts";
import { main, trainCartPole } from "./rl_cartpole.ts";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test("rl_cartpole: REINFORCE with a baseline lifts CartPole's returns within 150 episodes", () => {
  const r = trainCartPole("reinforce", 0, { maxEpisodes: 150 });
  // Budgets are checked between updates, so a batch of episodes may finish past the limit.
  ok(r.tracker.episodes >= 150 && r.tracker.episodes < 170, `${r.tracker.episodes} episodes`);
  deepStrictEqual(r.stopped, "episodes");
  const first = mean(r.tracker.returns.slice(0, 50)), last = mean(r.tracker.returns.slice(-50));
  // A random policy averages about 22 steps; the learner must clearly beat where it started.
  ok(last > 1.5 * first, `first 50 episodes ${first.toFixed(1)}, last 50 ${last.toFixed(1)}`);
});

Deno.test("rl_cartpole: the quick run trains all three methods, prints the table, writes curves and weights", async () => {
  const out = await Deno.makeTempDir({ prefix: "rl_cartpole_test_" });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    const results = await main(["--quick", "--max-episodes", "20", "--out", out]);
    deepStrictEqual(results.map((r) => r.method), ["reinforce", "ppo", "dqn"]);
    for (const r of results) ok(r.tracker.episodes >= 20 && r.tracker.episodes < 40 && r.stopped === "episodes");
    ok(lines.some((l) => l.startsWith("method") && l.includes("episodes to solve")), lines.join("\n"));
    const png = await Deno.readFile(`${out}/cartpole_curves.png`);
    deepStrictEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    // The saved policy loads back with the names it was saved under.
    const state = await models.loadSafetensors(`${out}/ppo_actor.safetensors`);
    ok(Object.keys(state).length > 0);
  } finally {
    console.log = log;
    await Deno.remove(out, { recursive: true });
  }
  await rejects(() => main(["--method", "sarsa"]), /--method must be all, reinforce, ppo or dqn, got "sarsa"/);
});
