/**
 * Fast convolution kernels: implicit GEMM with a register tile per thread
 * (`TM` output rows × 4 consecutive output columns), reading the input
 * straight from the NCHW tensor (no im2col buffer), with the tap loops
 * nested (channel, kernel row, kernel column) so the inner loop does no
 * division. Every size, stride and offset is a uniform: one pipeline per
 * kernel (and, for the input gradient, unit vs. general stride).
 *
 * Why no workgroup memory: on Mesa llvmpipe a barrier switches every
 * invocation of the workgroup in and out, which costs more than the loads it
 * saves; like the fast matmul, these kernels keep their tiles in registers
 * and lean on the cache. The lanes of a SIMD group differ along the column
 * axis, so the row operand (the weight, or the output gradient for the
 * weight gradient) is the same address across lanes.
 *
 * @module
 */

import { cachedKernel, type Kernel } from "../program.ts";

/** Output rows per thread (see {@link setConvTile}). */
let CONV_TM = 16;
/** Invocations per workgroup, along the column axis (see {@link setConvTile}). */
let CONV_WG = 64;

/** Sets the register tile (for tuning benches: each setting builds its own pipelines). */
export function setConvTile(rows: number, workgroup: number): void {
  CONV_TM = rows;
  CONV_WG = workgroup;
}

const tileKey = () => `${CONV_TM}x${CONV_WG}`;

/**
 * The parameter block and bindings (out, `in1`, `in2`) of every convolution kernel, here and in `gemm.ts`, in the
 * word order `WebGpuBackend` packs; `dims` types the leading `M, N, K, zbase` words.
 */
export function convDecls(in1: string, in2: string, dims: "i32" | "u32"): string {
  return `struct P {
  M: ${dims}, N: ${dims}, K: ${dims}, zbase: ${dims},
  n: i32, cin: i32, h: i32, w: i32,
  cout: i32, kh: i32, kw: i32, sh: i32,
  sw: i32, ph: i32, pw: i32, dh: i32,
  dw: i32, cing: i32, coutg: i32, oh: i32,
  ow: i32, off1: i32, off2: i32, pad: i32,
}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> ${in1}: array<f32>;
@group(0) @binding(2) var<storage, read> ${in2}: array<f32>;
@group(0) @binding(3) var<uniform> p: P;`;
}

function decls(in1: string, in2: string): string {
  return `${convDecls(in1, in2, "i32")}
@compute @workgroup_size(${CONV_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  // Rows and group from the workgroup id: provably uniform, so a compiler can load the row operand once for all lanes.
  let j0 = i32(gid.x) * 4;
  let m0 = i32(wid.y) * ${CONV_TM};
  let grp = i32(wid.z);
  if (j0 >= p.N || m0 >= p.M) { return; }
  let ohw = p.oh * p.ow;
  let hw = p.h * p.w;
  let zero4 = vec4<i32>(0);`;
}

const rows = (f: (r: number) => string): string => Array.from({ length: CONV_TM }, (_, r) => f(r)).join("\n");

/** Per-column decomposition into a vec4 (one lane per column `j0 + t`, clamped into range). */
function perColumn(body: (t: number) => string): string {
  return [0, 1, 2, 3].map((t) => `  { let j = min(j0 + ${t}, p.N - 1);\n${body(t)}\n  }`).join("\n");
}

/** A gathered vec4: `src[idx]` where `ok`, else 0. */
function gather4(src: string, idx: string, ok: string): string {
  return `let xi = select(zero4, ${idx}, ${ok});
        let xv = select(vec4<f32>(0.0), vec4<f32>(${src}[xi.x], ${src}[xi.y], ${src}[xi.z], ${src}[xi.w]), ${ok});`;
}

function store(index: (r: number, t: number) => string): string {
  return [0, 1, 2, 3].map((t) =>
    `  if (j0 + ${t} < p.N) {\n${rows((r) => `    if (m0 + ${r} < p.M) { out[${index(r, t)}] = acc${r}[${t}]; }`)}\n  }`
  ).join("\n");
}

