/**
 * The CPU table of issue 7 in one run: for each workload, a naive loop, the
 * TypeScript kernels (`setCpuKernels("ts")`, the reference) and dendrite's
 * default (WebAssembly SIMD on every core), float32:
 *
 * - matmul 1024² (GFLOP/s);
 * - conv2d forward, 8×64×56×56, 3×3, 64→64, padding 1, and both backward
 *   kernels (input and weight gradients) of the same layer (GFLOP/s);
 * - train steps (ms, median after warm-up; SGD, cross-entropy): MLP 784-256-10 batch 128,
 *   small CNN batch 32 (conv 1→32, pool, conv 32→64, pool, fc), ResNet-18 batch 8 at 64×64.
 *
 * The naive column: the textbook i-j-k matmul (`naive_matmul.ts`) and the
 * seven-loop direct convolution, each timed on a smaller problem (512², one
 * image) so the run stays short; a rate does not depend on that. A train step
 * has no naive counterpart (—).
 *
 *   deno run -A bench/cpu_table.ts [--quick]
 *
 * @module
 */

import {
  conv2d,
  cpuThreadsReady,
  getNumThreads,
  manualSeed,
  matmul,
  randint,
  randn,
  setCpuKernels,
  wasmKernelKind,
  zeros,
} from "../mod.ts";
import { resnet18 } from "../models/mod.ts";
import { cpuBackend } from "../tensor/cpu/backend.ts";
import { naiveMatmul, randomFloats } from "./naive_matmul.ts";
import { conv3x3Geometry, mlp784, smallCnn, timeMs, trainStep } from "./workloads.ts";

const quick = Deno.args.includes("--quick");

function naiveConvRate(): number {
  // One image of the workload: out[o,y,x] = Σ_{c,i,j} x[c, y+i-1, x+j-1] · w[o,c,i,j].
  const C = 64, H = 56, W = 56, O = 64;
  const x = randomFloats(C * H * W, 1), w = randomFloats(O * C * 9, 2), out = new Float32Array(O * H * W);
  const s = performance.now();
  for (let o = 0; o < O; o++) {
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        let acc = 0;
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < 3; i++) {
            const iy = y + i - 1;
            if (iy < 0 || iy >= H) continue;
            for (let j = 0; j < 3; j++) {
              const ix = xx + j - 1;
              if (ix < 0 || ix >= W) continue;
              acc += x[(c * H + iy) * W + ix] * w[((o * C + c) * 3 + i) * 3 + j];
            }
          }
        }
        out[(o * H + y) * W + xx] = acc;
      }
    }
  }
  const ms = performance.now() - s;
  return (2 * O * H * W * C * 9) / ms / 1e6;
}

/** The same layer's gradients as direct loops, one image: input gradient, then weight gradient (GFLOP/s each). */
function naiveConvBackwardRates(): [number, number] {
  const C = 64, H = 56, W = 56, O = 64;
  const go = randomFloats(O * H * W, 3), w = randomFloats(O * C * 9, 2), x = randomFloats(C * H * W, 1);
  const flops = 2 * O * H * W * C * 9;
  // dx[c,iy,ix] = Σ_{o,i,j} go[o, iy-i+1, ix-j+1] · w[o,c,i,j]
  let s = performance.now();
  const dx = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let iy = 0; iy < H; iy++) {
      for (let ix = 0; ix < W; ix++) {
        let acc = 0;
        for (let o = 0; o < O; o++) {
          for (let i = 0; i < 3; i++) {
            const y = iy - i + 1;
            if (y < 0 || y >= H) continue;
            for (let j = 0; j < 3; j++) {
              const xx = ix - j + 1;
              if (xx < 0 || xx >= W) continue;
              acc += go[(o * H + y) * W + xx] * w[((o * C + c) * 3 + i) * 3 + j];
            }
          }
        }
        dx[(c * H + iy) * W + ix] = acc;
      }
    }
  }
  const inputRate = flops / (performance.now() - s) / 1e6;
  // dw[o,c,i,j] = Σ_{y,x} go[o,y,x] · x[c, y+i-1, x+j-1]
  s = performance.now();
  const dw = new Float32Array(O * C * 9);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          let acc = 0;
          for (let y = 0; y < H; y++) {
            const iy = y + i - 1;
            if (iy < 0 || iy >= H) continue;
            for (let xx = 0; xx < W; xx++) {
              const ix = xx + j - 1;
              if (ix < 0 || ix >= W) continue;
              acc += go[(o * H + y) * W + xx] * x[(c * H + iy) * W + ix];
            }
          }
          dw[((o * C + c) * 3 + i) * 3 + j] = acc;
        }
      }
    }
  }
  return [inputRate, flops / (performance.now() - s) / 1e6];
}

