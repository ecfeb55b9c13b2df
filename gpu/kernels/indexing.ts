/**
 * gather and scatterReduce (scatterAdd is its `sum`). Out-of-range indices
 * cannot throw inside a shader, so they are recorded in a small error buffer
 * that the backend reads with the next read-back and turns into a RangeError
 * naming the kernel.
 *
 * scatterReduce runs one thread per index element and combines into the
 * destination with atomics: `atomicAdd`/`atomicMax`/`atomicMin`/`atomicStore`
 * on i32, and otherwise (every f32 op, i32 multiply) a compare-exchange loop
 * on the word's bits, which leaves as soon as the value would not change (so
 * an amax that loses costs one load). WGSL has no float atomics; the loop
 * makes sums and products of one destination's elements come out in whatever
 * order the threads win, so float results may differ in the last bits between
 * runs (as PyTorch's CUDA scatter_add does); max, min and assign of distinct
 * destinations are exact.
 *
 * @module
 */

import type { ScatterReduceOp } from "@dendrite/tensor";
import type { WgslType } from "../allocator.ts";
import { cachedKernel, type Kernel } from "../program.ts";
import { flatMain, MAX_RANK } from "./common.ts";

/** Error codes written into the error buffer's word 1, by the kernel that reports them. */
export const INDEX_ERROR = { gather: 1, scatterAdd: 2, scatterReduce: 3 } as const;

const R = MAX_RANK / 4;

const REPORT = `fn report(code: i32, j: i32, dim: i32, size: i32) {
  if (atomicAdd(&err[0], 1) == 0) {
    atomicStore(&err[1], code);
    atomicStore(&err[2], j);
    atomicStore(&err[3], dim);
    atomicStore(&err[4], size);
  }
}`;

/**
 * WGSL that splits the flat element `i` into its coordinates over `p.ishape` (rank and dim fixed at build time, so
 * the loop is unrolled with constant indices: dynamic indexing into the parameter block is what made these kernels
 * slow on software adapters) and adds each coordinate times its stride to the running offsets: `adds` maps an offset
 * variable to its strides array in `p`; `skipDim` lists the offsets that do not step along `dim`.
 */
function decode(rank: number, dim: number, adds: Record<string, string>, skipDim: readonly string[]): string {
  const lines = ["var rem = i;"];
  for (let d = rank - 1; d >= 0; d--) {
    const at = `[${d >> 2}][${d & 3}]`;
    lines.push(
      d === 0
        ? `let c${d} = i32(rem);`
        : `let c${d} = i32(rem % u32(p.ishape${at}));\n  rem = rem / u32(p.ishape${at});`,
    );
    for (const [v, strides] of Object.entries(adds)) {
      if (d === dim && skipDim.includes(v)) continue;
      lines.push(`${v} += c${d} * p.${strides}${at};`);
    }
  }
  return lines.join("\n  ");
}

/** gather. Params: `n, rank, dim, offA, offI, size, _, _, astr[8], ishape[8], istr[8]`. Bindings: out, a, index, err. */
export function gatherKernel(t: WgslType, it: WgslType, rank: number, dim: number): Kernel {
  return cachedKernel(`gather:${t}:${it}:${rank}:${dim}`, () => buildGatherKernel(t, it, rank, dim));
}

