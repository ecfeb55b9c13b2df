/**
 * The CPU backend: typed arrays in the WebAssembly heap (`storage.ts`),
 * WebAssembly SIMD kernels where they apply (`*_wasm.ts`), else loops compiled
 * from the elementwise table, a blocked matmul, and convolution as GEMMs
 * (`conv.ts`).
 *
 * @module
 */

import type {
  AdamUpdateOptions,
  AttentionArgs,
  Backend,
  BatchNormGrads,
  BinaryOp,
  Conv2dGeometry,
  CrossEntropyArgs,
  Interpolate2dGeometry,
  Pool2dGeometry,
  RandomKind,
  ReduceOp,
  RnnCellBackwardArgs,
  RnnCellForwardArgs,
  ScatterReduceOp,
  SgdUpdateOptions,
  Storage,
  StorageLimit,
  UnaryOp,
  View,
} from "../backend.ts";
import { registerBackend } from "../backend.ts";
import { type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { BINARY_TABLE, erf, roundHalfEven, UNARY_TABLE } from "../elementwise_table.ts";
import { normalAt, uniformAt } from "../random.ts";
import { contiguousStrides, isContiguous, numel, type Shape } from "../shape.ts";
import { collapseDims, compileLoop } from "./strided.ts";
import { heapAddress, wasmOps } from "./wasm/runtime.ts";
import { cpuData, cpuOut, CpuStorage, freeStorage, newStorage, tempStorage, yieldIfHeapFull } from "./storage.ts";

export { cpuData, CpuStorage };
import { gemm } from "./matmul.ts";
import { reduceKernel, reduceStrided } from "./reduce.ts";
import { FAST_BINARY_JS, reluF32, selectF32 } from "./fast.ts";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from "./conv.ts";
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from "./pool.ts";
import { interpolate2d, interpolate2dBackward } from "./interpolate.ts";
import * as norm from "./norm.ts";
import { getCpuKernels } from "./kernels.ts";
import {
  wasmBinary,
  wasmGeluBackward,
  wasmReluBackward,
  wasmSiluBackward,
  wasmUnary,
  wasmWhere,
} from "./elementwise_wasm.ts";
import { wasmAvgPool2d, wasmAvgPool2dBackward, wasmMaxPool2d, wasmMaxPool2dBackward } from "./pool_wasm.ts";
import { wasmReduce } from "./reduce_wasm.ts";
import { wasmBatchNormBackward, wasmBatchNormForward, wasmBatchNormStats } from "./norm_wasm.ts";
import { wasmAdamUpdate, wasmAxpy, wasmSgdUpdate } from "./optim_wasm.ts";
import * as fused from "./fused.ts";
import { gather, scatterReduce } from "./indexing.ts";
import { rnnCellBackward, rnnCellForward } from "./rnn_cell.ts";
import { wasmRnnCellBackward, wasmRnnCellForward } from "./rnn_wasm.ts";
import * as attention from "./attention.ts";
import { wasmAttentionBackward, wasmAttentionForward } from "./attention_wasm.ts";
import { wasmCopy } from "./copy_wasm.ts";

const HELPERS = { erf, roundHalfEven };
const HELPER_NAMES = Object.keys(HELPERS);

const scalarCache = new Map<number, Float64Array>();
function scalarArray(v: number): Float64Array {
  // A one-element array read with stride 0 lets scalar operands share the strided loop.
  let a = scalarCache.get(v);
  if (!a) {
    a = new Float64Array([v]);
    if (scalarCache.size > 256) scalarCache.clear();
    scalarCache.set(v, a);
  }
  return a;
}

type Operand = { data: ArrayLike<number>; offset: number; strides: readonly number[] };

function operand(x: View | number, rank: number): Operand {
  if (typeof x === "number") return { data: scalarArray(x), offset: 0, strides: new Array(rank).fill(0) };
  return { data: cpuData(x.storage), offset: x.offset, strides: x.strides };
}

function runLoop(expr: string, operands: Operand[], shape: Shape, out: TypedArray, dst?: View): void {
  if (numel(shape) === 0) return;
  const strided = dst !== undefined && !isContiguous(dst.shape, dst.strides);
  const c = collapseDims(
    shape,
    strided ? [...operands.map((o) => o.strides), dst.strides] : operands.map((o) => o.strides),
  );
  let typeKey = out.constructor.name;
  for (const o of operands) typeKey += "," + (o.data as TypedArray).constructor.name;
  const loop = compileLoop(operands.length, expr, HELPER_NAMES, strided, typeKey);
  const outStrides = strided ? c.strides.pop() : undefined;
  loop(
    out,
    operands.map((o) => o.data),
    operands.map((o) => o.offset),
    c.strides,
    c.shape,
    dst?.offset ?? 0,
    HELPERS,
    outStrides,
  );
}

const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/**
 * The largest host allocation worth trying: V8's cap on one ArrayBuffer (32 GiB), and where Deno may read it
 * (`--allow-sys`; never prompted for), the memory the machine has available now — beyond it the allocation would fail
 * or the process be killed.
 */
function hostMemoryLimit(): { bytes: number; limit: string } {
  const v8Max = 32 * 2 ** 30;
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "systemMemoryInfo" }).state === "granted") {
      const info = Deno.systemMemoryInfo();
      const free = info.available > 0 ? info.available : info.total;
      if (free > 0 && free < v8Max) return { bytes: free, limit: `the ${free} bytes of memory available now` };
    }
  } catch {
    // Not in Deno, or no permission API: V8's cap alone.
  }
  return { bytes: v8Max, limit: `the largest ArrayBuffer V8 allows, ${v8Max} bytes` };
}

