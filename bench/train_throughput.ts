/**
 * Training throughput on the CPU backend, printed as a table:
 * conv2d forward/backward GFLOP/s on the workload, and train-step
 * time and images/s for the MNIST MLP (784-256-10, batch 128), the small CNN
 * (batch 32: conv 1→32, pool, conv 32→64, pool, fc) and ResNet-18
 * (batch 8 at 64×64), each the median of several steps after a warm-up.
 *
 *   deno run -A bench/train_throughput.ts [--quick]
 *
 * @module
 */

import { conv2d, manualSeed, randint, randn } from "../mod.ts";
import { resnet18 } from "../models/mod.ts";
import { mlp784, smallCnn, timeMs, trainStep } from "./workloads.ts";

const quick = Deno.args.includes("--quick");

manualSeed(0);
const rows: string[][] = [];

// conv2d: 2·N·Cout·Hout·Wout·Cin·k·k FLOPs per kernel.
{
  const x = randn([8, 64, 56, 56]);
  const w = randn([64, 64, 3, 3]);
  const flops = 2 * 8 * 64 * 56 * 56 * 64 * 9;
  const fwd = timeMs(() => conv2d(x, w, null, { padding: 1 }).dispose(), quick ? 2 : 5);
  const xi = x.detach().requiresGrad_();
  const wi = w.detach().requiresGrad_();
  const all = timeMs(() => conv2d(xi, wi, null, { padding: 1 }).sum().backward(), quick ? 1 : 3);
  rows.push(["conv2d fwd 8x64x56x56 3x3 64->64", `${fwd.toFixed(0)} ms`, `${(flops / fwd / 1e6).toFixed(1)} GFLOP/s`]);
  const bwd = all - fwd;
  rows.push(["conv2d both backward kernels", `${bwd.toFixed(0)} ms`, `${(2 * flops / bwd / 1e6).toFixed(1)} GFLOP/s`]);
}

{
  const model = mlp784();
  const step = trainStep(model, randn([128, 784]), randint(0, 10, [128]));
  const ms = timeMs(step, quick ? 5 : 20, 3);
  rows.push(["MLP 784-256-10 train step, batch 128", `${ms.toFixed(1)} ms`, `${(128 / ms * 1000).toFixed(0)} img/s`]);
}
{
  const model = smallCnn();
  const step = trainStep(model, randn([32, 1, 28, 28]), randint(0, 10, [32]));
  const ms = timeMs(step, quick ? 3 : 10, 2);
  rows.push(["small CNN train step, batch 32", `${ms.toFixed(0)} ms`, `${(32 / ms * 1000).toFixed(0)} img/s`]);
}
{
  const model = resnet18({ numClasses: 10 });
  const step = trainStep(model, randn([8, 3, 64, 64]), randint(0, 10, [8]));
  const ms = timeMs(step, quick ? 1 : 3, 1);
  rows.push(["ResNet-18 train step, batch 8, 64x64", `${ms.toFixed(0)} ms`, `${(8 / ms * 1000).toFixed(1)} img/s`]);
}

console.log("| workload (CPU backend) | time | rate |");
console.log("|---|---:|---:|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
