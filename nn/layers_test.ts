import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { gradcheck, manualSeed, ones, randn, type Tensor, tensor, zeros } from "@dendrite/tensor";
import * as nn from "./mod.ts";
import { nnLayersSuite } from "./layers_suite.ts";

// Every layer forward and backward, moved with Module.to, in float32 (gpu/nn_test.ts runs the same on WebGPU).
nnLayersSuite("cpu", "nn[cpu]");

const vals = (t: Tensor) => [...t.dataSync()];
function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9): void {
  deepStrictEqual(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    ok(
      Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("Linear: x Wᵀ + b against a hand computation, PyTorch's default init bounds, errors", () => {
  const fc = new nn.Linear(3, 2, { dtype: "float64" });
  fc.loadStateDict({ weight: tensor([[1, 2, 3], [0, -1, 1]]), bias: tensor([0.5, -1]) });
  close(vals(fc.forward(tensor([[1, 1, 2]], { dtype: "float64" }))), [1 + 2 + 6 + 0.5, 0 - 1 + 2 - 1]);
  manualSeed(0);
  const big = new nn.Linear(100, 50);
  const bound = 1 / Math.sqrt(100); // kaiming_uniform(a=√5) gives exactly 1/√fanIn
  ok(vals(big.weight).every((v) => Math.abs(v) <= bound));
  ok(vals(big.weight).some((v) => Math.abs(v) > 0.9 * bound));
  ok(vals(big.bias!).every((v) => Math.abs(v) <= bound));
  throws(
    () => fc.forward(zeros([2, 5], { dtype: "float64" })),
    /Linear\(3, 2\): expected input \[\.\.\., 3\], got \[2, 5\]/,
  );
  strictEqual(new nn.Linear(3, 2, { bias: false }).bias, null);
  const x = randn([2, 3], { dtype: "float64" }).requiresGrad_();
  gradcheck((a) => fc.forward(a), [x]);
});

Deno.test("Conv2d: shapes, init bound, the error names layer and both shapes", () => {
  manualSeed(1);
  const conv = new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
  deepStrictEqual(conv.weight.shape, [64, 3, 7, 7]);
  strictEqual(conv.bias, null);
  deepStrictEqual(conv.forward(randn([2, 3, 16, 16])).shape, [2, 64, 8, 8]);
  const bound = 1 / Math.sqrt(3 * 49);
  ok(vals(conv.weight).every((v) => Math.abs(v) <= bound));
  throws(() => conv.forward(zeros([2, 4, 8, 8])), {
    message: "Conv2d(3, 64): expected input [N, 3, H, W], got [2, 4, 8, 8]",
  });
  throws(() => conv.forward(zeros([8, 8])), /Conv2d\(3, 64\): expected input \[N, 3, H, W\], got \[8, 8\]/);
  const g = new nn.Conv2d(4, 6, 3, { groups: 2, padding: "same", dilation: 2 });
  deepStrictEqual(g.weight.shape, [6, 2, 3, 3]);
  deepStrictEqual(g.forward(randn([1, 4, 9, 9])).shape, [1, 6, 9, 9]);
  throws(() => new nn.Conv2d(4, 6, 3, { groups: 4 }), /groups=4 must divide/);
});

Deno.test("BatchNorm2d: two training steps update running stats per the hand formula; eval uses them", () => {
  const bn = new nn.BatchNorm2d(2, { momentum: 0.1, dtype: "float64" });
  const xs = [randn([2, 2, 3, 3], { dtype: "float64" }), randn([2, 2, 3, 3], { dtype: "float64" }).mul(3).add(1)];
  let rm = [0, 0], rv = [1, 1];
  for (const x of xs) {
    const y = bn.forward(x);
    const X = x.dataSync();
    const Y = y.dataSync();
    for (let c = 0; c < 2; c++) {
      const v: number[] = [], at: number[] = [];
      for (let n = 0; n < 2; n++) for (let i = 0; i < 9; i++) at.push((n * 2 + c) * 9 + i);
      for (const i of at) v.push(X[i]);
      const mean = v.reduce((a, b) => a + b, 0) / 18;
      const biased = v.reduce((a, b) => a + (b - mean) ** 2, 0) / 18;
      for (const i of at) ok(Math.abs(Y[i] - (X[i] - mean) / Math.sqrt(biased + 1e-5)) < 1e-9);
      rm[c] = 0.9 * rm[c] + 0.1 * mean;
      rv[c] = 0.9 * rv[c] + 0.1 * biased * 18 / 17;
    }
    rm = [...rm], rv = [...rv];
  }
  close(vals(bn.runningMean!), rm);
  close(vals(bn.runningVar!), rv);
  deepStrictEqual(vals(bn.numBatchesTracked!), [2]);
  bn.eval();
  const x = xs[0];
  const X = x.dataSync();
  const expected = [...X].map((v, i) => {
    const c = Math.floor(i / 9) % 2;
    return (v - rm[c]) / Math.sqrt(rv[c] + 1e-5);
  });
  close(vals(bn.forward(x)), expected);
  deepStrictEqual(vals(bn.numBatchesTracked!), [2], "eval does not count batches");
  throws(() => bn.forward(zeros([2, 3, 4, 4], { dtype: "float64" })), {
    message: "BatchNorm2d(2): expected input [N, 2, H, W], got [2, 3, 4, 4]",
  });
});

Deno.test("BatchNorm1d: momentum null is a cumulative average; no running stats uses batch stats in eval", () => {
  const bn = new nn.BatchNorm1d(1, { momentum: null, dtype: "float64" });
  bn.forward(tensor([[1], [3]], { dtype: "float64" })); // mean 2, unbiased var 2
  bn.forward(tensor([[5], [9]], { dtype: "float64" })); // mean 7, unbiased var 8
  close(vals(bn.runningMean!), [(2 + 7) / 2]);
  close(vals(bn.runningVar!), [(2 + 8) / 2]);
  const free = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false, dtype: "float64" });
  deepStrictEqual(Object.keys(free.stateDict()), []);
  free.eval();
  close(vals(free.forward(tensor([[1, 10], [3, 30]], { dtype: "float64" }))), [-1, -1, 1, 1], 1e-4);
  deepStrictEqual(new nn.BatchNorm1d(3).forward(randn([4, 3, 5])).shape, [4, 3, 5]);
  throws(
    () => new nn.BatchNorm1d(3).forward(zeros([4, 2])),
    /BatchNorm1d\(3\): expected input \[N, 3\] or \[N, 3, L\], got \[4, 2\]/,
  );
});

Deno.test("LayerNorm, Dropout train/eval, Embedding, pooling layers, activations, Flatten, Identity", () => {
  const ln = new nn.LayerNorm(4, { dtype: "float64" });
  const s = Math.sqrt(1.25 + 1e-5);
  close(vals(ln.forward(tensor([[1, 2, 3, 4]], { dtype: "float64" }))), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
  throws(() => ln.forward(zeros([2, 3])), /LayerNorm\(\[4\]\): expected input \[\.\.\., 4\], got \[2, 3\]/);
  manualSeed(2);
  const drop = new nn.Dropout(0.5);
  const y = vals(drop.forward(ones([100])));
  ok(y.some((v) => v === 0) && y.some((v) => v === 2));
  drop.eval();
  deepStrictEqual(vals(drop.forward(ones([4]))), [1, 1, 1, 1]);
  const emb = new nn.Embedding(5, 3, { paddingIdx: 0 });
  deepStrictEqual(vals(emb.weight).slice(0, 3), [0, 0, 0]);
  deepStrictEqual(emb.forward(tensor([[1, 2], [0, 4]], { dtype: "int32" })).shape, [2, 2, 3]);
  throws(() => emb.forward(tensor([1.5])), /Embedding\(5, 3\): expected int32 indices, got float32/);
  const x = tensor(Array.from({ length: 16 }, (_, i) => i), { shape: [1, 1, 4, 4] });
  deepStrictEqual(vals(new nn.MaxPool2d(2).forward(x)), [5, 7, 13, 15]);
  deepStrictEqual(vals(new nn.AvgPool2d(2).forward(x)), [2.5, 4.5, 10.5, 12.5]);
  deepStrictEqual(vals(new nn.AdaptiveAvgPool2d(1).forward(x)), [7.5]);
  throws(
    () => new nn.MaxPool2d(2).forward(zeros([4, 4])),
    /MaxPool2d\(2\): expected input \[N, C, H, W\] or \[C, H, W\], got \[4, 4\]/,
  );
  const a = tensor([-2, 0, 1]);
  deepStrictEqual(vals(new nn.ReLU().forward(a)), [0, 0, 1]);
  close(vals(new nn.LeakyReLU(0.5).forward(a)), [-1, 0, 1]);
  close(vals(new nn.Sigmoid().forward(a)), [-2, 0, 1].map((v) => 1 / (1 + Math.exp(-v))), 1e-6);
  close(vals(new nn.Tanh().forward(a)), [-2, 0, 1].map(Math.tanh), 1e-6);
  close(
    vals(new nn.GELU("tanh").forward(a)),
    [-2, 0, 1].map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))),
    1e-6,
  );
  const e = [-2, 0, 1].map(Math.exp), se = e.reduce((p, q) => p + q, 0);
  close(vals(new nn.Softmax(0).forward(a)), e.map((v) => v / se), 1e-6);
  close(vals(new nn.LogSoftmax(0).forward(a)), e.map((v) => Math.log(v / se)), 1e-6);
  deepStrictEqual(new nn.Flatten().forward(zeros([2, 3, 4])).shape, [2, 12]);
  strictEqual(new nn.Identity().forward(a), a);
});