function buildGatherKernel(t: WgslType, it: WgslType, rank: number, dim: number): Omit<Kernel, "key"> {
  return {
    name: `gather_${t}_r${rank}_d${dim}`,
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
  var ai = p.offA;
  var ii = p.offI;
  ${decode(rank, dim, { ii: "istr", ai: "astr" }, ["ai"])}
  let j = i32(index[ii]);
  if (j < 0 || j >= p.size) {
    report(${INDEX_ERROR.gather}, j, p.dim, p.size);
    return;
  }
  out[i] = a[ai + j * p.astr[p.dim / 4][p.dim % 4]];
}`,
  };
}

/** WGSL for `v` is NaN, robust to compilers that fold `v != v` away: the exponent all ones, the mantissa not 0. */
const IS_NAN = (v: string) => `((bitcast<u32>(${v}) & 0x7fffffffu) > 0x7f800000u)`;

/** The f32 combine of each op but assign: the new value at a destination holding `o` that receives `v`. */
const F32_COMBINE: Record<Exclude<ScatterReduceOp, "assign">, string> = {
  sum: "o + v",
  prod: "o * v",
  amax: `select(o, v, v > o || ${IS_NAN("v")})`,
  amin: `select(o, v, v < o || ${IS_NAN("v")})`,
};

/** WGSL that combines `v` into the atomic word `out[o]`, per op and element type. */
function combineInto(op: ScatterReduceOp, t: WgslType): string {
  if (op === "assign") {
    return `atomicStore(&out[o], ${t === "f32" ? "bitcast<u32>(v)" : t === "u32" ? "select(0u, 1u, v != 0u)" : "v"});`;
  }
  if (t === "i32" && op !== "prod") {
    return `${{ sum: "atomicAdd", amax: "atomicMax", amin: "atomicMin" }[op]}(&out[o], v);`;
  }
  // A compare-exchange loop on the word: float add, multiply, max and min (and int multiply) have no atomic.
  const next = t === "f32" ? `bitcast<u32>(combine(bitcast<f32>(old), v))` : "old * v";
  return `var old = atomicLoad(&out[o]);
  loop {
    let nv = ${next};
    if (nv == old) { break; }
    let r = atomicCompareExchangeWeak(&out[o], old, nv);
    if (r.exchanged) { break; }
    old = r.old_value;
  }`;
}

/**
 * scatterReduce (and scatterAdd, its `sum`). Params: `n, rank, dim, offI, offS, size, scalarBits, _, ostr[8],
 * ishape[8], istr[8], sstr[8]`. Bindings: out, index, src (a placeholder when `scalar`: every element is the
 * `scalarBits` word), err. `code` is the error code an out-of-range index reports.
 */
export function scatterReduceKernel(
  op: ScatterReduceOp,
  t: WgslType,
  it: WgslType,
  scalar: boolean,
  code: number,
  rank: number,
  dim: number,
): Kernel {
  return cachedKernel(
    `scatterReduce:${op}:${t}:${it}:${scalar}:${code}:${rank}:${dim}`,
    () => buildScatterReduceKernel(op, t, it, scalar, code, rank, dim),
  );
}

function buildScatterReduceKernel(
  op: ScatterReduceOp,
  t: WgslType,
  it: WgslType,
  scalar: boolean,
  code: number,
  rank: number,
  dim: number,
): Omit<Kernel, "key"> {
  if (t === "u32" && op !== "assign") {
    throw new TypeError(`webgpu scatterReduce: ${op} of bool tensors is not supported`);
  }
  const word = t === "f32" ? "u32" : t;
  const combine = t === "f32" && op !== "assign"
    ? `fn combine(o: f32, v: f32) -> f32 { return ${F32_COMBINE[op]}; }`
    : "";
  return {
    name: `scatter_${op}_${t}${scalar ? "_scalar" : ""}_r${rank}_d${dim}`,
    bindings: ["rw", "ro", "ro", "rw"],
    source: () =>
      `struct P {
  n: u32, rank: u32, dim: i32, offI: i32,
  offS: i32, size: i32, scal: u32, p1: u32,
  ostr: array<vec4<i32>, ${R}>,
  ishape: array<vec4<i32>, ${R}>,
  istr: array<vec4<i32>, ${R}>,
  sstr: array<vec4<i32>, ${R}>,
}
@group(0) @binding(0) var<storage, read_write> out: array<atomic<${word}>>;
@group(0) @binding(1) var<storage, read> index: array<${it}>;
@group(0) @binding(2) var<storage, read> src: array<${t}>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<i32>, 8>;
@group(0) @binding(4) var<uniform> p: P;
${REPORT}
${combine}
${flatMain("p.n")}
  var o = 0;
  var ii = p.offI;
  var si = p.offS;
  ${decode(rank, dim, scalar ? { ii: "istr", o: "ostr" } : { ii: "istr", si: "sstr", o: "ostr" }, ["o"])}
  let j = i32(index[ii]);
  if (j < 0 || j >= p.size) {
    report(${code}, j, p.dim, p.size);
    return;
  }
  o += j * p.ostr[p.dim / 4][p.dim % 4];
  let v = ${scalar ? (t === "u32" ? "p.scal" : `bitcast<${t}>(p.scal)`) : "src[si]"};
  ${combineInto(op, t)}
}`,
  };
}
