/**
 * Reinforcement learning on CartPole-v1: REINFORCE with a learned baseline,
 * PPO (an actor-critic) and DQN (Double DQN: replay buffer, target network), each trained
 * until the task counts as solved — a mean return of at least 475 over 100
 * consecutive episodes — or until its budget runs out. Prints progress, a
 * results table (episodes and environment steps to solve), writes the
 * learning curves as a PNG and each trained network as safetensors.
 *
 *   deno run -A examples/research/rl_cartpole.ts [--method all|reinforce|ppo|dqn] [--seed 0]
 *       [--max-episodes 2000] [--max-seconds S] [--out DIR] [--quick]
 *
 * Each method stops when solved or at its time budget: by default 60 s for
 * REINFORCE and PPO and 180 s for DQN (which needs ~100k environment steps
 * and a gradient step every 4 of them, about a minute of CPU), five minutes
 * in all; `--max-seconds` sets one budget for every method. On a busy
 * machine give DQN more.
 *
 * CPU only: the networks are tiny and every environment step needs the chosen
 * action back on the host, so a GPU's read-back latency would dominate.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { models, type nn, utils } from "../../mod.ts";
import { CartPole } from "./rl/cartpole.ts";
import { dqn } from "./rl/dqn.ts";
import { ppo } from "./rl/ppo.ts";
import { reinforce } from "./rl/reinforce.ts";
import { CARTPOLE_SOLVED, type ReturnTracker, type TrainBudget, type TrainResult } from "./rl/tracker.ts";

/** The methods compared. */
export type Method = "reinforce" | "ppo" | "dqn";

/** One method's outcome. */
export interface MethodResult extends TrainResult {
  /** Which method. */
  method: Method;
  /** The trained networks by name (policy, value / actor, critic / Q-network). */
  nets: Record<string, nn.Sequential>;
}

/** Each method's default time budget in seconds (about three times what it needs on a quiet machine). */
export const DEFAULT_SECONDS: Record<Method, number> = { reinforce: 60, ppo: 60, dqn: 180 };

const TITLES: Record<Method, string> = {
  reinforce: "REINFORCE + baseline",
  ppo: "PPO (actor-critic)",
  dqn: "DQN",
};

/** Trains `method` on CartPole-v1 (seeded) with `budget`, reporting each finished episode. */
export function trainCartPole(
  method: Method,
  seed: number,
  budget: TrainBudget,
  onEpisode?: (tracker: ReturnTracker, steps: number) => void,
): MethodResult {
  const make = () => new CartPole();
  if (method === "reinforce") {
    const r = reinforce(make, { ...budget, seed, onEpisode });
    return { ...r, method, nets: { policy: r.policy, value: r.value } };
  }
  if (method === "ppo") {
    const r = ppo(make, { ...budget, seed, onEpisode });
    return { ...r, method, nets: { actor: r.actor, critic: r.critic } };
  }
  if (method === "dqn") {
    // Training pauses while the last 20 episodes average 475 or more, so DQN's well-known collapse after it first
    // plays well does not undo the policy the solved rule is measuring.
    const r = dqn(make, { ...budget, seed, onEpisode, pauseTrainingAbove: CARTPOLE_SOLVED.threshold });
    return { ...r, method, nets: { q: r.qNet } };
  }
  throw new RangeError(`rl_cartpole: unknown method "${method}" (expected reinforce, ppo or dqn)`);
}

/** Parses the flags, trains each method, prints the table and writes the curves and weights. */
export async function main(args: string[]): Promise<MethodResult[]> {
  const { values } = parseArgs({
    args,
    options: {
      method: { type: "string", default: "all" },
      seed: { type: "string", default: "0" },
      "max-episodes": { type: "string" },
      "max-seconds": { type: "string" },
      out: { type: "string", default: "runs/research/rl_cartpole" },
      quick: { type: "boolean", default: false },
    },
  });
  const methods: Method[] = values.method === "all" ? ["reinforce", "ppo", "dqn"] : [values.method as Method];
  for (const m of methods) {
    if (!(m in TITLES)) throw new RangeError(`rl_cartpole: --method must be all, reinforce, ppo or dqn, got "${m}"`);
  }
  const seed = Number(values.seed);
  const maxEpisodes = Number(values["max-episodes"] ?? (values.quick ? 40 : 2000));
  const secondsFor = (m: Method) => Number(values["max-seconds"] ?? (values.quick ? 60 : DEFAULT_SECONDS[m]));
  console.log(
    `CartPole-v1 (solved: mean return ≥ ${CARTPOLE_SOLVED.threshold} over ${CARTPOLE_SOLVED.window} consecutive ` +
      `episodes); each method stops when solved or after ${maxEpisodes} episodes or its time budget`,
  );
  const results: MethodResult[] = [];
  for (const method of methods) {
    const budget: TrainBudget = { maxEpisodes, maxSeconds: secondsFor(method) };
    console.log(`\n${TITLES[method]} (budget ${budget.maxSeconds} s)`);
    let lastLine = performance.now();
    const start = performance.now();
    const r = trainCartPole(method, seed, budget, (t, steps) => {
      if (performance.now() - lastLine < 2000 && t.episodes % 100 !== 0) return;
      lastLine = performance.now();
      console.log(
        `  episode ${t.episodes}: return ${t.returns[t.episodes - 1]}, mean of last ${Math.min(t.episodes, 100)} ` +
          `${t.mean.toFixed(1)}, ${steps} steps, ${((performance.now() - start) / 1000).toFixed(0)} s`,
      );
    });
    console.log(
      `  ${r.stopped === "solved" ? `solved at episode ${r.tracker.solvedAt}` : `stopped (${r.stopped} budget)`}` +
        ` after ${r.steps} steps, ${r.updates} gradient steps, ${r.seconds.toFixed(1)} s`,
    );
    results.push(r);
  }

  console.log("\nResults (CartPole-v1, seed " + seed + ")");
  const rows = results.map((r) => [
    TITLES[r.method],
    r.tracker.solvedAt === null ? `not in ${r.tracker.episodes}` : String(r.tracker.solvedAt),
    String(r.steps),
    String(r.updates),
    r.tracker.mean.toFixed(1),
    r.seconds.toFixed(1),
  ]);
  const headers = ["method", "episodes to solve", "env steps", "gradient steps", "last-100 mean", "seconds"];
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ");
  console.log([line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n"));

  await Deno.mkdir(values.out, { recursive: true });
  const plot = new utils.Plot({
    title: `CartPole-v1: mean return of the last ${CARTPOLE_SOLVED.window} episodes`,
    xLabel: "episode",
    yLabel: "return",
    yRange: [0, 510],
  });
  for (const r of results) {
    plot.line(r.tracker.means.map((_, i) => i + 1), r.tracker.means, { label: TITLES[r.method] });
  }
  const longest = Math.max(1, ...results.map((r) => r.tracker.episodes));
  plot.line([1, longest], [CARTPOLE_SOLVED.threshold, CARTPOLE_SOLVED.threshold], {
    label: "solved",
    color: "#888888",
    dash: [6, 4],
  });
  await plot.savePng(`${values.out}/cartpole_curves.png`);
  console.log(
    `\nlearning curves (return vs episode, solved line at ${CARTPOLE_SOLVED.threshold}): ${values.out}/cartpole_curves.png`,
  );
  for (const r of results) {
    for (const [name, net] of Object.entries(r.nets)) {
      await models.save(net, `${values.out}/${r.method}_${name}.safetensors`);
    }
  }
  console.log(`weights: ${values.out}/<method>_<net>.safetensors`);
  return results;
}

if (import.meta.main) await main(Deno.args);
