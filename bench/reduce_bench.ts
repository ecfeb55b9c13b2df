/**
 * Reductions on a 1024×1024 float32 matrix: sum over everything, over the
 * last dim (contiguous rows), over the first dim (strided columns), and a
 * row softmax; each sum beside a hand-written loop for scale.
 * Run: `deno bench -A bench/reduce_bench.ts`.
 *
 * @module
 */

import { tensor } from "../mod.ts";
import { randomFloats } from "./naive_matmul.ts";

const ROWS = 1024;
const COLS = 1024;
const xs = randomFloats(ROWS * COLS, 1);
const x = tensor(xs, { shape: [ROWS, COLS] });
const rowOut = new Float32Array(ROWS);
const colOut = new Float32Array(COLS);

Deno.bench({ name: "sum all", group: "sum all", baseline: true, fn: () => x.sum().dispose() });
Deno.bench({
  name: "sum all (hand loop)",
  group: "sum all",
  fn() {
    let acc = 0;
    for (let i = 0; i < xs.length; i++) acc += xs[i];
    rowOut[0] = acc;
  },
});

Deno.bench({ name: "sum dim -1", group: "sum last dim", baseline: true, fn: () => x.sum(-1).dispose() });
Deno.bench({
  name: "sum dim -1 (hand loop)",
  group: "sum last dim",
  fn() {
    for (let i = 0; i < ROWS; i++) {
      let acc = 0;
      for (let j = 0; j < COLS; j++) acc += xs[i * COLS + j];
      rowOut[i] = acc;
    }
  },
});

Deno.bench({ name: "sum dim 0", group: "sum first dim", baseline: true, fn: () => x.sum(0).dispose() });
Deno.bench({
  name: "sum dim 0 (hand loop, row-wise accumulate)",
  group: "sum first dim",
  fn() {
    colOut.fill(0);
    for (let i = 0; i < ROWS; i++) {
      for (let j = 0; j < COLS; j++) colOut[j] += xs[i * COLS + j];
    }
  },
});

Deno.bench({ name: "softmax dim -1", group: "softmax rows", baseline: true, fn: () => x.softmax(-1).dispose() });
Deno.bench({ name: "logSoftmax dim -1", group: "softmax rows", fn: () => x.logSoftmax(-1).dispose() });
