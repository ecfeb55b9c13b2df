/**
 * Per-sample gradients on the MNIST CNN (batch norm in eval mode): `nn.perSampleGrads` (one forward and one backward,
 * per-layer rules) against `nn.perSampleGradsLoop` (one backward per sample) and one ordinary batch backward for
 * scale. Prints the best time of each and the speed-up.
 *
 *     deno run -A bench/per_sample.ts [--batch 64] [--reps 3]
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { manualSeed, nn, randint, randn, type Tensor } from "../mod.ts";
import { mnistCnn } from "../examples/mnist_loop.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { batch: { type: "string", default: "64" }, reps: { type: "string", default: "3" } },
});
const batch = Number(values.batch), reps = Number(values.reps);

manualSeed(0);
const model = mnistCnn().eval();
const x = randn([batch, 1, 28, 28]), y = randint(0, 10, [batch]);
const ce = (out: Tensor, t: Tensor) => nn.functional.crossEntropy(out, t);

/**
 * Best wall time and best CPU time (all threads; steadier than wall time on a shared machine) in ms over `reps` runs
 * after one warm-up; each run reads a value back so the work is done.
 */
async function best(run: () => Tensor): Promise<{ wall: number; cpu: number }> {
  await run().sum().item();
  let wall = Infinity, cpu = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    await run().sum().item();
    const c = process.cpuUsage(c0);
    wall = Math.min(wall, performance.now() - t0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const batchBackward = await best(() => {
  model.zeroGrad();
  ce(model.forward(x), y).backward();
  return (model.at(0) as nn.Conv2d).weight.grad!;
});
const fast = await best(() => nn.perSampleGrads(model, ce, x, y).get("0.weight")!);
const loop = await best(() => nn.perSampleGradsLoop(model, ce, x, y).get("0.weight")!);
const ms = (t: { wall: number; cpu: number }) => `${t.wall.toFixed(0).padStart(7)} ${t.cpu.toFixed(0).padStart(7)}`;
console.log(`MNIST CNN, batch ${batch}, best of ${reps}:         wall ms  CPU ms`);
console.log(`  one batch backward               ${ms(batchBackward)}`);
console.log(`  perSampleGrads (per-layer rules) ${ms(fast)}`);
console.log(`  perSampleGradsLoop (B backwards) ${ms(loop)}`);
console.log(
  `per-layer rules: ${(loop.wall / fast.wall).toFixed(1)}× less wall time, ${
    (loop.cpu / fast.cpu).toFixed(1)
  }× less CPU`,
);
