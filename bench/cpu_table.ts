/**
 * The CPU table of issues 7 and 20 in one run: for each workload, a naive
 * loop, the TypeScript kernels (`setCpuKernels("ts")`, the reference),
 * dendrite on WebAssembly SIMD (`setCpuBlas(false)`), dendrite on the
 * platform's BLAS (the default where one loads, `tensor/cpu/blas.ts`), and
 * with `--torch` PyTorch's CPU build on the same workloads (`cpu_torch.py`,
 * Debian's `/usr/bin/python3`), float32:
 *
 * - matmul 1024² (GFLOP/s; the PyTorch column adds numpy's);
 * - conv2d forward, 8×64×56×56, 3×3, 64→64, padding 1, and both backward
 *   kernels (input and weight gradients) of the same layer (GFLOP/s);
 * - train steps (ms; SGD, cross-entropy): MLP 784-256-10 batch 128,
 *   small CNN batch 32 (conv 1→32, pool, conv 32→64, pool, fc), ResNet-18 batch 8 at 64×64.
 *
 * The WebAssembly, native and PyTorch columns are measured in turn, round
 * after round (`--rounds N`, default 3), and each keeps its best: on a shared
 * machine a round that another process disturbed does not count against one
 * column only. Each round takes the best of several calls after warm-up. The
 * naive and TypeScript columns are measured once (`--no-reference` skips them).
 *
 * `--cpu-time`: every column on one thread (PyTorch's and numpy's BLAS too),
 * timed by the process's CPU time rather than the wall clock — the work each
 * does, much less disturbed than wall time by other processes on a shared
 * machine (rates are then per core).
 *
 * The naive column: the textbook i-j-k matmul (`naive_matmul.ts`) and the
 * seven-loop direct convolution, each timed on a smaller problem (512², one
 * image) so the run stays short; a rate does not depend on that. A train step
 * has no naive counterpart (—).
 *
 *   deno run -A bench/cpu_table.ts [--quick] [--torch] [--rounds N] [--no-reference] [--cpu-time]
 *
 * @module
 */

import {
  conv2d,
  cpuInfo,
  cpuThreadsReady,
  manualSeed,
  matmul,
  randint,
  randn,
  setCpuBlas,
  setCpuKernels,
  setNumThreads,
  zeros,
} from "../mod.ts";
import process from "node:process";
import { resnet18 } from "../models/mod.ts";
import { cpuBackend } from "../tensor/cpu/backend.ts";
import { naiveMatmul, randomFloats } from "./naive_matmul.ts";
import { conv3x3Geometry, mlp784, smallCnn, trainStep } from "./workloads.ts";

const quick = Deno.args.includes("--quick");

function naiveConvRate(): number {
  // One image of the workload: out[o,y,x] = Σ_{c,i,j} x[c, y+i-1, x+j-1] · w[o,c,i,j].
  const C = 64, H = 56, W = 56, O = 64;
  const x = randomFloats(C * H * W, 1), w = randomFloats(O * C * 9, 2), out = new Float32Array(O * H * W);
  const s = now();
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
  const ms = now() - s;
  return (2 * O * H * W * C * 9) / ms / 1e6;
}

/** The same layer's gradients as direct loops, one image: input gradient, then weight gradient (GFLOP/s each). */
function naiveConvBackwardRates(): [number, number] {
  const C = 64, H = 56, W = 56, O = 64;
  const go = randomFloats(O * H * W, 3), w = randomFloats(O * C * 9, 2), x = randomFloats(C * H * W, 1);
  const flops = 2 * O * H * W * C * 9;
  // dx[c,iy,ix] = Σ_{o,i,j} go[o, iy-i+1, ix-j+1] · w[o,c,i,j]
  let s = now();
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
  const inputRate = flops / (now() - s) / 1e6;
  // dw[o,c,i,j] = Σ_{y,x} go[o,y,x] · x[c, y+i-1, x+j-1]
  s = now();
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
  return [inputRate, flops / (now() - s) / 1e6];
}

