/**
 * Scaled dot-product attention, fused (FlashAttention-2 kernels) against
 * composed (`softmax(q·kᵀ·scale)·v` from ops), forward + backward, at batch 8,
 * 4 heads, T = 256, head dim 64, on the CPU and (when an adapter exists)
 * WebGPU; then the memory a fused forward + backward takes at T = 4,096,
 * against the size of one T×T float32 buffer (what the composed path holds
 * several of, per head).
 *
 *   deno run -A bench/attention.ts [--reps 5] [--device cpu|webgpu|both] [--long 4096] [--causal]
 *
 * Timings are the best of `--reps` runs (the machines these run on are
 * shared: best-of-N is the least noisy); GFLOP/s count 4·B·H·T²·E for the
 * forward and 2.5× that for the backward (FlashAttention's convention; with
 * `--causal` half of each).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type AttentionImplementation,
  cpuThreadsReady,
  Generator,
  gpu,
  randn,
  scaledDotProductAttention,
  type Tensor,
  toDevice,
} from "../mod.ts";
import { heapBytes } from "../tensor/cpu/wasm/runtime.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "5" },
    device: { type: "string", default: "both" },
    long: { type: "string", default: "4096" },
    causal: { type: "boolean", default: false },
  },
});
const reps = Number(values.reps), causal = values.causal;
const [B, H, T, E] = [8, 4, 256, 64];

async function sync(t: Tensor): Promise<void> {
  await (await toDevice(t.reshape([-1]).narrow(0, 0, 1), "cpu")).data();
}

/** Best forward and backward milliseconds of `reps` runs. */
async function time(device: string, implementation: AttentionImplementation): Promise<[number, number]> {
  const gen = new Generator(1);
  const [q, k, v] = [0, 1, 2].map(() => randn([B, H, T, E], { generator: gen }).to(device).requiresGrad_());
  const g = randn([B, H, T, E], { generator: gen }).to(device);
  let fwd = Infinity, bwd = Infinity;
  for (let r = 0; r <= reps; r++) {
    for (const t of [q, k, v]) t.grad = null;
    const t0 = performance.now();
    const y = scaledDotProductAttention(q, k, v, { isCausal: causal, implementation });
    await sync(y);
    const t1 = performance.now();
    y.backward(g);
    await sync(q.grad!);
    const t2 = performance.now();
    if (r > 0) { // the first run warms up (pipelines, workers)
      fwd = Math.min(fwd, t1 - t0);
      bwd = Math.min(bwd, t2 - t1);
    }
    y.dispose();
  }
  return [fwd, bwd];
}

// Memory first, on a fresh heap: it only grows, so its size after the run is the run's high-water mark.
await cpuThreadsReady();
const L = Number(values.long), Hl = 4;
const memoryRows = await (async () => {
  const gen = new Generator(2);
  const [q, k, v] = [0, 1, 2].map(() => randn([1, Hl, L, E], { generator: gen }).requiresGrad_());
  const t0 = performance.now();
  const y = scaledDotProductAttention(q, k, v, { isCausal: true, implementation: "fused" });
  y.sum().backward();
  await sync(q.grad!);
  const s = (performance.now() - t0) / 1000;
  const peak = heapBytes();
  const mb = (x: number) => (x / 2 ** 20).toFixed(1);
  const tt = L * L * 4;
  const out = [
    "",
    `T = ${L}, 1×${Hl} heads, head dim ${E}, causal, fused forward + backward on the CPU (${s.toFixed(1)} s):`,
    `  the WebAssembly heap peaked at ${mb(peak)} MiB in all: the tensors (q, k, v, output, its gradient and three`,
    `  input gradients: ${mb(8 * Hl * L * E * 4)} MiB), per-thread scratch and GEMM packing buffers;`,
    `  one ${L}×${L} float32 buffer is ${mb(tt)} MiB per head (${mb(tt * Hl)} MiB for the ${Hl} heads): none was made.`,
  ];
  for (const t of [q, k, v, y]) t.dispose();
  return out;
})();

const flops = 4 * B * H * T * T * E * (causal ? 0.5 : 1);
const rows: string[] = [
  `attention fwd+bwd, B ${B}, H ${H}, T ${T}, head dim ${E}${causal ? ", causal" : ""}, best of ${reps}`,
  "",
  "| device | path | forward ms | backward ms | fwd+bwd GFLOP/s |",
  "| --- | --- | ---: | ---: | ---: |",
];
const devices = values.device === "both" ? ["cpu", "webgpu"] : [values.device];
for (const device of devices) {
  if (device === "webgpu") {
    if (!(await gpu.isWebGPUAvailable())) {
      rows.push("| webgpu | (no adapter) | | | |");
      continue;
    }
    await gpu.useWebGPU();
  }
  for (const path of ["fused", "composed"] as const) {
    const [f, b] = await time(device, path);
    const gf = (3.5 * flops) / ((f + b) / 1000) / 1e9;
    rows.push(`| ${device} | ${path} | ${f.toFixed(1)} | ${b.toFixed(1)} | ${gf.toFixed(2)} |`);
    console.log(rows[rows.length - 1]);
  }
}

console.log("\n" + [...rows, ...memoryRows].join("\n"));
