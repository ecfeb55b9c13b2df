// The ops generative models add: groupNorm, dropout2d, SiLU/Mish/ELU/softplus, and the KL, smooth-L1 and Huber losses,
// against their formulas by hand and float64 gradcheck.
import { deepStrictEqual, ok, throws } from "node:assert/strict";
import "../cpu/backend.ts";
import { gradcheck } from "../gradcheck.ts";
import { Generator, manualSeed } from "../random.ts";
import { ones, rand, randn, tensor, zeros } from "./creation.ts";
import { groupNorm } from "./norm.ts";
import { dropout2d, elu, mish, silu, softplus } from "./nn_ops.ts";
import { huberLoss, klDiv, smoothL1Loss } from "./losses.ts";
import { siluBackward } from "./binary.ts";
import { close, vals } from "./test_util.ts";

const f64 = (shape: number[]) => randn(shape, { dtype: "float64" });
const leaf = (shape: number[]) => f64(shape).requiresGrad_();

Deno.test("groupNorm: each (sample, group) normalized by its own mean and biased variance, then affine per channel", () => {
  manualSeed(21);
  for (const [shape, groups] of [[[2, 6, 3, 4], 3], [[3, 4, 5], 2], [[2, 4], 4], [[1, 8, 2, 2], 1]] as const) {
    const x = f64([...shape]).mul(2).add(0.5);
    const c = shape[1], per = c / groups, spatial = x.numel() / (shape[0] * c);
    const w = f64([c]), b = f64([c]);
    const y = vals(groupNorm(x, groups, w, b, 1e-3)), X = vals(x), W = vals(w), B = vals(b);
    const expected = new Array<number>(X.length);
    for (let n = 0; n < shape[0]; n++) {
      for (let g = 0; g < groups; g++) {
        const cells: number[] = [];
        for (let ch = g * per; ch < (g + 1) * per; ch++) {
          for (let s = 0; s < spatial; s++) cells.push((n * c + ch) * spatial + s);
        }
        const mean = cells.reduce((a, i) => a + X[i], 0) / cells.length;
        const variance = cells.reduce((a, i) => a + (X[i] - mean) ** 2, 0) / cells.length;
        for (const i of cells) {
          const ch = Math.floor(i / spatial) % c;
          expected[i] = (X[i] - mean) / Math.sqrt(variance + 1e-3) * W[ch] + B[ch];
        }
      }
    }
    close(y, expected, 1e-10, `groupNorm ${JSON.stringify(shape)} groups=${groups}`);
  }
});

Deno.test("groupNorm: float64 gradcheck with and without affine; strided input; no affine is plain normalization", () => {
  manualSeed(22);
  gradcheck((x, w, b) => groupNorm(x, 2, w, b), [leaf([2, 4, 3, 2]), leaf([4]), leaf([4])]);
  gradcheck((x) => groupNorm(x, 3, null, null, 1e-2), [leaf([2, 6, 5])]);
  const base = leaf([3, 2, 4]);
  gradcheck((x) => groupNorm(x.permute([1, 2, 0]), 2), [base]);
  const x = f64([2, 4, 3, 3]);
  close(
    vals(groupNorm(x, 4)),
    vals(groupNorm(x, 4, ones([4], { dtype: "float64" }), zeros([4], { dtype: "float64" }))),
  );
});

Deno.test("groupNorm: errors name the op, the group count and the channels", () => {
  throws(() => groupNorm(zeros([2, 6, 4]), 4), {
    message: "groupNorm: numGroups=4 must be a positive integer dividing the 6 channels of input [2, 6, 4]",
  });
  throws(() => groupNorm(zeros([2, 6, 4]), 3, zeros([5])), /expected weight \[6\] for input \[2, 6, 4\], got \[5\]/);
  throws(() => groupNorm(zeros([6]), 3), /expected input \[N, C, \.\.\.\], got \[6\]/);
});

