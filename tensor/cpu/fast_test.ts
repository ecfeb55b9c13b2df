import { deepStrictEqual, ok } from "node:assert/strict";
import { FAST_BINARY_JS, reluF32, selectF32 } from "./fast.ts";
import { BINARY_TABLE } from "../elementwise_table.ts";
import { cpuData } from "./backend.ts";
import { tensor } from "../mod.ts";

const SPECIAL = [0, -0, 1, -1, 0.5, -2.5, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.4e38, -3.4e38];

Deno.test("reluF32 equals x > 0 ? x : 0 on every special float32 value, at an offset", () => {
  const x = Float32Array.from([7, ...SPECIAL]);
  const out = new Float32Array(SPECIAL.length).fill(9);
  reluF32(x, 1, out, SPECIAL.length);
  SPECIAL.forEach((v, i) => ok(Object.is(out[i], Math.fround(v > 0 ? v : 0)), `relu(${v}) = ${out[i]}`));
});

Deno.test("selectF32 equals cond ? a : 0 and cond ? 0 : a", () => {
  const a = Float32Array.from(SPECIAL);
  const cond = Uint8Array.from(SPECIAL.map((_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : 2)));
  for (const negate of [false, true]) {
    const out = new Float32Array(a.length).fill(9);
    selectF32(cond, 0, a, 0, out, a.length, negate);
    a.forEach((v, i) => {
      const want = (cond[i] ? !negate : negate) ? v : 0;
      ok(Object.is(out[i], want), `select ${i} negate=${negate}: ${out[i]} vs ${want}`);
    });
  }
});

Deno.test("branch-free comparison expressions equal the table's", () => {
  for (const [op, expr] of Object.entries(FAST_BINARY_JS)) {
    const fast = new Function("x", "y", `return ${expr};`) as (x: number, y: number) => number;
    const ref = new Function("x", "y", `return ${BINARY_TABLE[op as keyof typeof BINARY_TABLE].js};`) as (
      x: number,
      y: number,
    ) => number;
    for (const x of SPECIAL) for (const y of SPECIAL) deepStrictEqual(fast(x, y), ref(x, y), `${op}(${x}, ${y})`);
  }
});

Deno.test("relu, its gradient and where on the CPU backend take the fast paths and match direct loops", () => {
  const vals = [-2, -0.5, 0, 0.5, 3, -1, 2, -3];
  const x = tensor(vals).requiresGrad_();
  const y = x.relu();
  deepStrictEqual([...cpuData(y.storage)], vals.map((v) => (v > 0 ? v : 0)));
  y.backward(tensor(vals.map((_, i) => i + 1)));
  deepStrictEqual([...(x.grad as NonNullable<typeof x.grad>).dataSync()], vals.map((v, i) => (v > 0 ? i + 1 : 0)));
});
