import { ok } from "node:assert/strict";
import type { RnnCellBackwardArgs, RnnCellForwardArgs, RnnCellMode, View } from "../backend.ts";
import { cpuData, CpuStorage } from "./storage.ts";
import { rnnCellBackward, rnnCellForward } from "./rnn_cell.ts";
import { wasmRnnCellBackward, wasmRnnCellForward } from "./rnn_wasm.ts";
import { wasmOps } from "./wasm/runtime.ts";
import { freeAll, heapF32, random } from "./wasm_test_util.ts";

const ops = wasmOps();
const HAVE_WASM = ops !== null;

/** Asserts |a - e| ≤ atol + rtol·|e| elementwise. */
function near(a: ArrayLike<number>, e: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  ok(a.length === e.length, `${what}: length ${a.length} vs ${e.length}`);
  for (let i = 0; i < e.length; i++) {
    ok(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]), `${what}[${i}]: ${a[i]}, expected ${e[i]}`);
  }
}

Deno.test({
  name: "rnn_kernel exp and tanh: within a few float32 ulps of Math.exp and Math.tanh over their range",
  ignore: !HAVE_WASM,
  fn() {
    try {
      const n = 4099;
      const src = heapF32(n), dst = heapF32(n);
      for (const [lo, hi] of [[-87, 88], [-1, 1], [-1e-4, 1e-4], [-12, 12]]) {
        for (let i = 0; i < n; i++) src[i] = lo + ((hi - lo) * i) / (n - 1);
        ops!.rnn_exp(1, n, src.byteOffset, dst.byteOffset);
        for (let i = 0; i < n; i++) {
          const e = Math.exp(src[i]);
          ok(Math.abs(dst[i] - e) <= 3e-7 * e, `exp(${src[i]}) = ${dst[i]}, expected ${e}`);
        }
        ops!.rnn_tanh(1, n, src.byteOffset, dst.byteOffset);
        for (let i = 0; i < n; i++) {
          const e = Math.tanh(src[i]);
          ok(Math.abs(dst[i] - e) <= 3e-7 * Math.abs(e) + 1e-45, `tanh(${src[i]}) = ${dst[i]}, expected ${e}`);
        }
      }
    } finally {
      freeAll();
    }
  },
});

const GATES: Record<RnnCellMode, number> = { lstm: 4, gru: 3, rnnTanh: 1, rnnRelu: 1 };

/** A row block `[rows, width]` of random values `offset` elements into a heap array (or an ordinary one). */
function block(rows: number, width: number, seed: number, offset = 0, heap = true): View {
  const n = rows * width + offset;
  const data = heap ? heapF32(n) : new Float32Array(n);
  random(data, seed, 2);
  return { storage: new CpuStorage(data), shape: [rows, width], strides: [width, 1], offset };
}

/** A copy of a view over a fresh array of the same kind (outputs of the two runs must not share memory). */
function twin(v: View): View {
  const src = cpuData(v.storage) as Float32Array;
  const heap = src.buffer instanceof SharedArrayBuffer;
  const d = heap ? heapF32(src.length) : new Float32Array(src.length);
  d.set(src);
  return { ...v, storage: new CpuStorage(d) };
}

const rowsOf = (v: View): number[] => {
  const a = cpuData(v.storage);
  return Array.from(a.subarray(v.offset, v.offset + v.shape[0] * v.shape[1]));
};

