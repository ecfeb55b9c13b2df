/**
 * Strided-loop helpers shared by the CPU kernels: dimension collapsing and
 * code generation for elementwise loops (one compiled loop per op and arity,
 * so the hot loop has no per-element calls or closures).
 *
 * @module
 */

export { collapseDims } from "../shape.ts";

/** A compiled elementwise loop: writes `out[o++] = EXPR(ins[k][ik])` in row-major order. */
export type StridedLoop = (
  out: ArrayLike<number> & { [i: number]: number },
  ins: ArrayLike<number>[],
  offsets: number[],
  strides: number[][],
  shape: number[],
  outOffset: number,
  helpers: Record<string, unknown>,
  outStrides: number[] | undefined,
) => void;

const loopCache = new Map<string, StridedLoop>();

/**
 * Compiles (once) a loop over `arity` strided inputs evaluating `expr`, where
 * the inputs are named `x`, `y`, `z`. Why code generation: a table entry
 * becomes a tight loop V8 can inline, instead of a closure call per element.
 *
 * `typeKey` names the array types the loop will see (e.g. `"Float32Array,Float32Array"`):
 * each combination gets its own compiled copy, so every element access stays
 * monomorphic. One copy shared by float32, float64 and int32 calls was
 * megamorphic and ran several times slower.
 */
export function compileLoop(
  arity: number,
  expr: string,
  helperNames: readonly string[] = [],
  stridedOut = false,
  typeKey = "",
): StridedLoop {
  const key = `${arity}|${expr}|${stridedOut}|${typeKey}`;
  const hit = loopCache.get(key);
  if (hit) return hit;
  const names = ["x", "y", "z"].slice(0, arity);
  const lines: string[] = [];
  for (const h of helperNames) lines.push(`const ${h} = helpers.${h};`);
  names.forEach((_, k) => {
    lines.push(`const in${k} = ins[${k}];`);
    lines.push(`const st${k} = strides[${k}];`);
  });
  lines.push("const nd = shape.length;");
  lines.push("const inner = shape[nd - 1];");
  lines.push("let outer = 1; for (let d = 0; d < nd - 1; d++) outer *= shape[d];");
  names.forEach((_, k) => {
    lines.push(`const s${k} = st${k}[nd - 1];`);
    lines.push(`let base${k} = offsets[${k}];`);
  });
  lines.push("const idx = new Int32Array(nd);");
  if (stridedOut) {
    lines.push("const so = outStrides[nd - 1];");
    lines.push("let baseO = outOffset;");
  } else {
    lines.push("let o = outOffset;");
  }
  lines.push("for (let r = 0; r < outer; r++) {");
  names.forEach((_, k) => lines.push(`  let i${k} = base${k};`));
  if (stridedOut) lines.push("  let o = baseO;");
  lines.push("  for (let j = 0; j < inner; j++) {");
  names.forEach((n, k) => lines.push(`    const ${n} = in${k}[i${k}]; i${k} += s${k};`));
  lines.push(stridedOut ? `    out[o] = ${expr}; o += so;` : `    out[o++] = ${expr};`);
  lines.push("  }");
  lines.push("  for (let d = nd - 2; d >= 0; d--) {");
  lines.push("    idx[d]++;");
  names.forEach((_, k) => lines.push(`    base${k} += st${k}[d];`));
  if (stridedOut) lines.push("    baseO += outStrides[d];");
  lines.push("    if (idx[d] < shape[d]) break;");
  names.forEach((_, k) => lines.push(`    base${k} -= st${k}[d] * shape[d];`));
  if (stridedOut) lines.push("    baseO -= outStrides[d] * shape[d];");
  lines.push("    idx[d] = 0;");
  lines.push("  }");
  lines.push("}");
  const fn = new Function(
    "out",
    "ins",
    "offsets",
    "strides",
    "shape",
    "outOffset",
    "helpers",
    "outStrides",
    lines.join("\n"),
  ) as StridedLoop;
  loopCache.set(key, fn);
  return fn;
}
