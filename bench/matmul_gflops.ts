/**
 * Matmul GFLOP/s at 256, 512 and 1024: dendrite's CPU matmul against the naive
 * triple loop, measured in the same run, printed as a markdown table.
 *
 * Each measurement: warm-up runs, then several timed reps; the median time is
 * reported (2·n³ flops per n×n product). The naive loop at 1024 takes seconds,
 * so it gets one warm-up-free rep. Also checks that both agree, so a fast but
 * wrong kernel cannot post a number.
 *
 * Run: `deno run -A bench/matmul_gflops.ts [sizes...]` (default 256 512 1024).
 *
 * @module
 */

import { tensor } from "../mod.ts";
import { naiveMatmul, randomFloats } from "./naive_matmul.ts";
import { timeMs } from "./workloads.ts";

const sizes = Deno.args.length > 0 ? Deno.args.map(Number) : [256, 512, 1024];
const rows: string[] = [];
for (const n of sizes) {
  const a = randomFloats(n * n, 1);
  const b = randomFloats(n * n, 2);
  const ta = tensor(a, { shape: [n, n] });
  const tb = tensor(b, { shape: [n, n] });

  // Agreement check (max abs difference relative to the largest magnitude).
  const ours = ta.matmul(tb);
  const got = ours.dataSync();
  ours.dispose();
  const want = naiveMatmul(a, b, n, n, n);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  }
  if (maxDiff > 1e-4 * maxAbs) throw new Error(`matmul ${n}: max |ours - naive| = ${maxDiff} (max |naive| ${maxAbs})`);

  const flops = 2 * n ** 3;
  const oursReps = n <= 512 ? 15 : 7;
  const oursMs = timeMs(() => ta.matmul(tb).dispose(), oursReps, 3);
  // The agreement check above already ran (and warmed up) the naive loop once.
  const naiveReps = n >= 1024 ? 1 : n >= 512 ? 3 : 7;
  const naiveMs = timeMs(() => naiveMatmul(a, b, n, n, n), naiveReps, n >= 1024 ? 0 : 1);
  const g = (ms: number) => flops / (ms * 1e6);
  rows.push(
    `| ${n} | ${oursMs.toFixed(1)} ms | ${g(oursMs).toFixed(2)} | ${naiveMs.toFixed(1)} ms | ${
      g(naiveMs).toFixed(2)
    } | ${(naiveMs / oursMs).toFixed(1)}× |`,
  );
  console.error(`done ${n} (reps: ours ${oursReps}, naive ${naiveReps})`);
}

console.log(
  `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} cores, float32, n×n · n×n\n`,
);
console.log("| n | dendrite (median) | dendrite GFLOP/s | naive triple loop (median) | naive GFLOP/s | speed-up |");
console.log("|---:|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
