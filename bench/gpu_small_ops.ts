/**
 * What a small elementwise or reduction op costs on WebGPU versus the CPU:
 * the measurement behind the decision on a "small tensors run on the CPU"
 * threshold (see gpu/README.md). Times are per op, for chains of 200 ops,
 * synchronized once at the end.
 *
 *     deno run -A bench/gpu_small_ops.ts
 *
 * @module
 */

import { randn, type Tensor } from "@dendrite/tensor";
import { gpu } from "../mod.ts";

const b = await gpu.useWebGPU();
console.log(`adapter: ${b.info.description}`);

async function perOp(device: string, n: number, op: (t: Tensor) => Tensor): Promise<number> {
  const x = randn([n]).to(device);
  const run = () => {
    let t = x;
    for (let i = 0; i < 200; i++) {
      const next = op(t);
      if (t !== x) t.dispose();
      t = next;
    }
    return t;
  };
  run().dispose();
  if (device === "webgpu") await gpu.synchronize();
  let best = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    const t0 = performance.now();
    run().dispose();
    if (device === "webgpu") await gpu.synchronize();
    best = Math.min(best, (performance.now() - t0) / 200);
  }
  x.dispose();
  return best * 1000;
}

console.log("| op | elements | cpu µs/op | webgpu µs/op |");
console.log("| -- | -------: | --------: | -----------: |");
for (const n of [16, 1024, 16384, 262144, 1048576]) {
  for (
    const [name, op] of [["x*1.0001+0.5 (2 ops)", (t: Tensor) => t.mul(1.0001).add(0.5)], [
      "sum + broadcast copy",
      (t: Tensor) => t.sum().expand([n]).contiguous(),
    ]] as const
  ) {
    const c = await perOp("cpu", n, op), g = await perOp("webgpu", n, op);
    console.log(`| ${name} | ${n} | ${c.toFixed(1)} | ${g.toFixed(1)} |`);
  }
}
