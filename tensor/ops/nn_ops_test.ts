import { deepStrictEqual, ok, throws } from "node:assert/strict";
import "../cpu/backend.ts";
import { gradcheck } from "../gradcheck.ts";
import type { Tensor } from "../tensor.ts";
import { manualSeed } from "../random.ts";
import { ones, randn, tensor, zeros } from "./creation.ts";
import { conv2d } from "./conv.ts";
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, maxPool2dWithIndices } from "./pool.ts";
import { batchNorm, layerNorm } from "./norm.ts";
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  dropout,
  embedding,
  l1Loss,
  leakyRelu,
  mseLoss,
  nllLoss,
} from "./nn_ops.ts";
import { close, vals } from "./test_util.ts";

const f64 = (shape: number[]) => randn(shape, { dtype: "float64" });
const leaf = (shape: number[]) => f64(shape).requiresGrad_();

/**
 * A direct 7-loop convolution with zero padding `[pt, pb]`×`[pl, pr]` (asymmetric allowed) and a dilation `d` for
 * both axes or `[dh, dw]`.
 */
function naiveConv(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  s: number,
  pads: [number, number, number, number],
  d: number | [number, number],
  groups: number,
): number[] {
  const [n, cIn, h, wd] = x.shape, [cOut, cInG, kh, kw] = w.shape;
  const [pt, pb, pl, pr] = pads;
  const [dh, dw] = typeof d === "number" ? [d, d] : d;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / s) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / s) + 1;
  const X = x.dataSync(), W = w.dataSync(), B = b?.dataSync();
  const out: number[] = [];
  const cOutG = cOut / groups;
  for (let bi = 0; bi < n; bi++) {
    for (let o = 0; o < cOut; o++) {
      for (let y = 0; y < oh; y++) {
        for (let xx = 0; xx < ow; xx++) {
          let acc = B ? B[o] : 0;
          for (let c = 0; c < cInG; c++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const iy = y * s - pt + i * dh, ix = xx * s - pl + j * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const ci = Math.floor(o / cOutG) * cInG + c;
                acc += X[((bi * cIn + ci) * h + iy) * wd + ix] * W[((o * cInG + c) * kh + i) * kw + j];
              }
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return out;
}

Deno.test("conv2d op: values against a direct loop (bias, stride, dilation, groups, same, valid)", () => {
  manualSeed(1);
  const x = f64([2, 4, 7, 6]), w = f64([6, 2, 3, 2]), b = f64([6]);
  close(
    vals(conv2d(x, w, b, { stride: 2, padding: [1, 2], dilation: [2, 1], groups: 2 })),
    naiveConv(x, w, b, 2, [1, 1, 2, 2], [2, 1], 2),
  );
  close(vals(conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 })), naiveConv(x, w, b, 2, [1, 1, 1, 1], 1, 2));
  // "same" with an even kernel: total padding 1 goes to the bottom/right, like PyTorch.
  const w2 = f64([3, 4, 2, 2]);
  const same = conv2d(x, w2, null, { padding: "same" });
  deepStrictEqual(same.shape, [2, 3, 7, 6]);
  close(vals(same), naiveConv(x, w2, null, 1, [0, 1, 0, 1], 1, 1));
  const w3 = f64([3, 4, 3, 3]);
  close(vals(conv2d(x, w3, null, { padding: "same", dilation: 2 })), naiveConv(x, w3, null, 1, [2, 2, 2, 2], 2, 1));
  close(vals(conv2d(x, w3, null, { padding: "valid" })), naiveConv(x, w3, null, 1, [0, 0, 0, 0], 1, 1));
  // Unbatched [C, H, W] input.
  deepStrictEqual(conv2d(x.select(0, 0), w3, null).shape, [3, 5, 4]);
});

Deno.test("conv2d op: gradcheck for input, weight and bias", () => {
  manualSeed(2);
  gradcheck((x, w, b) => conv2d(x, w, b, { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 }), [
    leaf([2, 4, 5, 6]),
    leaf([4, 2, 2, 3]),
    leaf([4]),
  ]);
  gradcheck((x, w) => conv2d(x, w, null, { padding: "same" }), [leaf([1, 2, 4, 4]), leaf([2, 2, 2, 2])]);
  gradcheck((x, w) => conv2d(x, w), [leaf([2, 3, 3, 3]), leaf([2, 3, 1, 1])]);
});

Deno.test("conv2d op: bad shapes name the op and both shapes", () => {
  throws(
    () => conv2d(zeros([2, 4, 8, 8]), zeros([8, 3, 3, 3])),
    /conv2d: .*\[8, 3, 3, 3\].*\[N, 3, H, W\].*\[2, 4, 8, 8\]/,
  );
  throws(() => conv2d(zeros([4, 8]), zeros([8, 3, 3, 3])), /expected input \[N, C, H, W\].*got \[4, 8\]/);
  throws(() => conv2d(zeros([1, 3, 2, 2]), zeros([8, 3, 3, 3])), /larger than the padded input/);
  throws(() => conv2d(zeros([1, 3, 5, 5]), zeros([8, 3, 3, 3]), null, { padding: "same", stride: 2 }), /same/);
});

Deno.test("maxPool2d / avgPool2d ops: values, indices, ceil mode and gradcheck", () => {
  const x = tensor(Array.from({ length: 25 }, (_, i) => (i * 7) % 25), { shape: [1, 1, 5, 5], dtype: "float64" });
  // Rows of x: [0 7 14 21 3] [10 17 24 6 13] [20 2 9 16 23] [5 12 19 1 8] [15 22 4 11 18]
  const [v, idx] = maxPool2dWithIndices(x, 2);
  deepStrictEqual(vals(v), [17, 24, 20, 19]);
  deepStrictEqual(vals(idx), [6, 7, 10, 17]);
  deepStrictEqual(maxPool2d(x, 2, { ceilMode: true }).shape, [1, 1, 3, 3]);
  deepStrictEqual(vals(maxPool2d(x, 2, { ceilMode: true })).slice(6), [22, 11, 18]);
  deepStrictEqual(vals(avgPool2d(x, 2, { stride: 3 })), [
    (0 + 7 + 10 + 17) / 4,
    (21 + 3 + 6 + 13) / 4,
    (5 + 12 + 15 + 22) / 4,
    (1 + 8 + 11 + 18) / 4,
  ]);
  manualSeed(3);
  gradcheck((a) => maxPool2d(a, 3, { stride: 2, padding: 1 }), [leaf([2, 2, 5, 5])]);
  gradcheck((a) => maxPool2d(a, 2, { dilation: 2, ceilMode: true }), [leaf([1, 2, 6, 5])]);
  gradcheck((a) => avgPool2d(a, 3, { stride: 2, padding: 1, countIncludePad: false }), [leaf([2, 2, 5, 5])]);
  gradcheck((a) => avgPool2d(a, [2, 3], { ceilMode: true }), [leaf([1, 1, 5, 7])]);
  throws(() => maxPool2d(zeros([2, 8]), 2), /maxPool2d: expected input \[N, C, H, W\].*got \[2, 8\]/);
  throws(() => maxPool2d(zeros([1, 1, 4, 4]), 2, { padding: 2 }), /at most half/);
});

Deno.test("adaptiveAvgPool2d: PyTorch's windows for divisible and non-divisible sizes, gradcheck", () => {
  const x = tensor(Array.from({ length: 35 }, (_, i) => i * i % 11), { shape: [1, 1, 5, 7], dtype: "float64" });
  const X = x.dataSync();
  const out = adaptiveAvgPool2d(x, [3, 4]);
  const expected: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      const h0 = Math.floor(i * 5 / 3), h1 = Math.ceil((i + 1) * 5 / 3);
      const w0 = Math.floor(j * 7 / 4), w1 = Math.ceil((j + 1) * 7 / 4);
      let s = 0;
      for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) s += X[a * 7 + b];
      expected.push(s / ((h1 - h0) * (w1 - w0)));
    }
  }
  close(vals(out), expected);
  close(vals(adaptiveAvgPool2d(x, 1)), [[...X].reduce((a, b) => a + b, 0) / 35]);
  const y = tensor(Array.from({ length: 16 }, (_, i) => i), { shape: [1, 1, 4, 4], dtype: "float64" });
  close(vals(adaptiveAvgPool2d(y, 2)), [2.5, 4.5, 10.5, 12.5]);
  deepStrictEqual(adaptiveAvgPool2d(y, [null, 2]).shape, [1, 1, 4, 2]);
  manualSeed(4);
  gradcheck((a) => adaptiveAvgPool2d(a, [2, 3]), [leaf([1, 2, 5, 4])]);
  gradcheck((a) => adaptiveAvgPool2d(a, 2), [leaf([1, 2, 4, 4])]);
});

