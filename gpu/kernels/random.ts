/**
 * Counter-based random fills, bit-identical to `tensor/random.ts`: element
 * `i` hashes the 64-bit counter `offset + i` with PCG-RXS-M-XS in u32
 * arithmetic; uniforms take the top 24 bits, normals use Box–Muller on the
 * counter pair `offset + 2⌊i/2⌋, +1`.
 *
 * @module
 */

import { cachedKernel, type Kernel } from "../program.ts";
import { flatMain } from "./common.ts";

/** Uniform or normal fill. Params: `n, pcg(seed), offsetLo, offsetHi`. Bindings: out (f32). */
export function randomKernel(kind: "uniform" | "normal"): Kernel {
  return cachedKernel(`random:${kind}`, () => buildRandomKernel(kind));
}

function buildRandomKernel(kind: "uniform" | "normal"): Omit<Kernel, "key"> {
  const body = kind === "uniform" ? "out[i] = uni(i);" : `let b = i - (i & 1u);
  let u1 = 1.0 - uni(b);
  let u2 = uni(b + 1u);
  let r = sqrt(-2.0 * log(u1));
  let th = 6.283185307179586 * u2;
  if ((i & 1u) == 0u) { out[i] = r * cos(th); } else { out[i] = r * sin(th); }`;
  return {
    name: `random_${kind}`,
    bindings: ["rw"],
    source: () =>
      `struct P { n: u32, seedh: u32, lo: u32, hi: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: P;
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
// The uniform at counter offset + i (64-bit addition with carry).
fn uni(i: u32) -> f32 {
  let lo = p.lo + i;
  let hi = p.hi + select(0u, 1u, lo < p.lo);
  let bits = pcg(pcg(p.seedh ^ hi) + lo);
  return f32(bits >> 8u) / 16777216.0;
}
${flatMain("p.n")}
  ${body}
}`,
  };
}