Deno.test("losses as modules: reductions, weight buffers, stable BCE with logits, errors", () => {
  const mse = new nn.MSELoss({ reduction: "sum" });
  deepStrictEqual(vals(mse.forward(tensor([1, 2]), tensor([1, 4]))), [4]);
  deepStrictEqual(vals(new nn.L1Loss({ reduction: "none" }).forward(tensor([1, 2]), tensor([0, 4]))), [1, 2]);
  const logits = tensor([[2, 0, -1], [0.5, 0.5, 3]], { dtype: "float64" });
  const t = tensor([0, 2], { dtype: "int32" });
  const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
  const l0 = lse([2, 0, -1]) - 2, l1 = lse([0.5, 0.5, 3]) - 3;
  close(vals(new nn.CrossEntropyLoss().forward(logits, t)), [(l0 + l1) / 2]);
  const w = tensor([2, 1, 3], { dtype: "float64" });
  const ce = new nn.CrossEntropyLoss({ weight: w });
  close(vals(ce.forward(logits, t)), [(2 * l0 + 3 * l1) / 5]);
  deepStrictEqual(Object.keys(ce.stateDict()), ["weight"]);
  close(vals(new nn.NLLLoss({ ignoreIndex: 2 }).forward(logits.logSoftmax(1), t)), [l0]);
  throws(
    () => new nn.CrossEntropyLoss().forward(logits, tensor([0, 3], { dtype: "int32" })),
    /target 3 is out of bounds for 3 classes/,
  );
  throws(() => new nn.MSELoss({ reduction: "avg" as "mean" }), /MSELoss: reduction must be/);
  close(vals(new nn.BCELoss().forward(tensor([0.25], { dtype: "float64" }), tensor([1], { dtype: "float64" }))), [
    Math.log(4),
  ]);
  const big = new nn.BCEWithLogitsLoss({ reduction: "none" }).forward(
    tensor([100, -100], { dtype: "float32" }),
    tensor([0, 1], { dtype: "float32" }),
  );
  close(vals(big), [100, 100], 1e-6);
});

