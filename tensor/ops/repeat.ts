/**
 * `repeatInterleave`: each slice repeated in place. A single count is a broadcast view copied once (`expand` +
 * `reshape`); per-slice counts become an index for `indexSelect`, built on the host from the counts' values (the
 * output's size depends on them, as in PyTorch). Gradients come from those ops: each slice's gradient is the sum of
 * its copies'.
 *
 * @module
 */

import { getBackend } from "../backend.ts";
import { fmtShape, normalizeDim } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { traced } from "../trace.ts";

function checkCount(r: number): void {
  if (!Number.isInteger(r) || r < 0) {
    throw new RangeError(`repeatInterleave: repeats must be non-negative integers, got ${r}`);
  }
}

/** The counts of a repeats tensor or array, read on the host. */
function countsOf(repeats: Tensor | readonly number[]): number[] {
  if (!(repeats instanceof Tensor)) {
    if (!Array.isArray(repeats)) {
      throw new TypeError("repeatInterleave: repeats must be a number, an array or a Tensor");
    }
    return [...repeats];
  }
  if (repeats.dtype !== "int32") {
    throw new TypeError(`repeatInterleave: a repeats tensor must have dtype int32, got ${repeats.dtype}`);
  }
  if (repeats.ndim > 1) {
    throw new RangeError(`repeatInterleave: repeats must be a 0-d or 1-d tensor, got shape ${fmtShape(repeats.shape)}`);
  }
  if (!getBackend(repeats.device).readSync) {
    throw new Error(
      `repeatInterleave: the output's size depends on the repeats' values, which device "${repeats.device}" cannot read synchronously; pass them as numbers (await repeats.tolist())`,
    );
  }
  return Array.from(repeats.dataSync());
}

/** `0` repeated counts[0] times, then `1` counts[1] times, …, as int32 on `device`. */
function expandedIndex(counts: readonly number[], device: string): Tensor {
  counts.forEach(checkCount);
  const total = counts.reduce((a, b) => a + b, 0);
  const idx = new Int32Array(total);
  let k = 0;
  counts.forEach((c, i) => idx.fill(i, k, k += c));
  return traced(new Tensor(getBackend(device).upload(idx), [total]), "constant", []);
}

/**
 * `torch.repeat_interleave`: repeats each slice of `x` along `dim` (of the flattened `x` when `dim` is omitted)
 * `repeats` times — one count for all, or one per slice (an int32 tensor or an array of that dim's length, or of
 * length 1). Called with only an int32 1-D tensor of counts, returns the indices `0, 0, …, 1, …` those counts
 * describe (`torch.repeat_interleave(repeats)`).
 *
 * @example
 * ```ts
 * import { repeatInterleave, tensor } from "../../mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * repeatInterleave(x, 2, 0); // [[1, 2], [1, 2], [3, 4], [3, 4]]
 * repeatInterleave(x, [1, 2], 1); // [[1, 2, 2], [3, 4, 4]]
 * ```
 */
export function repeatInterleave(x: Tensor, repeats?: number | Tensor | readonly number[], dim?: number): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError("repeatInterleave: input must be a Tensor");
  x.checkAlive("repeatInterleave");
  if (repeats === undefined) {
    if (x.dtype !== "int32" || x.ndim > 1) {
      throw new TypeError(
        `repeatInterleave: called with only counts, they must be a 0-d or 1-d int32 tensor, got dtype ${x.dtype} and shape ${
          fmtShape(x.shape)
        }`,
      );
    }
    return expandedIndex(countsOf(x), x.device);
  }
  const src = dim === undefined ? x.reshape([-1]) : x;
  const d = dim === undefined ? 0 : normalizeDim("repeatInterleave", dim, Math.max(x.ndim, 1));
  const base = src.ndim === 0 ? src.reshape([1]) : src;
  const n = base.shape[d];
  if (typeof repeats === "number") {
    checkCount(repeats);
    const wide = [...base.shape.slice(0, d + 1), repeats, ...base.shape.slice(d + 1)];
    const out = base.unsqueeze(d + 1).expand(wide);
    const shape = base.shape.map((s, i) => (i === d ? s * repeats : s));
    return out.reshape(shape);
  }
  if (repeats instanceof Tensor && repeats.device !== x.device) {
    throw new Error(
      `repeatInterleave: expected repeats on the input's device "${x.device}", got "${repeats.device}"`,
    );
  }
  let counts = countsOf(repeats);
  if (counts.length === 1) counts = new Array<number>(n).fill(counts[0]);
  if (counts.length !== n) {
    throw new RangeError(
      `repeatInterleave: repeats must have the same size as the input along dim ${d}, got ${counts.length} counts for size ${n} (input shape ${
        fmtShape(x.shape)
      })`,
    );
  }
  return base.indexSelect(d, expandedIndex(counts, x.device));
}
