/**
 * The CPU and WebGPU backends side by side, measured in one run and printed
 * as one table: matmul GFLOP/s (256², 1024², 2048²), conv2d forward GFLOP/s
 * (batch 8, 64→64, 56×56, 3×3, padding 1), and training images/s for the
 * MNIST small CNN (batch 32: conv 1→32, pool, conv 32→64, pool, fc; SGD with
 * momentum, synthetic MNIST-shaped batches) and ResNet-18 (batch 16 at 64×64
 * and 224×224, SGD with momentum).
 *
 *     deno run -A bench/backends.ts           # everything (224×224 ResNet-18 is slow on llvmpipe)
 *     deno run -A bench/backends.ts --quick   # skips ResNet-18 at 224×224
 *
 * Each training step runs inside one `tidy`; GPU timers stop after
 * `await gpu.synchronize()`. Each figure is the best of a few timed trials,
 * because a shared machine's other work only ever slows a trial down.
 *
 * @module
 */

import { conv2d, Generator, manualSeed, randint, randn, setDefaultDevice, type Tensor } from "@dendrite/tensor";
import type * as nn from "@dendrite/nn";
import * as optim from "@dendrite/optim";
import { resnet18 } from "@dendrite/models";
import { gpu } from "../mod.ts";
import { bestMs, smallCnn, trainStep } from "./workloads.ts";

const quick = Deno.args.includes("--quick");
const hasGpu = await gpu.isWebGPUAvailable();
const devices = hasGpu ? ["cpu", "webgpu"] : ["cpu"];
if (hasGpu) {
  const b = await gpu.useWebGPU();
  const info = b.info;
  console.log(`adapter: ${info.description}${info.isFallback ? " (software fallback adapter)" : ""}`);
} else {
  console.log("adapter: none (navigator.gpu has no adapter): CPU column only");
}
console.log(`cpu: ${navigator.hardwareConcurrency} logical cores; deno ${Deno.version.deno}`);

/** Waits for the work queued on `device` (nothing to wait for on the CPU). */
const done = (device: string): Promise<void> => device === "webgpu" ? gpu.synchronize() : Promise.resolve();

/** Best time per call (ms) of `fn` on `device` over `trials` trials, each repeated until it lasts `trialMs`. */
function best(device: string, fn: () => void, trialMs: number, trials: number, maxReps = 64): Promise<number> {
  return bestMs(fn, () => done(device), trialMs, trials, maxReps);
}

type Row = [string, ...string[]];
const rows: Row[] = [["workload", ...devices.map((d) => `${d}`)]];
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");

for (const n of [256, 1024, 2048]) {
  const cells: string[] = [];
  for (const device of devices) {
    const g = new Generator(1);
    const a = randn([n, n], { generator: g }).to(device), b = randn([n, n], { generator: g }).to(device);
    const ms = await best(device, () => a.matmul(b).dispose(), 150, n >= 2048 ? 2 : 3);
    cells.push(fmt((2 * n ** 3) / ms / 1e6, 2));
    a.dispose();
    b.dispose();
  }
  rows.push([`matmul ${n}² (GFLOP/s)`, ...cells]);
  console.log(rows.at(-1)!.join("  "));
}

{
  const cells: string[] = [];
  const flops = 2 * 8 * 64 * 56 * 56 * 64 * 9;
  for (const device of devices) {
    const g = new Generator(2);
    const x = randn([8, 64, 56, 56], { generator: g }).to(device);
    const w = randn([64, 64, 3, 3], { generator: g }).to(device);
    const ms = await best(device, () => conv2d(x, w, null, { padding: 1 }).dispose(), 300, 2, 8);
    cells.push(fmt(flops / ms / 1e6, 2));
    x.dispose();
    w.dispose();
  }
  rows.push(["conv2d fwd 8×64×56×56 3×3 64→64 (GFLOP/s)", ...cells]);
  console.log(rows.at(-1)!.join("  "));
}

/** Images/s of SGD training steps of `make()` on `[batch, ...shape]` inputs with `classes` labels. */
async function train(
  device: string,
  make: () => nn.Module & { forward(x: Tensor): Tensor },
  shape: number[],
  batch: number,
  classes: number,
  trials: number,
): Promise<number> {
  manualSeed(0);
  const model = make();
  model.to(device);
  model.train();
  const x = randn([batch, ...shape]).to(device);
  const y = randint(0, classes, [batch], { dtype: "int32" }).to(device);
  const step = trainStep(model, x, y, new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }));
  const ms = await best(device, step, 1, trials, 1);
  x.dispose();
  y.dispose();
  return (batch * 1000) / ms;
}

const training: [string, () => nn.Module & { forward(x: Tensor): Tensor }, number[], number, number, number][] = [
  ["MNIST small CNN train, batch 32 (images/s)", smallCnn, [1, 28, 28], 32, 10, 6],
  ["ResNet-18 train, batch 16, 64×64 (images/s)", () => resnet18({ numClasses: 10 }), [3, 64, 64], 16, 10, 3],
];
if (!quick) {
  training.push(["ResNet-18 train, batch 16, 224×224 (images/s)", () => resnet18(), [3, 224, 224], 16, 1000, 1]);
}
for (const [name, make, shape, batch, classes, trials] of training) {
  const cells: string[] = [];
  for (const device of devices) cells.push(fmt(await train(device, make, shape, batch, classes, trials), 1));
  rows.push([name, ...cells]);
  console.log(rows.at(-1)!.join("  "));
}
setDefaultDevice("cpu");

const width = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
const line = (r: string[]) =>
  "| " + r.map((c, j) => (j === 0 ? c.padEnd(width[j]) : c.padStart(width[j]))).join(" | ") + " |";
console.log();
console.log(line(rows[0]));
console.log("| " + width.map((w, j) => (j === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ") + " |");
for (const r of rows.slice(1)) console.log(line(r));
