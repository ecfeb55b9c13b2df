import assert from "node:assert/strict";
import { logSoftmax, manualSeed, randn, softmax, tensor } from "../mod.ts";
import { close, vals } from "./test_util.ts";

/** Softmax of row-major `values` of `shape` along `dim`, by direct loops. */
function refSoftmax(values: number[], shape: number[], dim: number, log: boolean): number[] {
  const out = new Array<number>(values.length);
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const n = shape[dim];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const idx = (j: number) => o * n * inner + j * inner + i;
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, values[idx(j)]);
      let z = 0;
      for (let j = 0; j < n; j++) z += Math.exp(values[idx(j)] - m);
      for (let j = 0; j < n; j++) {
        out[idx(j)] = log ? values[idx(j)] - m - Math.log(z) : Math.exp(values[idx(j)] - m) / z;
      }
    }
  }
  return out;
}

Deno.test("softmax and logSoftmax along every dim (negative dims too) match direct loops", () => {
  manualSeed(5);
  const shape = [2, 3, 4];
  const x = randn(shape, { dtype: "float64" });
  for (let dim = 0; dim < 3; dim++) {
    for (const log of [false, true]) {
      const ref = refSoftmax(vals(x), shape, dim, log);
      close(vals(log ? x.logSoftmax(dim) : x.softmax(dim)), ref, 1e-12, `log=${log} dim ${dim}`);
      close(vals(log ? logSoftmax(x, dim - 3) : softmax(x, dim - 3)), ref, 1e-12, `log=${log} dim ${dim - 3}`);
    }
  }
  // Rows sum to one.
  const s = x.softmax(1).sum(1);
  close(vals(s), new Array(8).fill(1), 1e-12, "sums");
});

Deno.test("softmax of a strided input, large values, -inf and int input", () => {
  const x = tensor([[1000, 1001, 1002], [-Infinity, 0, 1]], { dtype: "float64" });
  close(vals(x.softmax(1)), refSoftmax(vals(x), [2, 3], 1, false), 1e-12, "large");
  close(vals(x.logSoftmax(1)), refSoftmax(vals(x), [2, 3], 1, true), 1e-12, "log large");
  const t = x.t(); // [3, 2], strided
  close(vals(t.softmax(0)), refSoftmax(vals(t.contiguous()), [3, 2], 0, false), 1e-12, "strided");
  const i = tensor([1, 2, 3], { dtype: "int32" }).softmax(0);
  assert.equal(i.dtype, "float32");
  close(vals(i), refSoftmax([1, 2, 3], [3], 0, false), 1e-6, "int");
  assert.deepEqual(vals(tensor(5).softmax(0)), [1]);
  assert.throws(() => x.softmax(2), /softmax: dimension 2 is out of range for a tensor of rank 2/);
});
