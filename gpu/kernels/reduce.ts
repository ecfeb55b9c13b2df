/**
 * Reductions over the trailing dims of a view (sum, prod, max, min, argmax,
 * argmin): one thread per output row when rows are short, one workgroup per
 * row (a tree in workgroup memory) when they are long. The reduced block may
 * be two strided dims (e.g. a bias gradient summing over N and H·W of an
 * NCHW tensor), read in place without a contiguous copy.
 *
 * @module
 */

import type { ReduceOp } from "@dendrite/tensor";
import type { WgslType } from "../allocator.ts";
import { cachedKernel, type Kernel } from "../program.ts";
import { convert, F32_INF, F32_NEG_INF, MAX_RANK, rowMain } from "./common.ts";

/** Rows at least this long get a workgroup each, when there are few of them (see {@link GROUP_MAX_ROWS}). */
export const GROUP_ROW_MIN = 256;
/**
 * With at least this many rows, every row gets one thread whatever its
 * length: that is already enough threads to fill the device, and the
 * workgroup form's barriers are expensive on llvmpipe (a batch-norm
 * statistic over 256 channels ran 10× slower in the workgroup form).
 */
export const GROUP_MAX_ROWS = 32;

const STRUCT = `struct P {
  outer: u32, inner: u32, rank: u32, off: i32,
  istr: i32, n2: u32, s2: i32, p2: u32,
  shape: array<vec4<i32>, ${MAX_RANK / 4}>,
  str: array<vec4<i32>, ${MAX_RANK / 4}>,
}`;

function init(op: ReduceOp, t: "f32" | "i32"): string {
  const big = t === "f32" ? F32_INF : "2147483647";
  const small = t === "f32" ? F32_NEG_INF : "bitcast<i32>(0x80000000u)";
  switch (op) {
    case "sum":
      return t === "f32" ? "0.0" : "0";
    case "prod":
      return t === "f32" ? "1.0" : "1";
    case "max":
    case "argmax":
      return small;
    case "min":
    case "argmin":
      return big;
  }
}

/** Whether (v, j) should replace (acc, at) — for arg ops the first extreme wins. */
function better(op: ReduceOp): string {
  return op === "argmax" || op === "max" ? "v > acc || (v == acc && j < at)" : "v < acc || (v == acc && j < at)";
}

function combine(op: ReduceOp): string {
  switch (op) {
    case "sum":
      return "acc = acc + v;";
    case "prod":
      return "acc = acc * v;";
    default:
      return `if (${better(op)}) { acc = v; at = j; }`;
  }
}

/** The reduce kernel for `op` over words of `inType` into `outType`; `group` picks the workgroup-per-row form. */
export function reduceKernel(op: ReduceOp, inType: WgslType, outType: WgslType, group: boolean): Kernel {
  return cachedKernel(
    `reduce:${op}:${inType}:${outType}:${group}`,
    () => buildReduceKernel(op, inType, outType, group),
  );
}

function buildReduceKernel(op: ReduceOp, inType: WgslType, outType: WgslType, group: boolean): Omit<Kernel, "key"> {
  const ct: "f32" | "i32" = inType === "f32" ? "f32" : "i32";
  const isArg = op === "argmax" || op === "argmin";
  const result = isArg ? "out[row] = at;" : `out[row] = ${convert("acc", ct, outType)};`;
  const rowBase = `
  var base = p.off;
  var rem = row;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let sz = u32(p.shape[d / 4][d % 4]);
    base += i32(rem % sz) * p.str[d / 4][d % 4];
    rem = rem / sz;
  }`;
  const header = `${STRUCT}
@group(0) @binding(0) var<storage, read_write> out: array<${isArg ? "i32" : outType}>;
@group(0) @binding(1) var<storage, read> a: array<${inType}>;
@group(0) @binding(2) var<uniform> p: P;`;
  const source = group
    ? () =>
      `${header}
var<workgroup> sv: array<${ct}, 256>;
var<workgroup> si: array<i32, 256>;
${rowMain(256, "p.outer")}
  ${rowBase}
  var acc: ${ct} = ${init(op, ct)};
  var at: i32 = 0;
  // The reduced block may span two strided dims: j = a1·n2 + b1, walked without a division per element.
  var a1 = t / p.n2;
  var b1 = t % p.n2;
  for (var jj = t; jj < p.inner; jj += 256u) {
    let j = i32(jj);
    let v = ${ct}(a[base + i32(a1) * p.istr + i32(b1) * p.s2]);
    ${combine(op)}
    b1 += 256u;
    if (b1 >= p.n2) {
      a1 += b1 / p.n2;
      b1 = b1 % p.n2;
    }
  }
  sv[t] = acc;
  si[t] = at;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) {
      acc = sv[t];
      at = si[t];
      let v = sv[t + s];
      let j = si[t + s];
      ${combine(op)}
      sv[t] = acc;
      si[t] = at;
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    acc = sv[0];
    at = si[0];
    ${result}
  }
}`
    : () =>
      `${header}
const WG = 64u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.outer) { return; }
  ${rowBase}
  var acc: ${ct} = ${init(op, ct)};
  var at: i32 = 0;
  var a1 = 0;
  var b1 = 0u;
  for (var jj = 0u; jj < p.inner; jj++) {
    let j = i32(jj);
    let v = ${ct}(a[base + a1 * p.istr + i32(b1) * p.s2]);
    ${combine(op)}
    b1++;
    if (b1 == p.n2) {
      b1 = 0u;
      a1++;
    }
  }
  ${result}
}`;
  return {
    name: `reduce_${op}_${inType}${group ? "_group" : ""}`,
    bindings: ["rw", "ro"],
    source,
  };
}
