/**
 * A GEMM worker thread: instantiates the SGEMM and ops modules on the shared
 * memory it is handed, marks itself ready, then sleeps in `Atomics.wait` until the main
 * thread publishes a job, and claims chunks of it until none are left (see
 * `protocol.ts`). The worker does not return to its event loop while it
 * serves, so the host `unref`s it and it does not keep the process alive;
 * when the host's runtime unloads it sets `quit`, and the worker leaves its
 * loop so its thread ends with the runtime that started it (left in
 * `Atomics.wait`, it outlived its test module or Worker until the process
 * exited).
 *
 * @module
 */

import { workerData } from "node:worker_threads";
import { CTRL, CTRL_BYTES } from "./protocol.ts";
import { type CopyRowsFn, type GemmFn, type Kernels, slicedGemm, workOnJob } from "./jobs.ts";
import type { PaddedFn, UnfoldFn } from "../im2col.ts";
import { blasGemmAt, openBlas } from "../blas.ts";
import type { AttentionExports } from "./attention_jobs.ts";

interface GemmWorkerData {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  /** The ops module (elementwise kernels; no data segments or state, so every thread instantiates its own). */
  ops: WebAssembly.Module;
  id: number;
  /** The native BLAS the host checked and uses (`../blas.ts`), or null. */
  blas: string | null;
}

const { memory, module, ops, id, blas } = workerData as GemmWorkerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
const opsInstance = new WebAssembly.Instance(ops, { env: { memory } });
let view = new Float32Array(memory.buffer);
// The control block sits at byte 0 and never moves, so this view stays valid when the memory grows.
const ctrl = new Int32Array(memory.buffer, 0, CTRL.words);
const wasmGemm = instance.exports.gemm as GemmFn;
let nativeCall: GemmFn | null = null;
if (blas) {
  try {
    const heapBytes = instance.exports.heap_bytes as () => number;
    const minMacs = () => Atomics.load(ctrl, CTRL.blasMinMacs);
    nativeCall = blasGemmAt(openBlas(blas), memory, heapBytes, CTRL_BYTES, wasmGemm, minMacs);
  } catch {
    // The host checked this library; if it will not open here, this worker takes WebAssembly jobs only.
  }
}
const kernels: Kernels = {
  ctrl,
  gemm: wasmGemm,
  nativeCall,
  nativeGemm: nativeCall && slicedGemm(nativeCall),
  unfold: instance.exports.unfold as UnfoldFn,
  fold: instance.exports.fold as UnfoldFn,
  copyRows: instance.exports.copy_rows as CopyRowsFn,
  unfoldPadded: instance.exports.unfold_padded as PaddedFn,
  attn: instance.exports as unknown as AttentionExports,
  ops: opsInstance.exports as unknown as Kernels["ops"],
  opsNames: WebAssembly.Module.exports(ops).map((e) => e.name),
  heap: () => {
    if (view.buffer.byteLength !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
    return view;
  },
};
const thread = id + 1;

// `seen` is read before the worker says it is ready, so a job published for it in between wakes it at once.
// `quit` is stored before `generation` is bumped, so a worker that read `seen` before the bump wakes, and one that
// reads it after sees `quit` before it sleeps.
let seen = Atomics.load(ctrl, CTRL.generation);
Atomics.store(ctrl, CTRL.native + id, nativeCall ? 1 : 0);
Atomics.store(ctrl, CTRL.ready + id, 1);
while (Atomics.load(ctrl, CTRL.quit) === 0) {
  Atomics.wait(ctrl, CTRL.generation, seen);
  seen = Atomics.load(ctrl, CTRL.generation);
  if (Atomics.load(ctrl, CTRL.quit) !== 0) break;
  const error = workOnJob(ctrl, kernels, thread);
  if (error) console.error(`dendrite: a chunk failed on GEMM worker ${id}:`, error);
}
if (Atomics.sub(ctrl, CTRL.alive, 1) === 1) Atomics.notify(ctrl, CTRL.alive);
