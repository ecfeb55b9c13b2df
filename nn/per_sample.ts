/**
 * Per-sample gradients: the gradient of each sample's own loss for every
 * parameter, for a whole batch in one forward and one backward pass (what
 * DP-SGD clips, and what influence-style interpretability compares).
 *
 * @module
 */

import { enableGrad, fmtShapeOf, grad, noGrad, stack, type Tensor, unfold, zeros } from "./deps.ts";
import type { Module, Parameter } from "./module.ts";
import { Conv2d } from "./conv.ts";
import { Embedding, Linear } from "./linear.ts";
import { BatchNormBase, LayerNorm } from "./normalization.ts";

/** A loss of a batch's outputs against its targets: one number (a mean or a sum), or one loss per sample `[B]`. */
export type PerSampleLossFn = (output: Tensor, target: Tensor) => Tensor;

/** Options of {@link perSampleGrads} and {@link perSampleGradsLoop}. */
export interface PerSampleGradsOptions {
  /**
   * How `lossFn` combines the samples' losses when it returns one number: `"mean"` (PyTorch's losses' default, so
   * each sample's gradient is B times its share of the batch gradient) or `"sum"`. A `[B]` result is always summed.
   */
  lossReduction?: "mean" | "sum";
}

/**
 * The gradient of every sample's own loss for each trainable parameter, `[B, ...param.shape]` by parameter name
 * (PyTorch's names, as `namedParameters` gives them), from one forward and one backward pass over the batch. Sample
 * b's loss is `lossFn` on that sample alone, so for a `"mean"` loss the per-sample gradients average to the batch
 * gradient, and for a `"sum"` loss they add up to it.
 *
 * It works as Opacus does: the activations entering each layer are captured on the forward pass, `grad` gives the
 * gradient at each layer's output, and each layer's per-sample weight gradient is a batched product — an outer
 * product summed over positions for `Linear`, the unfolded input (`F.unfold`) times the output gradient for
 * `Conv2d`, a scatter for `Embedding`, the normalized input times the output gradient for `LayerNorm` and for
 * `BatchNorm` in eval mode. Parameters of other layers are refused (use {@link perSampleGradsLoop}), and so is
 * batch norm in training mode, which mixes the samples of a batch. No `.grad` is touched.
 *
 * @example
 * ```ts
 * import { randn, randint } from "@dendrite/tensor";
 * import { Linear } from "./linear.ts";
 * import { crossEntropy } from "./functional.ts";
 * import { perSampleGrads } from "./per_sample.ts";
 * const model = new Linear(4, 3);
 * const grads = perSampleGrads(model, (out, y) => crossEntropy(out, y), randn([8, 4]), randint(0, 3, [8]));
 * console.log(grads.get("weight")!.shape); // [8, 3, 4]
 * ```
 */
export function perSampleGrads(
  model: Module,
  lossFn: PerSampleLossFn,
  input: Tensor,
  target: Tensor,
  options: PerSampleGradsOptions = {},
): Map<string, Tensor> {
  const op = "perSampleGrads";
  const batch = checkBatch(op, input, target, options);
  const named = trainable(model);
  const owners = layersOwning(op, model, named);
  const calls = captureCalls(
    [...owners.keys()],
    () => enableGrad(() => lossScale(op, lossFn(model.forward(input) as Tensor, target), batch, options)),
  );
  const { total, scale } = calls.result;
  const outputs = calls.records.map((r) => r.output);
  const gradOutputs = outputs.length > 0 ? grad(total, outputs, { allowUnused: true }) : [];
  const sums = new Map<Parameter, Tensor>();
  noGrad(() => {
    calls.records.forEach((r, i) => {
      const go = gradOutputs[i];
      if (!go) return;
      for (const [param, g] of layerGradSample(r.module, r.input, go.mul(scale))) {
        const prev = sums.get(param);
        sums.set(param, prev ? prev.add(g) : g);
      }
    });
  });
  const out = new Map<string, Tensor>();
  for (const [name, p] of named) {
    out.set(name, sums.get(p) ?? zeros([batch, ...p.shape], { dtype: p.dtype, device: p.device }));
  }
  return out;
}

/**
 * The reference for {@link perSampleGrads}: one forward and backward pass per sample (`grad` of `lossFn` on the
 * sample alone), for any model. Slow — B passes — but it makes no assumption about the layers.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Linear } from "./linear.ts";
 * import { mseLoss } from "./functional.ts";
 * import { perSampleGradsLoop } from "./per_sample.ts";
 * const grads = perSampleGradsLoop(new Linear(2, 1), (out, y) => mseLoss(out, y), randn([5, 2]), randn([5, 1]));
 * console.log(grads.get("bias")!.shape); // [5, 1]
 * ```
 */
