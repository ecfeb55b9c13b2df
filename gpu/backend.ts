/**
 * The WebGPU implementation of the Backend contract: each method checks its
 * storages, packs shapes/strides/offsets into parameter words and records a
 * dispatch; nothing runs until a read-back (or every `maxBatch` dispatches).
 *
 * @module
 */

import {
  collapseDims,
  contiguousStrides,
  dtypeOfArray,
  interpolationTaps,
  inverseTaps,
  isContiguous,
  numel,
  pcgHash,
} from "@dendrite/tensor";
import type {
  AdamUpdateOptions,
  AttentionArgs,
  Backend,
  BatchNormGrads,
  BinaryOp,
  Conv2dGeometry,
  CrossEntropyArgs,
  DType,
  Interpolate2dGeometry,
  Pool2dGeometry,
  RandomKind,
  ReduceOp,
  RnnCellBackwardArgs,
  RnnCellForwardArgs,
  RnnCellMode,
  ScatterReduceOp,
  SgdUpdateOptions,
  Storage,
  StorageLimit,
  TypedArray,
  UnaryOp,
  ValueCheck,
  View,
} from "@dendrite/tensor";
import { GpuStorage, type MemoryInfo, STORAGE_USAGE, type WgslType, wgslType } from "./allocator.ts";
import type { DeviceInfo } from "./device.ts";
import { f32Bits, groups1d, type Kernel, Runtime } from "./program.ts";
import { MAX_RANK, putRank } from "./kernels/common.ts";
import {
  axpyKernel,
  binaryKernel,
  copyKernel,
  EW,
  EW_WORDS,
  ewGroups,
  fillKernel,
  unaryKernel,
  whereKernel,
} from "./kernels/elementwise.ts";
import { GROUP_MAX_ROWS, GROUP_ROW_MIN, reduceKernel } from "./kernels/reduce.ts";
import {
  conv2dBackwardInputKernel,
  conv2dBackwardWeightKernel,
  conv2dKernel,
  gemmGroups,
  matmulKernel,
  matmulRegGroups,
  matmulRegKernel,
  matmulVec4Kernel,
  VEC4_WG,
} from "./kernels/gemm.ts";
import {
  conv2dDirectBackwardInputKernel,
  conv2dDirectBackwardWeightKernel,
  conv2dDirectKernel,
  convGroups,
} from "./kernels/conv.ts";
import { gatherKernel, INDEX_ERROR, scatterReduceKernel } from "./kernels/indexing.ts";
import { ASSERT_FLAGS, assertValuesKernel } from "./kernels/assert.ts";
import { DeviceErrors, type ErrorRecord } from "./device_errors.ts";
import { softmaxKernel } from "./kernels/softmax.ts";
import {
  adamKernel,
  CE_WORDS,
  crossEntropyBackwardKernel,
  crossEntropyForwardKernel,
  sgdKernel,
} from "./kernels/fused.ts";
import { randomKernel } from "./kernels/random.ts";
import { RNN_HAS, RNN_OPERANDS, rnnCellKernel, rnnFamily } from "./kernels/rnn.ts";
import { interpolateBackwardKernel, interpolateKernel } from "./kernels/interpolate.ts";
import {
  attentionBackwardDkvKernel,
  attentionBackwardDqKernel,
  attentionForwardKernel,
  ATTN,
  ATTN_WORDS,
  headBucket,
  WG as ATTN_WG,
} from "./kernels/attention.ts";
import {
  batchNormForwardKernel,
  batchNormGradInputKernel,
  batchNormStatsKernel,
  batchNormSumsKernel,
} from "./kernels/norm.ts";
import {
  avgPoolBackwardKernel,
  avgPoolKernel,
  maxPoolBackwardKernel,
  maxPoolBackwardScatterKernel,
  maxPoolKernel,
} from "./kernels/pool.ts";

/** The geometry words the convolution and pooling parameter blocks share, in their order. */
function windowWords(g: Conv2dGeometry | Pool2dGeometry): number[] {
  return [g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW, g.dilationH, g.dilationW];
}

/** What a device-side index error names, by code: the kernel, and for a shared kernel the ops that run on it. */
const INDEX_ERROR_NAME: Record<number, string> = {
  [INDEX_ERROR.gather]: "gather",
  [INDEX_ERROR.scatterAdd]: "scatterAdd",
  [INDEX_ERROR.scatterReduce]: "scatterReduce (the kernel of scatter, scatterAdd, scatterReduce and indexAdd)",
};

/** The `done` of a view or output used in place: nothing to free. */
const KEEP = (): void => {};

function scalarBits(x: number, t: WgslType): number {
  if (t === "f32") return f32Bits(x);
  if (t === "u32") return x !== 0 ? 1 : 0;
  return Math.trunc(x) | 0;
}

/** The WebGPU backend; get one with `await gpu.useWebGPU()`. */
export class WebGpuBackend implements Backend {
  /** The device name. */
  readonly device = "webgpu";
  /** The command queue, pipeline cache and buffer pool. */
  readonly runtime: Runtime;
  /**
   * Use the register-tiled kernels for convolution and general (non-vec4) matmul (true, the default), or the
   * workgroup-memory-tiled GEMM (false; kept for comparison on real GPUs, where it may win).
   */
  convDirect = true;
  #dummy: GPUBuffer;
  /** The device-side assertions' error record (out-of-range indices, `assertValues`). */
  readonly deviceErrors: DeviceErrors;
  /** Interpolation tap tables by geometry (a network resizes a few shapes, every step). */
  #taps = new Map<string, GpuStorage>();

  /** Wraps an acquired device (see `acquireDevice`). */
  constructor(readonly info: DeviceInfo) {
    this.runtime = new Runtime(info.device);
    this.#dummy = info.device.createBuffer({ size: 256, usage: STORAGE_USAGE, label: "dendrite scalar placeholder" });
    this.deviceErrors = new DeviceErrors(info.device);
    // The indexing kernels write their code, the bad index, the dim and its size.
    for (const [code, op] of Object.entries(INDEX_ERROR_NAME)) {
      this.deviceErrors.fixed(
        Number(code),
        (r) =>
          new RangeError(`${op}: index ${r.int} is out of range for dimension ${r.words[3]} of size ${r.words[4]}`),
      );
    }
  }

  // ---- storages -----------------------------------------------------------------------------------

