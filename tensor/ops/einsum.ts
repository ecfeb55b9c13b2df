/**
 * `einsum`: Einstein summation with PyTorch's equation language — explicit (`ij,jk->ik`) or implicit (`ij,jk`: the
 * subscripts that appear once, alphabetically, upper case first) output, repeated subscripts in one operand (a
 * diagonal: `ii->i`, a trace: `ii`), `...` for broadcast dimensions, and size-1 dimensions broadcasting against a
 * subscript's size.
 *
 * It is lowered to ops that already have derivative rules, so its gradient comes from them: each operand takes its
 * diagonals (`diagonal`), sums the subscripts only it has, and is permuted into one common dimension order with size-1
 * dims where it lacks a subscript; operands are then contracted left to right, each pair as one batched matrix
 * product (`matmul` over `[batch, left-only, summed] × [batch, summed, right-only]`), as PyTorch's `sumproduct_pair`
 * does.
 *
 * @module
 */

import { Tensor } from "../tensor.ts";
import { diagonal } from "./views.ts";

/** A subscript letter as a number: A-Z are 0-25, a-z 26-51 (so sorting puts upper case first, as PyTorch does). */
type Label = number;
/** One term of the equation: its labels in order, with ELLIPSIS standing for the `...`. */
type Term = Label[];
const ELLIPSIS = -1;

function labelOf(c: string): Label | null {
  const code = c.charCodeAt(0);
  if (code >= 65 && code <= 90) return code - 65;
  if (code >= 97 && code <= 122) return code - 97 + 26;
  return null;
}

function letter(l: Label): string {
  return String.fromCharCode(l < 26 ? 65 + l : 97 + l - 26);
}

/** Parses one side's terms; `at` is the side's first index in the whole equation (for error positions). */
function parseTerms(side: string, at: number, isOutput: boolean): Term[] {
  const terms: Term[] = [[]];
  let dots = 0;
  let hasEllipsis = false;
  for (let i = 0; i < side.length; i++) {
    const c = side[i];
    const who = isOutput ? "the output" : `operand ${terms.length - 1}`;
    if (c === ".") {
      if (hasEllipsis) throw new SyntaxError(`einsum: found '.' for ${who} for which an ellipsis was already found`);
      dots++;
      if (dots === 3) {
        terms[terms.length - 1].push(ELLIPSIS);
        hasEllipsis = true;
        dots = 0;
      }
      continue;
    }
    if (dots > 0) throw new SyntaxError(`einsum: found '.' for ${who} that is not part of any ellipsis`);
    if (c === ",") {
      if (isOutput) throw new SyntaxError(`einsum: found ',' in the output at index ${at + i} of the equation`);
      terms.push([]);
      hasEllipsis = false;
      continue;
    }
    const l = labelOf(c);
    if (l === null) {
      throw new SyntaxError(
        `einsum: invalid subscript given at index ${at + i} in the equation string, subscripts must be in [a-zA-Z]`,
      );
    }
    terms[terms.length - 1].push(l);
  }
  if (dots > 0) {
    throw new SyntaxError(
      `einsum: found '.' for ${
        isOutput ? "the output" : `operand ${terms.length - 1}`
      } that is not part of any ellipsis`,
    );
  }
  return terms;
}

/**
 * `torch.einsum`: sums the product of the operands' elements over the subscripts the output does not keep.
 * Operands may be given one by one or as one array.
 *
 * @example
 * ```ts
 * import { einsum, randn } from "../../mod.ts";
 * const q = randn([2, 4, 8, 16]), k = randn([2, 4, 8, 16]);
 * const scores = einsum("bhqd,bhkd->bhqk", q, k); // [2, 4, 8, 8]
 * const trace = einsum("ii", randn([3, 3])); // 0-d
 * ```
 */
