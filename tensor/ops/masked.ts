/**
 * Boolean-mask ops, PyTorch's: `maskedFill` (one `where` kernel, broadcasting), and the ops whose output depends on
 * how many mask elements are true — `maskedSelect` and `maskedScatter` — which read the mask on the host, turn it
 * into the flat positions of its true elements, and then run as `indexSelect`/`scatter` on the device, so their
 * gradients are those ops' gradients. On a device that cannot read synchronously (a GPU) use the `Async` forms.
 *
 * @module
 */

import { getBackend, type View } from "../backend.ts";
import { broadcastShapes, broadcastStrides, contiguousStrides, fmtShape, numel, type Shape } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { commonDevice, empty, record, sumToShape } from "./core.ts";
import { where } from "./binary.ts";
import { scatter } from "./scatter.ts";
import { traced, traceRead } from "../trace.ts";

function checkMask(op: string, mask: Tensor): void {
  if (!(mask instanceof Tensor)) throw new TypeError(`${op}: mask must be a Tensor`);
  if (mask.dtype !== "bool") {
    throw new TypeError(`${op}: only boolean masks are supported, got a mask of dtype ${mask.dtype} (use .bool())`);
  }
}

function broadcastView(t: Tensor, shape: Shape): View {
  return { storage: t.storage, shape, strides: broadcastStrides(t.shape, t.strides, shape), offset: t.offset };
}

/**
 * `torch.masked_fill`: `x` with `value` wherever `mask` is true, broadcasting `x` and `mask` together. `value` is a
 * number or a 0-d tensor (gradients reach it: the sum of the output's gradient over the filled positions); the
 * result keeps `x`'s dtype. Gradient for `x`: the output's, zero where filled.
 *
 * @example
 * ```ts
 * import { maskedFill, ones, tensor } from "../../mod.ts";
 * const scores = ones([2, 2]);
 * const future = tensor([[false, true], [false, false]]);
 * maskedFill(scores, future, -Infinity); // [[1, -inf], [1, 1]]
 * ```
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number | Tensor): Tensor {
  const op = "maskedFill";
  checkMask(op, mask);
  commonDevice(op, x, mask, value);
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new RangeError(
      `${op}: only a 0-dimensional value tensor is supported, got one of shape ${fmtShape(value.shape)}`,
    );
  }
  if (typeof value !== "number" && !(value instanceof Tensor)) {
    throw new TypeError(`${op}: value must be a number or a 0-d Tensor`);
  }
  const shape = broadcastShapes(op, x.shape, mask.shape);
  const v = value instanceof Tensor ? (value.dtype === x.dtype ? value : value.to(x.dtype)) : value;
  const out = empty(shape, x.dtype, x.device);
  // A number goes to the kernel as a scalar operand, which the kernel writes in the output's dtype.
  const filler = v instanceof Tensor ? broadcastView(v, shape) : x.dtype === "bool" ? (v ? 1 : 0) : v;
  getBackend(x.device).where(broadcastView(mask, shape), filler, broadcastView(x, shape), out.storage, shape);
  const valueT = v instanceof Tensor ? v : null;
  return traced(
    record(out, "MaskedFillBackward", [x, valueT], (g) => [
      x.requiresGrad ? sumToShape(where(mask, 0, g), x.shape) : null,
      valueT?.requiresGrad ? where(mask, g, 0).sum() : null,
    ], [mask]),
    op,
    [x, mask, v],
  );
}

/** The flat (row-major) positions of the true elements of `mask` broadcast to `shape`, from host values. */
function truePositions(values: ArrayLike<number>, mask: Tensor, shape: Shape): Int32Array {
  const strides = broadcastStrides(mask.shape, contiguousStrides(mask.shape), shape);
  const n = numel(shape), nd = shape.length;
  const out = new Int32Array(n);
  const pos = new Array<number>(nd).fill(0);
  let k = 0, at = 0;
  for (let e = 0; e < n; e++) {
    if (values[at]) out[k++] = e;
    for (let d = nd - 1; d >= 0; d--) {
      at += strides[d];
      if (++pos[d] < shape[d]) break;
      at -= strides[d] * shape[d];
      pos[d] = 0;
    }
  }
  return out.slice(0, k);
}