function naiveMatmulRate(): number {
  const n = 512;
  const a = randomFloats(n * n, 1), b = randomFloats(n * n, 2);
  const s = now();
  naiveMatmul(a, b, n, n, n);
  return (2 * n ** 3) / (now() - s) / 1e6;
}

const flagAt = Deno.args.indexOf("--rounds");
const rounds = flagAt >= 0 ? Number(Deno.args[flagAt + 1]) : quick ? 1 : 3;
const withTorch = Deno.args.includes("--torch");
const withReference = !Deno.args.includes("--no-reference");
const cpuTime = Deno.args.includes("--cpu-time");
if (cpuTime) setNumThreads(1);

/** Milliseconds now: the wall clock, or with `--cpu-time` the process's CPU time. */
const now = cpuTime
  ? () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  : () => performance.now();

/** Best milliseconds of `reps` calls of `fn` after `warmup` calls. */
function bestMs(fn: () => void, reps: number, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const s = now();
    fn();
    best = Math.min(best, now() - s);
  }
  return best;
}

/** The seven measurements with whichever kernels are selected now: GFLOP/s for the first four, ms for the steps. */
function measure(reps = 1): number[] {
  manualSeed(0);
  const out: number[] = [];
  const r = (n: number) => Math.max(1, Math.round(n * reps));
  {
    const a = randn([1024, 1024]), b = randn([1024, 1024]);
    out.push(2 * 1024 ** 3 / bestMs(() => matmul(a, b).dispose(), r(quick ? 3 : 10), 2) / 1e6);
  }
  {
    const x = randn([8, 64, 56, 56]), w = randn([64, 64, 3, 3]);
    const flops = 2 * 8 * 64 * 56 * 56 * 64 * 9;
    out.push(flops / bestMs(() => conv2d(x, w, null, { padding: 1 }).dispose(), r(quick ? 2 : 5)) / 1e6);
    // The backward kernels alone (the backend's, as autograd calls them), on the same layer.
    const g = conv3x3Geometry(8, 64, 56, 64);
    const go = randn([8, 64, 56, 56]);
    const dx = zeros([8, 64, 56, 56]), dw = zeros([64, 64, 3, 3]);
    const input = bestMs(() => cpuBackend.conv2dBackwardInput(go, w, dx.storage, g), r(quick ? 2 : 5));
    const weight = bestMs(() => cpuBackend.conv2dBackwardWeight(go, x, dw.storage, g), r(quick ? 2 : 5));
    out.push(flops / input / 1e6, flops / weight / 1e6);
  }
  {
    const model = mlp784();
    out.push(bestMs(trainStep(model, randn([128, 784]), randint(0, 10, [128])), r(quick ? 5 : 30), 5));
  }
  {
    const model = smallCnn();
    out.push(bestMs(trainStep(model, randn([32, 1, 28, 28]), randint(0, 10, [32])), r(quick ? 3 : 10), 2));
  }
  {
    const model = resnet18({ numClasses: 10 });
    out.push(bestMs(trainStep(model, randn([8, 3, 64, 64]), randint(0, 10, [8])), r(quick ? 1 : 5), 1));
  }
  return out;
}

/** PyTorch's numbers for the same workloads (`cpu_torch.py`), or null where it cannot run. */
async function torchRound(): Promise<Record<string, number> | null> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [
        new URL("./cpu_torch.py", import.meta.url).pathname,
        ...(quick ? ["--quick"] : []),
        ...(cpuTime ? ["--cpu-time"] : []),
      ],
      // One BLAS thread for numpy's and PyTorch's matmul too when the columns are CPU time on one thread.
      env: cpuTime ? { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" } : {},
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(`cpu_torch.py failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)}`);
      return null;
    }
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } catch (e) {
    console.error(`cpu_torch.py did not run: ${(e as Error).message}`);
    return null;
  }
}