  #gpu(s: Storage, op: string): GpuStorage {
    if (!(s instanceof GpuStorage)) {
      throw new Error(`webgpu ${op}: expected storage on "webgpu", got storage on "${s.device}"`);
    }
    return s;
  }

  #ready(s: GpuStorage): GpuStorage {
    if (s.needsClear) {
      s.needsClear = false;
      this.runtime.clear(s.buffer, s.bytes);
    }
    return s;
  }

  /** A storage read by a kernel (zero-filled first if still owed). */
  #in(v: View | Storage, op: string): GpuStorage {
    return this.#ready(this.#gpu("storage" in v ? v.storage : v, op));
  }

  /** An output storage; `covered` elements from 0 will be overwritten, so the zero-fill is skipped when that is all. */
  #out(s: Storage, op: string, covered: number): GpuStorage {
    const g = this.#gpu(s, op);
    if (covered >= g.length) g.needsClear = false;
    else this.#ready(g);
    return g;
  }

  /** `v` as a contiguous view (copying into a temporary when it is not); call `done()` after the dispatch. */
  #contig(v: View, op: string): { s: GpuStorage; offset: number; done: () => void } {
    if (isContiguous(v.shape, v.strides)) return { s: this.#in(v, op), offset: v.offset, done: KEEP };
    const tmp = this.#copyOf(v).storage as GpuStorage;
    return { s: tmp, offset: 0, done: () => this.free(tmp) };
  }

  /** A contiguous copy of `v`, converted to `dtype`, in a new storage the caller frees. */
  #copyOf(v: View, dtype: DType = v.storage.dtype): View {
    const tmp = {
      storage: this.alloc(dtype, numel(v.shape)),
      shape: v.shape,
      strides: contiguousStrides(v.shape),
      offset: 0,
    };
    this.copy(v, tmp);
    return tmp;
  }

  alloc(dtype: DType, length: number): Storage {
    wgslType(dtype, "webgpu alloc");
    const { buffer, fresh } = this.runtime.pool.acquire(length * 4, `${dtype}[${length}]`);
    return new GpuStorage(dtype, length, buffer, this.runtime.pool, !fresh);
  }

  /** Every dtype is 4-byte words here; one storage is one GPUBuffer, at most the device's `maxBufferSize`. */
  storageLimit(_dtype: DType): StorageLimit {
    const max = this.info.device.limits.maxBufferSize;
    return { elements: Math.floor(max / 4), bytesPerElement: 4, limit: `the device's maxBufferSize of ${max} bytes` };
  }

  upload(data: TypedArray): Storage {
    const dtype = dtypeOfArray(data);
    wgslType(dtype, "webgpu upload");
    const s = this.alloc(dtype, data.length) as GpuStorage;
    s.needsClear = false;
    if (data.length === 0) return s;
    const words = data instanceof Uint8Array ? Uint32Array.from(data, (v) => (v ? 1 : 0)) : data;
    this.runtime.device.queue.writeBuffer(s.buffer, 0, words.buffer as ArrayBuffer, words.byteOffset, data.length * 4);
    return s;
  }

  /**
   * Reads a storage back. A device-side check that failed since the last read (an out-of-range index, a failed
   * `assertValues`) is thrown here, whichever storage is being read: the way CUDA's device asserts surface.
   */
  async read(storage: Storage): Promise<TypedArray> {
    const s = this.#in(storage, "read");
    const main = this.runtime.read(s.buffer, s.length * 4);
    const [buf, failed] = await Promise.all([main, this.deviceErrors.take(this.runtime)]);
    if (failed) throw failed;
    switch (s.dtype) {
      case "float32":
        return new Float32Array(buf);
      case "int32":
        return new Int32Array(buf);
      default:
        return Uint8Array.from(new Uint32Array(buf));
    }
  }

  free(storage: Storage): void {
    this.#gpu(storage, "free").release();
  }

  /** Submits recorded work and waits for it, throwing any error it raised (device-side checks included). */
  async sync(): Promise<void> {
    const [, failed] = await Promise.all([this.runtime.sync(), this.deviceErrors.take(this.runtime)]);
    if (failed) throw failed;
  }

  /**
   * The contract's device-side assertion: checks every element of `x` (finite, inside `[check.min, check.max]`,
   * or equal to `check.except`) in a kernel that records the first failure; `error` is thrown at the next read-back
   * or `sync()`.
   */
  assertValues(x: View, check: ValueCheck, key: string, error: (value: number, index: number) => Error): void {
    const n = numel(x.shape);
    if (n === 0) return;
    const t = wgslType(x.storage.dtype, "assertValues");
    const site = this.deviceErrors.site(key, (r: ErrorRecord) => error(t === "f32" ? r.float : r.int, r.index));
    const c = this.#contig(x, "assertValues");
    const flags = (check.min !== undefined ? ASSERT_FLAGS.min : 0) | (check.max !== undefined ? ASSERT_FLAGS.max : 0) |
      (check.except !== undefined ? ASSERT_FLAGS.except : 0);
    const w = [n, c.offset, site, flags, scalarBits(check.min ?? 0, t), scalarBits(check.max ?? 0, t)];
    w.push(scalarBits(check.except ?? 0, t), 0);
    this.runtime.dispatch(assertValuesKernel(t), [c.s.buffer, this.deviceErrors.buffer], w, groups1d(n, 256));
    c.done();
  }

  /** Bytes in use by live storages and held by the buffer pool. */
  memory(): MemoryInfo {
    return this.runtime.pool.memory();
  }

  // ---- elementwise --------------------------------------------------------------------------------

  #ew(
    kernel: (contig: boolean) => Kernel,
    out: GpuStorage,
    dst: { offset: number; strides: readonly number[] } | null,
    operands: readonly (View | number)[],
    types: readonly WgslType[],
    shape: readonly number[],
    op: string,
    extra = 0,
  ): void {
    const n = numel(shape);
    if (n === 0) return;
    const zeros = shape.map(() => 0);
    const lists = [
      dst ? dst.strides : contiguousStrides(shape),
      ...operands.map((o) => (typeof o === "number" ? zeros : o.strides)),
    ];
    const c = collapseDims(shape, lists);
    const w = new Array<number>(EW_WORDS).fill(0);
    w[EW.n] = n;
    w[EW.rank] = c.shape.length;
    w[EW.ooff] = dst ? dst.offset : 0;
    w[EW.scal + 3] = extra; // a kernel-specific scalar (axpy's alpha)
    let fast = c.shape.length === 1 && c.strides[0][0] === 1;
    const buffers: GPUBuffer[] = [out.buffer];
    operands.forEach((o, k) => {
      if (typeof o === "number") {
        w[EW.flags] |= 2 << k;
        w[EW.scal + k] = scalarBits(o, types[k]);
        buffers.push(this.#dummy);
      } else {
        if (c.strides[k + 1][0] !== 1 || c.shape.length !== 1) fast = false;
        w[EW.off + k] = o.offset;
        buffers.push(this.#in(o, op).buffer);
      }
      putRank(w, EW.s[k], c.strides[k + 1]);
    });
    if (fast) w[EW.flags] |= 1;
    putRank(w, EW.shape, c.shape, 1);
    putRank(w, EW.ostr, c.strides[0]);
    this.runtime.dispatch(kernel(fast), buffers, w, ewGroups(n));
  }

  copy(src: View, dst: View): void {
    const d = this.#gpu(dst.storage, "copy");
    if (src.storage === dst.storage) {
      // The same buffer cannot be bound for reading and writing at once: go through a temporary.
      const tmp = this.#copyOf(src);
      this.copy(tmp, dst);
      this.free(tmp.storage);
      return;
    }
    const full = dst.offset === 0 && isContiguous(dst.shape, dst.strides) ? numel(dst.shape) : 0;
    this.#out(d, "copy", full);
    const it = wgslType(src.storage.dtype, "copy"), ot = wgslType(d.dtype, "copy");
    this.#ew((f) => copyKernel(it, ot, f), d, dst, [src], [it], src.shape, "copy");
  }

  fill(out: Storage, value: number): void {
    const s = this.#gpu(out, "fill");
    s.needsClear = false;
    if (value === 0) {
      if (s.length) this.runtime.clear(s.buffer, s.bytes);
      return;
    }
    const bits = scalarBits(value, wgslType(s.dtype, "fill"));
    this.runtime.dispatch(fillKernel, [s.buffer], [s.length, bits], groups1d(s.length, 256));
  }

  unary(op: UnaryOp, a: View, out: Storage): void {
    const n = numel(a.shape);
    const o = this.#out(out, `unary ${op}`, n);
    const it = wgslType(a.storage.dtype, op), ot = wgslType(o.dtype, op);
    this.#ew((f) => unaryKernel(op, it, ot, f), o, null, [a], [it], a.shape, op);
  }

  binary(op: BinaryOp, a: View | number, b: View | number, out: Storage, shape: readonly number[]): void {
    const o = this.#out(out, op, numel(shape));
    const ot = wgslType(o.dtype, op);
    const ta = typeof a === "number" ? null : wgslType(a.storage.dtype, op);
    const tb = typeof b === "number" ? null : wgslType(b.storage.dtype, op);
    let t = ta ?? tb ?? ot;
    if (ta && tb && ta !== tb) {
      // Mixed operand dtypes (the ops layer normally casts first): compute in the wider one.
      t = ta === "f32" || tb === "f32" ? "f32" : "i32";
      const dt: DType = t === "f32" ? "float32" : "int32";
      const cast = (v: View): View => v.storage.dtype === dt ? v : this.#copyOf(v, dt);
      const ca = cast(a as View), cb = cast(b as View);
      this.#ew((f) => binaryKernel(op, t, ot, f), o, null, [ca, cb], [t, t], shape, op);
      if (ca !== a) this.free(ca.storage);
      if (cb !== b) this.free(cb.storage);
      return;
    }
    this.#ew((f) => binaryKernel(op, t, ot, f), o, null, [a, b], [t, t], shape, op);
  }

  axpy(out: Storage, x: View, alpha: number): void {
    const o = this.#in(out, "axpy");
    const t = wgslType(o.dtype, "axpy");
    if (t === "u32" || wgslType(x.storage.dtype, "axpy") !== t) {
      throw new TypeError(
        `webgpu axpy: expected float32 or int32 operands of one dtype, got ${o.dtype} and ${x.storage.dtype}`,
      );
    }
    if (x.storage === out) {
      // One buffer cannot be bound for reading and writing at once: read x from a copy.
      const tmp = this.#copyOf(x);
      this.axpy(out, tmp, alpha);
      this.free(tmp.storage);
      return;
    }
    const dst = { offset: 0, strides: contiguousStrides(x.shape) };
    this.#ew((f) => axpyKernel(t, f), o, dst, [x], [t], x.shape, "axpy", scalarBits(alpha, t));
  }

  // ---- fused attention (kernels/attention.ts) -----------------------------------------------------

  /** The parameter words every attention kernel reads, and the input buffers (q, k, v, mask). */
  #attnWords(a: AttentionArgs, op: string): { w: number[]; ins: GPUBuffer[] } {
    for (const x of [a.q, a.k, a.v]) {
      this.#float(x.storage.dtype, op);
      if (x.strides[3] !== 1 && x.shape[3] > 1) throw new RangeError(`webgpu ${op}: expected a last stride of 1`);
    }
    const [B, H, L] = a.q.shape, [, Hk, S] = a.k.shape;
    const w = new Array<number>(ATTN_WORDS).fill(0);
    w.splice(ATTN.B, 6, B, H, Hk, L, S, a.isCausal ? 1 : 0);
    w[ATTN.E] = a.q.shape[3];
    w[ATTN.Ev] = a.v.shape[3];
    const put = (at: number, v: View) => w.splice(at, 4, v.offset, v.strides[0], v.strides[1], v.strides[2]);
    put(ATTN.q, a.q);
    put(ATTN.k, a.k);
    put(ATTN.v, a.v);
    if (a.mask) {
      const dt = a.mask.storage.dtype;
      if (dt !== "bool") this.#float(dt, op);
      w[ATTN.mkind] = dt === "bool" ? 1 : 2;
      w.splice(ATTN.m, 5, a.mask.offset, ...a.mask.strides);
    }
    const hi = Math.floor(a.offset / 4294967296);
    w[ATTN.scale] = f32Bits(a.scale);
    w[ATTN.dropout] = a.dropoutP > 0 ? 1 : 0;
    w[ATTN.threshold] = Math.ceil(a.dropoutP * 16777216);
    w[ATTN.keepScale] = f32Bits(a.dropoutP > 0 ? 1 / (1 - a.dropoutP) : 1);
    w[ATTN.seedh] = pcgHash(a.seed) | 0;
    w[ATTN.offLo] = (a.offset - hi * 4294967296) | 0;
    w[ATTN.offHi] = hi | 0;
    const ins = [a.q, a.k, a.v].map((x) => this.#in(x, op).buffer);
    ins.push(a.mask ? this.#in(a.mask, op).buffer : this.#dummy);
    return { w, ins };
  }

  attentionForward(args: AttentionArgs, out: Storage, lse: Storage): void {
    const op = "attentionForward";
    const [B, H, L] = args.q.shape, E = args.q.shape[3], Ev = args.v.shape[3];
    const outs = [this.#out(out, op, B * H * L * Ev), this.#out(lse, op, B * H * L)];
    if (B * H * L === 0) return;
    const { w, ins } = this.#attnWords(args, op);
    const groups = groups1d(B * H * Math.ceil(L / ATTN_WG), 1);
    this.runtime.dispatch(attentionForwardKernel(headBucket(E, Ev)), [...outs.map((o) => o.buffer), ...ins], w, groups);
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
    const op = "attentionBackward";
    const [B, H, L, E] = args.q.shape, [, Hk, S] = args.k.shape, Ev = args.v.shape[3];
    const gq = this.#out(gradQ, op, B * H * L * E);
    const gk = this.#out(gradK, op, B * Hk * S * E), gv = this.#out(gradV, op, B * Hk * S * Ev);
    if (B * H * L === 0 || S === 0) return;
    for (const x of [out, gradOut]) {
      if (x.strides[3] !== 1 && x.shape[3] > 1) throw new RangeError(`webgpu ${op}: expected a last stride of 1`);
    }
    const { w, ins } = this.#attnWords(args, op);
    const put = (at: number, v: View) => w.splice(at, 4, v.offset, v.strides[0], v.strides[1], v.strides[2]);
    put(ATTN.o, out);
    put(ATTN.g, gradOut);
    put(ATTN.l, lse);
    const d = this.alloc("float32", B * H * L) as GpuStorage;
    d.needsClear = false;
    const [o, g, l] = [out, gradOut, lse].map((x) => this.#in(x, op).buffer);
    this.runtime.dispatch(
      attentionBackwardDqKernel(headBucket(E, Ev)),
      [gq.buffer, d.buffer, ...ins, o, g, l],
      w,
      groups1d(B * H * Math.ceil(L / ATTN_WG), 1),
    );
    this.runtime.dispatch(
      attentionBackwardDkvKernel(headBucket(E, Ev)),
      [gk.buffer, gv.buffer, ...ins, g, l, d.buffer],
      w,
      groups1d(B * Hk * Math.ceil(S / ATTN_WG), 1),
    );
    this.free(d);
  }

  // ---- fused loss and optimizer kernels (kernels/fused.ts) ---------------------------------------

  #ceWords(a: CrossEntropyArgs, op: string): number[] {
    const [rows, c] = a.logits.shape;
    this.#float(a.logits.storage.dtype, op);
    if (a.target.storage.dtype !== "int32") throw new TypeError(`webgpu ${op}: expected int32 targets`);
    if (a.weight) this.#float(a.weight.storage.dtype, op);
    const w = new Array<number>(CE_WORDS).fill(0);
    w.splice(0, 6, rows, c, a.logits.offset, a.target.offset, a.target.strides[0] ?? 0, a.weight?.offset ?? 0);
    w[6] = a.weight?.strides[0] ?? 0;
    w[7] = a.weight ? 1 : 0;
    w[8] = a.ignoreIndex | 0;
    w[9] = f32Bits(a.labelSmoothing);
    return w;
  }

  crossEntropyForward(args: CrossEntropyArgs, loss: Storage, rowWeight: Storage, saved: Storage): void {
    const op = "crossEntropyForward";
    const rows = args.logits.shape[0];
    const outs = [this.#out(loss, op, rows), this.#out(rowWeight, op, rows), this.#out(saved, op, 2 * rows)];
    if (rows === 0) return;
    const w = this.#ceWords(args, op);
    const bufs = [
      ...outs.map((o) => o.buffer),
      this.#in(args.logits, op).buffer,
      this.#in(args.target, op).buffer,
      args.weight ? this.#in(args.weight, op).buffer : this.#dummy,
    ];
    this.runtime.dispatch(crossEntropyForwardKernel, bufs, w, groups1d(rows, 1));
  }

  crossEntropyBackward(args: CrossEntropyArgs, saved: View, gradLoss: View, out: Storage): void {
    const op = "crossEntropyBackward";
    const [rows, c] = args.logits.shape;
    const o = this.#out(out, op, rows * c);
    if (rows * c === 0) return;
    const w = this.#ceWords(args, op);
    w.splice(10, 5, saved.offset, saved.strides[0], saved.strides[1], gradLoss.offset, gradLoss.strides[0] ?? 0);
    const bufs = [
      o.buffer,
      this.#in(args.logits, op).buffer,
      this.#in(args.target, op).buffer,
      args.weight ? this.#in(args.weight, op).buffer : this.#dummy,
      this.#in(saved, op).buffer,
      this.#in(gradLoss, op).buffer,
    ];
    this.runtime.dispatch(crossEntropyBackwardKernel, bufs, w, groups1d(rows * c, 256));
  }

  adamUpdate(
    param: Storage,
    grad: View,
    expAvg: Storage,
    expAvgSq: Storage,
    maxExpAvgSq: Storage | null,
    o: AdamUpdateOptions,
  ): void {
    const op = "adamUpdate";
    this.#float(param.dtype, op);
    this.#float(grad.storage.dtype, op);
    if (o.amsgrad && !maxExpAvgSq) throw new Error(`webgpu ${op}: amsgrad needs a maxExpAvgSq storage`);
    const n = param.length;
    if (n === 0) return;
    const wd = o.weightDecay;
    const flags = (o.decoupled ? 1 : 0) | (o.amsgrad ? 2 : 0) | (o.maximize ? 4 : 0);
    const w = [
      n,
      grad.offset,
      flags,
      f32Bits(wd !== 0 && o.decoupled ? 1 - o.lr * wd : 1),
      f32Bits(o.decoupled ? 0 : wd),
      f32Bits(o.beta1),
      f32Bits(o.beta2),
      f32Bits(o.eps),
      f32Bits(o.stepSize),
      f32Bits(o.biasCorrection2Sqrt),
      0,
      0,
    ];
    const bufs = [
      this.#in(param, op).buffer,
      this.#in(grad, op).buffer,
      this.#in(expAvg, op).buffer,
      this.#in(expAvgSq, op).buffer,
      o.amsgrad ? this.#in(maxExpAvgSq!, op).buffer : this.#dummy,
    ];
    this.runtime.dispatch(adamKernel, bufs, w, groups1d(n, 256));
  }

  sgdUpdate(param: Storage, grad: View, momentumBuffer: Storage | null, o: SgdUpdateOptions): void {
    const op = "sgdUpdate";
    this.#float(param.dtype, op);
    this.#float(grad.storage.dtype, op);
    if (o.momentum !== 0 && !momentumBuffer) throw new Error(`webgpu ${op}: momentum needs a momentumBuffer storage`);
    const n = param.length;
    if (n === 0) return;
    const hasBuf = o.momentum !== 0;
    const flags = (hasBuf ? 1 : 0) | (o.firstStep ? 2 : 0) | (o.nesterov ? 4 : 0);
    const w = [
      n,
      grad.offset,
      flags,
      f32Bits(o.lr),
      f32Bits(o.momentum),
      f32Bits(1 - o.dampening),
      f32Bits(o.weightDecay),
      f32Bits(o.maximize ? -1 : 1),
    ];
    const bufs = [
      this.#in(param, op).buffer,
      this.#in(grad, op).buffer,
      hasBuf ? this.#in(momentumBuffer!, op).buffer : this.#dummy,
    ];
    this.runtime.dispatch(sgdKernel, bufs, w, groups1d(n, 256));
  }

  // ---- fused recurrent cells (kernels/rnn.ts) -------------------------------------------------------

  rnnCellForward(a: RnnCellForwardArgs): void {
    const views = { xg: a.xGates, hg: a.hGates, bias: a.hBias, prev: a.prev, h: a.h, c: a.c, saved: a.saved };
    this.#rnnCell("rnnCellForward", a.mode, "forward", views, a.h, 0, a.hBias ? RNN_HAS.bias : 0);
  }

  rnnCellBackward(a: RnnCellBackwardArgs): void {
    const [rec0, rec1] = a.gradHRec;
    const views = {
      gh: a.gradH,
      rec0: rec0 ?? null,
      rec1: rec1 ?? null,
      gc: a.gradC,
      crec: a.gradCRec,
      saved: a.saved,
      prev: a.prev,
      out: a.out,
      dx: a.gradXGates,
      dhg: a.gradHGates,
      gp: a.gradPrev,
    };
    const flags = (rec0 ? RNN_HAS.rec0 : 0) | (rec1 ? RNN_HAS.rec1 : 0) | (a.gradCRec ? RNN_HAS.crec : 0);
    this.#rnnCell("rnnCellBackward", a.mode, "backward", views, a.gradH, a.recRows, flags);
  }

  /** Binds each distinct buffer among the operands once and dispatches the cell kernel (one thread per unit). */
  #rnnCell(
    op: string,
    mode: RnnCellMode,
    dir: "forward" | "backward",
    views: Record<string, View | null>,
    rowsLike: View,
    recRows: number,
    flags: number,
  ): void {
    const [n, hid] = rowsLike.shape;
    const bufs: GPUBuffer[] = [], slots: number[] = [], offsets: number[] = [];
    for (const name of RNN_OPERANDS[dir][rnnFamily(mode)]) {
      const v = views[name];
      if (!v) {
        // Absent operands are never read (their flag is off): any binding will do.
        slots.push(0);
        offsets.push(0);
        continue;
      }
      this.#float(v.storage.dtype, op);
      const w = v.shape[v.shape.length - 1];
      if (v.shape.length === 2 && v.shape[0] > 1 && v.strides[0] !== w || v.strides[v.shape.length - 1] !== 1) {
        throw new RangeError(`webgpu ${op}: operand ${name} must be whole contiguous rows`);
      }
      const buffer = this.#in(v, op).buffer;
      let k = bufs.indexOf(buffer);
      if (k < 0) k = bufs.push(buffer) - 1;
      slots.push(k);
      offsets.push(v.offset);
    }
    if (n * hid === 0) return;
    this.runtime.dispatch(
      rnnCellKernel(mode, dir, slots),
      bufs,
      [n, hid, Math.min(recRows, n), flags, ...offsets],
      groups1d(n * hid, 256),
    );
  }

  where(cond: View, a: View | number, b: View | number, out: Storage, shape: readonly number[]): void {
    const o = this.#out(out, "where", numel(shape));
    const ot = wgslType(o.dtype, "where");
    const tc = wgslType(cond.storage.dtype, "where");
    const ta = typeof a === "number" ? ot : wgslType(a.storage.dtype, "where");
    const tb = typeof b === "number" ? ot : wgslType(b.storage.dtype, "where");
    this.#ew((f) => whereKernel(tc, ta, tb, ot, f), o, null, [cond, a, b], [tc, ta, tb], shape, "where");
  }

  // ---- reductions ---------------------------------------------------------------------------------

  reduce(op: ReduceOp, a: View, reduceDims: number, out: Storage): void {
    const nd = a.shape.length;
    const innerShape = a.shape.slice(nd - reduceDims), outerShape = a.shape.slice(0, nd - reduceDims);
    const ic = collapseDims(innerShape, [a.strides.slice(nd - reduceDims)]);
    if (ic.shape.length > 2) {
      const c = this.#contig(a, "reduce");
      this.reduce(
        op,
        { storage: c.s, shape: a.shape, strides: contiguousStrides(a.shape), offset: c.offset },
        reduceDims,
        out,
      );
      c.done();
      return;
    }
    const outer = numel(outerShape), inner = numel(innerShape);
    const o = this.#out(out, `reduce ${op}`, outer);
    if (outer === 0) return;
    const oc = collapseDims(outerShape, [a.strides.slice(0, nd - reduceDims)]);
    const it = wgslType(a.storage.dtype, op), ot = wgslType(o.dtype, op);
    const w = new Array<number>(8 + 2 * MAX_RANK).fill(0);
    w[0] = outer;
    w[1] = inner;
    w[2] = oc.shape.length;
    w[3] = a.offset;
    // Up to two reduced dims: the first's stride, then the last's size and stride.
    const two = ic.shape.length === 2;
    w[4] = two ? ic.strides[0][0] : 0;
    w[5] = two ? ic.shape[1] : ic.shape[0];
    w[6] = two ? ic.strides[0][1] : ic.strides[0][0];
    putRank(w, 8, oc.shape, 1);
    putRank(w, 8 + MAX_RANK, oc.strides[0]);
    const group = inner >= GROUP_ROW_MIN && outer < GROUP_MAX_ROWS;
    this.runtime.dispatch(
      reduceKernel(op, it, ot, group),
      [o.buffer, this.#in(a, op).buffer],
      w,
      groups1d(outer, group ? 1 : 64),
    );
  }

  softmax(a: View, out: Storage, log: boolean): void {
    const [rows, cols] = a.shape;
    const o = this.#out(out, "softmax", rows * cols);
    if (rows * cols === 0) return;
    const c = this.#contig(a, "softmax");
    this.#float(c.s.dtype, "softmax");
    this.runtime.dispatch(softmaxKernel(log), [o.buffer, c.s.buffer], [rows, cols, c.offset, 0], groups1d(rows, 1));
    c.done();
  }

  #float(dtype: DType, op: string): void {
    if (dtype !== "float32") throw new TypeError(`webgpu ${op}: expected float32, got ${dtype}`);
  }

  // ---- matmul and convolution ---------------------------------------------------------------------

  matmul(a: View, b: View, out: Storage): void {
    const nd = a.shape.length;
    const m = a.shape[nd - 2], k = a.shape[nd - 1], n = b.shape[nd - 1];
    const batchShape = a.shape.slice(0, nd - 2);
    const batch = numel(batchShape);
    if (a.storage.dtype !== "float32" || b.storage.dtype !== "float32" || out.dtype !== "float32") {
      // Integer matmul is rare: compute in float32 and convert.
      const f = (v: View): View => v.storage.dtype === "float32" ? v : this.#copyOf(v, "float32");
      const fa = f(a), fb = f(b);
      const fo = out.dtype === "float32" ? out : this.alloc("float32", batch * m * n);
      this.matmul(fa, fb, fo);
      if (fo !== out) {
        const shape = [batch * m * n];
        this.copy({ storage: fo, shape, strides: [1], offset: 0 }, { storage: out, shape, strides: [1], offset: 0 });
        this.free(fo);
      }
      if (fa !== a) this.free(fa.storage);
      if (fb !== b) this.free(fb.storage);
      return;
    }
    const o = this.#out(out, "matmul", k === 0 ? 0 : batch * m * n);
    if (batch * m * n === 0 || k === 0) return;
    // (The output's batch dims are contiguous, so they merge wherever both operands' do.)
    const bc = collapseDims(batchShape, [a.strides.slice(0, nd - 2), b.strides.slice(0, nd - 2)]);
    if (bc.shape.length > 4) {
      throw new RangeError(`webgpu matmul: ${bc.shape.length} batch dims that cannot be merged (at most 4)`);
    }
    const bufs = [o.buffer, this.#in(a, "matmul").buffer, this.#in(b, "matmul").buffer];
    const sAm = a.strides[nd - 2], sAk = a.strides[nd - 1], sBk = b.strides[nd - 2], sBn = b.strides[nd - 1];
    // The vec4 kernel: each operand contiguous along one axis, everything else a multiple of 4.
    const aT = sAm === 1 && sAk !== 1 || (m === 1 && sAm === 1), bT = sBk === 1 && sBn !== 1;
    const m4 = (x: number) => x % 4 === 0;
    const vec4 = m4(m) && m4(n) && m4(k) && m4(a.offset) && m4(b.offset) &&
      (aT ? sAm === 1 && m4(sAk) : sAk === 1 && m4(sAm)) && (bT ? sBk === 1 && m4(sBn) : sBn === 1 && m4(sBk)) &&
      bc.strides[0].every(m4) && bc.strides[1].every(m4);
    const kernel = vec4 ? matmulVec4Kernel(aT, bT) : this.convDirect ? matmulRegKernel : matmulKernel;
    // M, N, K, zbase, offA, offB, sAm, sAk, sBk, sBn, brank, _, then the batch shape and both operands' batch strides.
    const w = [m, n, k, 0, a.offset, b.offset, sAm, sAk, sBk, sBn, bc.shape.length, 0];
    putRank(w, 12, bc.shape, 1, 4);
    putRank(w, 16, bc.strides[0], 0, 4);
    putRank(w, 20, bc.strides[1], 0, 4);
    for (let z0 = 0; z0 < batch; z0 += 65535) {
      w[3] = z0;
      const zs = Math.min(65535, batch - z0);
      const grid: [number, number, number] = vec4
        ? [Math.ceil(n / (4 * VEC4_WG[0])), Math.ceil(m / (4 * VEC4_WG[1])), zs]
        : this.convDirect
        ? matmulRegGroups(m, n, zs)
        : gemmGroups(m, n, zs);
      this.runtime.dispatch(kernel, bufs, w, grid);
    }
  }

  #conv(
    kernel: Kernel,
    x1: View,
    x2: View,
    out: Storage,
    g: Conv2dGeometry,
    dims: [number, number, number],
    outLen: number,
  ): void {
    const o = this.#out(out, kernel.name, outLen);
    if (outLen === 0) return;
    const c1 = this.#contig(x1, kernel.name), c2 = this.#contig(x2, kernel.name);
    this.#float(c1.s.dtype, kernel.name);
    this.#float(c2.s.dtype, kernel.name);
    const [M, N, K] = dims;
    if (K === 0) {
      this.#ready(o);
    } else {
      const cing = g.cIn / g.groups, coutg = g.cOut / g.groups;
      const w = [
        M,
        N,
        K,
        0,
        g.n,
        g.cIn,
        g.h,
        g.w,
        g.cOut,
        ...windowWords(g),
        cing,
        coutg,
        g.outH,
        g.outW,
        c1.offset,
        c2.offset,
        0,
      ];
      const grid = this.convDirect ? convGroups(M, N, g.groups) : gemmGroups(M, N, g.groups);
      this.runtime.dispatch(kernel, [o.buffer, c1.s.buffer, c2.s.buffer], w, grid);
    }
    c1.done();
    c2.done();
  }

  conv2d(x: View, weight: View, out: Storage, g: Conv2dGeometry): void {
    const cing = g.cIn / g.groups, coutg = g.cOut / g.groups;
    const dims: [number, number, number] = [coutg, g.n * g.outH * g.outW, cing * g.kh * g.kw];
    this.#conv(
      this.convDirect ? conv2dDirectKernel() : conv2dKernel,
      x,
      weight,
      out,
      g,
      dims,
      g.n * g.cOut * g.outH * g.outW,
    );
  }

  conv2dBackwardInput(gradOut: View, weight: View, out: Storage, g: Conv2dGeometry): void {
    const cing = g.cIn / g.groups, coutg = g.cOut / g.groups;
    const dims: [number, number, number] = [cing, g.n * g.h * g.w, coutg * g.kh * g.kw];
    const unit = g.strideH === 1 && g.strideW === 1;
    const kernel = this.convDirect ? conv2dDirectBackwardInputKernel(unit) : conv2dBackwardInputKernel;
    this.#conv(kernel, gradOut, weight, out, g, dims, g.n * g.cIn * g.h * g.w);
  }

  conv2dBackwardWeight(gradOut: View, x: View, out: Storage, g: Conv2dGeometry): void {
    const cing = g.cIn / g.groups, coutg = g.cOut / g.groups;
    const dims: [number, number, number] = [coutg, cing * g.kh * g.kw, g.n * g.outH * g.outW];
    const kernel = this.convDirect ? conv2dDirectBackwardWeightKernel() : conv2dBackwardWeightKernel;
    this.#conv(kernel, gradOut, x, out, g, dims, g.cOut * cing * g.kh * g.kw);
  }

  // ---- indexing -----------------------------------------------------------------------------------

  gather(a: View, dim: number, index: View, out: Storage): void {
    const n = numel(index.shape);
    const o = this.#out(out, "gather", n);
    if (n === 0) return;
    const t = wgslType(a.storage.dtype, "gather"), it = wgslType(index.storage.dtype, "gather");
    const w = new Array<number>(8 + 3 * MAX_RANK).fill(0);
    w.splice(0, 6, n, index.shape.length, dim, a.offset, index.offset, a.shape[dim]);
    putRank(w, 8, a.strides);
    putRank(w, 8 + MAX_RANK, index.shape, 1);
    putRank(w, 8 + 2 * MAX_RANK, index.strides);
    const bufs = [o.buffer, this.#in(a, "gather").buffer, this.#in(index, "gather").buffer, this.deviceErrors.buffer];
    this.runtime.dispatch(gatherKernel(t, it, index.shape.length, dim), bufs, w, groups1d(n, 256));
    this.deviceErrors.arm();
  }

  scatterAdd(out: Storage, outShape: readonly number[], dim: number, index: View, src: View): void {
    this.#scatter("sum", out, outShape, dim, index, src, "scatterAdd");
  }

  scatterReduce(
    op: ScatterReduceOp,
    out: Storage,
    outShape: readonly number[],
    dim: number,
    index: View,
    src: View | number,
  ): void {
    this.#scatter(op, out, outShape, dim, index, src, "scatterReduce");
  }

  #scatter(
    op: ScatterReduceOp,
    out: Storage,
    outShape: readonly number[],
    dim: number,
    index: View,
    src: View | number,
    kernel: "scatterAdd" | "scatterReduce",
  ): void {
    const n = numel(index.shape);
    const o = this.#in(out, kernel);
    if (n === 0) return;
    const t = wgslType(o.dtype, kernel), it = wgslType(index.storage.dtype, kernel);
    if (t === "u32" && op !== "assign") throw new TypeError(`webgpu ${kernel}: ${op} of bool tensors is not supported`);
    // A 0-d scatter is a 1-element one along dim 0.
    const rank0 = index.shape.length === 0;
    const ishape = rank0 ? [1] : index.shape, istr = rank0 ? [0] : index.strides;
    const oshape = outShape.length ? outShape : [1];
    const w = new Array<number>(8 + 4 * MAX_RANK).fill(0);
    w.splice(0, 6, n, ishape.length, dim, index.offset, 0, oshape[dim]);
    putRank(w, 8, contiguousStrides(oshape));
    putRank(w, 8 + MAX_RANK, ishape, 1);
    putRank(w, 8 + 2 * MAX_RANK, istr);
    let s: View | null = null;
    if (typeof src === "number") {
      w[6] = scalarBits(src, t);
    } else {
      s = src.storage.dtype === o.dtype ? src : this.#copyOf(src, o.dtype);
      w[4] = s.offset;
      putRank(w, 8 + 3 * MAX_RANK, rank0 ? [0] : s.strides);
    }
    const srcBuffer = s ? this.#in(s, kernel).buffer : this.#dummy;
    const bufs = [o.buffer, this.#in(index, kernel).buffer, srcBuffer, this.deviceErrors.buffer];
    const k = scatterReduceKernel(op, t, it, s === null, INDEX_ERROR[kernel], ishape.length, dim);
    this.runtime.dispatch(k, bufs, w, groups1d(n, 256));
    if (s && s !== src) this.free(s.storage);
    this.deviceErrors.arm();
  }

  // ---- random -------------------------------------------------------------------------------------

  random(kind: RandomKind, out: Storage, seed: number, offset: number): void {
    const o = this.#out(out, "random", out.length);
    this.#float(o.dtype, `random ${kind}`);
    if (o.length === 0) return;
    const lo = offset % 4294967296, hi = Math.floor(offset / 4294967296);
    this.runtime.dispatch(
      randomKernel(kind),
      [o.buffer],
      [o.length, pcgHash(seed), lo >>> 0, hi >>> 0],
      groups1d(o.length, 256),
    );
  }

  // ---- pooling ------------------------------------------------------------------------------------

  #pool(kernel: Kernel, out: GpuStorage[], ins: View[], g: Pool2dGeometry, total: number): void {
    const cs = ins.map((v) => this.#contig(v, kernel.name));
    const w = [
      total,
      g.n,
      g.c,
      g.h,
      g.w,
      ...windowWords(g),
      g.outH,
      g.outW,
      g.countIncludePad ? 1 : 0,
      cs[0]?.offset ?? 0,
      cs[1]?.offset ?? 0,
      0,
      0,
    ];
    if (total > 0) {
      this.runtime.dispatch(
        kernel,
        [...out.map((o) => o.buffer), ...cs.map((c) => c.s.buffer)],
        w,
        groups1d(total, 256),
      );
    }
    for (const c of cs) c.done();
  }

  maxPool2d(x: View, out: Storage, indices: Storage, g: Pool2dGeometry): void {
    const total = g.n * g.c * g.outH * g.outW;
    this.#float(x.storage.dtype, "maxPool2d");
    this.#pool(
      maxPoolKernel,
      [this.#out(out, "maxPool2d", total), this.#out(indices, "maxPool2d", total)],
      [x],
      g,
      total,
    );
  }

  maxPool2dBackward(gradOut: View, indices: View, out: Storage, g: Pool2dGeometry): void {
    const total = g.n * g.c * g.h * g.w;
    if ((g.kh - 1) * g.dilationH < g.strideH && (g.kw - 1) * g.dilationW < g.strideW) {
      // Windows never overlap: scatter from the outputs into the zeroed input gradient.
      const o = this.#out(out, "maxPool2dBackward", 0);
      const outs = g.n * g.c * g.outH * g.outW;
      this.#pool(maxPoolBackwardScatterKernel, [o], [gradOut, indices], g, outs);
      return;
    }
    this.#pool(maxPoolBackwardKernel, [this.#out(out, "maxPool2dBackward", total)], [gradOut, indices], g, total);
  }

  avgPool2d(x: View, out: Storage, g: Pool2dGeometry): void {
    const total = g.n * g.c * g.outH * g.outW;
    this.#float(x.storage.dtype, "avgPool2d");
    this.#pool(avgPoolKernel, [this.#out(out, "avgPool2d", total)], [x], g, total);
  }

  avgPool2dBackward(gradOut: View, out: Storage, g: Pool2dGeometry): void {
    const total = g.n * g.c * g.h * g.w;
    this.#pool(avgPoolBackwardKernel, [this.#out(out, "avgPool2dBackward", total)], [gradOut], g, total);
  }

  // ---- interpolation ------------------------------------------------------------------------------

  /** The tap table of `g` (see `kernels/interpolate.ts` for its layout), built and uploaded once per geometry. */
  #tapTable(g: Interpolate2dGeometry): { s: GpuStorage; tw: number; ih: number; iw: number } {
    const key = [g.h, g.w, g.outH, g.outW, g.mode, g.alignCorners, g.scaleFactorH, g.scaleFactorW].join(",");
    const tw = 4 * g.outH, ih = tw + 4 * g.outW, iw = ih + 2 * g.h;
    let s = this.#taps.get(key);
    if (!s) {
      const t = interpolationTaps(g);
      const words = new Int32Array(iw + 2 * g.w);
      const put = (at: number, a: typeof t.h) => {
        for (let o = 0; o < a.i0.length; o++) {
          words.set([a.i0[o], a.i1[o], f32Bits(a.l0[o]), f32Bits(a.l1[o])], at + 4 * o);
        }
      };
      const putInverse = (at: number, a: typeof t.h, size: number) => {
        const inv = inverseTaps(a, size);
        for (let i = 0; i < size; i++) words.set([inv.lo[i], inv.hi[i]], at + 2 * i);
      };
      put(0, t.h);
      put(tw, t.w);
      putInverse(ih, t.h, g.h);
      putInverse(iw, t.w, g.w);
      if (this.#taps.size >= 64) {
        for (const old of this.#taps.values()) this.free(old);
        this.#taps.clear();
      }
      s = this.upload(words) as GpuStorage;
      this.#taps.set(key, s);
    }
    return { s, tw, ih, iw };
  }

  #interpolate(kernel: Kernel, input: View, out: GpuStorage, g: Interpolate2dGeometry, total: number): void {
    const c = this.#contig(input, kernel.name);
    this.#float(c.s.dtype, kernel.name);
    if (total > 0) {
      const t = this.#tapTable(g);
      this.runtime.dispatch(
        kernel,
        [out.buffer, c.s.buffer, t.s.buffer],
        [total, g.h, g.w, g.outH, g.outW, c.offset, t.tw, t.ih, t.iw, 0, 0, 0],
        groups1d(total, 256),
      );
    }
    c.done();
  }

  interpolate2d(x: View, out: Storage, g: Interpolate2dGeometry): void {
    const total = g.n * g.c * g.outH * g.outW;
    this.#interpolate(interpolateKernel, x, this.#out(out, "interpolate2d", total), g, total);
  }

  interpolate2dBackward(gradOut: View, out: Storage, g: Interpolate2dGeometry): void {
    const total = g.n * g.c * g.h * g.w;
    this.#interpolate(interpolateBackwardKernel, gradOut, this.#out(out, "interpolate2dBackward", total), g, total);
  }

  // ---- batch normalization ------------------------------------------------------------------------

  /** Offset and stride words of a `[c]` view (zeros for an absent one), and the buffer to bind. */
  #channel(v: View | null, op: string): { buf: GPUBuffer; off: number; st: number } {
    if (!v) return { buf: this.#dummy, off: 0, st: 0 };
    this.#float(v.storage.dtype, op);
    return { buf: this.#in(v, op).buffer, off: v.offset, st: v.strides[0] ?? 0 };
  }

  /** `s` as an output of `c` elements, or a temporary when absent (a writable binding cannot be shared). */
  #bnOut(s: Storage | null, c: number, op: string): { s: GpuStorage; done: () => void } {
    if (s) return { s: this.#out(s, op, c), done: KEEP };
    const tmp = this.alloc("float32", Math.max(c, 1)) as GpuStorage;
    tmp.needsClear = false;
    return { s: tmp, done: () => this.free(tmp) };
  }

  batchNormStats(x: View, eps: number, mean: Storage, invStd: Storage, variance: Storage | null): void {
    const op = "batchNormStats";
    const [n, c, s] = x.shape;
    this.#float(x.storage.dtype, op);
    const m = this.#out(mean, op, c), is = this.#out(invStd, op, c), v = this.#bnOut(variance, c, op);
    if (c > 0 && n * s > 0) {
      const cx = this.#contig(x, op);
      this.runtime.dispatch(
        batchNormStatsKernel,
        [m.buffer, is.buffer, v.s.buffer, cx.s.buffer],
        [n, c, s, cx.offset, f32Bits(eps), 0, 0, 0],
        groups1d(c, 1),
      );
      cx.done();
    }
    v.done();
  }

  batchNormForward(x: View, mean: View, invStd: View, weight: View | null, bias: View | null, out: Storage): void {
    const op = "batchNormForward";
    const [n, c, s] = x.shape;
    const total = n * c * s;
    this.#float(x.storage.dtype, op);
    const o = this.#out(out, op, total);
    if (total === 0) return;
    const cx = this.#contig(x, op);
    const mv = this.#channel(mean, op), iv = this.#channel(invStd, op);
    const wv = this.#channel(weight, op), bv = this.#channel(bias, op);
    const flags = (weight ? 1 : 0) | (bias ? 2 : 0);
    this.runtime.dispatch(
      batchNormForwardKernel,
      [o.buffer, cx.s.buffer, mv.buf, iv.buf, wv.buf, bv.buf],
      [total, c, s, cx.offset, mv.off, mv.st, iv.off, iv.st, wv.off, wv.st, bv.off, bv.st, flags, 0, 0, 0],
      groups1d(total, 256),
    );
    cx.done();
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
    const op = "batchNormBackward";
    const [n, c, s] = x.shape;
    const total = n * c * s;
    this.#float(x.storage.dtype, op);
    this.#float(gradOut.storage.dtype, op);
    const needSums = grads.weight !== null || grads.bias !== null || (grads.input !== null && batchStats);
    if (total === 0 || c === 0) {
      for (const g of [grads.input, grads.weight, grads.bias]) if (g) this.#ready(this.#gpu(g, op));
      return;
    }
    const cg = this.#contig(gradOut, op), cx = this.#contig(x, op);
    const mv = this.#channel(mean, op), iv = this.#channel(invStd, op);
    let sums: GpuStorage | null = null;
    if (needSums) {
      sums = this.alloc("float32", 2 * c) as GpuStorage;
      sums.needsClear = false;
      const gw = this.#bnOut(grads.weight, c, op), gb = this.#bnOut(grads.bias, c, op);
      const flags = (grads.weight ? 1 : 0) | (grads.bias ? 2 : 0);
      this.runtime.dispatch(
        batchNormSumsKernel,
        [sums.buffer, gw.s.buffer, gb.s.buffer, cg.s.buffer, cx.s.buffer, mv.buf, iv.buf],
        [n, c, s, cg.offset, cx.offset, mv.off, mv.st, iv.off, iv.st, flags, 0, 0],
        groups1d(c, 1),
      );
      gw.done();
      gb.done();
    }
    if (grads.input) {
      const gi = this.#out(grads.input, op, total);
      const wv = this.#channel(weight, op);
      const flags = (weight ? 1 : 0) | (batchStats ? 2 : 0);
      this.runtime.dispatch(
        batchNormGradInputKernel,
        [gi.buffer, cg.s.buffer, cx.s.buffer, mv.buf, iv.buf, wv.buf, sums ? sums.buffer : this.#dummy],
        [total, c, s, cg.offset, cx.offset, mv.off, mv.st, iv.off, iv.st, wv.off, wv.st, flags, n, 0, 0, 0],
        groups1d(total, 256),
      );
    }
    if (sums) this.free(sums);
    cg.done();
    cx.done();
  }
}
