/**
 * Elementwise ops on 1M float32 values: add, mul, exp, relu, and a broadcast
 * add of a row vector over a 1024×1024 matrix, each next to the same loop
 * written by hand over `Float32Array`s (the floor any kernel must approach).
 * Run: `deno bench -A bench/elementwise_bench.ts`.
 *
 * @module
 */

import { tensor } from "../mod.ts";
import { randomFloats } from "./naive_matmul.ts";

const N = 1 << 20;
const ROWS = 1024;
const COLS = N / ROWS;

const xs = randomFloats(N, 1);
const ys = randomFloats(N, 2);
const row = randomFloats(COLS, 3);
const x = tensor(xs, { shape: [ROWS, COLS] });
const y = tensor(ys, { shape: [ROWS, COLS] });
const r = tensor(row, { shape: [COLS] });
const out = new Float32Array(N);

Deno.bench({ name: "add 1M", group: "add", baseline: true, fn: () => x.add(y).dispose() });
Deno.bench({
  name: "add 1M (hand loop)",
  group: "add",
  fn() {
    for (let i = 0; i < N; i++) out[i] = xs[i] + ys[i];
  },
});

Deno.bench({ name: "mul 1M", group: "mul", baseline: true, fn: () => x.mul(y).dispose() });
Deno.bench({
  name: "mul 1M (hand loop)",
  group: "mul",
  fn() {
    for (let i = 0; i < N; i++) out[i] = xs[i] * ys[i];
  },
});

Deno.bench({ name: "exp 1M", group: "exp", baseline: true, fn: () => x.exp().dispose() });
Deno.bench({
  name: "exp 1M (hand loop)",
  group: "exp",
  fn() {
    for (let i = 0; i < N; i++) out[i] = Math.exp(xs[i]);
  },
});

Deno.bench({ name: "relu 1M", group: "relu", baseline: true, fn: () => x.relu().dispose() });
Deno.bench({
  name: "relu 1M (hand loop)",
  group: "relu",
  fn() {
    for (let i = 0; i < N; i++) out[i] = xs[i] > 0 ? xs[i] : 0;
  },
});

Deno.bench({
  name: `broadcast add [${ROWS}, ${COLS}] + [${COLS}]`,
  group: "broadcast add",
  baseline: true,
  fn: () => x.add(r).dispose(),
});
Deno.bench({
  name: "broadcast add (hand loop)",
  group: "broadcast add",
  fn() {
    for (let i = 0; i < ROWS; i++) {
      for (let j = 0; j < COLS; j++) out[i * COLS + j] = xs[i * COLS + j] + row[j];
    }
  },
});
