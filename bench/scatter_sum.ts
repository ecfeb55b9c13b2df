/**
 * Scatter-sum throughput, the aggregation step of a graph neural network: messages `[E, F]` summed into their target
 * nodes `[N, F]` (`h.indexAdd(0, target, msg)`, the same kernel as `scatterAdd` and `scatterReduce("sum")`), on a
 * Cora-sized graph (2,708 nodes, 10,556 edges) at several feature widths. Prints edges/s for the op alone and for
 * op + backward, on the CPU, a plain TypeScript loop for scale, and WebGPU when an adapter is there.
 *
 *     deno run -A bench/scatter_sum.ts            # add --quick for one width and fewer repeats
 *
 * @module
 */

import { Generator, indexAdd, noGrad, randint, randn, type Tensor } from "@dendrite/tensor";
import { gpu } from "../mod.ts";

const quick = Deno.args.includes("--quick");
const NODES = 2708, EDGES = 10556;
const widths = quick ? [64] : [16, 64, 256];
const reps = quick ? 5 : 20;

const hasGpu = await gpu.isWebGPUAvailable();
if (hasGpu) console.log(`adapter: ${(await gpu.useWebGPU()).info.description}`);

async function sync(device: string): Promise<void> {
  if (device === "webgpu") await gpu.synchronize();
}

/** Best time per call in ms over `reps` calls (after one warm-up), synchronizing the device once per batch. */
async function time(device: string, run: () => void): Promise<number> {
  run();
  await sync(device);
  let best = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    await sync(device);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return best;
}

/** The plain loop a user would write without the kernel (for scale). */
function plainLoop(out: Float32Array, target: Int32Array, msg: Float32Array, f: number): void {
  for (let e = 0; e < target.length; e++) {
    const o = target[e] * f, s = e * f;
    for (let k = 0; k < f; k++) out[o + k] += msg[s + k];
  }
}

const g = new Generator(1);
console.log(
  `scatter-sum of ${EDGES} edge messages into ${NODES} nodes (shared machine: noisy; rerun quietly to compare)`,
);
console.log("| device | F | op ms | op Medges/s | op+backward ms | op+backward Medges/s |");
console.log("| ------ | -: | ----: | ----------: | -------------: | -------------------: |");
for (const f of widths) {
  const target = randint(0, NODES, [EDGES], { generator: g });
  const msg = randn([EDGES, f], { generator: g }), h = randn([NODES, f], { generator: g });
  const devices = hasGpu ? ["cpu", "webgpu"] : ["cpu"];
  for (const device of devices) {
    const t = target.to(device), m = msg.to(device), x = h.to(device);
    const op = await time(device, () => noGrad(() => indexAdd(x, 0, t, m)).dispose());
    const leaf = m.detach().requiresGrad_();
    const both = await time(device, () => {
      const out: Tensor = indexAdd(x, 0, t, leaf);
      out.sum().backward();
      out.dispose();
      leaf.grad!.dispose();
      leaf.grad = null;
    });
    const rate = (ms: number) => (EDGES / ms / 1e3).toFixed(1);
    console.log(`| ${device} | ${f} | ${op.toFixed(3)} | ${rate(op)} | ${both.toFixed(3)} | ${rate(both)} |`);
  }
  const out = new Float32Array(NODES * f), tv = target.dataSync() as Int32Array, mv = msg.dataSync() as Float32Array;
  const loop = await time("cpu", () => plainLoop(out, tv, mv, f));
  console.log(`| plain TS loop | ${f} | ${loop.toFixed(3)} | ${(EDGES / loop / 1e3).toFixed(1)} | | |`);
}
