import { deepStrictEqual, ok } from "node:assert/strict";
import * as norm from "./norm.ts";
import { wasmBatchNormBackward, wasmBatchNormForward, wasmBatchNormStats } from "./norm_wasm.ts";
import { wasmOps } from "./wasm/runtime.ts";
import { freeAll, heapArray, heapF32, random, ulp } from "./wasm_test_util.ts";

const HAVE_WASM = wasmOps() !== null;

function close(got: number, want: number, label: string, slack = 0): void {
  ok(Math.abs(got - want) <= ulp(want) + slack, `${label}: ${got} vs ${want}`);
}

/** Mean and biased variance of channel ch of x `[n, c, s]`, by definition in float64. */
function channelStats(x: Float32Array, n: number, c: number, s: number, ch: number): [number, number] {
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < s; j++) sum += x[(i * c + ch) * s + j];
  const mu = sum / (n * s);
  let sq = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < s; j++) sq += (x[(i * c + ch) * s + j] - mu) ** 2;
  return [mu, sq / (n * s)];
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 2, 1],
  [2, 3, 3],
  [1, 2, 4],
  [2, 1, 5],
  [3, 2, 7],
  [2, 3, 16],
  [2, 2, 17],
  [1, 3, 1000],
  [2, 2, 1031],
  [64, 5, 1],
];