/** The CPU implementation of the Backend contract. */
export class CpuBackend implements Backend {
  /** The device name. */
  readonly device = "cpu";

  alloc(dtype: DType, length: number): Storage {
    return newStorage(dtype, length);
  }

  /** One ArrayBuffer's most (V8 caps it at 32 GiB), and no more than the memory available now where Deno may read it. */
  storageLimit(dtype: DType): StorageLimit {
    const size = BYTES_PER_ELEMENT[dtype];
    const { bytes, limit } = hostMemoryLimit();
    return { elements: Math.floor(bytes / size), bytesPerElement: size, limit };
  }

  upload(data: TypedArray): Storage {
    const s = newStorage(dtypeOfArray(data), data.length);
    s.overwrite().set(data);
    return s;
  }

  async read(storage: Storage): Promise<TypedArray> {
    const copy = this.readSync(storage);
    // Usually resolves at once; when the heap is full, gives the engine one turn to return dead storage (storage.ts).
    await yieldIfHeapFull();
    return copy;
  }

  /** A copy the caller owns (heap blocks are reused once their storage is freed, so a view must not escape). */
  readSync(storage: Storage): TypedArray {
    return cpuData(storage).slice();
  }

  free(storage: Storage): void {
    if (storage instanceof CpuStorage) freeStorage(storage);
  }

  copy(src: View, dst: View): void {
    const o = cpuData(dst.storage);
    const toBool = o instanceof Uint8Array && !(cpuData(src.storage) instanceof Uint8Array);
    if (!toBool && wasmOn() && wasmCopy(src, dst)) return;
    runLoop(toBool ? "(x ? 1 : 0)" : "x", [operand(src, src.shape.length)], src.shape, o, dst);
  }

  fill(out: Storage, value: number): void {
    claim(out);
    if (!fillHeap(out, value)) cpuData(out).fill(value);
  }

  axpy(out: Storage, x: View, alpha: number): void {
    if (wasmOn() && wasmAxpy(out, x, alpha)) return;
    // The ops layer passes x of out's dtype, so a strided x's contiguous copy holds the same values.
    const o = cpuData(out), src = contig(this, x);
    for (let i = 0; i < src.length; i++) o[i] += alpha * src[i];
  }

  crossEntropyForward(args: CrossEntropyArgs, loss: Storage, rowWeight: Storage, saved: Storage): void {
    claim(loss, rowWeight, saved);
    fused.crossEntropyForward(cpuData, args, loss, rowWeight, saved);
  }

  crossEntropyBackward(args: CrossEntropyArgs, saved: View, gradLoss: View, out: Storage): void {
    claim(out);
    fused.crossEntropyBackward(cpuData, args, saved, gradLoss, out);
  }

  attentionForward(args: AttentionArgs, out: Storage, lse: Storage): void {
    claim(out, lse);
    if (wasmOn() && wasmAttentionForward(args, out, lse)) return;
    attention.attentionForward(cpuData, args, out, lse);
  }

  attentionBackward(
    args: AttentionArgs,
    out: View,
    lse: View,
    gradOut: View,
    gradQ: Storage,
    gradK: Storage,
    gradV: Storage,
  ): void {
    claim(gradQ, gradK, gradV);
    if (wasmOn() && wasmAttentionBackward(args, out, lse, gradOut, gradQ, gradK, gradV)) return;
    attention.attentionBackward(cpuData, args, out, lse, gradOut, gradQ, gradK, gradV);
  }