const TORCH_KEYS = [
  "matmul",
  "conv_forward",
  "conv_backward_input",
  "conv_backward_weight",
  "mlp_ms",
  "cnn_ms",
  "resnet_ms",
];
const RATES = 4;
/** Keeps the better of two measurements of workload `i` (higher GFLOP/s, lower ms). */
const better = (i: number, a: number, b: number) => (i < RATES ? Math.max(a, b) : Math.min(a, b));
const merge = (best: number[] | null, next: number[]) => best ? next.map((v, i) => better(i, best[i], v)) : next;
const show = (i: number, v: number) =>
  !Number.isFinite(v) ? "—" : i < RATES ? `${v.toFixed(1)} GFLOP/s` : `${v.toFixed(i === 4 ? 2 : 1)} ms`;

await cpuThreadsReady();
const info = cpuInfo();
const native = info.blas.library !== null;
let naive = ["—", "—", "—", "—", "—", "—", "—"], ts = naive;
if (withReference) {
  const naiveBackward = naiveConvBackwardRates().map((r) => `${r.toFixed(2)} GFLOP/s`);
  naive = [
    `${naiveMatmulRate().toFixed(2)} GFLOP/s`,
    `${naiveConvRate().toFixed(2)} GFLOP/s`,
    ...naiveBackward,
    "—",
    "—",
    "—",
  ];
  setCpuKernels("ts");
  ts = measure(0.3).map((v, i) => show(i, v));
  setCpuKernels("wasm");
}
let wasm: number[] | null = null, blas: number[] | null = null, torch: number[] | null = null;
let numpy = 0, torchThreads = 0;
for (let round = 0; round < rounds; round++) {
  setCpuBlas(false);
  wasm = merge(wasm, measure());
  setCpuBlas(true);
  if (native) blas = merge(blas, measure());
  if (withTorch) {
    const t = await torchRound();
    if (t) {
      torch = merge(torch, TORCH_KEYS.map((k) => t[k]));
      numpy = Math.max(numpy, t.numpy_matmul);
      torchThreads = t.threads;
    }
  }
  console.error(`round ${round + 1}/${rounds} done`);
}

const workloads = [
  "matmul 1024²",
  "conv2d fwd, 8×64×56×56, 3×3, 64→64",
  "conv2d backward input, same layer",
  "conv2d backward weight, same layer",
  "MLP 784-256-10 train step, batch 128",
  "small CNN train step, batch 32",
  "ResNet-18 train step, batch 8, 64×64",
];
console.log(
  `CPU backend, float32, ${info.threads} thread(s)${
    cpuTime ? ", process CPU time" : ", wall clock"
  }, WebAssembly kernel: ${info.wasm}; native BLAS: ${
    native ? `${info.blas.library} (${info.blas.detail})` : `none (${info.blas.reason})`
  }; best of ${rounds} interleaved round(s)` + (withTorch ? `; PyTorch on ${torchThreads} threads` : ""),
);
const torchHead = withTorch ? " PyTorch |" : "";
console.log(
  `| workload | naive loop | TypeScript kernels | dendrite (WASM SIMD) | dendrite (native BLAS) |${torchHead}`,
);
console.log(`|---|---:|---:|---:|---:|${withTorch ? "---:|" : ""}`);
workloads.forEach((w, i) => {
  const t = withTorch ? ` ${torch ? show(i, torch[i]) + (i === 0 ? ` (numpy ${numpy.toFixed(1)})` : "") : "—"} |` : "";
  console.log(`| ${w} | ${naive[i]} | ${ts[i]} | ${show(i, wasm![i])} | ${blas ? show(i, blas[i]) : "—"} |${t}`);
});
if (blas && withTorch && numpy > 0) {
  console.log(`\nnative matmul: ${(100 * blas[0] / numpy).toFixed(0)}% of numpy's (OpenBLAS) in the same run`);
}
