/**
 * One tiled GEMM for general matmul and the three convolution kernels: a
 * workgroup of 16×16 threads computes a 64×64 output tile, each thread a 4×4
 * register block; tiles of depth 16 go through workgroup memory.
 * Each user supplies only `loadA(m, k)`, `loadB(k, n)` and `store(m, n, v)`:
 * for convolution these compute input coordinates on the fly (implicit
 * GEMM: no im2col buffer in device memory).
 *
 * @module
 */

import { cachedKernel, type Kernel } from "../program.ts";
import { convDecls } from "./conv.ts";

/** The parameter block of the matmul kernels (see {@link matmulKernel}). */
const MATMUL_PARAMS = `struct P {
  M: u32, N: u32, K: u32, zbase: u32,
  offA: i32, offB: i32, sAm: i32, sAk: i32,
  sBk: i32, sBn: i32, brank: u32, pad: u32,
  bshape: vec4<i32>, bsa: vec4<i32>, bsb: vec4<i32>,
}`;

/** WGSL setting `oa` and `ob` to the offsets of batch `z` in A and B (up to 4 batch dims, any strides). */
const BATCH_OFFSETS = `var oa = p.offA;
  var ob = p.offB;
  var rem = z;
  for (var d = i32(p.brank) - 1; d >= 0; d--) {
    let sz = u32(p.bshape[d]);
    let c = i32(rem % sz);
    rem = rem / sz;
    oa += c * p.bsa[d];
    ob += c * p.bsb[d];
  }`;

function gemmSource(decls: string, fns: string): string {
  // A 16×16 workgroup computes a 64×64 tile, each thread a 4×4 block; A and B tiles of depth 16
  // go through workgroup memory, so each (index-heavy, for convolution) load serves 64 FMAs.
  return `${decls}
${fns}
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let z = wid.z + p.zbase;
  prologue(z);
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var r = 0u; r < 4u; r++) {
      let e = tid + r * 256u;
      let am = e / 16u;
      let ak = e % 16u;
      var va = 0.0;
      if (row0 + am < p.M && k0 + ak < p.K) { va = loadA(row0 + am, k0 + ak, z); }
      As[ak * 16u + am / 4u][am % 4u] = va;
      let bk = e / 64u;
      let bn = e % 64u;
      var vb = 0.0;
      if (k0 + bk < p.K && col0 + bn < p.N) { vb = loadB(k0 + bk, col0 + bn, z); }
      Bs[bk * 16u + bn / 4u][bn % 4u] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = As[kk * 16u + ty];
      let b = Bs[kk * 16u + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let gm = row0 + ty * 4u + i;
    if (gm < p.M) {
      for (var j = 0u; j < 4u; j++) {
        let gn = col0 + tx * 4u + j;
        if (gn < p.N) { store(gm, gn, z, acc[i][j]); }
      }
    }
  }
}`;
}

/** Workgroups of the general GEMM for an `m × n` output (64×64 tiles). */
export function gemmGroups(m: number, n: number, z: number): [number, number, number] {
  return [Math.ceil(n / 64), Math.ceil(m / 64), z];
}

/**
 * Batched matmul with arbitrary strides. Parameters:
 * `M, N, K, zbase, offA, offB, sAm, sAk, sBk, sBn, brank, _, bshape[4], bstrA[4], bstrB[4]`.
 */
export const matmulKernel: Kernel = {
  name: "matmul",
  key: "matmul",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    gemmSource(
      `${MATMUL_PARAMS}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<uniform> p: P;`,
      `var<private> base: vec2<i32>;
fn prologue(z: u32) {
  ${BATCH_OFFSETS}
  base = vec2<i32>(oa, ob);
}
fn loadA(m: u32, k: u32, z: u32) -> f32 { return A[base.x + i32(m) * p.sAm + i32(k) * p.sAk]; }
fn loadB(k: u32, n: u32, z: u32) -> f32 { return B[base.y + i32(k) * p.sBk + i32(n) * p.sBn]; }
fn store(m: u32, n: u32, z: u32, v: f32) { out[(z * p.M + m) * p.N + n] = v; }`,
    ),
};

/** Convolution forward: M = cOut/groups, N = n·outH·outW, K = cIn/groups·kh·kw, z = group. Bindings: out, x, w. */
export const conv2dKernel: Kernel = {
  name: "conv2d",
  key: "conv2d",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    gemmSource(
      convDecls("X", "W", "u32"),
      `fn prologue(z: u32) {}
fn loadA(m: u32, k: u32, z: u32) -> f32 {
  return W[p.off2 + (i32(z) * p.coutg + i32(m)) * i32(p.K) + i32(k)];
}
fn loadB(k: u32, j: u32, z: u32) -> f32 {
  let khw = p.kh * p.kw;
  let ci = i32(k) / khw;
  let r = i32(k) % khw;
  let ohw = p.oh * p.ow;
  let img = i32(j) / ohw;
  let q = i32(j) % ohw;
  let ih = (q / p.ow) * p.sh - p.ph + (r / p.kw) * p.dh;
  let iw = (q % p.ow) * p.sw - p.pw + (r % p.kw) * p.dw;
  if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) { return 0.0; }
  return X[p.off1 + ((img * p.cin + i32(z) * p.cing + ci) * p.h + ih) * p.w + iw];
}
fn store(m: u32, j: u32, z: u32, v: f32) {
  let ohw = p.oh * p.ow;
  let img = i32(j) / ohw;
  let q = i32(j) % ohw;
  out[(img * p.cout + i32(z) * p.coutg + i32(m)) * ohw + q] = v;
}`,
    ),
};