Deno.test("dropout2d: whole channels zeroed or scaled by 1/(1-p), about p of them; identity when not training", () => {
  const x = rand([40, 50, 3, 3], { generator: new Generator(1) }).add(0.5);
  const y = dropout2d(x, 0.3, true, new Generator(2));
  const X = vals(x), Y = vals(y);
  let dropped = 0;
  for (let m = 0; m < 40 * 50; m++) {
    const kept = Y[m * 9] !== 0;
    if (!kept) dropped++;
    for (let i = 0; i < 9; i++) {
      const e = kept ? X[m * 9 + i] / 0.7 : 0;
      ok(Math.abs(Y[m * 9 + i] - e) < 1e-5, `map ${m} cell ${i}: ${Y[m * 9 + i]} vs ${e}`);
    }
  }
  ok(Math.abs(dropped / 2000 - 0.3) < 0.04, `dropped ${dropped} of 2000 maps`);
  deepStrictEqual(dropout2d(x, 0.3, false), x);
  deepStrictEqual(dropout2d(ones([3, 2, 2]), 0.5, true, new Generator(3)).shape, [3, 2, 2]);
  throws(() => dropout2d(ones([4, 4]), 0.5), /dropout2d: expected input \[N, C, H, W\] or \[C, H, W\], got \[4, 4\]/);
  throws(() => dropout2d(ones([1, 1, 2, 2]), 1.5), /probability must be in \[0, 1\], got 1.5/);
});

Deno.test("silu, softplus, mish, elu: values by hand (large magnitudes stay finite) and float64 gradcheck", () => {
  const xs = [-60, -3, -0.5, 0, 0.25, 2, 60];
  const x = tensor(xs, { dtype: "float64" });
  const sp = (v: number) => v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
  close(vals(silu(x)), xs.map((v) => v / (1 + Math.exp(-v))), 1e-12, "silu");
  close(vals(softplus(x)), xs.map(sp), 1e-12, "softplus");
  close(vals(mish(x)), xs.map((v) => v * Math.tanh(sp(v))), 1e-12, "mish");
  close(vals(elu(x, 0.7)), xs.map((v) => v > 0 ? v : 0.7 * Math.expm1(v)), 1e-12, "elu");
  // ELU's gradient at a large input stays finite (the branch not taken is evaluated at min(x, 0)).
  const big = tensor([100], { dtype: "float32" }).requiresGrad_();
  elu(big).sum().backward();
  deepStrictEqual(vals(big.grad!), [1]);
  manualSeed(23);
  for (const f of [silu, softplus, mish, (t: typeof x) => elu(t, 1.3)]) gradcheck(f, [leaf([3, 4])]);
  // SiLU's fused gradient kernel: its value by hand, and its own derivative rule (second order) by gradcheck.
  const g = tensor([0.5, -1, 2, 1, 3, -2, 1.5], { dtype: "float64" });
  const s = (v: number) => 1 / (1 + Math.exp(-v)), G = vals(g);
  close(vals(siluBackward(x, g)), xs.map((v, i) => G[i] * (s(v) + v * s(v) * (1 - s(v)))), 1e-12, "siluBackward");
  gradcheck((a, b) => siluBackward(a, b), [leaf([2, 3]), leaf([2, 3])]);
});