export function perSampleGradsLoop(
  model: Module,
  lossFn: PerSampleLossFn,
  input: Tensor,
  target: Tensor,
  options: PerSampleGradsOptions = {},
): Map<string, Tensor> {
  const op = "perSampleGradsLoop";
  const batch = checkBatch(op, input, target, options);
  const named = trainable(model);
  const params = named.map(([, p]) => p);
  const perSample: Tensor[][] = named.map(() => []);
  for (let b = 0; b < batch; b++) {
    const loss = enableGrad(() => lossFn(model.forward(input.narrow(0, b, 1)) as Tensor, target.narrow(0, b, 1)));
    if (loss.numel() !== 1) {
      throw new RangeError(`${op}: lossFn must return one loss for one sample, got shape ${fmtShapeOf(loss)}`);
    }
    const grads = grad(loss.sum(), params, { allowUnused: true });
    grads.forEach((g, i) =>
      perSample[i].push(g ?? zeros(params[i].shape, { dtype: params[i].dtype, device: params[i].device }))
    );
  }
  return new Map(named.map(([name], i) => [name, stack(perSample[i])]));
}

/** Checks the batch before anything runs; returns its size. */
function checkBatch(op: string, input: Tensor, target: Tensor, options: PerSampleGradsOptions): number {
  if (input.ndim < 1 || input.shape[0] < 1) {
    throw new RangeError(`${op}: expected an input with a batch dim first, got ${fmtShapeOf(input)}`);
  }
  if (target.ndim < 1 || target.shape[0] !== input.shape[0]) {
    throw new RangeError(
      `${op}: the target's batch dim must match the input's ${input.shape[0]}, got target ${fmtShapeOf(target)}`,
    );
  }
  const r = options.lossReduction ?? "mean";
  if (r !== "mean" && r !== "sum") throw new RangeError(`${op}: lossReduction must be "mean" or "sum", got ${r}`);
  return input.shape[0];
}

/** The model's parameters that require grad, by name. */
function trainable(model: Module): [string, Parameter][] {
  return [...model.namedParameters()].filter(([, p]) => p.requiresGrad);
}

/** The sum to differentiate and the factor that turns its output gradients into each sample's own. */
function lossScale(
  op: string,
  loss: Tensor,
  batch: number,
  options: PerSampleGradsOptions,
): { total: Tensor; scale: number } {
  if (loss.numel() === 1) {
    return { total: loss.sum(), scale: (options.lossReduction ?? "mean") === "mean" ? batch : 1 };
  }
  if (loss.ndim === 1 && loss.shape[0] === batch) return { total: loss.sum(), scale: 1 };
  throw new RangeError(
    `${op}: lossFn must return one loss (a mean or sum over the batch) or one per sample [${batch}], got ${
      fmtShapeOf(loss)
    }`,
  );
}

/** The layers that own a trainable parameter, each with its path; refuses layers the per-layer rules don't cover. */
function layersOwning(op: string, model: Module, named: [string, Parameter][]): Map<Module, string> {
  const wanted = new Set(named.map(([, p]) => p));
  const owners = new Map<Module, string>();
  for (const [path, m] of model.namedModules()) {
    const own = [...m.parameters(false)].filter((p) => wanted.has(p));
    if (own.length === 0) continue;
    const where = `${m.constructor.name} at "${path || "(the model)"}"`;
    if (m instanceof BatchNormBase) {
      if (m.training || !m.runningMean || !m.runningVar) {
        throw new Error(
          `${op}: ${where} normalizes with the batch's statistics, which mixes the samples, so per-sample gradients ` +
            `are not defined; call eval() on it, freeze it, or use LayerNorm (as Opacus requires)`,
        );
      }
    } else if (!(m instanceof Linear || m instanceof Conv2d || m instanceof Embedding || m instanceof LayerNorm)) {
      throw new Error(
        `${op}: ${where} has trainable parameters but no per-sample rule (Linear, Conv2d, Embedding, LayerNorm and ` +
          `eval-mode BatchNorm have one); freeze it or use perSampleGradsLoop`,
      );
    }
    owners.set(m, path);
  }
  return owners;
}

/** One call of a watched layer: its input and output. */
interface CallRecord {
  module: Module;
  input: Tensor;
  output: Tensor;
}

/**
 * Runs `fn`, recording the input and output of every call of the `modules` (a layer called twice is recorded
 * twice). While it runs, each module's `forward` is wrapped on the instance, and put back after.
 */
function captureCalls<R>(modules: Module[], fn: () => R): { result: R; records: CallRecord[] } {
  const records: CallRecord[] = [];
  const restore: (() => void)[] = [];
  try {
    for (const m of modules) {
      const own = Object.getOwnPropertyDescriptor(m, "forward");
      const inner = m.forward;
      const wrapped = (...args: unknown[]): unknown => {
        const output = inner.apply(m, args);
        records.push({ module: m, input: args[0] as Tensor, output: output as Tensor });
        return output;
      };
      Object.defineProperty(m, "forward", { value: wrapped, writable: true, configurable: true, enumerable: false });
      restore.push(() => {
        if (own) Object.defineProperty(m, "forward", own);
        else delete (m as { forward?: unknown }).forward;
      });
    }
    return { result: fn(), records };
  } finally {
    for (const r of restore.reverse()) r();
  }
}

