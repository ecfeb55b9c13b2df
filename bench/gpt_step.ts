/**
 * One training step of the character GPT of `examples/gpt.ts` at the size
 * issue 13 names (batch 16, context 128, width 128, 4 layers, 4 heads;
 * vocabulary 89, *Moby-Dick*'s): forward, cross-entropy, backward, gradient
 * clipping and an AdamW step, with the fused attention kernel and with the
 * composed attention ops (GELU, the example's default), and fused with ReLU
 * (GELU and its gradient run as WebAssembly SIMD kernels; the difference is their cost). Prints the best of `--reps` steps after warm-up
 * (the machine is shared: best-of-N is the least noisy), and with `--profile`
 * the time per CPU kernel.
 *
 *   deno run -A bench/gpt_step.ts [--reps 10] [--device cpu|webgpu] [--profile]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuThreadsReady, data, Generator, getNumThreads, gpu, manualSeed, tidy, wasmKernelKind } from "../mod.ts";
import { configureOptimizer, Gpt, trainStep } from "../examples/gpt.ts";
import { cpuBackend } from "../tensor/cpu/backend.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "10" },
    device: { type: "string", default: "cpu" },
    profile: { type: "boolean", default: false },
  },
});
const reps = Number(values.reps), device = values.device;
if (device === "webgpu") await gpu.useWebGPU();
await cpuThreadsReady();

/** Per-kernel totals of the CPU backend while `on` (the technique of `bench/cpu_profile.ts`). */
const totals = new Map<string, { ms: number; calls: number }>();
let on = false;
if (values.profile) {
  const proto = Object.getPrototypeOf(cpuBackend) as Record<string, unknown>;
  const self = cpuBackend as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const fn = proto[name];
    if (name === "constructor" || typeof fn !== "function") continue;
    self[name] = function (this: unknown, ...args: unknown[]) {
      if (!on) return (fn as (...a: unknown[]) => unknown).apply(this, args);
      const key = name === "unary" || name === "binary" || name === "reduce" ? `${name}:${String(args[0])}` : name;
      const s = performance.now();
      const r = (fn as (...a: unknown[]) => unknown).apply(this, args);
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - s;
      e.calls++;
      totals.set(key, e);
      return r;
    };
  }
}

const ids = Int32Array.from({ length: 200_000 }, (_, i) => (i * 7919 + (i >> 3)) % 89);
console.log(`CPU kernels: ${wasmKernelKind()}, ${getNumThreads()} threads; device ${device}; best of ${reps} steps`);
const variants = [
  { attention: "fused", activation: "gelu" },
  { attention: "composed", activation: "gelu" },
  { attention: "fused", activation: "relu" },
] as const;
for (const { attention, activation } of variants) {
  manualSeed(0);
  const model = new Gpt({
    vocabSize: 89,
    blockSize: 128,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    dropout: 0,
    attention,
    activation,
  }).to(device);
  const opt = configureOptimizer(model, 1e-3);
  const gen = new Generator(1);
  const step = async () => {
    const loss = tidy(() => {
      const { x, y } = data.randomBatch(ids, 16, 128, gen);
      return trainStep(model, opt, x.to(device), y.to(device));
    });
    await loss.item();
    loss.dispose();
  };
  for (let i = 0; i < 3; i++) await step();
  totals.clear();
  on = values.profile;
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await step();
    best = Math.min(best, performance.now() - t0);
  }
  on = false;
  console.log(
    `GPT step (batch 16, T 128, width 128, 4 layers, 4 heads), ${attention} attention, ${activation}: ${
      best.toFixed(1)
    } ms`,
  );
  if (values.profile) {
    for (const [k, v] of [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
      console.log(`  ${(v.ms / reps).toFixed(2).padStart(8)} ms/step ${String(v.calls / reps).padStart(5)}×  ${k}`);
    }
  }
}
