// The CPU scatter kernel's row path (an index broadcast along the innermost dim: a graph's edge index over the
// features), with the WebAssembly SIMD row sum and the TypeScript loops, against a direct loop.
import assert from "node:assert/strict";
import { cpuBackend, Generator, randint, randn, setCpuKernels, tensor } from "../mod.ts";

Deno.test("scatterReduce rows: WebAssembly and TypeScript sums equal a direct loop (tails, strided source rows, offsets)", () => {
  const g = new Generator(4);
  for (const f of [16, 37, 64]) {
    const nodes = 9, edges = 50;
    const target = randint(0, nodes, [edges], { generator: g });
    // A source whose rows are strided (a column slice of a wider matrix, at an offset).
    const wide = randn([edges, f + 3], { generator: g });
    const src = wide.narrow(1, 2, f);
    const index = target.reshape([edges, 1]).expand([edges, f]);
    const init = randn([nodes + 1, f], { generator: g });
    const expected = Array.from(init.dataSync());
    const tv = target.dataSync(), sv = src.contiguous().dataSync();
    for (let e = 0; e < edges; e++) {
      for (let k = 0; k < f; k++) expected[tv[e] * f + k] = Math.fround(expected[tv[e] * f + k] + sv[e * f + k]);
    }
    for (const kind of ["wasm", "ts"] as const) {
      setCpuKernels(kind);
      try {
        const out = init.clone();
        cpuBackend.scatterReduce("sum", out.storage, out.shape, 0, index, src);
        assert.deepEqual(Array.from(out.dataSync()), expected, `${kind} F=${f}`);
        // amax takes the row path through the TypeScript loop.
        const mx = init.clone();
        cpuBackend.scatterReduce("amax", mx.storage, mx.shape, 0, index, src);
        const ref = Array.from(init.dataSync());
        for (let e = 0; e < edges; e++) {
          for (let k = 0; k < f; k++) ref[tv[e] * f + k] = Math.max(ref[tv[e] * f + k], sv[e * f + k]);
        }
        assert.deepEqual(Array.from(mx.dataSync()), ref, `amax ${kind} F=${f}`);
      } finally {
        setCpuKernels("wasm");
      }
    }
  }
});

Deno.test("scatterReduce checks an index broadcast over a row once, and still finds a bad one before writing", () => {
  const out = tensor([[1, 2], [3, 4]]);
  const index = tensor([0, 5], { dtype: "int32" }).reshape([2, 1]).expand([2, 2]);
  assert.throws(
    () => cpuBackend.scatterReduce("sum", out.storage, out.shape, 0, index, tensor([[1, 1], [1, 1]])),
    /scatterReduce: index 5 is out of range for dimension 0 of size 2/,
  );
  assert.deepEqual(Array.from(out.dataSync()), [1, 2, 3, 4]);
});