Deno.test("batchNorm: training normalizes with biased batch variance, updates running stats with unbiased", () => {
  const x = tensor([[1, 2], [3, 6], [5, 10]], { dtype: "float64" }); // channel 0: 1,3,5  channel 1: 2,6,10
  const rm = zeros([2], { dtype: "float64" }), rv = ones([2], { dtype: "float64" });
  const y = batchNorm(x, rm, rv, { training: true, momentum: 0.1, eps: 0 });
  // channel 0: mean 3, biased var 8/3 -> (x-3)/sqrt(8/3); channel 1: mean 6, var 32/3.
  const s0 = Math.sqrt(8 / 3), s1 = Math.sqrt(32 / 3);
  close(vals(y), [-2 / s0, -4 / s1, 0, 0, 2 / s0, 4 / s1]);
  close(vals(rm), [0.3, 0.6]);
  close(vals(rv), [0.9 + 0.1 * 4, 0.9 + 0.1 * 16]); // unbiased variances 4 and 16
  const e = batchNorm(x, rm, rv, {
    training: false,
    eps: 1e-5,
    weight: tensor([2, 1], { dtype: "float64" }),
    bias: tensor([0, 1], { dtype: "float64" }),
  });
  close(vals(e), [
    2 * (1 - 0.3) / Math.sqrt(1.3 + 1e-5),
    (2 - 0.6) / Math.sqrt(2.5 + 1e-5) + 1,
    2 * (3 - 0.3) / Math.sqrt(1.3 + 1e-5),
    (6 - 0.6) / Math.sqrt(2.5 + 1e-5) + 1,
    2 * (5 - 0.3) / Math.sqrt(1.3 + 1e-5),
    (10 - 0.6) / Math.sqrt(2.5 + 1e-5) + 1,
  ]);
  throws(() => batchNorm(zeros([1, 3]), null, null, { training: true }), /more than 1 value per channel/);
  throws(() => batchNorm(zeros([2, 3]), zeros([4]), ones([4])), /runningMean \[3\]/);
});

