/**
 * The recurrent layers' training speed: a character language-model step
 * (batch 32 × 64 steps, embedding 64, hidden 256, one layer, vocabulary 100,
 * cross-entropy, Adam) with an LSTM and with a GRU, on the CPU and on WebGPU,
 * each with the fused cell kernels and with the composed-ops reference path
 * (`setFusedRnn(false)`) in the same run. Prints ms/step (the best of several
 * timed runs, as the machine may be shared), tokens/s, and the CPU time a step
 * took on all threads together (on a busy machine the wall time mostly
 * measures the other processes; on 2 idle cores a step takes between half its
 * CPU time and all of it).
 *
 *   deno run -A bench/rnn.ts [--device cpu|webgpu|both] [--cell lstm|gru|both] [--steps 5] [--runs 3]
 *                            [--no-composed] [--profile] [--threads n]
 *
 * `--profile` (CPU) also prints where a fused LSTM step spends its time, per
 * backend kernel.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import {
  cpuThreadsReady,
  getNumThreads,
  gpu,
  manualSeed,
  nn,
  optim,
  randint,
  setFusedRnn,
  setNumThreads,
  type Tensor,
  tidy,
} from "../mod.ts";
import { cpuBackend } from "../tensor/cpu/backend.ts";
import { CharRNN } from "../models/mod.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    device: { type: "string", default: "both" },
    cell: { type: "string", default: "both" },
    steps: { type: "string", default: "5" },
    runs: { type: "string", default: "3" },
    "no-composed": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    threads: { type: "string" },
  },
});
const B = 32, T = 64, E = 64, H = 256, V = 100;
const steps = Number(args.values.steps), runs = Number(args.values.runs);

/** One training step of a fresh model on `device`; returns a function running `n` steps and waiting for the last. */
function makeStep(cell: "lstm" | "gru", device: string): (n: number) => Promise<number> {
  manualSeed(0);
  const model = new CharRNN(V, { cell, embeddingDim: E, hiddenSize: H }).to(device);
  const opt = new optim.Adam(model.parameters(), { lr: 2e-3 });
  const criterion = new nn.CrossEntropyLoss();
  const x = randint(0, V, [B, T], { dtype: "int32" }).to(device);
  const y = randint(0, V, [B * T], { dtype: "int32" }).to(device);
  const one = (): Tensor =>
    tidy(() => {
      opt.zeroGrad();
      const [logits] = model.forward(x);
      const loss = criterion.forward(logits.reshape([B * T, V]), y);
      loss.backward();
      opt.step();
      return loss.detach();
    });
  return async (n) => {
    let last: Tensor | null = null;
    for (let i = 0; i < n; i++) {
      last?.dispose();
      last = one();
    }
    const v = await last!.item(); // waits for the device
    last!.dispose();
    return v;
  };
}

/**
 * Best-of-`runs` wall ms per step over `n` steps each (after a warm-up), and the
 * process CPU time per step of that run (every thread: the main one and the
 * GEMM workers) — what a step costs whatever else shares the cores.
 */
async function time(run: (n: number) => Promise<number>, n: number): Promise<{ wall: number; cpu: number }> {
  await run(1);
  let best = { wall: Infinity, cpu: Infinity };
  for (let r = 0; r < runs; r++) {
    const s = performance.now(), c = process.cpuUsage();
    await run(n);
    const used = process.cpuUsage(c);
    const wall = (performance.now() - s) / n;
    if (wall < best.wall) best = { wall, cpu: (used.user + used.system) / 1000 / n };
  }
  return best;
}

const devices: string[] = [];
if (args.values.device === "cpu" || args.values.device === "both") devices.push("cpu");
if (args.values.device === "webgpu" || args.values.device === "both") {
  if (await gpu.isWebGPUAvailable()) {
    await gpu.useWebGPU();
    devices.push("webgpu");
  } else console.log("WebGPU: no adapter here; CPU only");
}
if (args.values.threads) setNumThreads(Number(args.values.threads));
await cpuThreadsReady();
const cells = args.values.cell === "both" ? ["lstm", "gru"] as const : [args.values.cell as "lstm" | "gru"];
const rows: string[][] = [["device", "cell", "path", "ms/step", "tokens/s", "CPU ms/step"]];
for (const device of devices) {
  for (const cell of cells) {
    for (const fused of args.values["no-composed"] ? [true] : [true, false]) {
      const before = setFusedRnn(fused);
      // The composed path is slow: time fewer steps of it.
      const t = await time(makeStep(cell, device), fused ? steps : Math.max(1, Math.ceil(steps / 3)));
      setFusedRnn(before);
      rows.push([
        device,
        cell.toUpperCase(),
        fused ? "fused" : "composed",
        t.wall.toFixed(1),
        (B * T / t.wall * 1000).toFixed(0),
        t.cpu.toFixed(1),
      ]);
      console.log(rows[rows.length - 1].join("  "));
    }
  }
}
console.log(`\nchar LM step: batch ${B} × ${T} steps, embedding ${E}, hidden ${H}, vocab ${V}, cross-entropy, Adam`);
console.log(
  `best of ${runs} runs (the machine may be shared); ${getNumThreads()} CPU threads; CPU ms: all threads of this process\n`,
);
const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
for (const r of rows) console.log(r.map((c, k) => (k < 3 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join("  "));

if (args.values.profile) {
  // Every CPU backend kernel wrapped with a timer, for one fused LSTM step.
  const totals = new Map<string, { ms: number; calls: number }>();
  const proto = Object.getPrototypeOf(cpuBackend) as Record<string, unknown>;
  const self = cpuBackend as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const fn = proto[name];
    if (name === "constructor" || typeof fn !== "function") continue;
    self[name] = function (this: unknown, ...a: unknown[]) {
      let key = name;
      if (name === "unary" || name === "binary" || name === "reduce") key += ":" + String(a[0]);
      if (name === "matmul") {
        const [l, r] = a as { shape: number[] }[];
        key += ` ${l.shape.join("x")}·${r.shape[r.shape.length - 1]}`;
      }
      const s = performance.now();
      const out = (fn as (...x: unknown[]) => unknown).apply(this, a);
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - s;
      e.calls++;
      totals.set(key, e);
      return out;
    };
  }
  const run = makeStep("lstm", "cpu");
  await run(2);
  totals.clear();
  const reps = 3;
  const s = performance.now();
  await run(reps);
  const total = (performance.now() - s) / reps;
  let kernels = 0;
  for (const [, v] of totals) kernels += v.ms / reps;
  console.log(`\nCPU LSTM step: ${total.toFixed(1)} ms, of which backend kernels ${kernels.toFixed(1)} ms`);
  // Matmuls grouped by whether they run once per step or once per layer.
  const rowsP = [...totals].sort((p, q) => q[1].ms - p[1].ms).slice(0, 16);
  for (const [k, v] of rowsP) {
    console.log(`${(v.ms / reps).toFixed(2).padStart(8)} ms ${String(v.calls / reps).padStart(5)}x  ${k}`);
  }
}