/** The mask's values (row-major, its own shape) read synchronously, or an error naming `op` and the async form. */
function maskValuesSync(op: string, mask: Tensor): ArrayLike<number> {
  if (!getBackend(mask.device).readSync) {
    throw new Error(
      `${op}: the output's size depends on the mask's values, which device "${mask.device}" cannot read synchronously; use await ${op}Async(...)`,
    );
  }
  return mask.dataSync();
}

function selectAt(x: Tensor, shape: Shape, positions: Int32Array): Tensor {
  const idx = new Tensor(getBackend(x.device).upload(positions), [positions.length]);
  return x.expand(shape).reshape([-1]).indexSelect(0, idx);
}

function maskedSelectWith(x: Tensor, mask: Tensor, values: ArrayLike<number>): Tensor {
  const shape = broadcastShapes("maskedSelect", x.shape, mask.shape);
  return selectAt(x, shape, truePositions(values, mask, shape));
}

/**
 * `torch.masked_select`: the elements of `x` where `mask` is true (the two broadcast together), as a 1-D tensor in
 * row-major order. The mask is read synchronously, so on a GPU use {@link maskedSelectAsync}. Gradient: the output's
 * gradient back at the selected positions, zero elsewhere.
 */
export function maskedSelect(x: Tensor, mask: Tensor): Tensor {
  traceRead(mask, "maskedSelect");
  checkMask("maskedSelect", mask);
  commonDevice("maskedSelect", x, mask);
  return maskedSelectWith(x, mask, maskValuesSync("maskedSelect", mask));
}

/** {@link maskedSelect} on any device: reads the mask back asynchronously first. */
export async function maskedSelectAsync(x: Tensor, mask: Tensor): Promise<Tensor> {
  checkMask("maskedSelect", mask);
  commonDevice("maskedSelect", x, mask);
  return maskedSelectWith(x, mask, await mask.data());
}

function maskedScatterWith(x: Tensor, mask: Tensor, source: Tensor, values: ArrayLike<number>): Tensor {
  const op = "maskedScatter";
  if (!(source instanceof Tensor)) throw new TypeError(`${op}: source must be a Tensor`);
  commonDevice(op, x, mask, source);
  if (source.dtype !== x.dtype) {
    throw new TypeError(
      `${op}: source has dtype ${source.dtype} but the input has dtype ${x.dtype}; they must be equal`,
    );
  }
  const shape = broadcastShapes(op, x.shape, mask.shape);
  const positions = truePositions(values, mask, shape);
  const k = positions.length;
  if (source.numel() < k) {
    throw new RangeError(
      `${op}: source of shape ${
        fmtShape(source.shape)
      } has ${source.numel()} elements, fewer than the ${k} true elements of the mask`,
    );
  }
  const idx = new Tensor(getBackend(x.device).upload(positions), [k]);
  const flat = x.expand(shape).reshape([-1]);
  return scatter(flat, 0, idx, source.reshape([-1]).narrow(0, 0, k)).reshape(shape);
}

/**
 * `torch.masked_scatter`: `x` (broadcast with `mask`) with the true positions of `mask`, in row-major order, taking
 * the consecutive leading elements of `source` (which needs at least that many). Gradients: `x`'s is the output's,
 * zero where the mask is true; `source`'s is the output's at those positions, zero for the elements not used.
 * The mask is read synchronously, so on a GPU use {@link maskedScatterAsync}.
 */
export function maskedScatter(x: Tensor, mask: Tensor, source: Tensor): Tensor {
  traceRead(mask, "maskedScatter");
  checkMask("maskedScatter", mask);
  commonDevice("maskedScatter", x, mask);
  return maskedScatterWith(x, mask, source, maskValuesSync("maskedScatter", mask));
}

/** {@link maskedScatter} on any device: reads the mask back asynchronously first. */
export async function maskedScatterAsync(x: Tensor, mask: Tensor, source: Tensor): Promise<Tensor> {
  checkMask("maskedScatter", mask);
  commonDevice("maskedScatter", x, mask);
  return maskedScatterWith(x, mask, source, await mask.data());
}