/** Each sample's gradient `[B, ...shape]` for the layer's own parameters, from its input and output gradient. */
function layerGradSample(m: Module, a: Tensor, go: Tensor): [Parameter, Tensor][] {
  const b = go.shape[0];
  if (m instanceof Linear) {
    // W's gradient is Σ_t go[t]ᵀ·a[t] over the positions t of each sample: a batched matrix product.
    const g3 = go.reshape([b, -1, m.outFeatures]);
    const out: [Parameter, Tensor][] = [[m.weight, g3.transpose(1, 2).matmul(a.reshape([b, -1, m.inFeatures]))]];
    if (m.bias) out.push([m.bias, g3.sum(1)]);
    return out;
  }
  if (m instanceof Conv2d) return convGradSample(m, a, go);
  if (m instanceof Embedding) {
    const dim = m.embeddingDim;
    const idx = a.reshape([b, -1, 1]);
    let rows = go.reshape([b, -1, dim]);
    if (m.paddingIdx !== null) rows = rows.mul(idx.ne(m.paddingIdx).to(rows.dtype)); // the padding row learns nothing
    const table = zeros([b, m.numEmbeddings, dim], { dtype: go.dtype, device: go.device });
    return [[m.weight, table.scatterAdd(1, idx.expand([b, idx.shape[1], dim]), rows)]];
  }
  if (m instanceof LayerNorm) {
    const k = m.normalizedShape.length;
    const dims = m.normalizedShape.map((_, i) => a.ndim - k + i);
    const mean = a.mean(dims, { keepdim: true });
    const centered = a.sub(mean);
    const xHat = centered.mul(centered.square().mean(dims, { keepdim: true }).add(m.eps).rsqrt());
    return affineGradSample(m.weight, m.bias, xHat, go, range(1, a.ndim - k));
  }
  if (m instanceof BatchNormBase) {
    const perChannel = a.shape.map((s, i) => (i === 1 ? s : 1));
    const xHat = a.sub(m.runningMean!.reshape(perChannel)).mul(m.runningVar!.add(m.eps).rsqrt().reshape(perChannel));
    return affineGradSample(m.weight, m.bias, xHat, go, range(2, a.ndim));
  }
  throw new Error(`perSampleGrads: no per-sample rule for ${m.constructor.name}`);
}

/** Per-sample gradients of a scale γ and shift β applied to x̂: `Σ go·x̂` and `Σ go` over `dims`. */
function affineGradSample(
  weight: Parameter | null,
  bias: Parameter | null,
  xHat: Tensor,
  go: Tensor,
  dims: number[],
): [Parameter, Tensor][] {
  const sum = (t: Tensor) => (dims.length ? t.sum(dims) : t);
  const out: [Parameter, Tensor][] = [];
  if (weight) out.push([weight, sum(go.mul(xHat))]);
  if (bias) out.push([bias, sum(go)]);
  return out;
}

/** A convolution's per-sample weight gradient: the output gradient times the unfolded input, per group. */
function convGradSample(m: Conv2d, a: Tensor, go: Tensor): [Parameter, Tensor][] {
  if (a.ndim !== 4) {
    throw new RangeError(`perSampleGrads: Conv2d needs batched inputs [B, C, H, W], got ${fmtShapeOf(a)}`);
  }
  const b = a.shape[0], [kh, kw] = m.kernelSize, groups = m.groups;
  // The padding conv2d applies: "same" pads by the larger half and drops the first row/column when the total is odd.
  let pad: [number, number] = [0, 0], trim: [number, number] = [0, 0];
  if (m.padding === "same") {
    const tot = [m.dilation[0] * (kh - 1), m.dilation[1] * (kw - 1)];
    pad = [tot[0] - Math.floor(tot[0] / 2), tot[1] - Math.floor(tot[1] / 2)];
    trim = [tot[0] % 2, tot[1] % 2];
  } else if (m.padding !== "valid") pad = m.padding;
  let cols = unfold(a, m.kernelSize, { stride: m.stride, padding: pad, dilation: m.dilation });
  const [outH, outW] = [go.shape[2], go.shape[3]];
  if (trim[0] || trim[1]) {
    const k = cols.shape[1];
    cols = cols.reshape([b, k, outH + trim[0], outW + trim[1]]).narrow(2, trim[0], outH).narrow(3, trim[1], outW)
      .reshape([b, k, outH * outW]);
  }
  const colsG = cols.reshape([b, groups, -1, outH * outW]);
  const goG = go.reshape([b, groups, -1, outH * outW]);
  const out: [Parameter, Tensor][] = [[m.weight, goG.matmul(colsG.transpose(2, 3)).reshape([b, ...m.weight.shape])]];
  if (m.bias) out.push([m.bias, go.sum([2, 3])]);
  return out;
}

/** `[lo, lo + 1, …, hi − 1]`. */
function range(lo: number, hi: number): number[] {
  return Array.from({ length: Math.max(0, hi - lo) }, (_, i) => lo + i);
}