/** Gradient w.r.t. the input: M = cIn/groups, N = n·h·w, K = cOut/groups·kh·kw. Bindings: out, gradOut, w. */
export const conv2dBackwardInputKernel: Kernel = {
  name: "conv2d_backward_input",
  key: "conv2d_backward_input",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    gemmSource(
      convDecls("G", "W", "u32"),
      `fn prologue(z: u32) {}
fn loadA(m: u32, k: u32, z: u32) -> f32 {
  let khw = p.kh * p.kw;
  let co = i32(k) / khw;
  let r = i32(k) % khw;
  return W[p.off2 + ((i32(z) * p.coutg + co) * p.cing + i32(m)) * khw + r];
}
fn loadB(k: u32, j: u32, z: u32) -> f32 {
  let khw = p.kh * p.kw;
  let co = i32(k) / khw;
  let r = i32(k) % khw;
  let hw = p.h * p.w;
  let img = i32(j) / hw;
  let q = i32(j) % hw;
  let th = q / p.w + p.ph - (r / p.kw) * p.dh;
  let tw = q % p.w + p.pw - (r % p.kw) * p.dw;
  if (th < 0 || tw < 0 || th % p.sh != 0 || tw % p.sw != 0) { return 0.0; }
  let oh = th / p.sh;
  let ow = tw / p.sw;
  if (oh >= p.oh || ow >= p.ow) { return 0.0; }
  return G[p.off1 + ((img * p.cout + i32(z) * p.coutg + co) * p.oh + oh) * p.ow + ow];
}
fn store(m: u32, j: u32, z: u32, v: f32) {
  let hw = p.h * p.w;
  let img = i32(j) / hw;
  let q = i32(j) % hw;
  out[(img * p.cin + i32(z) * p.cing + i32(m)) * hw + q] = v;
}`,
    ),
};

/** Gradient w.r.t. the weight: M = cOut/groups, N = cIn/groups·kh·kw, K = n·outH·outW. Bindings: out, gradOut, x. */
export const conv2dBackwardWeightKernel: Kernel = {
  name: "conv2d_backward_weight",
  key: "conv2d_backward_weight",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    gemmSource(
      convDecls("G", "X", "u32"),
      `fn prologue(z: u32) {}
fn loadA(m: u32, k: u32, z: u32) -> f32 {
  let ohw = p.oh * p.ow;
  let img = i32(k) / ohw;
  let q = i32(k) % ohw;
  return G[p.off1 + (img * p.cout + i32(z) * p.coutg + i32(m)) * ohw + q];
}
fn loadB(k: u32, j: u32, z: u32) -> f32 {
  let ohw = p.oh * p.ow;
  let img = i32(k) / ohw;
  let q = i32(k) % ohw;
  let khw = p.kh * p.kw;
  let ci = i32(j) / khw;
  let r = i32(j) % khw;
  let ih = (q / p.ow) * p.sh - p.ph + (r / p.kw) * p.dh;
  let iw = (q % p.ow) * p.sw - p.pw + (r % p.kw) * p.dw;
  if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) { return 0.0; }
  return X[p.off2 + ((img * p.cin + i32(z) * p.cing + ci) * p.h + ih) * p.w + iw];
}
fn store(m: u32, j: u32, z: u32, v: f32) {
  out[(i32(z) * p.coutg + i32(m)) * i32(p.N) + i32(j)] = v;
}`,
    ),
};

/**
 * Workgroup shape of {@link matmulVec4Kernel} in threads (columns, rows); each thread computes 4×4 outputs. A square
 * block keeps the A and B panels one workgroup streams (32 rows and 32 columns by K) in a core's L2 up to K ≈ 2048;
 * a 64×1 shape streamed 256 columns and fell from 12 to 4.6 GFLOP/s at 2048² on llvmpipe.
 */
export const VEC4_WG: readonly [number, number] = [8, 8];

/**
 * The fast matmul for operands whose rows (or, transposed, columns) are
 * contiguous and whose sizes, offsets and strides are multiples of 4: each
 * thread computes a 4×4 block straight from vec4 loads, with no workgroup
 * memory or barriers (on llvmpipe this beats the tiled kernel by 5×).
 * `aT`/`bT`: the operand is stored transposed (its row stride is 1).
 * Parameters as {@link matmulKernel}, with offsets and strides divided by 4
 * along the contiguous axis.
 */
export function matmulVec4Kernel(aT: boolean, bT: boolean): Kernel {
  return cachedKernel(`matmul_vec4:${aT}:${bT}`, () => buildMatmulVec4Kernel(aT, bT));
}

