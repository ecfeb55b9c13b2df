/**
 * Dense against sparse embedding gradients: the time of one training step
 * (lookup of a batch of rows, backward, optimizer step) of an
 * `nn.Embedding(vocab, dim)` with a dense gradient and Adam or SGD, and with
 * `{ sparse: true }` and SparseAdam or SGD, on the CPU backend. The dense
 * step touches every row (O(vocab·dim)); the sparse one only the batch's
 * rows (O(batch·dim)). Each number is the median of several steps after a
 * warm-up, each configuration in a process of its own (so one's 50 MB
 * tables and optimizer state do not slow the next). Beside the wall-clock
 * median, the process's CPU time per step (user + system, all threads), which
 * other programs on a shared machine disturb less.
 *
 *   deno run -A bench/sparse_embedding.ts [--vocab 100000] [--dim 128] [--batch 1024] [--quick]
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { manualSeed, nn, optim, randint, tidy } from "../mod.ts";
import { timeMs } from "./workloads.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    vocab: { type: "string", default: "100000" },
    dim: { type: "string", default: "128" },
    batch: { type: "string", default: "1024" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const vocab = Number(args.vocab), dim = Number(args.dim), batch = Number(args.batch);
const reps = args.quick ? 3 : 10;

const CONFIGS: [string, boolean, (e: nn.Embedding) => optim.Optimizer][] = [
  ["dense gradient, Adam", false, (e) => new optim.Adam(e.parameters(), { lr: 1e-3 })],
  ["sparse gradient, SparseAdam", true, (e) => new optim.SparseAdam(e.parameters(), { lr: 1e-3 })],
  ["dense gradient, SGD", false, (e) => new optim.SGD(e.parameters(), { lr: 0.1 })],
  ["sparse gradient, SGD", true, (e) => new optim.SGD(e.parameters(), { lr: 0.1 })],
];

/** The median wall-clock step time and the mean CPU time per step (ms) of one configuration. */
function measure(sparse: boolean, makeOpt: (e: nn.Embedding) => optim.Optimizer): [number, number] {
  manualSeed(0);
  const emb = new nn.Embedding(vocab, dim, { sparse });
  const opt = makeOpt(emb);
  const idx = randint(0, vocab, [batch], { dtype: "int32" });
  const step = () =>
    tidy(() => {
      opt.zeroGrad();
      emb.forward(idx).square().mean().backward();
      opt.step();
    });
  step();
  const cpu0 = process.cpuUsage();
  const wall = timeMs(step, reps, 1);
  const cpu = process.cpuUsage(cpu0);
  return [wall, (cpu.user + cpu.system) / 1000 / (reps + 1)];
}

if (args.only !== undefined) {
  const [, sparse, makeOpt] = CONFIGS[Number(args.only)];
  console.log(JSON.stringify(measure(sparse, makeOpt)));
} else {
  const ms: [number, number][] = [];
  for (let i = 0; i < CONFIGS.length; i++) {
    const self = new URL(import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, ...Deno.args, "--only", String(i)],
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`bench/sparse_embedding.ts: configuration "${CONFIGS[i][0]}" failed`);
    ms.push(JSON.parse(new TextDecoder().decode(out.stdout)));
  }
  console.log(`Embedding(${vocab}, ${dim}), batch ${batch} lookups, CPU backend, median of ${reps} steps`);
  console.log("| step (lookup, backward, optimizer step) | wall time | CPU time | lookups/s (wall) |");
  console.log("|---|---:|---:|---:|");
  CONFIGS.forEach(([label], i) =>
    console.log(
      `| ${label} | ${ms[i][0].toFixed(2)} ms | ${ms[i][1].toFixed(2)} ms | ${(batch / ms[i][0] * 1000).toFixed(0)} |`,
    )
  );
  const ratio = (a: number, b: number) =>
    `${(ms[a][0] / ms[b][0]).toFixed(1)}x wall, ${(ms[a][1] / ms[b][1]).toFixed(1)}x CPU`;
  console.log(`sparse speed-up: ${ratio(0, 1)} with (Sparse)Adam; ${ratio(2, 3)} with SGD`);
}