  adamUpdate(
    param: Storage,
    grad: View,
    expAvg: Storage,
    expAvgSq: Storage,
    maxExpAvgSq: Storage | null,
    o: AdamUpdateOptions,
  ): void {
    if (wasmOn() && wasmAdamUpdate(param, grad, expAvg, expAvgSq, maxExpAvgSq, o)) return;
    fused.adamUpdate(cpuData, param, grad, expAvg, expAvgSq, maxExpAvgSq, o);
  }

  sgdUpdate(param: Storage, grad: View, momentumBuffer: Storage | null, o: SgdUpdateOptions): void {
    if (wasmOn() && wasmSgdUpdate(param, grad, momentumBuffer, o)) return;
    fused.sgdUpdate(cpuData, param, grad, momentumBuffer, o);
  }

  rnnCellForward(args: RnnCellForwardArgs): void {
    if (wasmOn() && wasmRnnCellForward(args)) return;
    rnnCellForward(cpuData, args);
  }

  rnnCellBackward(args: RnnCellBackwardArgs): void {
    if (wasmOn() && wasmRnnCellBackward(args)) return;
    rnnCellBackward(cpuData, args);
  }

  unary(op: UnaryOp, a: View, out: Storage): void {
    claim(out);
    if (wasmOn() && wasmUnary(op, a, out)) return;
    const o = cpuData(out), x = cpuData(a.storage);
    if (op === "relu" && x instanceof Float32Array && o instanceof Float32Array && isContiguous(a.shape, a.strides)) {
      reluF32(x, a.offset, o, o.length);
      return;
    }
    runLoop(UNARY_TABLE[op].js, [operand(a, a.shape.length)], a.shape, o);
  }

  binary(op: BinaryOp, a: View | number, b: View | number, out: Storage, shape: Shape): void {
    claim(out);
    if (wasmOn()) {
      if (op === "thresholdBackward") {
        if (typeof a === "object" && typeof b === "object" && wasmReluBackward(a, b, out)) return;
      } else if (op === "geluBackward") {
        if (typeof a === "object" && typeof b === "object" && wasmGeluBackward(a, b, out)) return;
      } else if (op === "siluBackward") {
        if (typeof a === "object" && typeof b === "object" && wasmSiluBackward(a, b, out)) return;
      } else if (wasmBinary(op, a, b, out, shape)) return;
    }
    runLoop(
      FAST_BINARY_JS[op] ?? BINARY_TABLE[op].js,
      [operand(a, shape.length), operand(b, shape.length)],
      shape,
      cpuData(out),
    );
  }

  where(cond: View, a: View | number, b: View | number, out: Storage, shape: Shape): void {
    claim(out);
    if (wasmOn() && wasmWhere(cond, a, b, out, shape)) return;
    const o = cpuData(out), c = cpuData(cond.storage);
    if (o instanceof Float32Array && c instanceof Uint8Array && isContiguous(shape, cond.strides)) {
      // `cond ? a : 0` and `cond ? 0 : b` over contiguous float32 data (ReLU's and dropout's gradients).
      const [data, negate] = b === 0 ? [a, false] : a === 0 ? [b, true] : [null, false];
      if (typeof data === "object" && data !== null && isContiguous(shape, data.strides)) {
        const d = cpuData(data.storage);
        if (d instanceof Float32Array) {
          selectF32(c, cond.offset, d, data.offset, o, o.length, negate);
          return;
        }
      }
    }
    runLoop(
      "(x ? y : z)",
      [operand(cond, shape.length), operand(a, shape.length), operand(b, shape.length)],
      shape,
      o,
    );
  }

  reduce(op: ReduceOp, a: View, reduceDims: number, out: Storage): void {
    claim(out);
    if (wasmOn() && wasmReduce(op, a, reduceDims, out)) return;
    const kept = a.shape.length - reduceDims;
    const outerShape = a.shape.slice(0, kept), innerShape = a.shape.slice(kept), innerStrides = a.strides.slice(kept);
    const inner = numel(innerShape);
    const c = collapseDims(innerShape, [innerStrides]);
    const x = cpuData(a.storage), o = cpuData(out);
    if (inner <= 1 || (c.shape.length === 1 && c.strides[0][0] === 1)) {
      reduceKernel(op, x, a.offset, outerShape, a.strides.slice(0, kept), inner, o);
    } else if (!reduceStrided(op, x, a.offset, outerShape, a.strides.slice(0, kept), innerShape, innerStrides, o)) {
      // Neither strided layout applies: reduce a contiguous copy.
      reduceKernel(op, contig(this, a), 0, outerShape, contiguousStrides(a.shape).slice(0, kept), inner, o);
    }
  }