function buildMatmulVec4Kernel(aT: boolean, bT: boolean): Omit<Kernel, "key"> {
  const loadA = aT
    ? `let at = transpose(mat4x4<f32>(A[(oa + (kb) * p.sAk) / 4 + i32(r0 / 4u)], A[(oa + (kb + 1) * p.sAk) / 4 + i32(r0 / 4u)],
      A[(oa + (kb + 2) * p.sAk) / 4 + i32(r0 / 4u)], A[(oa + (kb + 3) * p.sAk) / 4 + i32(r0 / 4u)]));
    let a0 = at[0]; let a1 = at[1]; let a2 = at[2]; let a3 = at[3];`
    : `let ar = (oa + i32(r0) * p.sAm) / 4 + k;
    let s = p.sAm / 4;
    let a0 = A[ar]; let a1 = A[ar + s]; let a2 = A[ar + 2 * s]; let a3 = A[ar + 3 * s];`;
  const loadB = bT
    ? `let bc = (ob + i32(c0) * p.sBn) / 4 + k;
    let s2 = p.sBn / 4;
    let bm = transpose(mat4x4<f32>(B[bc], B[bc + s2], B[bc + 2 * s2], B[bc + 3 * s2]));`
    : `let bm = mat4x4<f32>(B[(ob + kb * p.sBk) / 4 + i32(c0 / 4u)], B[(ob + (kb + 1) * p.sBk) / 4 + i32(c0 / 4u)],
      B[(ob + (kb + 2) * p.sBk) / 4 + i32(c0 / 4u)], B[(ob + (kb + 3) * p.sBk) / 4 + i32(c0 / 4u)]);`;
  return {
    name: `matmul_vec4${aT ? "_at" : ""}${bT ? "_bt" : ""}`,
    bindings: ["rw", "ro", "ro"],
    source: () =>
      `${MATMUL_PARAMS}
@group(0) @binding(0) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${VEC4_WG[0]}, ${VEC4_WG[1]})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (c0 >= p.N || r0 >= p.M) { return; }
  let z = gid.z + p.zbase;
  ${BATCH_OFFSETS}
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  let k4 = i32(p.K / 4u);
  for (var k = 0; k < k4; k++) {
    let kb = k * 4;
    ${loadA}
    ${loadB}
    acc0 += bm * a0;
    acc1 += bm * a1;
    acc2 += bm * a2;
    acc3 += bm * a3;
  }
  let n4 = p.N / 4u;
  let o = (z * p.M + r0) * n4 + gid.x;
  C[o] = acc0;
  C[o + n4] = acc1;
  C[o + 2u * n4] = acc2;
  C[o + 3u * n4] = acc3;
}`,
  };
}

/**
 * The general matmul for operands the vec4 kernel cannot take (odd sizes,
 * offsets or strides): each thread computes a 4×4 block from scalar loads
 * with any strides, in registers, without workgroup memory (on llvmpipe a
 * barrier per 16-deep tile costs more than the loads it saves). Rows and
 * columns past the edge are clamped for loads and skipped for stores.
 * Parameters as {@link matmulKernel}.
 */
export const matmulRegKernel: Kernel = {
  name: "matmul",
  key: "matmul_reg",
  bindings: ["rw", "ro", "ro"],
  source: () =>
    `${MATMUL_PARAMS}
@group(0) @binding(0) var<storage, read_write> C: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(64, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let c0 = gid.x * 4u;
  let r0 = wid.y * 4u;
  if (c0 >= p.N || r0 >= p.M) { return; }
  let z = wid.z + p.zbase;
  ${BATCH_OFFSETS}
  let m1 = p.M - 1u;
  let n1 = p.N - 1u;
  let a0 = oa + i32(min(r0, m1)) * p.sAm;
  let a1 = oa + i32(min(r0 + 1u, m1)) * p.sAm;
  let a2 = oa + i32(min(r0 + 2u, m1)) * p.sAm;
  let a3 = oa + i32(min(r0 + 3u, m1)) * p.sAm;
  let bn = vec4<i32>(i32(min(c0, n1)), i32(min(c0 + 1u, n1)), i32(min(c0 + 2u, n1)), i32(min(c0 + 3u, n1))) * p.sBn +
    vec4<i32>(ob);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0; k < i32(p.K); k++) {
    let bi = bn + vec4<i32>(k * p.sBk);
    let b = vec4<f32>(B[bi.x], B[bi.y], B[bi.z], B[bi.w]);
    let ak = k * p.sAk;
    acc0 += A[a0 + ak] * b;
    acc1 += A[a1 + ak] * b;
    acc2 += A[a2 + ak] * b;
    acc3 += A[a3 + ak] * b;
  }
  let rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r < p.M) {
      let o = (z * p.M + r) * p.N;
      for (var j = 0u; j < 4u; j++) {
        if (c0 + j < p.N) { C[o + c0 + j] = rows[i][j]; }
      }
    }
  }
}`,
};

/** Workgroups of {@link matmulRegKernel}. */
export function matmulRegGroups(m: number, n: number, z: number): [number, number, number] {
  return [Math.ceil(n / 256), Math.ceil(m / 4), z];
}