Deno.test("klDiv: PyTorch's pointwise formulas, every reduction, logTarget, zero targets; gradcheck", () => {
  const logq = tensor([[0.25, 0.75], [0.6, 0.4], [0.1, 0.9]], { dtype: "float64" }).log();
  const p = tensor([[0.5, 0.5], [1, 0], [0.2, 0.8]], { dtype: "float64" });
  const Q = vals(logq), P = vals(p);
  // target·(log target − input), 0 where the target is 0
  const point = P.map((t, i) => (t > 0 ? t * Math.log(t) : 0) - t * Q[i]);
  const sum = point.reduce((a, b) => a + b, 0);
  close(vals(klDiv(logq, p, { reduction: "none" })), point, 1e-12, "none");
  close(vals(klDiv(logq, p, { reduction: "sum" })), [sum], 1e-12, "sum");
  close(vals(klDiv(logq, p)), [sum / 6], 1e-12, "mean");
  close(vals(klDiv(logq, p, { reduction: "batchmean" })), [sum / 3], 1e-12, "batchmean");
  // KL([0.5, 0.5] ‖ [0.25, 0.75]) by hand.
  const kl0 = 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75);
  close(vals(klDiv(logq.narrow(0, 0, 1), p.narrow(0, 0, 1), { reduction: "batchmean" })), [kl0], 1e-12, "KL");
  // logTarget: e^t·(t − input) equals the probability form for t = log p (p > 0).
  const pPos = tensor([[0.5, 0.5], [0.3, 0.7]], { dtype: "float64" });
  close(
    vals(klDiv(logq.narrow(0, 0, 2), pPos.log(), { logTarget: true, reduction: "none" })),
    vals(klDiv(logq.narrow(0, 0, 2), pPos, { reduction: "none" })),
    1e-12,
    "logTarget",
  );
  manualSeed(24);
  // Gradients for input and target (a target with zeros keeps finite gradients).
  const t = leaf([2, 3]).abs();
  gradcheck((a, b) => klDiv(a, b, { reduction: "batchmean" }), [leaf([2, 3]), t.detach().requiresGrad_()]);
  gradcheck((a, b) => klDiv(a, b, { logTarget: true }), [leaf([2, 3]), leaf([2, 3])]);
  const zeroT = tensor([0, 0.5], { dtype: "float64" }).requiresGrad_(), inp = leaf([2]);
  klDiv(inp, zeroT, { reduction: "sum" }).backward();
  ok(vals(zeroT.grad!).every(Number.isFinite) && vals(inp.grad!).every(Number.isFinite), "finite at target 0");
  throws(() => klDiv(logq, p, { reduction: "avg" as "mean" }), /klDiv: reduction must be "mean", "sum", "none"/);
  throws(() => klDiv(logq, p.narrow(0, 0, 2)), /klDiv: expected target of the input's shape \[3, 2\], got \[2, 2\]/);
});

Deno.test("smoothL1Loss and huberLoss: both sides of the threshold by hand, beta 0 is L1, gradcheck, errors", () => {
  const input = tensor([0.2, -0.5, 1.5, -3, 0.9], { dtype: "float64" });
  const target = tensor([0, 0, 0, 0, 0], { dtype: "float64" });
  const d = vals(input);
  for (const beta of [1, 0.5, 2]) {
    const e = d.map((v) => Math.abs(v) < beta ? 0.5 * v * v / beta : Math.abs(v) - 0.5 * beta);
    close(vals(smoothL1Loss(input, target, "none", beta)), e, 1e-12, `smoothL1 beta=${beta}`);
    close(vals(smoothL1Loss(input, target, "mean", beta)), [e.reduce((a, b) => a + b) / 5], 1e-12);
  }
  close(vals(smoothL1Loss(input, target, "sum", 0)), [d.reduce((a, v) => a + Math.abs(v), 0)], 1e-12, "beta 0");
  for (const delta of [1, 0.5, 2]) {
    const e = d.map((v) => Math.abs(v) < delta ? 0.5 * v * v : delta * (Math.abs(v) - 0.5 * delta));
    close(vals(huberLoss(input, target, "none", delta)), e, 1e-12, `huber delta=${delta}`);
    // Huber is smooth L1 with beta = delta, times delta.
    close(
      vals(huberLoss(input, target, "sum", delta)),
      vals(smoothL1Loss(input, target, "sum", delta).mul(delta)),
      1e-12,
    );
  }
  manualSeed(25);
  gradcheck((a, b) => smoothL1Loss(a, b, "mean", 0.7), [leaf([3, 4]), leaf([3, 4])]);
  gradcheck((a, b) => huberLoss(a, b, "sum", 0.6), [leaf([3, 4]), leaf([3, 4])]);
  throws(() => smoothL1Loss(input, target, "mean", -1), /smoothL1Loss: beta must be a finite number ≥ 0, got -1/);
  throws(() => huberLoss(input, target, "mean", 0), /huberLoss: delta must be a finite number > 0, got 0/);
  throws(() => huberLoss(input, zeros([4], { dtype: "float64" })), /huberLoss: expected target of the input's shape/);
});