/**
 * Forward: rows = output channels of the group (M = cOut/groups), columns =
 * output cells over the batch (N = n·outH·outW), K = (cIn/groups)·kh·kw;
 * z = group. Bindings: out, x, w.
 */
export const conv2dDirectKernel = (): Kernel =>
  cachedKernel(`conv2d_direct:${tileKey()}`, () => ({
    name: "conv2d",
    bindings: ["rw", "ro", "ro"],
    source: () =>
      `${decls("X", "W")}
  var ih0: vec4<i32>; var iw0: vec4<i32>; var xb: vec4<i32>; var ob: vec4<i32>;
${
        perColumn((t) =>
          `    let img = j / ohw; let q = j % ohw;
    ih0[${t}] = (q / p.ow) * p.sh - p.ph; iw0[${t}] = (q % p.ow) * p.sw - p.pw;
    xb[${t}] = p.off1 + (img * p.cin + grp * p.cing) * hw; ob[${t}] = img * p.cout * ohw + q;`
        )
      }
${rows((r) => `  let w${r} = p.off2 + (grp * p.coutg + min(m0 + ${r}, p.M - 1)) * p.K;`)}
${rows((r) => `  var acc${r} = vec4<f32>(0.0);`)}
  var k = 0;
  for (var ci = 0; ci < p.cing; ci++) {
    let cb = xb + vec4<i32>(ci * hw);
    for (var ki = 0; ki < p.kh; ki++) {
      let ih = ih0 + vec4<i32>(ki * p.dh);
      let hok = (ih >= zero4) & (ih < vec4<i32>(p.h));
      let rb = cb + ih * p.w;
      for (var kj = 0; kj < p.kw; kj++) {
        let iw = iw0 + vec4<i32>(kj * p.dw);
        let ok = hok & (iw >= zero4) & (iw < vec4<i32>(p.w));
        ${gather4("X", "rb + iw", "ok")}
${rows((r) => `        acc${r} += W[w${r} + k] * xv;`)}
        k++;
      }
    }
  }
${store((r, t) => `ob[${t}] + (grp * p.coutg + m0 + ${r}) * ohw`)}
}`,
  }));

/**
 * Gradient w.r.t. the input: rows = input channels of the group
 * (M = cIn/groups), columns = input cells over the batch (N = n·h·w),
 * K = (cOut/groups)·kh·kw; z = group. `unit`: both strides are 1 (no
 * divisibility test in the inner loop). Bindings: out, gradOut, w.
 */
export function conv2dDirectBackwardInputKernel(unit: boolean): Kernel {
  return cachedKernel(`conv2d_direct_backward_input:${unit}:${tileKey()}`, () => buildBackwardInputKernel(unit));
}