Deno.test("batchNorm and layerNorm: gradcheck", () => {
  manualSeed(5);
  gradcheck((x, w, b) => batchNorm(x, null, null, { training: true, weight: w, bias: b }), [
    leaf([3, 2, 2, 2]),
    leaf([2]),
    leaf([2]),
  ]);
  const rm = f64([2]), rv = f64([2]).abs().add(0.5);
  gradcheck((x, w) => batchNorm(x, rm, rv, { training: false, weight: w }), [leaf([3, 2, 2]), leaf([2])]);
  gradcheck((x, w, b) => layerNorm(x, [2, 3], w, b), [leaf([2, 2, 3]), leaf([2, 3]), leaf([2, 3])]);
});

Deno.test("layerNorm: values against the formula", () => {
  const x = tensor([[1, 2, 3, 4], [2, 2, 2, 6]], { dtype: "float64" });
  const y = layerNorm(x, 4, null, null, 0);
  const s0 = Math.sqrt(1.25), s1 = Math.sqrt(3);
  close(vals(y), [-1.5 / s0, -0.5 / s0, 0.5 / s0, 1.5 / s0, -1 / s1, -1 / s1, -1 / s1, 3 / s1]);
  throws(() => layerNorm(x, [3]), /layerNorm: expected input \[\.\.\., 3\], got \[2, 4\]/);
});

Deno.test("dropout: zeroes about p, scales the rest by 1/(1-p), identity when not training", () => {
  manualSeed(6);
  const x = ones([10000]);
  const y = vals(dropout(x, 0.3, true));
  const zerosN = y.filter((v) => v === 0).length;
  ok(Math.abs(zerosN / 10000 - 0.3) < 0.03, `dropped ${zerosN}`);
  ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6));
  deepStrictEqual(dropout(x, 0.3, false), x);
  deepStrictEqual(vals(dropout(ones([3]), 1, true)), [0, 0, 0]);
  const a = leaf([20]);
  const mask = dropout(ones([20], { dtype: "float64" }), 0.5, true);
  manualSeed(7);
  const d = dropout(a, 0.5, true);
  d.sum().backward();
  manualSeed(7);
  close(vals(a.grad!), vals(dropout(ones([20], { dtype: "float64" }), 0.5, true)));
  ok(mask.shape[0] === 20);
});

Deno.test("embedding: rows by index, summed gradients, no gradient at paddingIdx", () => {
  const w = tensor([[1, 2], [3, 4], [5, 6]], { dtype: "float64" }).requiresGrad_();
  const idx = tensor([[2, 0], [2, 1]], { dtype: "int32" });
  const e = embedding(idx, w);
  deepStrictEqual(e.shape, [2, 2, 2]);
  deepStrictEqual(vals(e), [5, 6, 1, 2, 5, 6, 3, 4]);
  e.sum().backward();
  deepStrictEqual(vals(w.grad!), [1, 1, 1, 1, 2, 2]);
  w.grad = null;
  embedding(idx, w, 2).sum().backward();
  deepStrictEqual(vals(w.grad!), [1, 1, 1, 1, 0, 0]);
  throws(() => embedding(tensor([3], { dtype: "int32" }), w), /embedding: index 3 is out of bounds for 3 embeddings/);
  gradcheck((a) => embedding(idx, a), [leaf([3, 2])]);
});