function naiveMatmulRate(): number {
  const n = 512;
  const a = randomFloats(n * n, 1), b = randomFloats(n * n, 2);
  const s = performance.now();
  naiveMatmul(a, b, n, n, n);
  return (2 * n ** 3) / (performance.now() - s) / 1e6;
}

/** The five measurements with whichever kernels are selected now. */
function measure(): string[] {
  manualSeed(0);
  const out: string[] = [];
  {
    const a = randn([1024, 1024]), b = randn([1024, 1024]);
    const ms = timeMs(() => matmul(a, b).dispose(), quick ? 3 : 7, 2);
    out.push(`${(2 * 1024 ** 3 / ms / 1e6).toFixed(1)} GFLOP/s`);
  }
  {
    const x = randn([8, 64, 56, 56]), w = randn([64, 64, 3, 3]);
    const flops = 2 * 8 * 64 * 56 * 56 * 64 * 9;
    const ms = timeMs(() => conv2d(x, w, null, { padding: 1 }).dispose(), quick ? 2 : 5);
    out.push(`${(flops / ms / 1e6).toFixed(1)} GFLOP/s`);
    // The backward kernels alone (the backend's, as autograd calls them), on the same layer.
    const g = conv3x3Geometry(8, 64, 56, 64);
    const go = randn([8, 64, 56, 56]);
    const dx = zeros([8, 64, 56, 56]), dw = zeros([64, 64, 3, 3]);
    const input = timeMs(() => cpuBackend.conv2dBackwardInput(go, w, dx.storage, g), quick ? 2 : 5);
    const weight = timeMs(() => cpuBackend.conv2dBackwardWeight(go, x, dw.storage, g), quick ? 2 : 5);
    out.push(`${(flops / input / 1e6).toFixed(1)} GFLOP/s`, `${(flops / weight / 1e6).toFixed(1)} GFLOP/s`);
  }
  {
    const model = mlp784();
    const ms = timeMs(trainStep(model, randn([128, 784]), randint(0, 10, [128])), quick ? 5 : 30, 5);
    out.push(`${ms.toFixed(2)} ms`);
  }
  {
    const model = smallCnn();
    const ms = timeMs(trainStep(model, randn([32, 1, 28, 28]), randint(0, 10, [32])), quick ? 3 : 10, 2);
    out.push(`${ms.toFixed(1)} ms`);
  }
  {
    const model = resnet18({ numClasses: 10 });
    const ms = timeMs(trainStep(model, randn([8, 3, 64, 64]), randint(0, 10, [8])), quick ? 1 : 5, 1);
    out.push(`${ms.toFixed(0)} ms`);
  }
  return out;
}

await cpuThreadsReady();
const naiveBackward = naiveConvBackwardRates().map((r) => `${r.toFixed(2)} GFLOP/s`);
const naive = [
  `${naiveMatmulRate().toFixed(2)} GFLOP/s`,
  `${naiveConvRate().toFixed(2)} GFLOP/s`,
  ...naiveBackward,
  "—",
  "—",
  "—",
];
setCpuKernels("ts");
const ts = measure();
setCpuKernels("wasm");
const wasm = measure();

const workloads = [
  "matmul 1024²",
  "conv2d fwd, 8×64×56×56, 3×3, 64→64",
  "conv2d backward input, same layer",
  "conv2d backward weight, same layer",
  "MLP 784-256-10 train step, batch 128",
  "small CNN train step, batch 32",
  "ResNet-18 train step, batch 8, 64×64",
];
console.log(`CPU backend, float32, ${getNumThreads()} threads, WebAssembly kernel: ${wasmKernelKind()}`);
console.log("| workload | naive loop | TypeScript kernels | dendrite (WASM SIMD) |");
console.log("|---|---:|---:|---:|");
workloads.forEach((w, i) => console.log(`| ${w} | ${naive[i]} | ${ts[i]} | ${wasm[i]} |`));
