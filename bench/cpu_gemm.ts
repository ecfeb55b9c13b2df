/**
 * CPU GEMM and convolution throughput, every kernel family in one run:
 * matmul at 256/512/1024 for the naive triple loop, the TypeScript kernel,
 * the WebAssembly SIMD kernel on one thread and on all threads; then the
 * conv2d kernels (forward, backward input, backward weight) at
 * 8×64×56×56, 3×3, 64→64, padding 1. Prints markdown tables of GFLOP/s
 * (2·M·N·K flops per product; the median of several timed runs after a
 * warm-up). Each matmul result is checked against the naive loop first, so a
 * fast but wrong kernel cannot post a number.
 *
 * Run: `deno run -A bench/cpu_gemm.ts [--threads N]`.
 *
 * @module
 */

import { tensor } from "../mod.ts";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from "../tensor/cpu/conv.ts";
import { cpuThreadsReady, getNumThreads, setCpuKernels, setNumThreads, wasmKernelKind } from "../tensor/cpu/kernels.ts";
import { naiveMatmul, randomFloats } from "./naive_matmul.ts";
import { conv3x3Geometry, timeMs } from "./workloads.ts";

const threadsArg = Deno.args.indexOf("--threads");
const allThreads = threadsArg >= 0 ? Number(Deno.args[threadsArg + 1]) : getNumThreads();

interface Setting {
  label: string;
  kernels: "ts" | "wasm";
  threads: number;
}

const SETTINGS: Setting[] = [
  { label: "TypeScript kernel", kernels: "ts", threads: 1 },
  { label: "wasm SIMD, 1 thread", kernels: "wasm", threads: 1 },
  { label: `wasm SIMD, ${allThreads} threads`, kernels: "wasm", threads: allThreads },
];

async function use(s: Setting): Promise<void> {
  setCpuKernels(s.kernels);
  setNumThreads(s.threads);
  await cpuThreadsReady();
}

const gf = (flops: number, ms: number) => (flops / ms / 1e6).toFixed(1);

console.log(`wasm kernel: ${wasmKernelKind()}, threads available: ${allThreads}\n`);
console.log(`| matmul n×n×n | naive loop | ${SETTINGS.map((s) => s.label).join(" | ")} |`);
console.log(`|---|---:|${SETTINGS.map(() => "---:").join("|")}|`);
for (const n of [256, 512, 1024]) {
  const a = randomFloats(n * n, 1), b = randomFloats(n * n, 2);
  const ta = tensor(a, { shape: [n, n] }), tb = tensor(b, { shape: [n, n] });
  const flops = 2 * n * n * n;
  const t0 = performance.now();
  const want = naiveMatmul(a, b, n, n, n);
  const naiveMs = performance.now() - t0;
  const cells: string[] = [];
  for (const s of SETTINGS) {
    await use(s);
    const got = ta.matmul(tb);
    const data = got.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i] - want[i]));
    got.dispose();
    if (maxDiff > 1e-3 * Math.sqrt(n)) {
      throw new Error(`${s.label} at n=${n} disagrees with the naive loop by ${maxDiff}`);
    }
    const reps = n >= 1024 ? 5 : n >= 512 ? 9 : 21;
    const ms = timeMs(() => ta.matmul(tb).dispose(), reps, 2);
    cells.push(gf(flops, ms));
  }
  console.log(`| ${n} | ${gf(flops, naiveMs)} | ${cells.join(" | ")} |`);
}

// conv2d kernels on the workload of the issue: 8×64×56×56, 3×3, 64→64, stride 1, padding 1.
const g = conv3x3Geometry(8, 64, 56, 64);
const x = randomFloats(g.n * g.cIn * g.h * g.w, 3);
const w = randomFloats(g.cOut * g.cIn * g.kh * g.kw, 4);
const go = randomFloats(g.n * g.cOut * g.outH * g.outW, 5);
const out = new Float32Array(go.length), dx = new Float32Array(x.length), dw = new Float32Array(w.length);
const convFlops = 2 * g.n * g.cOut * g.outH * g.outW * g.cIn * g.kh * g.kw;
const kernels: [string, () => void][] = [
  ["forward", () => conv2dForward(x, w, out, g)],
  ["backward input", () => conv2dBackwardInput(go, w, dx, g)],
  ["backward weight", () => conv2dBackwardWeight(go, x, dw, g)],
];
console.log(`\n| conv2d 8×64×56×56, 3×3, 64→64 | ${SETTINGS.map((s) => s.label).join(" | ")} |`);
console.log(`|---|${SETTINGS.map(() => "---:").join("|")}|`);
for (const [name, run] of kernels) {
  const cells: string[] = [];
  for (const s of SETTINGS) {
    await use(s);
    cells.push(gf(convFlops, timeMs(run, s.kernels === "ts" ? 1 : 5)));
  }
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
setCpuKernels("wasm");
