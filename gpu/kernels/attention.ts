/**
 * The fused attention in WGSL, FlashAttention-2 style, with workgroup memory
 * for the tiles (meaning: `AttentionArgs` in `tensor/backend.ts`):
 *
 * - `attention_forward`: a workgroup per (batch·head, block of {@link WG}
 *   queries), a thread per query row. The workgroup loads a tile of keys and
 *   values into workgroup memory; each thread scores its query against the
 *   tile, updates its running maximum and normaliser (rescaling its output
 *   accumulator) and adds the tile's weighted values. Writes the output and
 *   `lse = m + log l`; nothing `L×S` exists.
 * - `attention_backward_dq`: the same grid; each thread recomputes its row's
 *   weights from `lse` and accumulates `dQ`; it also writes `D = dO·O` for
 *   the next kernel.
 * - `attention_backward_dkv`: a workgroup per (batch·key/value head, block of
 *   keys), a thread per key row; query tiles (queries, output gradients,
 *   `lse`, `D`) of every head of the group pass through workgroup memory and
 *   each thread accumulates its key's `dK` and `dV`. Splitting the backward
 *   in two keeps every value written by one thread (WGSL has no float atomics).
 *
 * The tile length is chosen so a tile fits the 16 KiB of workgroup memory
 * WebGPU guarantees; one pipeline serves every head size up to a power of two
 * (`headBucket`). Rows are held and combined as `vec4`s (four features per
 * operation; a head size that is not a multiple of 4 is padded with zeros).
 *
 * @module
 */

import { cachedKernel, type Kernel } from "../program.ts";
import { F32_NEG_INF } from "./common.ts";
import { LOG_ACC } from "./softmax.ts";

/** Threads per workgroup: query rows (forward, dQ) or key rows (dK, dV) per workgroup. */
export const WG = 64;

/** Parameter words of the attention kernels (see {@link ATTN_STRUCT}). */
export const ATTN_WORDS = 48;

/** Word indices of the parameter block, in {@link ATTN_STRUCT}'s order. */
export const ATTN = {
  B: 0,
  H: 1,
  Hk: 2,
  L: 3,
  S: 4,
  causal: 5,
  q: 6, // off, sb, sh, sr
  k: 10,
  v: 14,
  mkind: 18,
  m: 19, // off, sb, sh, sr, sc
  scale: 24,
  dropout: 25,
  threshold: 26,
  keepScale: 27,
  seedh: 28,
  offLo: 29,
  offHi: 30,
  o: 31, // off, sb, sh, sr
  g: 35,
  l: 39, // off, sb, sh, sr
  E: 43,
  Ev: 44,
} as const;

/**
 * The head size a pipeline is built for: the larger of `E` and `Ev` rounded up
 * to a power of two, at least 16 (so one pipeline serves many head sizes; the
 * loops run to the actual sizes).
 */
export function headBucket(E: number, Ev: number): number {
  let d = 16;
  while (d < Math.max(E, Ev)) d *= 2;
  return d;
}

const ATTN_STRUCT = `struct P {
  B: u32, H: u32, Hk: u32, L: u32, S: u32, causal: u32,
  qo: u32, qb: u32, qh: u32, qr: u32,
  ko: u32, kb: u32, kh: u32, kr: u32,
  vo: u32, vb: u32, vh: u32, vr: u32,
  mkind: u32, mo: u32, mb: u32, mh: u32, mr: u32, mc: u32,
  scale: f32, dropout: u32, threshold: u32, keep_scale: f32, seedh: u32, off_lo: u32, off_hi: u32,
  oo: u32, ob: u32, oh: u32, or_: u32,
  go: u32, gb: u32, gh: u32, gr: u32,
  lo: u32, lb: u32, lh: u32, lr: u32,
  E: u32, EV: u32, pad2: u32, pad3: u32, pad4: u32,
}`;

/** Keys (or queries) per tile so that two tiles of rows of `D` floats (and two of one float) fit 16 KiB. */
export function tileRows(D: number): number {
  return Math.max(1, Math.min(64, Math.floor(4096 / (2 * D + 2))));
}

