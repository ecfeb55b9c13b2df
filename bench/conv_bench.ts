/**
 * conv2d on the CPU backend, the workload (batch 8, 64→64 channels,
 * 56×56, 3×3, padding 1): forward and both backward kernels. For GFLOP/s in a
 * table, run `deno run -A bench/train_throughput.ts`.
 *
 * @module
 */

import { conv2d, randn } from "../mod.ts";

const x = randn([8, 64, 56, 56]);
const w = randn([64, 64, 3, 3]);

Deno.bench({
  name: "conv2d forward 8x64x56x56, 3x3, 64->64",
  group: "conv2d",
  baseline: true,
  n: 10,
  warmup: 2,
  fn() {
    conv2d(x, w, null, { padding: 1 }).dispose();
  },
});

Deno.bench({
  name: "conv2d forward + both backward kernels",
  group: "conv2d",
  n: 5,
  warmup: 1,
  fn() {
    const xi = x.detach().requiresGrad_();
    const wi = w.detach().requiresGrad_();
    conv2d(xi, wi, null, { padding: 1 }).sum().backward();
  },
});