Deno.test({
  name: "wasmBatchNormStats: mean, invStd, variance per channel (tails, offsets, a large mean)",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const [n, c, s] of SHAPES) {
        for (const offset of [0, 3]) {
          // A mean far from zero relative to the spread: the two-pass variance must not cancel.
          const x = random(heapF32(n * c * s, offset), n * 100 + s, 0.5, 100);
          const mean = new Float32Array(c), invStd = new Float32Array(c), variance = new Float32Array(c);
          ok(wasmBatchNormStats(x, n, c, s, 1e-5, mean, invStd, variance));
          const tm = new Float32Array(c), ti = new Float32Array(c), tv = new Float32Array(c);
          norm.batchNormStats(x, n, c, s, 1e-5, tm, ti, tv);
          for (let ch = 0; ch < c; ch++) {
            const [mu, v] = channelStats(x, n, c, s, ch);
            const label = `[${n},${c},${s}]@${offset} ch ${ch}`;
            close(mean[ch], mu, `${label} mean`);
            close(variance[ch], v, `${label} variance`);
            close(invStd[ch], 1 / Math.sqrt(v + 1e-5), `${label} invStd`);
            close(mean[ch], tm[ch], `${label} mean vs norm.ts`);
            close(variance[ch], tv[ch], `${label} var vs norm.ts`);
            close(invStd[ch], ti[ch], `${label} invStd vs norm.ts`);
          }
          // Without a variance output.
          const m2 = new Float32Array(c), i2 = new Float32Array(c);
          ok(wasmBatchNormStats(x, n, c, s, 1e-5, m2, i2, null));
          deepStrictEqual([m2, i2], [mean, invStd]);
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmBatchNormForward: bit-identical to norm.batchNormForward and to the direct loop",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const [n, c, s] of [...SHAPES, [8, 64, 32 * 32] as [number, number, number]]) {
        for (const offset of [0, 1]) {
          const size = n * c * s;
          const x = random(heapF32(size, offset), size + offset, 3, 1);
          const ch = (seed: number, scale: number, shift: number) =>
            Float64Array.from(random(new Float32Array(c), seed, scale, shift));
          const mean = ch(1, 1, 1), invStd = ch(2, 0.5, 1), weight = ch(3, 1, 0), bias = ch(4, 1, 0);
          const out = heapF32(size + 2, offset).fill(-7);
          ok(wasmBatchNormForward(x, n, c, s, mean, invStd, weight, bias, out));
          const ref = new Float32Array(size);
          norm.batchNormForward(x, n, c, s, mean, invStd, weight, bias, ref);
          deepStrictEqual(out.subarray(0, size), ref, `[${n},${c},${s}]@${offset}`);
          deepStrictEqual([...out.subarray(size)], [-7, -7], "nothing written past the end");
          for (let i = 0; i < size; i += 1 + (size >> 10)) {
            const k = Math.floor(i / s) % c;
            deepStrictEqual(out[i], Math.fround((x[i] - mean[k]) * (invStd[k] * weight[k]) + bias[k]));
          }
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmBatchNormBackward: gradients with and without batch statistics, any subset of outputs",
  ignore: !HAVE_WASM,
  fn() {
    try {
      for (const [n, c, s] of [...SHAPES, [8, 64, 32 * 32] as [number, number, number]]) {
        const size = n * c * s, m = n * s;
        const g = random(heapF32(size, 1), size, 1, 0.1), x = random(heapF32(size, 2), size + 1, 2, 0.5);
        const mean = new Float64Array(c), invStd = new Float64Array(c);
        for (let k = 0; k < c; k++) {
          const [mu, v] = channelStats(x, n, c, s, k);
          mean[k] = Math.fround(mu);
          invStd[k] = Math.fround(1 / Math.sqrt(v + 1e-5));
        }
        const weight = Float64Array.from(random(new Float32Array(c), 5, 1, 0.5));
        // Sums by definition, for the expected values.
        const sumG = new Float64Array(c), sumGX = new Float64Array(c);
        for (let i = 0; i < size; i++) {
          const k = Math.floor(i / s) % c;
          sumG[k] += g[i];
          sumGX[k] += g[i] * (x[i] - mean[k]);
        }
        for (const batchStats of [true, false]) {
          const gradIn = heapF32(size + 1).fill(-7);
          const gradWeight = new Float32Array(c), gradBias = new Float32Array(c);
          ok(wasmBatchNormBackward(g, x, n, c, s, mean, invStd, weight, batchStats, gradIn, gradWeight, gradBias));
          const label = `[${n},${c},${s}] batchStats=${batchStats}`;
          deepStrictEqual(gradIn[size], -7, `${label}: nothing written past the end`);
          for (let k = 0; k < c; k++) {
            close(gradBias[k], sumG[k], `${label} gradBias[${k}]`, 1e-12 * m);
            close(gradWeight[k], sumGX[k] * invStd[k], `${label} gradWeight[${k}]`, 1e-12 * m);
          }
          for (let i = 0; i < size; i++) {
            const k = Math.floor(i / s) % c, kk = invStd[k] * weight[k];
            const want = batchStats
              ? kk * (g[i] - sumG[k] / m - (x[i] - mean[k]) * ((invStd[k] * invStd[k] * sumGX[k]) / m))
              : kk * g[i];
            if (batchStats) close(gradIn[i], want, `${label} gradIn[${i}]`, 1e-12);
            else deepStrictEqual(gradIn[i], Math.fround(want), `${label} gradIn[${i}]`);
          }
          const ref = new Float32Array(size), refW = new Float32Array(c), refB = new Float32Array(c);
          norm.batchNormBackward(g, x, n, c, s, mean, invStd, weight, batchStats, ref, refW, refB);
          for (let i = 0; i < size; i++) close(gradIn[i], ref[i], `${label} gradIn[${i}] vs norm.ts`, 1e-12);
          // Only some outputs: the others stay untouched.
          const onlyBias = new Float32Array(c), gi2 = heapF32(size);
          ok(wasmBatchNormBackward(g, x, n, c, s, mean, invStd, weight, batchStats, null, null, onlyBias));
          deepStrictEqual(onlyBias, gradBias);
          ok(wasmBatchNormBackward(g, x, n, c, s, mean, invStd, weight, batchStats, gi2, null, null));
          deepStrictEqual(gi2, gradIn.subarray(0, size));
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "batch norm kernels return false and write nothing where they do not apply",
  ignore: !HAVE_WASM,
  fn() {
    try {
      const [n, c, s] = [2, 3, 5], size = n * c * s;
      const x = random(heapF32(size), 1), g = random(heapF32(size), 2);
      const plain = x.slice(); // not in the heap
      const f64x = heapArray(Float64Array, size);
      const ones = new Float64Array(c).fill(1), zeros = new Float64Array(c);
      const mean = new Float32Array(c).fill(-7), invStd = new Float32Array(c).fill(-7);
      const untouched = (a: ArrayLike<number>) => ok(Array.from(a).every((v) => v === -7));
      ok(!wasmBatchNormStats(plain, n, c, s, 1e-5, mean, invStd, null));
      ok(!wasmBatchNormStats(f64x, n, c, s, 1e-5, mean, invStd, null));
      ok(!wasmBatchNormStats(x, n, c, s, 1e-5, new Float64Array(c), invStd, null));
      ok(!wasmBatchNormStats(x, n, c, s, 1e-5, mean, invStd, new Float32Array(c - 1)));
      ok(!wasmBatchNormStats(x, 0, c, s, 1e-5, mean, invStd, null), "n·s = 0");
      untouched(mean);
      untouched(invStd);
      const out = heapF32(size).fill(-7);
      ok(!wasmBatchNormForward(plain, n, c, s, zeros, ones, ones, zeros, out));
      ok(!wasmBatchNormForward(x, n, c, s, zeros, ones, ones, zeros, new Float32Array(size)));
      ok(!wasmBatchNormForward(x, n, c, s, zeros, ones, ones, zeros, heapF32(size - 1)));
      untouched(out);
      const gw = new Float32Array(c).fill(-7), gb = new Float32Array(c).fill(-7);
      ok(!wasmBatchNormBackward(plain, x, n, c, s, zeros, ones, ones, true, out, gw, gb));
      ok(!wasmBatchNormBackward(g, plain, n, c, s, zeros, ones, ones, true, out, gw, gb));
      ok(!wasmBatchNormBackward(g, x, n, c, s, zeros, ones, ones, true, new Float32Array(size), gw, gb));
      ok(!wasmBatchNormBackward(g, x, n, c, s, zeros, ones, ones, true, out, new Float64Array(c), gb));
      untouched(out);
      untouched(gw);
      untouched(gb);
    } finally {
      freeAll();
    }
  },
});