/** WGSL shared by the kernels: the score of (b, h, i) against key j with masks, and the dropout draw. */
const COMMON = `fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
// The dropout multiplier of weight (bh, i, j): 0, or keep_scale where the draw at its counter reaches the threshold.
fn keep(bh: u32, i: u32, j: u32) -> f32 {
  if (p.dropout == 0u) { return 1.0; }
  // counter = off + (bh·L + i)·S + j in 64 bits: (bh·L + i)·S may pass 2^32, so it is built in two words.
  let row = bh * p.L + i;
  let rlo = row * p.S;
  let rhi = mul_hi(row, p.S);
  let lo1 = p.off_lo + rlo;
  let hi1 = p.off_hi + rhi + select(0u, 1u, lo1 < rlo);
  let lo = lo1 + j;
  let hi = hi1 + select(0u, 1u, lo < lo1);
  let bits = pcg(pcg(p.seedh ^ hi) + lo);
  if ((bits >> 8u) >= p.threshold) { return p.keep_scale; }
  return 0.0;
}
fn mul_hi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let mid = a1 * b0 + ((a0 * b0) >> 16u);
  let mid2 = a0 * b1 + (mid & 0xffffu);
  return a1 * b1 + (mid >> 16u) + (mid2 >> 16u);
}
// The mask applied to score x of (b, h, i, j): -inf where masked out, plus a float mask.
fn masked(x: f32, b: u32, h: u32, i: u32, j: u32) -> f32 {
  if (p.causal != 0u && j > i) { return ${F32_NEG_INF}; }
  if (p.mkind == 0u) { return x; }
  let w = mask[p.mo + b * p.mb + h * p.mh + i * p.mr + j * p.mc];
  if (p.mkind == 1u) { return select(${F32_NEG_INF}, x, w != 0u); }
  return x + bitcast<f32>(w);
}`;

/** WGSL `ld_<a>(base, c)`: features `4c … 4c+3` of a row of binding `a` at `base` as a vector (zeros past `n`). */
function load4(a: string, n: string): string {
  return `fn ld_${a}(base: u32, c: u32) -> vec4<f32> {
  let e = 4u * c;
  if (e + 3u < ${n}) { return vec4<f32>(${a}[base + e], ${a}[base + e + 1u], ${a}[base + e + 2u], ${a}[base + e + 3u]); }
  var r = vec4<f32>(0.0);
  for (var x = 0u; x < 4u; x++) { if (e + x < ${n}) { r[x] = ${a}[base + e + x]; } }
  return r;
}`;
}

/** The loads every kernel has: queries, keys, values. */
const LOAD4 = [load4("q", "p.E"), load4("k", "p.E"), load4("v", "p.EV")].join("\n");

/** Tile loads into workgroup memory: `n` rows of keys into `kt` and of values into `vt`, as vectors. */
const LOAD_KV_TILE = `    for (var x = t; x < n * E4; x += ${WG}u) {
      let r = x / E4;
      kt[x] = ld_k(p.ko + b * p.kb + kh * p.kh + (j0 + r) * p.kr, x - r * E4);
    }
    for (var x = t; x < n * EV4; x += ${WG}u) {
      let r = x / EV4;
      vt[x] = ld_v(p.vo + b * p.vb + kh * p.vh + (j0 + r) * p.vr, x - r * EV4);
    }`;

const BIND_IN = (first: number) =>
  `@group(0) @binding(${first}) var<storage, read> q: array<f32>;
@group(0) @binding(${first + 1}) var<storage, read> k: array<f32>;
@group(0) @binding(${first + 2}) var<storage, read> v: array<f32>;
@group(0) @binding(${first + 3}) var<storage, read> mask: array<u32>;`;

const GRID = `@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {`;

