/**
 * Where a WebGPU training step spends its time: records every dispatch of
 * one step, then replays each on its own (several times, between
 * synchronizations) and prints the kernels by total time.
 *
 *     deno run -A bench/gpu_profile.ts              # the small MNIST CNN, batch 32
 *     deno run -A bench/gpu_profile.ts --resnet     # ResNet-18, batch 16 at 64×64
 *
 * Replayed dispatches read and write the step's buffers again, so values
 * are meaningless; only the times count.
 *
 * @module
 */

import { manualSeed, randint, randn, type Tensor, tidy } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import * as optim from "@dendrite/optim";
import { resnet18 } from "@dendrite/models";
import { gpu } from "../mod.ts";
import type { Kernel } from "../gpu/program.ts";
import { smallCnn } from "./workloads.ts";

const backend = await gpu.useWebGPU();
console.log(`adapter: ${backend.info.description}`);
const resnet = Deno.args.includes("--resnet");
manualSeed(0);
const model = resnet ? resnet18({ numClasses: 10 }) : smallCnn();
model.to("webgpu");
const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const criterion = new nn.CrossEntropyLoss();
const x = randn(resnet ? [16, 3, 64, 64] : [32, 1, 28, 28]).to("webgpu");
const y = randint(0, 10, [resnet ? 16 : 32], { dtype: "int32" }).to("webgpu");
const step = () =>
  tidy(() => {
    opt.zeroGrad();
    criterion.forward(model.forward(x) as Tensor, y).backward();
    opt.step();
  });
step();
step();
await gpu.synchronize();
const times: number[] = [];
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  step();
  await gpu.synchronize();
  times.push(performance.now() - t0);
}
console.log(`step: ${times.map((t) => t.toFixed(1)).join(", ")} ms`);

const rt = backend.runtime;
const original = rt.dispatch.bind(rt);
type Rec = { k: Kernel; b: GPUBuffer[]; p: number[]; g: [number, number, number] };
const recorded: Rec[] = [];
rt.dispatch = (k: Kernel, b: readonly GPUBuffer[], p: ArrayLike<number>, g: [number, number, number]) => {
  recorded.push({ k, b: [...b], p: Array.from(p), g: [g[0], g[1], g[2]] });
  original(k, b, p, g);
};
// Keep the step's tensors alive while replaying: no tidy here.
opt.zeroGrad();
const keep = criterion.forward(model.forward(x) as Tensor, y);
keep.backward();
opt.step();
rt.dispatch = original;
await gpu.synchronize();

async function syncCost(): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await gpu.synchronize();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
const empty = await syncCost();
const total = new Map<string, { ms: number; calls: number }>();
for (const r of recorded) {
  const reps = 4;
  let best = Infinity;
  for (let trial = 0; trial < 2; trial++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) original(r.k, r.b, r.p, r.g);
    // A real dispatch so synchronize has something to submit.
    await gpu.synchronize();
    best = Math.min(best, (performance.now() - t0 - empty) / reps);
  }
  const key = `${r.k.name} [${r.g.join(",")}]`;
  const e = total.get(key) ?? { ms: 0, calls: 0 };
  e.ms += Math.max(best, 0);
  e.calls++;
  total.set(key, e);
}
let sum = 0;
for (const e of total.values()) sum += e.ms;
console.log(`${rt.pipelineCount} distinct pipelines built`);
console.log(`${recorded.length} dispatches; replayed sum ${sum.toFixed(1)} ms (empty sync ${empty.toFixed(1)} ms)`);
for (const [k, e] of [...total].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  console.log(`${e.ms.toFixed(2).padStart(8)} ms  ${String(e.calls).padStart(3)}×  ${k}`);
}
