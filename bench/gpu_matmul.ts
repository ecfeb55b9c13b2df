/**
 * Matmul GFLOP/s on the WebGPU and CPU backends in one run.
 *
 *     deno run -A bench/gpu_matmul.ts
 *
 * GPU times include a read-back of one element at the end of each timed
 * batch (submit and wait), so queued work is really finished.
 *
 * @module
 */

import { Generator, randn, type Tensor } from "@dendrite/tensor";
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
// The small-CNN training step on both devices is measured by bench/backends.ts (and per kernel by bench/gpu_conv.ts).