/** Forward. Bindings: out, lse (rw), q, k, v, mask (a placeholder when none). */
export function attentionForwardKernel(D: number): Kernel {
  return cachedKernel(`attention_forward:${D}`, () => {
    const T = tileRows(D), D4 = D / 4;
    return {
      name: "attention_forward",
      bindings: ["rw", "rw", "ro", "ro", "ro", "ro"],
      source: () =>
        `${ATTN_STRUCT}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
${BIND_IN(2)}
@group(0) @binding(6) var<uniform> p: P;
${LOG_ACC}
${COMMON}
${LOAD4}
const T = ${T}u;
var<workgroup> kt: array<vec4<f32>, ${T * D4}>;
var<workgroup> vt: array<vec4<f32>, ${T * D4}>;
${GRID}
  let blocks = (p.L + ${WG}u - 1u) / ${WG}u;
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.B * p.H * blocks) { return; }
  let bh = wg / blocks;
  let b = bh / p.H;
  let h = bh - b * p.H;
  let kh = (h * p.Hk) / p.H;
  let i0 = (wg - bh * blocks) * ${WG}u;
  let i = i0 + t;
  let valid = i < p.L;
  let E4 = (p.E + 3u) / 4u;
  let EV4 = (p.EV + 3u) / 4u;
  var qv: array<vec4<f32>, ${D4}>;
  var acc: array<vec4<f32>, ${D4}>;
  var sc: array<f32, ${T}>;
  if (valid) {
    let qa = p.qo + b * p.qb + h * p.qh + i * p.qr;
    for (var c = 0u; c < E4; c++) { qv[c] = ld_q(qa, c) * p.scale; }
  }
  for (var c = 0u; c < EV4; c++) { acc[c] = vec4<f32>(0.0); }
  var m = ${F32_NEG_INF};
  var l = 0.0;
  var end = p.S;
  if (p.causal != 0u) { end = min(p.S, i0 + ${WG}u); }
  for (var j0 = 0u; j0 < end; j0 += T) {
    let n = min(T, end - j0);
    workgroupBarrier();
${LOAD_KV_TILE}
    workgroupBarrier();
    if (valid) {
      var tmax = ${F32_NEG_INF};
      for (var jj = 0u; jj < n; jj++) {
        var d = 0.0;
        for (var c = 0u; c < E4; c++) { d += dot(qv[c], kt[jj * E4 + c]); }
        let s = masked(d, b, h, i, j0 + jj);
        sc[jj] = s;
        tmax = max(tmax, s);
      }
      if (tmax != ${F32_NEG_INF}) {
        let mnew = max(m, tmax);
        let alpha = exp(m - mnew);
        l = l * alpha;
        for (var c = 0u; c < EV4; c++) { acc[c] = acc[c] * alpha; }
        for (var jj = 0u; jj < n; jj++) {
          let pj = exp(sc[jj] - mnew);
          l += pj;
          let pd = pj * keep(bh, i, j0 + jj);
          if (pd != 0.0) {
            for (var c = 0u; c < EV4; c++) { acc[c] += pd * vt[jj * EV4 + c]; }
          }
        }
        m = mnew;
      }
    }
  }
  if (valid) {
    let row = bh * p.L + i;
    var inv = 0.0;
    if (l > 0.0) { inv = 1.0 / l; }
    for (var e = 0u; e < p.EV; e++) { out[row * p.EV + e] = acc[e / 4u][e % 4u] * inv; }
    if (l > 0.0) { lse[row] = m + log_acc(l); } else { lse[row] = ${F32_NEG_INF}; }
  }
}`,
    };
  });
}

