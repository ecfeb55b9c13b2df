/**
 * What the kernel families share: WGSL type conversions, the thread-index
 * prelude, and packing shapes and strides into parameter words.
 *
 * @module
 */

import type { WgslType } from "../allocator.ts";

/** The largest rank a strided kernel indexes directly (after merging dims that can be merged). */
export const MAX_RANK = 8;

/** WGSL that converts expression `e` of type `from` to type `to` (bool words are 0/1). */
export function convert(e: string, from: WgslType, to: WgslType): string {
  if (from === to) return e;
  if (to === "u32") return from === "f32" ? `select(0u, 1u, (${e}) != 0.0)` : `select(0u, 1u, (${e}) != 0)`;
  return `${to}(${e})`;
}

/** The flat invocation index for a 1-D launch that may spill into the y dimension (see `groups1d`). */
export const FLAT_INDEX = "let i = gid.x + gid.y * nwg.x * WG;";

/** The builtins a flat kernel's `main` takes. */
export const FLAT_ARGS = "@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>";

/**
 * The opening of a flat kernel with 256 threads per workgroup and one thread per element: declares `WG` (which
 * {@link FLAT_INDEX} reads), computes `i`, and returns for `i` at or past `bound` (a u32 WGSL expression).
 */
export function flatMain(bound: string): string {
  return `const WG = 256u;
@compute @workgroup_size(256)
fn main(${FLAT_ARGS}) {
  ${FLAT_INDEX}
  if (i >= ${bound}) { return; }`;
}

/**
 * The opening of a kernel with one workgroup of `wg` threads per row (launched with `groups1d(rows, 1)`): `t` is the
 * thread in the workgroup, `row` (named `name`) the row, and rows at or past `bound` return.
 */
export function rowMain(wg: number, bound: string, name = "row"): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let ${name} = wid.x + wid.y * nwg.x;
  if (${name} >= ${bound}) { return; }`;
}

/** WGSL `-inf` and `+inf` for f32 (WGSL has no infinity literal). */
export const F32_INF = "bitcast<f32>(0x7f800000u)";
/** WGSL negative infinity. */
export const F32_NEG_INF = "bitcast<f32>(0xff800000u)";

/** Writes `values` padded with `fill` to `width` (default `MAX_RANK`) words at `at` of `words`. */
export function putRank(words: number[], at: number, values: readonly number[], fill = 0, width = MAX_RANK): void {
  if (values.length > width) {
    throw new RangeError(`webgpu: rank ${values.length} after merging dims exceeds the supported ${width}`);
  }
  for (let d = 0; d < width; d++) words[at + d] = d < values.length ? values[d] : fill;
}