export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): Tensor {
  if (typeof equation !== "string") throw new TypeError("einsum: the equation must be a string");
  const ops: Tensor[] = operands.length === 1 && Array.isArray(operands[0])
    ? [...operands[0] as readonly Tensor[]]
    : operands as Tensor[];
  if (ops.length === 0) throw new RangeError("einsum: must provide at least one operand");
  ops.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`einsum: operand ${i} is not a Tensor`);
    t.checkAlive("einsum");
  });
  const eq = equation.replace(/\s+/g, "");
  const arrow = eq.indexOf("->");
  if (arrow >= 0 && eq.indexOf("->", arrow + 2) >= 0) {
    throw new SyntaxError(`einsum: the equation "${equation}" has more than one "->"`);
  }
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const terms = parseTerms(lhs, 0, false);
  if (terms.length < ops.length) {
    throw new RangeError("einsum: more operands were provided than specified in the equation");
  }
  if (terms.length > ops.length) {
    throw new RangeError("einsum: fewer operands were provided than specified in the equation");
  }

  // Sizes: each operand's ellipsis covers the dims its subscripts leave; ellipsis dims align from the right.
  let ellRank = 0;
  const labelSize = new Map<Label, number>();
  const labelCount = new Map<Label, number>();
  terms.forEach((term, i) => {
    const x = ops[i];
    const named = term.filter((l) => l !== ELLIPSIS).length;
    const hasEll = term.includes(ELLIPSIS);
    if (hasEll ? named > x.ndim : named !== x.ndim) {
      throw new RangeError(
        hasEll
          ? `einsum: the number of subscripts in the equation (${named}) is more than the number of dimensions (${x.ndim}) for operand ${i}`
          : `einsum: the number of subscripts in the equation (${named}) does not match the number of dimensions (${x.ndim}) for operand ${i} and no ellipsis was given`,
      );
    }
    if (hasEll) ellRank = Math.max(ellRank, x.ndim - named);
    const seen = new Map<Label, number>();
    let dim = 0;
    for (const l of term) {
      if (l === ELLIPSIS) {
        dim += x.ndim - named;
        continue;
      }
      const size = x.shape[dim++];
      if (seen.has(l) && seen.get(l) !== size) {
        throw new RangeError(
          `einsum: subscript ${letter(l)} is repeated for operand ${i} but the sizes don't match, ${
            seen.get(l)
          } != ${size}`,
        );
      }
      seen.set(l, size);
      labelCount.set(l, (labelCount.get(l) ?? 0) + 1);
      const prev = labelSize.get(l);
      if (prev === undefined || prev === 1) labelSize.set(l, size);
      else if (size !== 1 && size !== prev) {
        throw new RangeError(
          `einsum: subscript ${
            letter(l)
          } has size ${size} for operand ${i} which does not broadcast with previously seen size ${prev}`,
        );
      }
    }
  });
  const anyEllipsis = terms.some((t) => t.includes(ELLIPSIS));

  // The output: given, or the subscripts seen once in alphabetical order after the ellipsis dims.
  let output: Term;
  if (arrow >= 0) {
    output = parseTerms(eq.slice(arrow + 2), arrow + 2, true)[0];
    const seen = new Set<Label>();
    for (const l of output) {
      if (l === ELLIPSIS) continue;
      if (seen.has(l)) {
        throw new RangeError(`einsum: output subscript ${letter(l)} appears more than once in the output`);
      }
      if (!labelSize.has(l)) {
        throw new RangeError(
          `einsum: output subscript ${letter(l)} does not appear in the equation for any input operand`,
        );
      }
      seen.add(l);
    }
  } else {
    const once = [...labelCount.entries()].filter(([, n]) => n === 1).map(([l]) => l).sort((a, b) => a - b);
    output = anyEllipsis ? [ELLIPSIS, ...once] : once;
  }

  // One common dim order: the output's dims (its ellipsis expanded in place), then the summed ones.
  // A dim is an ellipsis slot (-1 - k for slot k of ellRank) or a label.
  const ellSlots = Array.from({ length: ellRank }, (_, k) => -1 - k);
  const order: number[] = output.flatMap((l) => (l === ELLIPSIS ? ellSlots : [l]));
  const outRank = order.length;
  if (!output.includes(ELLIPSIS)) order.push(...ellSlots);
  for (const l of labelSize.keys()) if (!order.includes(l)) order.push(l);
  const position = new Map(order.map((key, p) => [key, p]));

  // Each operand: diagonals for repeated subscripts, then aligned to `order` with size-1 dims where absent.
  const aligned = terms.map((term, i) => alignOperand(ops[i], term, ellRank, position, order.length));
  // Which operands have each common dim (to know when a summed dim has been seen for the last time).
  const present = aligned.map((a) => a.present);
  const inOutput = (p: number) => p < outRank;

  let result = sumOwnDims(aligned[0].t, present, 0, inOutput);
  for (let i = 1; i < aligned.length; i++) {
    const right = sumOwnDims(aligned[i].t, present, i, inOutput);
    const sumDims: number[] = [];
    for (let p = outRank; p < order.length; p++) {
      if (!present.slice(i + 1).some((s) => s.has(p))) sumDims.push(p);
    }
    result = sumProductPair(result, right, sumDims);
  }
  // Whatever is left to sum (a single operand's dims were summed by sumOwnDims already).
  const rest: number[] = [];
  for (let p = outRank; p < order.length; p++) if (result.shape[p] !== 1) rest.push(p);
  if (rest.length) result = result.sum(rest, { keepdim: true });
  return result.reshape(result.shape.slice(0, outRank));
}

