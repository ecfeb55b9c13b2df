/**
 * The fused attention on the WebAssembly kernels (`wasm/attention_kernel.ts`,
 * looped by `wasm/attention_jobs.ts`), threaded over (batch, head, query
 * block) forward and (batch, key/value head) backward. Same meaning as
 * `attention.ts`; each function returns false, having written nothing, unless
 * every operand is float32 in the WebAssembly heap (a bool mask: bytes in the
 * heap), so the TypeScript reference runs instead.
 *
 * @module
 */

import type { AttentionArgs, Storage, View } from "../backend.ts";
import { pcgHash } from "../random.ts";
import { attentionDims, dropoutThreshold } from "./attention.ts";
import { cpuData } from "./storage.ts";
import {
  type AttentionJob,
  ATTN_FIELDS,
  backwardScratchFloats,
  encodeAttentionJob,
  forwardChunks,
  forwardScratchFloats,
} from "./wasm/attention_jobs.ts";
import { JOB_ATTENTION_BACKWARD, JOB_ATTENTION_FORWARD } from "./wasm/jobs.ts";
import { heapAddress, heapAlloc, heapF32, heapFree, runAttentionJobs, threadsFor } from "./wasm/runtime.ts";

/** Byte address of a float32 (or, with `bytes`, a bool) storage in the heap, or -1. */
function addr(s: Storage, bool = false): number {
  const d = cpuData(s);
  return (bool ? d instanceof Uint8Array : d instanceof Float32Array) ? heapAddress(d) : -1;
}

/** Address and strides (elements) of a view whose last stride is 1, or null. */
function operand(v: View): { at: number; s: readonly number[] } | null {
  const at = addr(v.storage);
  if (at < 0 || (v.strides[v.strides.length - 1] !== 1 && v.shape[v.shape.length - 1] > 1)) return null;
  return { at: at + v.offset * 4, s: v.strides };
}

/** The job words both directions share, or null when an operand is not in the heap. */
function commonJob(a: AttentionArgs): AttentionJob | null {
  const [B, H, Hk, L, S, E, Ev] = attentionDims(a);
  const q = operand(a.q), k = operand(a.k), v = operand(a.v);
  if (!q || !k || !v) return null;
  let mkind = 0, m = 0, ms: readonly number[] = [0, 0, 0, 0];
  if (a.mask) {
    const bool = a.mask.storage.dtype === "bool";
    const at = addr(a.mask.storage, bool);
    if (at < 0) return null;
    mkind = bool ? 1 : 2;
    m = at + a.mask.offset * (bool ? 1 : 4);
    ms = a.mask.strides;
  }
  const off = a.offset, hi = Math.floor(off / 4294967296);
  const j = Object.fromEntries(ATTN_FIELDS.map((f) => [f, 0])) as AttentionJob;
  Object.assign(j, {
    B,
    H,
    Hk,
    L,
    S,
    E,
    Ev,
    q: q.at,
    qb: q.s[0],
    qh: q.s[1],
    qr: q.s[2],
    k: k.at,
    kb: k.s[0],
    kh: k.s[1],
    kr: k.s[2],
    v: v.at,
    vb: v.s[0],
    vh: v.s[1],
    vr: v.s[2],
    mkind,
    m,
    mb: ms[0],
    mh: ms[1],
    mr: ms[2],
    mc: ms[3],
    causal: a.isCausal ? 1 : 0,
    scale: a.scale,
    dropout: a.dropoutP > 0 ? 1 : 0,
    threshold: dropoutThreshold(a.dropoutP),
    keepScale: a.dropoutP > 0 ? 1 / (1 - a.dropoutP) : 1,
    seedh: pcgHash(a.seed) | 0,
    offLo: (off - hi * 4294967296) | 0,
    offHi: hi | 0,
  });
  return j;
}

let serial = 0;

/** Allocates the description and each thread's scratch, runs the job, frees both. */
function runJob(kind: number, j: AttentionJob, chunks: number, scratchFloats: number, macs: number): boolean {
  const threads = threadsFor(chunks, macs);
  const scratchBytes = Math.ceil((scratchFloats * 4) / 64) * 64;
  const desc = heapAlloc(ATTN_FIELDS.length * 4);
  if (desc < 0) return false;
  const scratch = heapAlloc(scratchBytes * threads);
  if (scratch < 0) {
    heapFree(desc);
    return false;
  }
  try {
    serial = (serial + 1) | 0;
    encodeAttentionJob(heapF32(), desc, { ...j, serial, scratch, scratchBytes });
    runAttentionJobs(kind, desc, chunks, threads);
  } finally {
    heapFree(scratch);
    heapFree(desc);
  }
  return true;
}

/** `Backend.attentionForward` on the WebAssembly kernels; false when it does not apply. */
export function wasmAttentionForward(a: AttentionArgs, out: Storage, lse: Storage): boolean {
  const j = commonJob(a);
  const o = addr(out), l = addr(lse);
  if (!j || o < 0 || l < 0) return false;
  j.out = o;
  j.lse = l;
  const macs = j.B * j.H * j.L * j.S * (j.E + j.Ev);
  return runJob(JOB_ATTENTION_FORWARD, j, forwardChunks(j), forwardScratchFloats(j.E, j.Ev), macs);
}

/** `Backend.attentionBackward` on the WebAssembly kernels; false when it does not apply. */
export function wasmAttentionBackward(
  a: AttentionArgs,
  out: View,
  lse: View,
  gradOut: View,
  gradQ: Storage,
  gradK: Storage,
  gradV: Storage,
): boolean {
  const j = commonJob(a);
  const o = operand(out), g = operand(gradOut), l = addr(lse.storage);
  const gq = addr(gradQ), gk = addr(gradK), gv = addr(gradV);
  if (!j || !o || !g || l < 0 || gq < 0 || gk < 0 || gv < 0) return false;
  Object.assign(j, {
    o: o.at,
    ob: o.s[0],
    oh: o.s[1],
    or: o.s[2],
    g: g.at,
    gb: g.s[0],
    gh: g.s[1],
    gr: g.s[2],
    l: l + lse.offset * 4,
    lb: lse.strides[0],
    lh: lse.strides[1],
    lr: lse.strides[2],
    gq,
    gk,
    gv,
  });
  const macs = 2 * j.B * j.H * j.L * j.S * (j.E + j.Ev);
  const scratch = backwardScratchFloats(j.H, j.Hk, j.L, j.E, j.Ev);
  return runJob(JOB_ATTENTION_BACKWARD, j, j.B * j.Hk, scratch, macs);
}