Deno.test({
  name: "wasmRnnCell forward and backward: every cell, odd widths, recurrent rows, equal the TypeScript kernels",
  ignore: !HAVE_WASM,
  fn() {
    try {
      let seed = 1;
      for (const mode of ["lstm", "gru", "rnnTanh", "rnnRelu"] as RnnCellMode[]) {
        for (const [n, hid] of [[1, 1], [3, 5], [4, 8], [7, 13]]) {
          for (const withBias of mode === "gru" ? [true, false] : [false]) {
            const g = GATES[mode] * hid;
            const hasSaved = mode === "lstm" || mode === "gru";
            const fwd = (): RnnCellForwardArgs => ({
              mode,
              xGates: block(n, g, seed++, 1),
              hGates: block(n, g, seed++, 2),
              hBias: withBias ? { ...block(1, g, seed++), shape: [g], strides: [1] } : null,
              prev: hasSaved ? block(n, hid, seed++, 3) : null,
              h: block(n, hid, seed++),
              c: mode === "lstm" ? block(n, hid, seed++, 1) : null,
              saved: hasSaved ? block(n, 4 * hid, seed++) : null,
            });
            const a = fwd();
            const b: RnnCellForwardArgs = {
              ...a,
              h: twin(a.h),
              c: a.c && twin(a.c),
              saved: a.saved && twin(a.saved),
            };
            const label = `${mode} ${n}x${hid} bias=${withBias}`;
            ok(wasmRnnCellForward(a), `${label}: the WebAssembly kernel applies`);
            rnnCellForward(cpuData, b);
            near(rowsOf(a.h), rowsOf(b.h), 2e-6, 2e-6, `${label} h`);
            if (a.c) near(rowsOf(a.c), rowsOf(b.c!), 2e-6, 2e-6, `${label} c`);
            if (a.saved) near(rowsOf(a.saved), rowsOf(b.saved!), 2e-6, 2e-6, `${label} saved`);
            for (const recRows of [0, Math.max(1, n - 2), n + 1]) {
              const recs = mode === "gru" ? 2 : 1;
              const bwd: RnnCellBackwardArgs = {
                mode,
                gradH: block(n, hid, seed++, 1),
                gradHRec: recRows ? Array.from({ length: recs }, () => block(recRows, hid, seed++)) : [],
                recRows,
                gradC: mode === "lstm" ? block(n, hid, seed++) : null,
                gradCRec: mode === "lstm" && recRows ? block(recRows, hid, seed++, 2) : null,
                saved: b.saved,
                prev: b.prev,
                out: mode === "lstm" ? b.c : mode === "gru" ? null : b.h,
                gradXGates: block(n, g, seed++),
                gradHGates: mode === "gru" ? block(n, g, seed++) : null,
                gradPrev: hasSaved ? block(n, hid, seed++) : null,
              };
              const ref: RnnCellBackwardArgs = {
                ...bwd,
                gradXGates: twin(bwd.gradXGates),
                gradHGates: bwd.gradHGates && twin(bwd.gradHGates),
                gradPrev: bwd.gradPrev && twin(bwd.gradPrev),
              };
              ok(wasmRnnCellBackward(bwd), `${label} recRows=${recRows}: the WebAssembly kernel applies`);
              rnnCellBackward(cpuData, ref);
              const what = `${label} recRows=${recRows}`;
              near(rowsOf(bwd.gradXGates), rowsOf(ref.gradXGates), 1e-5, 1e-5, `${what} gradXGates`);
              if (bwd.gradHGates) near(rowsOf(bwd.gradHGates), rowsOf(ref.gradHGates!), 1e-5, 1e-5, `${what} gradHG`);
              if (bwd.gradPrev) near(rowsOf(bwd.gradPrev), rowsOf(ref.gradPrev!), 1e-5, 1e-5, `${what} gradPrev`);
            }
          }
        }
      }
    } finally {
      freeAll();
    }
  },
});

Deno.test({
  name: "wasmRnnCell: declines operands outside the heap, other dtypes or strided rows, writing nothing",
  ignore: !HAVE_WASM,
  fn() {
    try {
      const n = 2, hid = 4;
      const args = (heap: boolean): RnnCellForwardArgs => ({
        mode: "rnnTanh",
        xGates: block(n, hid, 1, 0, heap),
        hGates: block(n, hid, 2),
        hBias: null,
        prev: null,
        h: block(n, hid, 3),
        c: null,
        saved: null,
      });
      const outside = args(false);
      const before = rowsOf(outside.h);
      ok(!wasmRnnCellForward(outside), "an ordinary array");
      ok(rowsOf(outside.h).every((v, i) => v === before[i]), "nothing written");
      const strided = args(true);
      ok(!wasmRnnCellForward({ ...strided, xGates: { ...strided.xGates, strides: [hid + 1, 1] } }), "padded rows");
      const f64: View = {
        storage: new CpuStorage(new Float64Array(n * hid)),
        shape: [n, hid],
        strides: [hid, 1],
        offset: 0,
      };
      ok(!wasmRnnCellForward({ ...strided, hGates: f64 }), "float64");
    } finally {
      freeAll();
    }
  },
});