Deno.test("init: fans, gains and bounds like torch.nn.init", () => {
  deepStrictEqual(nn.init.calculateFanInAndFanOut(zeros([64, 3, 7, 7])), [3 * 49, 64 * 49]);
  throws(() => nn.init.calculateFanInAndFanOut(zeros([5])), /fewer than 2 dimensions/);
  strictEqual(nn.init.calculateGain("relu"), Math.SQRT2);
  strictEqual(nn.init.calculateGain("tanh"), 5 / 3);
  strictEqual(nn.init.calculateGain("leaky_relu", Math.sqrt(5)), Math.sqrt(2 / 6));
  strictEqual(nn.init.calculateGain("sigmoid"), 1);
  manualSeed(3);
  const w = zeros([200, 100]);
  nn.init.kaimingUniform_(w, { nonlinearity: "relu" });
  const b = Math.sqrt(3) * Math.SQRT2 / Math.sqrt(100);
  ok(vals(w).every((v) => Math.abs(v) <= b) && vals(w).some((v) => Math.abs(v) > 0.95 * b));
  nn.init.kaimingNormal_(w, { mode: "fan_out", nonlinearity: "relu" });
  const std = (xs: number[]) => Math.sqrt(xs.reduce((s, v) => s + v * v, 0) / xs.length);
  ok(Math.abs(std(vals(w)) - Math.SQRT2 / Math.sqrt(200)) < 0.003);
  nn.init.xavierUniform_(w, { gain: 2 });
  const xb = 2 * Math.sqrt(6 / 300);
  ok(vals(w).every((v) => Math.abs(v) <= xb) && vals(w).some((v) => Math.abs(v) > 0.95 * xb));
  nn.init.xavierNormal_(w);
  ok(Math.abs(std(vals(w)) - Math.sqrt(2 / 300)) < 0.003);
  nn.init.normal_(w, 3, 0.5);
  ok(Math.abs(vals(w).reduce((s, v) => s + v, 0) / 20000 - 3) < 0.02);
  nn.init.uniform_(w, -2, -1);
  ok(vals(w).every((v) => v >= -2 && v < -1));
  deepStrictEqual(vals(nn.init.constant_(zeros([2]), 4)), [4, 4]);
  deepStrictEqual(vals(nn.init.ones_(zeros([2]))), [1, 1]);
  deepStrictEqual(vals(nn.init.zeros_(ones([2]))), [0, 0]);
  // Parameters (requiring grad) can be initialised in place.
  const p = new nn.Linear(2, 2).weight;
  nn.init.zeros_(p);
  deepStrictEqual(vals(p), [0, 0, 0, 0]);
  ok(p.requiresGrad);
});

Deno.test("functional namespace: nn.F and nn.functional expose the same ops", () => {
  strictEqual(nn.F.conv2d, nn.functional.conv2d);
  const x = randn([1, 2, 4, 4]);
  deepStrictEqual(nn.F.maxPool2d(nn.F.relu(nn.F.conv2d(x, randn([3, 2, 3, 3]), null, { padding: 1 })), 2).shape, [
    1,
    3,
    2,
    2,
  ]);
  deepStrictEqual(vals(nn.F.linear(tensor([[1, 2]]), tensor([[1, 1]]), tensor([1]))), [4]);
});
