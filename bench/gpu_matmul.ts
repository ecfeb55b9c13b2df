/**
 * Matmul GFLOP/s on the WebGPU and CPU backends in one run, and a small-CNN
 * training step (batch 32: conv 1→32, pool, conv 32→64, pool, fc) on both.
 *
 *     deno run -A bench/gpu_matmul.ts            # matmul table and CNN step
 *     deno run -A bench/gpu_matmul.ts --no-cnn   # matmul only
 *
 * GPU times include a read-back of one element at the end of each timed
 * batch (submit and wait), so queued work is really finished.
 *
 * @module
 */

import { conv2d, crossEntropy, Generator, maxPool2d, noGrad, randint, randn, type Tensor } from "@dendrite/tensor";
import { gpu } from "../mod.ts";

const hasGpu = await gpu.isWebGPUAvailable();
let adapter = "none";
if (hasGpu) adapter = (await gpu.useWebGPU()).info.description;

async function finish(t: Tensor): Promise<void> {
  // One element read back: waits for everything queued before it.
  await t.reshape([-1]).narrow(0, 0, 1).data();
}

async function timeMatmul(device: string, n: number): Promise<number> {
  const g = new Generator(1);
  const a = randn([n, n], { generator: g }).to(device), b = randn([n, n], { generator: g }).to(device);
  await finish(a.matmul(b)); // warm-up: pipeline build, pool
  let reps = 1, elapsed = 0;
  for (;;) {
    const t0 = performance.now();
    let c: Tensor | null = null;
    for (let r = 0; r < reps; r++) {
      c?.dispose();
      c = a.matmul(b);
    }
    await finish(c!);
    elapsed = performance.now() - t0;
    c!.dispose();
    if (elapsed > 400 || reps >= 64) break;
    reps *= 2;
  }
  return (2 * n * n * n * reps) / (elapsed / 1000) / 1e9;
}

const rows: string[][] = [["size", "cpu GFLOP/s", "webgpu GFLOP/s"]];
for (const n of [256, 1024, 2048]) {
  const cpu = n <= 1024 ? (await timeMatmul("cpu", n)).toFixed(2) : "-";
  const wg = hasGpu ? (await timeMatmul("webgpu", n)).toFixed(2) : "-";
  rows.push([`${n}²`, cpu, wg]);
}

function table(r: string[][]): string {
  const w = r[0].map((_, j) => Math.max(...r.map((x) => x[j].length)));
  return r.map((x) => "| " + x.map((c, j) => c.padEnd(w[j])).join(" | ") + " |").join("\n");
}

console.log(`adapter: ${adapter}`);
console.log(table(rows));

if (!Deno.args.includes("--no-cnn")) {
  // conv 1→32 (3×3, pad 1), relu, pool 2, conv 32→64 (3×3, pad 1), relu, pool 2, fc 64·7·7→10; SGD step.
  const cnnStep = async (device: string): Promise<number> => {
    const g = new Generator(2);
    const p = {
      w1: randn([32, 1, 3, 3], { generator: g }).mul(0.3),
      b1: randn([32], { generator: g }).mul(0.01),
      w2: randn([64, 32, 3, 3], { generator: g }).mul(0.06),
      b2: randn([64], { generator: g }).mul(0.01),
      fc: randn([64 * 7 * 7, 10], { generator: g }).mul(0.02),
      fb: randn([10], { generator: g }).mul(0.01),
    };
    const params = Object.values(p).map((t) => t.to(device).detach().requiresGrad_());
    const x = randn([32, 1, 28, 28], { generator: g }).to(device);
    const y = randint(0, 10, [32], { generator: g, dtype: "int32" }).to(device);
    const step = () => {
      const [w1, b1, w2, b2, fc, fb] = params;
      let h = maxPool2d(conv2d(x, w1, b1, { padding: 1 }).relu(), 2);
      h = maxPool2d(conv2d(h, w2, b2, { padding: 1 }).relu(), 2);
      const loss = crossEntropy(h.flatten(1).matmul(fc).add(fb), y);
      loss.backward();
      noGrad(() => {
        for (const q of params) {
          q.sub_(q.grad!.mul(0.01));
          q.grad = null;
        }
      });
      return loss;
    };
    await finish(step()); // warm-up
    const steps = 5;
    const t0 = performance.now();
    let loss: Tensor | null = null;
    for (let s = 0; s < steps; s++) loss = step();
    await finish(loss!);
    return (performance.now() - t0) / steps;
  };
  const cnn: string[][] = [["small CNN step (batch 32)", "ms/step", "images/s"]];
  for (const device of hasGpu ? ["cpu", "webgpu"] : ["cpu"]) {
    const ms = await cnnStep(device);
    cnn.push([device, ms.toFixed(1), (32000 / ms).toFixed(0)]);
  }
  console.log(table(cnn));
}
