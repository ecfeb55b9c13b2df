/**
 * Where a CPU train step spends its time: wraps every CPU backend kernel with
 * a timer and prints the totals per kernel (and per op for unary/binary/reduce)
 * for the MLP, small CNN and ResNet-18 steps of `bench/train_throughput.ts`.
 *
 *   deno run -A bench/cpu_profile.ts [mlp|cnn|resnet|resnet224] [--wasm] [--threads N] [--cpu-time]
 *
 * (`unet`: a training step of the diffusion example's U-Net, width 24, batch 32; not in "all".)
 * (`resnet224`: batch 8 at 224×224, the fine-tuning case with a frozen backbone and a new `fc`; not in "all".)
 * `--wasm`: GEMMs on the WebAssembly SGEMM rather than the native BLAS. `--cpu-time`: the process's CPU time
 * (user + system) per kernel rather than the wall clock: with `--threads 1` that is the work itself, much less
 * disturbed than wall time by other processes on a shared machine.
 *
 * @module
 */

import process from "node:process";
import {
  cpuInfo,
  cpuThreadsReady,
  manualSeed,
  nn,
  optim,
  randint,
  randn,
  setCpuBlas,
  setNumThreads,
  tidy,
} from "../mod.ts";
import { cpuBackend } from "../tensor/cpu/backend.ts";
import { resnet18 } from "../models/mod.ts";
import { mlp784, smallCnn, trainStep } from "./workloads.ts";
import { Schedule, UNet } from "../examples/diffusion.ts";

const flag = (name: string) => Deno.args.includes(name);
const threadsAt = Deno.args.indexOf("--threads");
if (threadsAt >= 0) setNumThreads(Number(Deno.args[threadsAt + 1]));
if (flag("--wasm")) setCpuBlas(false);
const cpuTime = flag("--cpu-time");
/** Milliseconds now: the wall clock, or the process's CPU time. */
const now = cpuTime
  ? () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  : () => performance.now();

const totals = new Map<string, { ms: number; calls: number }>();
let enabled = false;
const proto = Object.getPrototypeOf(cpuBackend) as Record<string, unknown>;
const self = cpuBackend as unknown as Record<string, unknown>;
for (const name of Object.getOwnPropertyNames(proto)) {
  const fn = proto[name];
  if (name === "constructor" || typeof fn !== "function") continue;
  self[name] = function (this: unknown, ...args: unknown[]) {
    if (!enabled) return (fn as (...a: unknown[]) => unknown).apply(this, args);
    let key = name;
    if (name === "unary" || name === "binary" || name === "reduce") key += ":" + String(args[0]);
    if (name === "binary" || name === "copy") {
      const v = args[name === "binary" ? 1 : 0] as { shape?: number[] } | number;
      const shape = typeof v === "number" ? (args[5] as number[]) : v.shape;
      key += ` ${JSON.stringify(shape)}`;
    }
    if (name === "reduce") key += ` ${JSON.stringify((args[1] as { shape: number[] }).shape)}/${args[2]}`;
    const s = now();
    const r = (fn as (...a: unknown[]) => unknown).apply(this, args);
    const e = totals.get(key) ?? { ms: 0, calls: 0 };
    e.ms += now() - s;
    e.calls++;
    totals.set(key, e);
    return r;
  };
}

function profile(name: string, step: () => void, reps: number): void {
  for (let i = 0; i < 3; i++) step();
  totals.clear();
  enabled = true;
  const s = now();
  for (let i = 0; i < reps; i++) step();
  const total = (now() - s) / reps;
  enabled = false;
  const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
  let kernels = 0;
  for (const [, v] of rows) kernels += v.ms / reps;
  console.log(`\n== ${name}: ${total.toFixed(2)} ms/step, kernels ${kernels.toFixed(2)} ms`);
  for (const [k, v] of rows.slice(0, 30)) {
    console.log(`${(v.ms / reps).toFixed(3).padStart(8)} ms ${String(v.calls / reps).padStart(5)}x  ${k}`);
  }
}

manualSeed(0);
await cpuThreadsReady();
const which = Deno.args.find((a, i) => !a.startsWith("--") && Deno.args[i - 1] !== "--threads") ?? "all";
const info = cpuInfo();
console.log(
  `GEMMs on ${info.gemm === "blas" ? info.blas.library : info.gemm}, ${info.threads} thread(s), ` +
    (cpuTime ? "process CPU time" : "wall clock"),
);
if (which === "all" || which === "mlp") {
  const model = mlp784();
  const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
  profile("MLP", trainStep(model, randn([128, 784]), randint(0, 10, [128]), opt), 20);
}
if (which === "all" || which === "cnn") {
  const model = smallCnn();
  const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
  profile("small CNN", trainStep(model, randn([32, 1, 28, 28]), randint(0, 10, [32]), opt), 10);
}
if (which === "all" || which === "resnet") {
  const model = resnet18({ numClasses: 10 });
  const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
  profile("ResNet-18", trainStep(model, randn([8, 3, 64, 64]), randint(0, 10, [8]), opt), 3);
}
if (which === "resnet224") {
  const model = resnet18({ numClasses: 5 });
  for (const p of model.parameters()) p.requiresGrad_(false);
  const fc = new nn.Linear(512, 5);
  (model as unknown as { fc: nn.Linear }).fc = fc;
  const opt = new optim.SGD(fc.parameters(), { lr: 0.01 });
  profile(
    "ResNet-18 fine-tune (frozen backbone), batch 8, 224×224",
    trainStep(model, randn([8, 3, 224, 224]), randint(0, 5, [8]), opt),
    2,
  );
}
if (which === "unet") {
  const model = new UNet(24), schedule = new Schedule(400), x0 = randn([32, 1, 28, 28]);
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  profile("diffusion U-Net (width 24), batch 32", () =>
    tidy(() => {
      const t = randint(0, 400, [32]), eps = randn(x0.shape);
      opt.zeroGrad();
      model.forward(schedule.noisy(x0, t, eps), t).sub(eps).square().mean().backward();
      opt.step();
    }), 5);
}