  matmul(a: View, b: View, out: Storage): void {
    claim(out);
    const nd = a.shape.length;
    const m = a.shape[nd - 2], k = a.shape[nd - 1], n = b.shape[nd - 1];
    const batchShape = a.shape.slice(0, nd - 2);
    const batch = numel(batchShape);
    const o = cpuData(out);
    const ad = cpuData(a.storage), bd = cpuData(b.storage);
    const idx = new Array<number>(batchShape.length).fill(0);
    for (let t = 0; t < batch; t++) {
      let aOff = a.offset, bOff = b.offset;
      for (let d = 0; d < batchShape.length; d++) {
        aOff += idx[d] * a.strides[d];
        bOff += idx[d] * b.strides[d];
      }
      gemm(
        m,
        n,
        k,
        ad,
        aOff,
        a.strides[nd - 2],
        a.strides[nd - 1],
        bd,
        bOff,
        b.strides[nd - 2],
        b.strides[nd - 1],
        o,
        t * m * n,
      );
      for (let d = batchShape.length - 1; d >= 0; d--) {
        if (++idx[d] < batchShape[d]) break;
        idx[d] = 0;
      }
    }
  }

  gather(a: View, dim: number, index: View, out: Storage): void {
    gather(a, dim, index, cpuOut(out));
  }

  scatterAdd(out: Storage, outShape: Shape, dim: number, index: View, src: View): void {
    scatterReduce("scatterAdd", "sum", cpuData(out), outShape, dim, index, src);
  }

  scatterReduce(
    op: ScatterReduceOp,
    out: Storage,
    outShape: Shape,
    dim: number,
    index: View,
    src: View | number,
  ): void {
    scatterReduce("scatterReduce", op, cpuData(out), outShape, dim, index, src);
  }

  softmax(a: View, out: Storage, log: boolean): void {
    claim(out);
    const x = cpuData(a.storage), o = cpuData(out);
    const [rows, cols] = a.shape;
    for (let r = 0; r < rows; r++) {
      const base = a.offset + r * cols, ob = r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) if (x[base + j] > max) max = x[base + j];
      if (max === -Infinity) max = 0;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(x[base + j] - max);
      if (log) {
        const lse = max + Math.log(sum);
        for (let j = 0; j < cols; j++) o[ob + j] = x[base + j] - lse;
      } else {
        const inv = 1 / sum;
        for (let j = 0; j < cols; j++) o[ob + j] = Math.exp(x[base + j] - max) * inv;
      }
    }
  }

  random(kind: RandomKind, out: Storage, seed: number, offset: number): void {
    claim(out);
    const o = cpuData(out);
    if (kind === "uniform") { for (let i = 0; i < o.length; i++) o[i] = uniformAt(seed, offset + i); }
    else for (let i = 0; i < o.length; i++) o[i] = normalAt(seed, offset, i);
  }

  conv2d(x: View, weight: View, out: Storage, g: Conv2dGeometry): void {
    claim(out);
    conv2dForward(contig(this, x), contig(this, weight), cpuData(out), g);
  }

  conv2dBackwardInput(gradOut: View, weight: View, out: Storage, g: Conv2dGeometry): void {
    claim(out);
    conv2dBackwardInput(contig(this, gradOut), contig(this, weight), cpuData(out), g);
  }

  conv2dBackwardWeight(gradOut: View, x: View, out: Storage, g: Conv2dGeometry): void {
    claim(out);
    conv2dBackwardWeight(contig(this, gradOut), contig(this, x), cpuData(out), g);
  }

  maxPool2d(x: View, out: Storage, indices: Storage, g: Pool2dGeometry): void {
    claim(out, indices);
    const xs = contig(this, x), o = cpuData(out), idx = cpuData(indices) as Int32Array;
    if (!(wasmOn() && wasmMaxPool2d(xs, o, idx, g))) maxPool2d(xs, o, idx, g);
  }

  maxPool2dBackward(gradOut: View, indices: View, out: Storage, g: Pool2dGeometry): void {
    const go = contig(this, gradOut), idx = contig(this, indices) as Int32Array, o = cpuData(out);
    if (!(wasmOn() && wasmMaxPool2dBackward(go, idx, o, g))) maxPool2dBackward(go, idx, o, g);
  }

  avgPool2d(x: View, out: Storage, g: Pool2dGeometry): void {
    claim(out);
    const xs = contig(this, x), o = cpuData(out);
    if (!(wasmOn() && wasmAvgPool2d(xs, o, g))) avgPool2d(xs, o, g);
  }

  avgPool2dBackward(gradOut: View, out: Storage, g: Pool2dGeometry): void {
    const go = contig(this, gradOut), o = cpuData(out);
    if (!(wasmOn() && wasmAvgPool2dBackward(go, o, g))) avgPool2dBackward(go, o, g);
  }

  interpolate2d(x: View, out: Storage, g: Interpolate2dGeometry): void {
    claim(out);
    interpolate2d(contig(this, x), cpuData(out), g);
  }

  interpolate2dBackward(gradOut: View, out: Storage, g: Interpolate2dGeometry): void {
    claim(out);
    interpolate2dBackward(contig(this, gradOut), cpuData(out), g);
  }

  batchNormStats(x: View, eps: number, mean: Storage, invStd: Storage, variance: Storage | null): void {
    claim(mean, invStd, variance);
    const [n, c, s] = x.shape;
    const v = variance ? cpuData(variance) : null;
    const xs = contig(this, x), m = cpuData(mean), is = cpuData(invStd);
    if (wasmOn() && wasmBatchNormStats(xs, n, c, s, eps, m, is, v)) return;
    norm.batchNormStats(xs, n, c, s, eps, m, is, v);
  }

  batchNormForward(x: View, mean: View, invStd: View, weight: View | null, bias: View | null, out: Storage): void {
    claim(out);
    const [n, c, s] = x.shape;
    const args = [
      contig(this, x),
      n,
      c,
      s,
      channels(mean, c, 0),
      channels(invStd, c, 1),
      channels(weight, c, 1),
      channels(bias, c, 0),
      cpuData(out),
    ] as const;
    if (!(wasmOn() && wasmBatchNormForward(...args))) norm.batchNormForward(...args);
  }

  batchNormBackward(
    gradOut: View,
    x: View,
    mean: View,
    invStd: View,
    weight: View | null,
    batchStats: boolean,
    grads: BatchNormGrads,
  ): void {
    const [n, c, s] = x.shape;
    claim(grads.input, grads.weight, grads.bias);
    const d = (o: Storage | null) => (o ? cpuData(o) : null);
    const args = [
      contig(this, gradOut),
      contig(this, x),
      n,
      c,
      s,
      channels(mean, c, 0),
      channels(invStd, c, 1),
      channels(weight, c, 1),
      batchStats,
      d(grads.input),
      d(grads.weight),
      d(grads.bias),
    ] as const;
    if (!(wasmOn() && wasmBatchNormBackward(...args))) norm.batchNormBackward(...args);
  }
}

