/**
 * WebAssembly SIMD kernels: optim family (generator; see `ops_kernel.ts`) —
 * the fused SGD and Adam/AdamW steps and `axpy`, in place over float32
 * storage. The dispatch is `../optim_wasm.ts`.
 *
 * Arithmetic is float64 (`f64x2`): every element goes through the same
 * operations in the same order as the TypeScript `../fused.ts` (which computes
 * in JavaScript numbers and rounds on store), so the results are bit-identical
 * to it. Float32 SIMD would run about as fast here (these loops are bound by
 * memory traffic) but rounds every intermediate: Adam's `m/(√v/bc + eps)`
 * would drift by several ulps from the reference.
 *
 * The hyperparameter flags select one of several loops generated here, so no
 * flag is tested per element.
 *
 * @module
 */

import {
  add,
  type Code,
  eq,
  f32x4Demote,
  F64,
  f64x2Add,
  f64x2Div,
  f64x2Max,
  f64x2Mul,
  f64x2Promote,
  f64x2Splat,
  f64x2Sqrt,
  f64x2Sub,
  Fn,
  I32,
  i32,
  ifElse,
  seq,
  shl,
  V128,
} from "./assembler.ts";
import type { KernelFamily } from "./ops_kernel.ts";
import { loadF64, storeDemoted, storeF32, stream } from "./reduce_kernel.ts";

/** Parameters of the given names and types. */
function params(...list: [string, number][]): [string, number][] {
  return list;
}

/** `opt_axpy(out, x, n, alpha)`: `out[i] = out[i] + alpha·x[i]` for `i < n`. */
function axpy(): Fn {
  const f = new Fn("opt_axpy", params(["out", I32], ["x", I32], ["n", I32], ["alpha", F64]));
  f.local(I32, "end");
  f.local(V128, "a");
  const g = (n: string) => f.get(n);
  f.body = seq(
    f.set("a", f64x2Splat(g("alpha"))),
    f.set("end", add(g("out"), shl(g("n"), i32(2)))),
    stream(
      f,
      ["out", "x"],
      "end",
      (w, off) =>
        storeF32(w, g("out"), f64x2Add(loadF64(w, g("out"), off), f64x2Mul(g("a"), loadF64(w, g("x"), off))), off),
    ),
  );
  return f;
}

/** SGD variant bits (see `optim_wasm.ts`): weight decay, momentum mode (none, first step, update), Nesterov. */
export const SGD_WD = 1, SGD_FIRST = 2, SGD_UPDATE = 4, SGD_NESTEROV = 8;

/**
 * `opt_sgd(p, g, b, n, variant, lr, mu, keep, wd, sign)`, per element
 * (`keep = 1 - dampening`, `sign = maximize ? -1 : 1`):
 * ```
 * gi = sign·g;  gi = gi + wd·p                      (SGD_WD)
 * b = gi (SGD_FIRST) or mu·b + keep·gi (SGD_UPDATE), stored, then read back rounded
 * gi = gi + mu·b (SGD_NESTEROV) or b               (with momentum)
 * p = p - lr·gi
 * ```
 */
function sgd(): Fn {
  const f = new Fn(
    "opt_sgd",
    params(
      ["p", I32],
      ["g", I32],
      ["b", I32],
      ["n", I32],
      ["variant", I32],
      ["lr", F64],
      ["mu", F64],
      ["keep", F64],
      ["wd", F64],
      ["sign", F64],
    ),
  );
  f.local(I32, "end");
  f.local(V128, "vLr", "vMu", "vKeep", "vWd", "vSign", "pv", "gi", "bd");
  const g = (n: string) => f.get(n);
  const loopFor = (variant: number) =>
    stream(f, ["p", "g", "b"], "end", (w, off) => {
      const code: Code[] = [
        f.set("pv", loadF64(w, g("p"), off)),
        f.set("gi", f64x2Mul(g("vSign"), loadF64(w, g("g"), off))),
      ];
      if (variant & SGD_WD) code.push(f.set("gi", f64x2Add(g("gi"), f64x2Mul(g("vWd"), g("pv")))));
      if (variant & (SGD_FIRST | SGD_UPDATE)) {
        const fresh = variant & SGD_FIRST
          ? g("gi")
          : f64x2Add(f64x2Mul(g("vMu"), loadF64(w, g("b"), off)), f64x2Mul(g("vKeep"), g("gi")));
        code.push(
          f.set("bd", f32x4Demote(fresh)),
          storeDemoted(w, g("b"), g("bd"), off),
          f.set(
            "gi",
            variant & SGD_NESTEROV
              ? f64x2Add(g("gi"), f64x2Mul(g("vMu"), f64x2Promote(g("bd"))))
              : f64x2Promote(g("bd")),
          ),
        );
      }
      code.push(storeF32(w, g("p"), f64x2Sub(g("pv"), f64x2Mul(g("vLr"), g("gi"))), off));
      return seq(...code);
    });
  const variants: number[] = [];
  for (const wd of [0, SGD_WD]) {
    variants.push(wd);
    for (const mode of [SGD_FIRST, SGD_UPDATE]) variants.push(wd | mode, wd | mode | SGD_NESTEROV);
  }
  f.body = seq(
    ...["lr", "mu", "keep", "wd", "sign"].map((k) => f.set(`v${k[0].toUpperCase()}${k.slice(1)}`, f64x2Splat(g(k)))),
    f.set("end", add(g("p"), shl(g("n"), i32(2)))),
    ...variants.map((v) => ifElse(eq(g("variant"), i32(v)), loopFor(v))),
  );
  return f;
}

