/**
 * Square matmul at 256, 512 and 1024: dendrite's CPU matmul against the naive
 * triple loop of `naive_matmul.ts`, in one group per size so `deno bench`
 * prints the ratio. Run: `deno task bench` or `deno bench -A bench/matmul_bench.ts`.
 *
 * For GFLOP/s in a table, run `deno run -A bench/matmul_gflops.ts`.
 *
 * @module
 */

import { tensor } from "../mod.ts";
import { naiveMatmul, randomFloats } from "./naive_matmul.ts";

for (const size of [256, 512, 1024]) {
  const a = randomFloats(size * size, 1);
  const b = randomFloats(size * size, 2);
  const ta = tensor(a, { shape: [size, size] });
  const tb = tensor(b, { shape: [size, size] });
  // The naive loop takes seconds at 1024, so fix its sample count there.
  const slow = size >= 1024 ? { n: 3, warmup: 1 } : {};

  Deno.bench({
    name: `dendrite matmul ${size}x${size}`,
    group: `matmul ${size}`,
    baseline: true,
    fn() {
      ta.matmul(tb).dispose();
    },
  });
  Deno.bench({
    name: `naive triple loop ${size}x${size}`,
    group: `matmul ${size}`,
    ...slow,
    fn() {
      naiveMatmul(a, b, size, size, size);
    },
  });
}
