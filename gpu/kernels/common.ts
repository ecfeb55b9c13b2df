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

/** WGSL `-inf` and `+inf` for f32 (WGSL has no infinity literal). */
export const F32_INF = "bitcast<f32>(0x7f800000u)";
/** WGSL negative infinity. */
export const F32_NEG_INF = "bitcast<f32>(0xff800000u)";

/** Writes `values` padded with `fill` to `MAX_RANK` words at `at` of `words`. */
export function putRank(words: number[], at: number, values: readonly number[], fill = 0): void {
  if (values.length > MAX_RANK) {
    throw new RangeError(`webgpu: rank ${values.length} after merging dims exceeds the supported ${MAX_RANK}`);
  }
  for (let d = 0; d < MAX_RANK; d++) words[at + d] = d < values.length ? values[d] : fill;
}

/** WGSL accessor of dim `d` in a `array<vec4<T>, 2>` rank field. */
export function rankAt(field: string, d: string): string {
  return `${field}[(${d}) / 4][(${d}) % 4]`;
}