/** `x` with its repeated subscripts reduced to diagonals and its dims permuted/unsqueezed into the common order. */
function alignOperand(
  x: Tensor,
  term: Term,
  ellRank: number,
  position: Map<number, number>,
  rank: number,
): { t: Tensor; present: Set<number> } {
  // The key of each of x's dims: a label, or an ellipsis slot aligned from the right.
  const named = term.filter((l) => l !== ELLIPSIS).length;
  const ellDims = x.ndim - named;
  const keys: number[] = [];
  for (const l of term) {
    if (l === ELLIPSIS) { for (let k = 0; k < ellDims; k++) keys.push(-1 - (ellRank - ellDims + k)); }
    else keys.push(l);
  }
  let t = x;
  // Diagonals: each repeated key's pair of dims becomes one dim at the end.
  for (;;) {
    const a = keys.findIndex((k, i) => keys.indexOf(k) !== i);
    if (a < 0) break;
    const first = keys.indexOf(keys[a]);
    const key = keys[a];
    t = diagonal(t, 0, first, a);
    keys.splice(a, 1);
    keys.splice(first, 1);
    keys.push(key);
  }
  // Broadcast ellipsis dims of size 1 are left as they are: the common order has a slot for them anyway.
  const perm = keys.map((_, i) => i).sort((i, j) => position.get(keys[i])! - position.get(keys[j])!);
  t = t.permute(perm);
  const shape = new Array<number>(rank).fill(1);
  const present = new Set<number>();
  perm.forEach((src, i) => {
    const p = position.get(keys[src])!;
    shape[p] = t.shape[i];
    if (shape[p] !== 1) present.add(p);
  });
  return { t: t.reshape(shape), present };
}

/** Sums the summed dims of operand `i` that no other operand has (PyTorch does the same before contracting). */
function sumOwnDims(t: Tensor, present: Set<number>[], i: number, inOutput: (p: number) => boolean): Tensor {
  const own: number[] = [];
  for (const p of present[i]) {
    if (!inOutput(p) && !present.some((s, j) => j !== i && s.has(p))) own.push(p);
  }
  return own.length ? t.sum(own, { keepdim: true }) : t;
}

/**
 * Σ over `sumDims` of `left·right` (both in the common order, broadcasting size-1 dims), keeping every dim (summed
 * ones as size 1), as one batched matrix product.
 */
function sumProductPair(left: Tensor, right: Tensor, sumDims: readonly number[]): Tensor {
  const rank = left.ndim;
  const summed = new Set(sumDims);
  let l = left, r = right;
  // A summed dim only one side has is summed on that side first.
  const lOnlySum = sumDims.filter((d) => l.shape[d] !== 1 && r.shape[d] === 1);
  const rOnlySum = sumDims.filter((d) => r.shape[d] !== 1 && l.shape[d] === 1);
  if (lOnlySum.length) l = l.sum(lOnlySum, { keepdim: true });
  if (rOnlySum.length) r = r.sum(rOnlySum, { keepdim: true });
  const batch: number[] = [], lo: number[] = [], ro: number[] = [], sum: number[] = [];
  for (let d = 0; d < rank; d++) {
    const ls = l.shape[d], rs = r.shape[d];
    if (summed.has(d)) {
      if (ls !== 1 && rs !== 1) sum.push(d);
    } else if (ls !== 1 && rs !== 1) batch.push(d);
    else if (ls !== 1) lo.push(d);
    else if (rs !== 1) ro.push(d);
  }
  const size = (t: Tensor, dims: number[]) => dims.reduce((n, d) => n * t.shape[d], 1);
  const rest = (dims: number[]) => Array.from({ length: rank }, (_, d) => d).filter((d) => !dims.includes(d));
  // Dims of size 1 on both sides ride along at the end of the permutation and vanish in the reshape.
  const lPerm = [...batch, ...lo, ...sum], rPerm = [...batch, ...sum, ...ro];
  const B = size(l, batch), LO = size(l, lo), S = size(l, sum), RO = size(r, ro);
  const l3 = l.permute([...lPerm, ...rest(lPerm)]).reshape([B, LO, S]);
  const r3 = r.permute([...rPerm, ...rest(rPerm)]).reshape([B, S, RO]);
  const product = l3.matmul(r3); // [B, LO, RO]
  // Back to the common order: the kept dims in their own sizes, everything else size 1.
  const kept = [...batch, ...lo, ...ro];
  const sizes = kept.map((d) => (lo.includes(d) || batch.includes(d) ? l.shape[d] : r.shape[d]));
  const unpacked = product.reshape(sizes);
  const toOrder = kept.map((_, i) => i).sort((i, j) => kept[i] - kept[j]);
  const shape = new Array<number>(rank).fill(1);
  kept.forEach((d, i) => (shape[d] = sizes[i]));
  if (kept.length === 0) return unpacked.reshape(shape);
  return unpacked.permute(toOrder).reshape(shape);
}