/** Adam variant bits: Adam's L2 term (`gi += l2·θ`), AMSGrad's running maximum. */
export const ADAM_L2 = 1, ADAM_AMSGRAD = 2;

/**
 * `opt_adam(p, g, m, v, vm, n, variant, sign, decay, l2, a1, beta2, a2, eps, stepSize, bc2)`,
 * per element (`decay = 1 - lr·λ` for AdamW, else 1; `a1 = 1 - β1`, `a2 = 1 - β2`):
 * ```
 * th = p·decay;  gi = sign·g;  gi = gi + l2·th       (ADAM_L2)
 * mi = m + a1·(gi - m);  vi = β2·v + a2·gi·gi       (both stored)
 * vi = max(vm, vi), stored                          (ADAM_AMSGRAD)
 * p = th - stepSize·(mi / (√vi / bc2 + eps))
 * ```
 * `mi` and `vi` go on unrounded, as in `fused.ts` (`const mi = m[i] = …` keeps the float64 value).
 */
function adam(): Fn {
  const scalars = ["sign", "decay", "l2", "a1", "beta2", "a2", "eps", "stepSize", "bc2"];
  const f = new Fn(
    "opt_adam",
    params(
      ["p", I32],
      ["g", I32],
      ["m", I32],
      ["v", I32],
      ["vm", I32],
      ["n", I32],
      ["variant", I32],
      ...scalars.map((s) => [s, F64] as [string, number]),
    ),
  );
  f.local(I32, "end");
  const vec = (s: string) => `v_${s}`;
  f.local(V128, ...scalars.map(vec), "th", "gi", "mi", "vi", "mv");
  const g = (n: string) => f.get(n);
  const c = (s: string) => g(vec(s));
  const loopFor = (variant: number) =>
    stream(f, variant & ADAM_AMSGRAD ? ["p", "g", "m", "v", "vm"] : ["p", "g", "m", "v"], "end", (w, off) => {
      const code: Code[] = [
        f.set("th", f64x2Mul(loadF64(w, g("p"), off), c("decay"))),
        f.set("gi", f64x2Mul(c("sign"), loadF64(w, g("g"), off))),
      ];
      if (variant & ADAM_L2) code.push(f.set("gi", f64x2Add(g("gi"), f64x2Mul(c("l2"), g("th")))));
      code.push(
        f.set("mv", loadF64(w, g("m"), off)),
        f.set("mi", f64x2Add(g("mv"), f64x2Mul(c("a1"), f64x2Sub(g("gi"), g("mv"))))),
        storeF32(w, g("m"), g("mi"), off),
        f.set(
          "vi",
          f64x2Add(f64x2Mul(c("beta2"), loadF64(w, g("v"), off)), f64x2Mul(f64x2Mul(c("a2"), g("gi")), g("gi"))),
        ),
        storeF32(w, g("v"), g("vi"), off),
      );
      if (variant & ADAM_AMSGRAD) {
        code.push(f.set("vi", f64x2Max(loadF64(w, g("vm"), off), g("vi"))), storeF32(w, g("vm"), g("vi"), off));
      }
      const denom = f64x2Add(f64x2Div(f64x2Sqrt(g("vi")), c("bc2")), c("eps"));
      code.push(storeF32(w, g("p"), f64x2Sub(g("th"), f64x2Mul(c("stepSize"), f64x2Div(g("mi"), denom))), off));
      return seq(...code);
    });
  f.body = seq(
    ...scalars.map((s) => f.set(vec(s), f64x2Splat(g(s)))),
    f.set("end", add(g("p"), shl(g("n"), i32(2)))),
    ...[0, ADAM_L2, ADAM_AMSGRAD, ADAM_L2 | ADAM_AMSGRAD].map((v) => ifElse(eq(g("variant"), i32(v)), loopFor(v))),
  );
  return f;
}

/** The optim kernels' functions and exports; `base` is the module index of the first function. */
export function optimKernels(_base: number): KernelFamily {
  const fns = [axpy(), sgd(), adam()];
  return { fns, exports: fns.map((f) => f.name) };
}