/**
 * Fills heap storage with `memory.fill` or a SIMD store loop (`fill` on a view
 * of shared memory is several times slower); false when `out` is not in the
 * heap, or the value is not a float32 fill or zero.
 */
function fillHeap(out: Storage, value: number): boolean {
  const data = cpuData(out), at = heapAddress(data), ops = wasmOps();
  if (at < 0 || !ops) return false;
  if (value === 0 && !Object.is(value, -0)) ops.mem_zero(at, data.byteLength);
  else if (data instanceof Float32Array) ops.mem_fill_f32(at, data.length, value);
  else return false;
  return true;
}

/**
 * Marks output storages that the kernel writes in full before reading, so a
 * reused heap block is not zeroed first (`cpuOut`); null entries are skipped.
 */
function claim(...outs: (Storage | null)[]): void {
  for (const o of outs) if (o) cpuOut(o);
}

/** Whether the WebAssembly kernels are selected (`setCpuKernels`); each still declines what it does not handle. */
function wasmOn(): boolean {
  return getCpuKernels() === "wasm";
}

/** A `[c]` view's values as float64 (`fill` for an absent view). */
function channels(v: View | null, c: number, fill: number): Float64Array {
  return norm.channelValues(v ? cpuData(v.storage) : null, v?.offset ?? 0, v?.strides[0] ?? 0, c, fill);
}

/** The view's elements as a contiguous typed array starting at 0 (no copy when already so). */
function contig(backend: CpuBackend, v: View): TypedArray {
  const data = cpuData(v.storage);
  const n = numel(v.shape);
  if (isContiguous(v.shape, v.strides)) {
    return v.offset === 0 && data.length === n ? data : data.subarray(v.offset, v.offset + n);
  }
  const tmp = tempStorage(v.storage.dtype, n);
  backend.copy(v, { storage: tmp, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 });
  return cpuData(tmp);
}

/** The one CPU backend instance, registered as device "cpu". */
export const cpuBackend: CpuBackend = new CpuBackend();
registerBackend(cpuBackend);