Deno.test("leakyRelu: values and gradcheck", () => {
  deepStrictEqual(vals(leakyRelu(tensor([-2, 0, 3]), 0.1)).map((v) => Math.round(v * 1e6) / 1e6), [-0.2, 0, 3]);
  gradcheck((a) => leakyRelu(a, 0.2), [tensor([-1.5, -0.3, 0.4, 2], { dtype: "float64" }).requiresGrad_()]);
});

Deno.test("mseLoss / l1Loss: reductions and gradcheck", () => {
  const a = tensor([1, 2, 3], { dtype: "float64" }), b = tensor([1, 4, 0], { dtype: "float64" });
  close(vals(mseLoss(a, b)), [13 / 3]);
  close(vals(mseLoss(a, b, "sum")), [13]);
  close(vals(mseLoss(a, b, "none")), [0, 4, 9]);
  close(vals(l1Loss(a, b)), [5 / 3]);
  throws(() => mseLoss(a, zeros([2])), /mseLoss: expected target of the input's shape \[3\], got \[2\]/);
  throws(() => mseLoss(a, b, "avg" as "mean"), /reduction/);
  manualSeed(8);
  gradcheck((x, y) => mseLoss(x, y), [leaf([2, 3]), leaf([2, 3])]);
  const target = f64([2, 3]);
  gradcheck((x) => l1Loss(x, target, "sum"), [leaf([2, 3])]);
});

/** PyTorch's cross-entropy with class indices, weight, ignoreIndex and label smoothing, written as loops. */
function handCrossEntropy(
  logits: number[][],
  target: number[],
  weight: number[],
  ignore: number,
  eps: number,
  reduction: "mean" | "sum" | "none",
): number | number[] {
  const C = logits[0].length;
  const per: number[] = [];
  let denom = 0;
  for (let i = 0; i < logits.length; i++) {
    const row = logits[i];
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    if (target[i] === ignore) {
      per.push(0);
      continue;
    }
    const t = target[i];
    const nll = -weight[t] * logp[t];
    const smooth = -logp.reduce((s, lp, c) => s + weight[c] * lp, 0);
    denom += weight[t];
    per.push((1 - eps) * nll + (eps / C) * smooth);
  }
  if (reduction === "none") return per;
  const sum = per.reduce((a, b) => a + b, 0);
  return reduction === "sum" ? sum : sum / denom;
}

Deno.test("crossEntropy: class indices with weight, ignoreIndex and labelSmoothing vs a hand formula", () => {
  const logits = [[1, 2, 0.5, -1], [0.3, -0.2, 2, 1], [3, 0, 0, 1], [-1, -2, 0.5, 0]];
  const target = [1, -1, 3, 2];
  const weight = [0.5, 2, 1, 1.5];
  const x = tensor(logits, { dtype: "float64" }), t = tensor(target, { dtype: "int32" });
  const w = tensor(weight, { dtype: "float64" });
  for (const reduction of ["mean", "sum", "none"] as const) {
    const got = crossEntropy(x, t, { weight: w, ignoreIndex: -1, labelSmoothing: 0.2, reduction });
    const want = handCrossEntropy(logits, target, weight, -1, 0.2, reduction);
    close(vals(got), typeof want === "number" ? [want] : want);
  }
  const plain = handCrossEntropy(logits, [1, 0, 3, 2], [1, 1, 1, 1], -100, 0, "mean") as number;
  close(vals(crossEntropy(x, tensor([1, 0, 3, 2], { dtype: "int32" }))), [plain]);
  close(vals(nllLoss(x.logSoftmax(1), tensor([1, 0, 3, 2], { dtype: "int32" }))), [plain]);
  gradcheck((a, b) => crossEntropy(a, t, { weight: b, ignoreIndex: -1, labelSmoothing: 0.2 }), [
    tensor(logits, { dtype: "float64" }).requiresGrad_(),
    tensor(weight, { dtype: "float64" }).requiresGrad_(),
  ]);
});

Deno.test("crossEntropy: probabilities, K-dim inputs and a [C] input", () => {
  const logits = [[1, 2, 0.5], [0.3, -0.2, 2]];
  const probs = [[0.2, 0.5, 0.3], [1, 0, 0]];
  const x = tensor(logits, { dtype: "float64" }), p = tensor(probs, { dtype: "float64" });
  let want = 0;
  for (let i = 0; i < 2; i++) {
    const lse = Math.log(logits[i].reduce((s, v) => s + Math.exp(v), 0));
    for (let c = 0; c < 3; c++) want -= ((1 - 0.1) * probs[i][c] + 0.1 / 3) * [1, 2, 3][c] * (logits[i][c] - lse);
  }
  close(
    vals(crossEntropy(x, p, { labelSmoothing: 0.1, weight: tensor([1, 2, 3], { dtype: "float64" }) })),
    [want / 2],
  );
  gradcheck((a, b) => crossEntropy(a, b, { labelSmoothing: 0.1 }), [leaf([2, 3]), leaf([2, 3])]);
  // [N, C, d]: the same as flattening positions into rows.
  manualSeed(9);
  const k = f64([2, 3, 4]);
  const tk = tensor([[0, 1, 2, 1], [2, 2, 0, 1]], { dtype: "int32" });
  const rows = k.permute(0, 2, 1).reshape([8, 3]);
  close(
    vals(crossEntropy(k, tk, { reduction: "none" })),
    vals(crossEntropy(rows, tk.reshape([8]), { reduction: "none" })),
  );
  deepStrictEqual(crossEntropy(k, tk, { reduction: "none" }).shape, [2, 4]);
  close(vals(crossEntropy(x.select(0, 0), tensor(1, { dtype: "int32" }))), [
    vals(crossEntropy(x.narrow(0, 0, 1), tensor([1], { dtype: "int32" })))[0],
  ]);
});

Deno.test("crossEntropy / nllLoss: bad targets say which", () => {
  const x = zeros([2, 10]);
  throws(() => crossEntropy(x, tensor([3, 10], { dtype: "int32" })), /target 10 is out of bounds for 10 classes/);
  throws(() => crossEntropy(x, tensor([-2, 1], { dtype: "int32" })), /target -2 is out of bounds/);
  throws(() => crossEntropy(x, tensor([1, 2, 3], { dtype: "int32" })), /expects a class-index target \[2\], got \[3\]/);
  throws(() => nllLoss(x, tensor([0, 1])), /int32/);
  throws(() => crossEntropy(x, tensor([0, 1], { dtype: "int32" }), { weight: ones([3]) }), /weight \[10\]/);
});

Deno.test("binaryCrossEntropy and withLogits: formulas, stability for large logits, gradcheck", () => {
  const p = tensor([0.2, 0.9, 0.5], { dtype: "float64" }), t = tensor([0, 1, 1], { dtype: "float64" });
  const want = -(Math.log(0.8) + Math.log(0.9) + Math.log(0.5)) / 3;
  close(vals(binaryCrossEntropy(p, t)), [want]);
  close(
    vals(
      binaryCrossEntropy(tensor([0, 1], { dtype: "float64" }), tensor([1, 0], { dtype: "float64" }), {
        reduction: "sum",
      }),
    ),
    [200],
  );
  const z = tensor([-1000, -2, 0, 3, 1000], { dtype: "float64" });
  const y = tensor([1, 0, 1, 1, 0], { dtype: "float64" });
  const sp = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))); // softplus
  // Direct: loss = softplus(z) - z*y
  const direct = [-1000, -2, 0, 3, 1000].map((v, i) => sp(v) - v * [1, 0, 1, 1, 0][i]);
  close(vals(binaryCrossEntropyWithLogits(z, y, { reduction: "none" })), direct);
  const pw = tensor([3], { dtype: "float64" });
  const withPw = [-1000, -2, 0, 3, 1000].map((v, i) => {
    const ti = [1, 0, 1, 1, 0][i];
    return (1 - ti) * v + (1 + 2 * ti) * sp(-v);
  });
  close(vals(binaryCrossEntropyWithLogits(z, y, { reduction: "none", posWeight: pw })), withPw);
  manualSeed(10);
  gradcheck((a) => binaryCrossEntropy(a.sigmoid(), t), [leaf([3])]);
  gradcheck(
    (a, b) => binaryCrossEntropyWithLogits(a, b, { posWeight: pw, weight: tensor([1, 2, 0.5], { dtype: "float64" }) }),
    [leaf([3]), tensor([0, 0.3, 1], { dtype: "float64" }).requiresGrad_()],
  );
  // Gradient at large logits stays finite and right: sigmoid(z) - y.
  const zl = tensor([-1000, 1000], { dtype: "float64" }).requiresGrad_();
  binaryCrossEntropyWithLogits(zl, tensor([1, 0], { dtype: "float64" }), { reduction: "sum" }).backward();
  close(vals(zl.grad!), [-1, 1]);
});
