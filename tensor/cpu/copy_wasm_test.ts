import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { View } from "../backend.ts";
import { contiguousStrides, numel, type Shape } from "../shape.ts";
import { CpuStorage } from "./storage.ts";
import { wasmCopy } from "./copy_wasm.ts";
import { freeAll, heapArray, random } from "./wasm_test_util.ts";

/** The reference: element by element, the multi-index walked in row-major order. */
function loopCopy(src: Float32Array | Int32Array, sv: View, dst: Float32Array | Int32Array, dv: View): void {
  const shape = sv.shape, idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < numel(shape); i++) {
    let s = sv.offset, d = dv.offset;
    for (let k = 0; k < shape.length; k++) {
      s += idx[k] * sv.strides[k];
      d += idx[k] * dv.strides[k];
    }
    dst[d] = src[s];
    for (let k = shape.length - 1; k >= 0 && ++idx[k] === shape[k]; k--) idx[k] = 0;
  }
}

/** `shape` permuted by `perm` as a view of a contiguous tensor of the permuted-back shape. */
function permuted(base: Shape, perm: number[], offset = 0): { shape: number[]; strides: number[]; offset: number } {
  const strides = contiguousStrides(base);
  return { shape: perm.map((p) => base[p]), strides: perm.map((p) => strides[p]), offset };
}

const cases: { name: string; src: { shape: number[]; strides: number[]; offset: number }; dst?: number[] }[] = [
  // A Transformer's head split: [B, T, H, hd] read as [B, H, T, hd].
  { name: "transpose(1, 2) of [2, 5, 3, 16]", src: permuted([2, 5, 3, 16], [0, 2, 1, 3]) },
  // A row-slice of a wider matrix (q of a fused qkv projection).
  { name: "columns 24..48 of [6, 72]", src: { shape: [6, 24], strides: [72, 1], offset: 24 } },
  { name: "5-D permutation, odd sizes", src: permuted([3, 2, 5, 4, 9], [1, 0, 3, 2, 4], 7) },
  { name: "one long run", src: { shape: [37], strides: [1], offset: 3 } },
];

Deno.test("wasmCopy: strided views into contiguous storage, bit for bit the element loop's", () => {
  try {
    for (const c of cases) {
      const n = numel(c.src.shape), span = c.src.offset + 4000;
      const src = random(heapArray(Float32Array, span), 11);
      const dst = heapArray(Float32Array, n), want = new Float32Array(n);
      const sv: View = { storage: new CpuStorage(src), ...c.src };
      const dv: View = {
        storage: new CpuStorage(dst),
        shape: c.src.shape,
        strides: contiguousStrides(c.src.shape),
        offset: 0,
      };
      ok(wasmCopy(sv, dv), `${c.name}: the kernel applies`);
      loopCopy(src, sv, want, dv);
      deepStrictEqual(dst, want, c.name);
    }
  } finally {
    freeAll();
  }
});

Deno.test("wasmCopy: a slice's gradient written into its strided place, the rest untouched; int32 too", () => {
  try {
    // g [4, 3, 16] into columns 16..32 of [4, 3, 48] (sliceBackward of a split).
    const g = random(heapArray(Float32Array, 4 * 3 * 16), 5);
    const out = heapArray(Float32Array, 4 * 3 * 48).fill(-7), want = new Float32Array(4 * 3 * 48).fill(-7);
    const gv: View = { storage: new CpuStorage(g), shape: [4, 3, 16], strides: [48, 16, 1], offset: 0 };
    const ov: View = { storage: new CpuStorage(out), shape: [4, 3, 16], strides: [144, 48, 1], offset: 16 };
    ok(wasmCopy(gv, ov));
    loopCopy(g, gv, want, ov);
    deepStrictEqual(out, want);
    const ints = heapArray(Int32Array, 64), intOut = heapArray(Int32Array, 64);
    ints.forEach((_, i) => (ints[i] = i * 3 - 50)); // in place: map would return an array outside the heap
    const iv: View = { storage: new CpuStorage(ints), shape: [8, 8], strides: [1, 8], offset: 0 };
    // Transposed innermost: stride 8, not a run — declined, nothing written.
    equal(wasmCopy(iv, { storage: new CpuStorage(intOut), shape: [8, 8], strides: [8, 1], offset: 0 }), false);
    deepStrictEqual([...intOut], new Array(64).fill(0));
    ok(
      wasmCopy({ ...iv, strides: [8, 1] }, {
        storage: new CpuStorage(intOut),
        shape: [8, 8],
        strides: [8, 1],
        offset: 0,
      }),
    );
    deepStrictEqual([...intOut], [...ints]);
  } finally {
    freeAll();
  }
});

Deno.test("wasmCopy declines casts, short runs and arrays outside the heap", () => {
  try {
    const f = random(heapArray(Float32Array, 64), 1), i = heapArray(Int32Array, 64);
    const view = (s: Float32Array | Int32Array, shape = [8, 8]): View => ({
      storage: new CpuStorage(s),
      shape,
      strides: contiguousStrides(shape),
      offset: 0,
    });
    equal(wasmCopy(view(f), view(i)), false, "float32 → int32 is a cast");
    equal(wasmCopy(view(f, [16, 4]), view(heapArray(Float32Array, 64), [16, 4])), true, "collapsed to one run of 64");
    const shortRuns: View = { storage: new CpuStorage(f), shape: [16, 4], strides: [4, 1], offset: 0 };
    equal(wasmCopy({ ...shortRuns, strides: [8, 1], shape: [8, 4] }, view(heapArray(Float32Array, 32), [8, 4])), false);
    equal(wasmCopy(view(new Float32Array(64)), view(heapArray(Float32Array, 64))), false, "outside the heap");
  } finally {
    freeAll();
  }
});