/** Backward for dQ (and D = dO·O per row). Bindings: gq, dbuf (rw), q, k, v, mask, out, gout, lse. */
export function attentionBackwardDqKernel(D: number): Kernel {
  return cachedKernel(`attention_backward_dq:${D}`, () => {
    const T = tileRows(D), D4 = D / 4;
    return {
      name: "attention_backward_dq",
      bindings: ["rw", "rw", "ro", "ro", "ro", "ro", "ro", "ro", "ro"],
      source: () =>
        `${ATTN_STRUCT}
@group(0) @binding(0) var<storage, read_write> gq: array<f32>;
@group(0) @binding(1) var<storage, read_write> dbuf: array<f32>;
${BIND_IN(2)}
@group(0) @binding(6) var<storage, read> o: array<f32>;
@group(0) @binding(7) var<storage, read> go: array<f32>;
@group(0) @binding(8) var<storage, read> ls: array<f32>;
@group(0) @binding(9) var<uniform> p: P;
${COMMON}
${LOAD4}
${load4("o", "p.EV")}
${load4("go", "p.EV")}
const T = ${T}u;
var<workgroup> kt: array<vec4<f32>, ${T * D4}>;
var<workgroup> vt: array<vec4<f32>, ${T * D4}>;
${GRID}
  let blocks = (p.L + ${WG}u - 1u) / ${WG}u;
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.B * p.H * blocks) { return; }
  let bh = wg / blocks;
  let b = bh / p.H;
  let h = bh - b * p.H;
  let kh = (h * p.Hk) / p.H;
  let i0 = (wg - bh * blocks) * ${WG}u;
  let i = i0 + t;
  let valid = i < p.L;
  let E4 = (p.E + 3u) / 4u;
  let EV4 = (p.EV + 3u) / 4u;
  var qv: array<vec4<f32>, ${D4}>;
  var gov: array<vec4<f32>, ${D4}>;
  var dq: array<vec4<f32>, ${D4}>;
  var rl = ${F32_NEG_INF};
  var dd = 0.0;
  if (valid) {
    let qa = p.qo + b * p.qb + h * p.qh + i * p.qr;
    for (var c = 0u; c < E4; c++) { qv[c] = ld_q(qa, c) * p.scale; dq[c] = vec4<f32>(0.0); }
    let ga = p.go + b * p.gb + h * p.gh + i * p.gr;
    let oa = p.oo + b * p.ob + h * p.oh + i * p.or_;
    for (var c = 0u; c < EV4; c++) { gov[c] = ld_go(ga, c); dd += dot(gov[c], ld_o(oa, c)); }
    rl = ls[p.lo + b * p.lb + h * p.lh + i * p.lr];
    dbuf[bh * p.L + i] = dd;
  }
  var end = p.S;
  if (p.causal != 0u) { end = min(p.S, i0 + ${WG}u); }
  for (var j0 = 0u; j0 < end; j0 += T) {
    let n = min(T, end - j0);
    workgroupBarrier();
${LOAD_KV_TILE}
    workgroupBarrier();
    if (valid && rl != ${F32_NEG_INF}) {
      for (var jj = 0u; jj < n; jj++) {
        var d = 0.0;
        for (var c = 0u; c < E4; c++) { d += dot(qv[c], kt[jj * E4 + c]); }
        let s = masked(d, b, h, i, j0 + jj);
        if (s == ${F32_NEG_INF}) { continue; }
        let pj = exp(s - rl);
        var dp = 0.0;
        for (var c = 0u; c < EV4; c++) { dp += dot(gov[c], vt[jj * EV4 + c]); }
        let ds = pj * (dp * keep(bh, i, j0 + jj) - dd) * p.scale;
        for (var c = 0u; c < E4; c++) { dq[c] += ds * kt[jj * E4 + c]; }
      }
    }
  }
  if (valid) {
    let row = (bh * p.L + i) * p.E;
    for (var e = 0u; e < p.E; e++) { gq[row + e] = dq[e / 4u][e % 4u]; }
  }
}`,
    };
  });
}

