/**
 * gather and scatterAdd. Out-of-range indices cannot throw inside a shader,
 * so they are recorded in a small error buffer that the backend reads with
 * the next read-back and turns into a RangeError naming the op.
 *
 * scatterAdd accumulates with atomics: `atomicAdd` on i32, and for f32 a
 * compare-exchange loop on the word's bits (so float sums of duplicate
 * indices may differ in the last bits between runs).
 *
 * @module
 */

import type { WgslType } from "../allocator.ts";
import { cachedKernel, type Kernel } from "../program.ts";
import { flatMain, MAX_RANK } from "./common.ts";

/** Error codes written into the error buffer's word 1. */
export const INDEX_ERROR = { gather: 1, scatterAdd: 2 } as const;

const R = MAX_RANK / 4;

const REPORT = `fn report(code: i32, j: i32, dim: i32, size: i32) {
  if (atomicAdd(&err[0], 1) == 0) {
    atomicStore(&err[1], code);
    atomicStore(&err[2], j);
    atomicStore(&err[3], dim);
    atomicStore(&err[4], size);
  }
}`;

/** gather. Params: `n, rank, dim, offA, offI, size, _, _, astr[8], ishape[8], istr[8]`. Bindings: out, a, index, err. */
export function gatherKernel(t: WgslType, it: WgslType): Kernel {
  return cachedKernel(`gather:${t}:${it}`, () => buildGatherKernel(t, it));
}

function buildGatherKernel(t: WgslType, it: WgslType): Omit<Kernel, "key"> {
  return {
    name: `gather_${t}`,
    bindings: ["rw", "ro", "ro", "rw"],
    source: () =>
      `struct P {
  n: u32, rank: u32, dim: i32, offA: i32,
  offI: i32, size: i32, p0: u32, p1: u32,
  astr: array<vec4<i32>, ${R}>,
  ishape: array<vec4<i32>, ${R}>,
  istr: array<vec4<i32>, ${R}>,
}
@group(0) @binding(0) var<storage, read_write> out: array<${t}>;
@group(0) @binding(1) var<storage, read> a: array<${t}>;
@group(0) @binding(2) var<storage, read> index: array<${it}>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<i32>, 8>;
@group(0) @binding(4) var<uniform> p: P;
${REPORT}
${flatMain("p.n")}
  var rem = i;
  var ai = p.offA;
  var ii = p.offI;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let sz = u32(p.ishape[d / 4][d % 4]);
    let c = i32(rem % sz);
    rem = rem / sz;
    ii += c * p.istr[d / 4][d % 4];
    if (d != p.dim) { ai += c * p.astr[d / 4][d % 4]; }
  }
  let j = i32(index[ii]);
  if (j < 0 || j >= p.size) {
    report(${INDEX_ERROR.gather}, j, p.dim, p.size);
    return;
  }
  out[i] = a[ai + j * p.astr[p.dim / 4][p.dim % 4]];
}`,
  };
}

/** scatterAdd. Params: `n, rank, dim, offI, offS, size, _, _, ostr[8], ishape[8], istr[8], sstr[8]`. Bindings: out, index, src, err. */
export function scatterAddKernel(t: WgslType, it: WgslType): Kernel {
  return cachedKernel(`scatterAdd:${t}:${it}`, () => buildScatterAddKernel(t, it));
}

function buildScatterAddKernel(t: WgslType, it: WgslType): Omit<Kernel, "key"> {
  const isFloat = t === "f32";
  const add = isFloat
    ? `var old = atomicLoad(&out[o]);
  loop {
    let r = atomicCompareExchangeWeak(&out[o], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`
    : "atomicAdd(&out[o], i32(v));";
  return {
    name: `scatter_add_${t}`,
    bindings: ["rw", "ro", "ro", "rw"],
    source: () =>
      `struct P {
  n: u32, rank: u32, dim: i32, offI: i32,
  offS: i32, size: i32, p0: u32, p1: u32,
  ostr: array<vec4<i32>, ${R}>,
  ishape: array<vec4<i32>, ${R}>,
  istr: array<vec4<i32>, ${R}>,
  sstr: array<vec4<i32>, ${R}>,
}
@group(0) @binding(0) var<storage, read_write> out: array<atomic<${isFloat ? "u32" : "i32"}>>;
@group(0) @binding(1) var<storage, read> index: array<${it}>;
@group(0) @binding(2) var<storage, read> src: array<${t}>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<i32>, 8>;
@group(0) @binding(4) var<uniform> p: P;
${REPORT}
${flatMain("p.n")}
  var rem = i;
  var o = 0;
  var ii = p.offI;
  var si = p.offS;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let sz = u32(p.ishape[d / 4][d % 4]);
    let c = i32(rem % sz);
    rem = rem / sz;
    ii += c * p.istr[d / 4][d % 4];
    si += c * p.sstr[d / 4][d % 4];
    if (d != p.dim) { o += c * p.ostr[d / 4][d % 4]; }
  }
  let j = i32(index[ii]);
  if (j < 0 || j >= p.size) {
    report(${INDEX_ERROR.scatterAdd}, j, p.dim, p.size);
    return;
  }
  o += j * p.ostr[p.dim / 4][p.dim % 4];
  let v = src[si];
  ${add}
}`,
  };
}
