/**
 * PyTorch-style printing: `tensor([[1., 2.],\n        [3., 4.]])`.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import { contiguousStrides, numel, type Shape } from "./shape.ts";

const THRESHOLD = 1000;
const EDGE = 3;

function formatter(values: TypedArray, dtype: DType): (v: number) => string {
  if (dtype === "bool") return (v) => (v ? "True" : "False");
  if (dtype === "int32") return (v) => String(v);
  let allInt = true;
  let maxAbs = 0;
  let minAbs = Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (!Number.isInteger(v)) allInt = false;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (a !== 0 && a < minAbs) minAbs = a;
  }
  const fmtSpecial = (v: number) => (Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
  // PyTorch's rule, over the non-zero finite values: integers print as `1.` unless their range calls for
  // scientific notation (ratio above 1000 or values above 1e8), like everything else.
  const wide = minAbs !== Infinity && (maxAbs / minAbs > 1000 || maxAbs > 1e8);
  if (allInt && !wide) return (v) => (Number.isFinite(v) ? `${v}.` : fmtSpecial(v));
  const sci = wide || (minAbs !== Infinity && minAbs < 1e-4);
  if (sci) return (v) => (Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2") : fmtSpecial(v));
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : fmtSpecial(v));
}

/** Formats the elements of a contiguous tensor like PyTorch does. */
export function formatTensor(data: TypedArray, shape: Shape, dtype: DType, device: string, suffix: string): string {
  const summarize = numel(shape) > THRESHOLD;
  const fmt = formatter(data, dtype);
  const strs: string[] = [];
  for (const v of data) strs.push(fmt(v));
  // PyTorch pads to the widest finite value; nan and inf do not widen the columns.
  let width = 0;
  data.forEach((v, i) => {
    if (Number.isFinite(v)) width = Math.max(width, strs[i].length);
  });
  const pad = (s: string) => s.padStart(width);
  const strides = contiguousStrides(shape);
  const indent = "tensor(".length;
  const render = (dim: number, off: number): string => {
    if (dim === shape.length) return pad(strs[off]);
    const n = shape[dim];
    const idx: (number | null)[] = [];
    if (summarize && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    // PyTorch writes the elided run as " ..." inside a row and "..." between rows.
    const dots = dim === shape.length - 1 ? " ..." : "...";
    const parts = idx.map((i) => (i === null ? dots : render(dim + 1, off + i * strides[dim])));
    if (dim === shape.length - 1) return `[${parts.join(", ")}]`;
    const sep = "," + "\n".repeat(shape.length - dim - 1) + " ".repeat(indent + dim + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = shape.length === 0 ? fmt(data[0]) : render(0, 0);
  const extras: string[] = [];
  if (device !== "cpu") extras.push(`device='${device}'`);
  if (dtype !== "float32" && dtype !== "bool") extras.push(`dtype=${dtype}`);
  return `tensor(${body}${extras.length ? ", " + extras.join(", ") : ""}${suffix})`;
}