/** Backward for dK and dV. Bindings: gk, gv (rw), q, k, v, mask, gout, lse, dbuf. */
export function attentionBackwardDkvKernel(D: number): Kernel {
  return cachedKernel(`attention_backward_dkv:${D}`, () => {
    const T = tileRows(D), D4 = D / 4;
    return {
      name: "attention_backward_dkv",
      bindings: ["rw", "rw", "ro", "ro", "ro", "ro", "ro", "ro", "ro"],
      source: () =>
        `${ATTN_STRUCT}
@group(0) @binding(0) var<storage, read_write> gk: array<f32>;
@group(0) @binding(1) var<storage, read_write> gv: array<f32>;
${BIND_IN(2)}
@group(0) @binding(6) var<storage, read> go: array<f32>;
@group(0) @binding(7) var<storage, read> ls: array<f32>;
@group(0) @binding(8) var<storage, read> dbuf: array<f32>;
@group(0) @binding(9) var<uniform> p: P;
${COMMON}
${LOAD4}
${load4("go", "p.EV")}
const T = ${T}u;
var<workgroup> qt: array<vec4<f32>, ${T * D4}>;
var<workgroup> gt: array<vec4<f32>, ${T * D4}>;
var<workgroup> lt: array<f32, ${T}>;
var<workgroup> dt: array<f32, ${T}>;
${GRID}
  let blocks = (p.S + ${WG}u - 1u) / ${WG}u;
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.B * p.Hk * blocks) { return; }
  let bk = wg / blocks;
  let b = bk / p.Hk;
  let kh = bk - b * p.Hk;
  let j0 = (wg - bk * blocks) * ${WG}u;
  let j = j0 + t;
  let valid = j < p.S;
  let E4 = (p.E + 3u) / 4u;
  let EV4 = (p.EV + 3u) / 4u;
  var kv: array<vec4<f32>, ${D4}>;
  var vv: array<vec4<f32>, ${D4}>;
  var dk: array<vec4<f32>, ${D4}>;
  var dv: array<vec4<f32>, ${D4}>;
  if (valid) {
    let ka = p.ko + b * p.kb + kh * p.kh + j * p.kr;
    for (var c = 0u; c < E4; c++) { kv[c] = ld_k(ka, c); dk[c] = vec4<f32>(0.0); }
    let va = p.vo + b * p.vb + kh * p.vh + j * p.vr;
    for (var c = 0u; c < EV4; c++) { vv[c] = ld_v(va, c); dv[c] = vec4<f32>(0.0); }
  }
  let g = p.H / p.Hk;
  for (var hh = 0u; hh < g; hh++) {
    let h = kh * g + hh;
    let bh = b * p.H + h;
    var start = 0u;
    if (p.causal != 0u) { start = j0; }
    for (var i0 = start; i0 < p.L; i0 += T) {
      let n = min(T, p.L - i0);
      workgroupBarrier();
      for (var x = t; x < n * E4; x += ${WG}u) {
        let r = x / E4;
        qt[x] = ld_q(p.qo + b * p.qb + h * p.qh + (i0 + r) * p.qr, x - r * E4) * p.scale;
      }
      for (var x = t; x < n * EV4; x += ${WG}u) {
        let r = x / EV4;
        gt[x] = ld_go(p.go + b * p.gb + h * p.gh + (i0 + r) * p.gr, x - r * EV4);
      }
      for (var x = t; x < n; x += ${WG}u) {
        lt[x] = ls[p.lo + b * p.lb + h * p.lh + (i0 + x) * p.lr];
        dt[x] = dbuf[bh * p.L + i0 + x];
      }
      workgroupBarrier();
      if (valid) {
        for (var ii = 0u; ii < n; ii++) {
          let rl = lt[ii];
          if (rl == ${F32_NEG_INF}) { continue; }
          var d = 0.0;
          for (var c = 0u; c < E4; c++) { d += dot(qt[ii * E4 + c], kv[c]); }
          let s = masked(d, b, h, i0 + ii, j);
          if (s == ${F32_NEG_INF}) { continue; }
          let pj = exp(s - rl);
          let kp = keep(bh, i0 + ii, j);
          var dp = 0.0;
          for (var c = 0u; c < EV4; c++) {
            dv[c] += (pj * kp) * gt[ii * EV4 + c];
            dp += dot(gt[ii * EV4 + c], vv[c]);
          }
          // qt holds q·scale, so dK = Σ dS·q·scale takes it as is.
          let ds = pj * (dp * kp - dt[ii]);
          for (var c = 0u; c < E4; c++) { dk[c] += ds * qt[ii * E4 + c]; }
        }
      }
    }
  }
  if (valid) {
    let row = (b * p.Hk + kh) * p.S + j;
    for (var e = 0u; e < p.E; e++) { gk[row * p.E + e] = dk[e / 4u][e % 4u]; }
    for (var e = 0u; e < p.EV; e++) { gv[row * p.EV + e] = dv[e / 4u][e % 4u]; }
  }
}`,
    };
  });
}