function buildBackwardInputKernel(unit: boolean): Omit<Kernel, "key"> {
  // The output cell a tap reads: t = cell + pad - k·dilation must be ≥ 0, divisible by the stride, and in range.
  // (Negative operands never reach % or /: llvmpipe's i32 % is wrong for them.)
  const tapH = unit
    ? `let oh = th; let hok = (th >= zero4) & (th < vec4<i32>(p.oh));`
    : `let ths = select(zero4, th, th >= zero4); let oh = ths / vec4<i32>(p.sh);
      let hok = (th >= zero4) & (ths % vec4<i32>(p.sh) == zero4) & (oh < vec4<i32>(p.oh));`;
  const tapW = unit
    ? `let ow = tw; let ok = hok & (tw >= zero4) & (tw < vec4<i32>(p.ow));`
    : `let tws = select(zero4, tw, tw >= zero4); let ow = tws / vec4<i32>(p.sw);
        let ok = hok & (tw >= zero4) & (tws % vec4<i32>(p.sw) == zero4) & (ow < vec4<i32>(p.ow));`;
  return {
    name: "conv2d_backward_input",
    bindings: ["rw", "ro", "ro"],
    source: () =>
      `${decls("G", "W")}
  let khw = p.kh * p.kw;
  var th0: vec4<i32>; var tw0: vec4<i32>; var gb0: vec4<i32>; var ob: vec4<i32>;
${
        perColumn((t) =>
          `    let img = j / hw; let q = j % hw;
    th0[${t}] = q / p.w + p.ph; tw0[${t}] = q % p.w + p.pw;
    gb0[${t}] = p.off1 + (img * p.cout + grp * p.coutg) * ohw; ob[${t}] = img * p.cin * hw + q;`
        )
      }
${rows((r) => `  let w${r} = p.off2 + (grp * p.coutg * p.cing + min(m0 + ${r}, p.M - 1)) * khw;`)}
${rows((r) => `  var acc${r} = vec4<f32>(0.0);`)}
  for (var co = 0; co < p.coutg; co++) {
    let gb = gb0 + vec4<i32>(co * ohw);
    let wc = co * p.cing * khw;
    for (var ki = 0; ki < p.kh; ki++) {
      let th = th0 - vec4<i32>(ki * p.dh);
      ${tapH}
      let rb = gb + oh * p.ow;
      for (var kj = 0; kj < p.kw; kj++) {
        let tw = tw0 - vec4<i32>(kj * p.dw);
        ${tapW}
        ${gather4("G", "rb + ow", "ok")}
        let k = wc + ki * p.kw + kj;
${rows((r) => `        acc${r} += W[w${r} + k] * xv;`)}
      }
    }
  }
${store((r, t) => `ob[${t}] + (grp * p.cing + m0 + ${r}) * hw`)}
}`,
  };
}

/**
 * Gradient w.r.t. the weight: rows = output channels of the group
 * (M = cOut/groups), columns = (cIn/groups)·kh·kw weight taps,
 * K = n·outH·outW; z = group. Bindings: out, gradOut, x.
 */
export const conv2dDirectBackwardWeightKernel = (): Kernel =>
  cachedKernel(`conv2d_direct_backward_weight:${tileKey()}`, () => ({
    name: "conv2d_backward_weight",
    bindings: ["rw", "ro", "ro"],
    source: () =>
      `${decls("G", "X")}
  let khw = p.kh * p.kw;
  var xo: vec4<i32>; var ho: vec4<i32>; var wo: vec4<i32>;
${
        perColumn((t) =>
          `    let ci = j / khw; let r = j % khw;
    xo[${t}] = p.off2 + (grp * p.cing + ci) * hw; ho[${t}] = (r / p.kw) * p.dh - p.ph; wo[${t}] = (r % p.kw) * p.dw - p.pw;`
        )
      }
${rows((r) => `  let g${r} = p.off1 + (grp * p.coutg + min(m0 + ${r}, p.M - 1)) * ohw;`)}
${rows((r) => `  var acc${r} = vec4<f32>(0.0);`)}
  for (var img = 0; img < p.n; img++) {
    let xb = xo + vec4<i32>(img * p.cin * hw);
    let gi = img * p.cout * ohw;
    for (var oh = 0; oh < p.oh; oh++) {
      let ih = ho + vec4<i32>(oh * p.sh);
      let hok = (ih >= zero4) & (ih < vec4<i32>(p.h));
      let rb = xb + ih * p.w;
      let gq = gi + oh * p.ow;
      for (var ow = 0; ow < p.ow; ow++) {
        let iw = wo + vec4<i32>(ow * p.sw);
        let ok = hok & (iw >= zero4) & (iw < vec4<i32>(p.w));
        ${gather4("X", "rb + iw", "ok")}
${rows((r) => `        acc${r} += G[g${r} + gq + ow] * xv;`)}
      }
    }
  }
${store((r, t) => `(grp * p.coutg + m0 + ${r}) * p.N + j0 + ${t}`)}
}`,
  }));

/** Workgroups of the direct kernels for M rows, N columns and `groups` groups. */
export function convGroups(m: number, n: number, groups: number): [number, number, number] {
  return [Math.ceil(n / 4 / CONV_WG), Math.ceil(m / CONV_TM), groups];
}
