/**
 * The device-side value check behind `Backend.assertValues`: a thread per
 * element of a contiguous range; an element that is not finite (float32 NaN or
 * ±Inf, found from its exponent bits, which WGSL's comparisons cannot be
 * trusted with) or outside `[lo, hi]`, and not the excepted value, is reported
 * to the error record (`device_errors.ts`).
 *
 * @module
 */

import type { WgslType } from "../allocator.ts";
import { reportWgsl } from "../device_errors.ts";
import { cachedKernel, type Kernel } from "../program.ts";
import { flatMain } from "./common.ts";

/** Flags of the check's parameter block. */
export const ASSERT_FLAGS = { min: 1, max: 2, except: 4 } as const;

/** Params: `n, offset, site, flags, lo, hi, except, _` (lo/hi/except as the element type's bits). Bindings: x, err. */
export function assertValuesKernel(t: WgslType): Kernel {
  return cachedKernel(`assert_values:${t}`, () => ({
    name: `assert_values_${t}`,
    bindings: ["ro", "rw"],
    source: () => {
      const finite = t === "f32" ? "(bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u" : "true";
      return `struct P { n: u32, off: u32, site: i32, flags: u32, lo: ${t}, hi: ${t}, ex: ${t}, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
${reportWgsl(1)}
@group(0) @binding(2) var<uniform> p: P;
${flatMain("p.n")}
  let v = x[p.off + i];
  if ((p.flags & ${ASSERT_FLAGS.except}u) != 0u && v == p.ex) { return; }
  var ok = ${finite};
  if (ok && (p.flags & ${ASSERT_FLAGS.min}u) != 0u) { ok = v >= p.lo; }
  if (ok && (p.flags & ${ASSERT_FLAGS.max}u) != 0u) { ok = v <= p.hi; }
  if (!ok) { report(p.site, bitcast<i32>(v), i32(i)); }
}`;
    },
  }));
}
