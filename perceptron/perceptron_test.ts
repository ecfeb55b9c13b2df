import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import { Generator, tensor } from "@dendrite/tensor";
import { Perceptron } from "./perceptron.ts";

const X2 = [[0, 0], [0, 1], [1, 0], [1, 1]];
const AND = [0, 0, 0, 1];
const OR = [0, 1, 1, 1];
const XOR = [0, 1, 1, 0];

Deno.test("Perceptron starts at w = 0, b = 0 and predicts 1 only when w·x + b > 0", () => {
  const p = new Perceptron(3);
  assertEquals(p.weights, [0, 0, 0]);
  assertEquals(p.bias, 0);
  assertEquals(p.predict([1, 1, 1]), 0); // activation 0 is not > 0
  const q = new Perceptron(2, { weights: [1, -2], bias: 0.5 });
  assertEquals(q.activation([1, 1]), -0.5); // 1 - 2 + 0.5
  assertEquals(q.predict([1, 1]), 0);
  assertEquals(q.predict([1, 0]), 1); // 1 + 0.5 = 1.5 > 0
  q.weights[0] = 99; // the getter hands out a copy
  assertEquals(q.weights, [1, -2]);
});

Deno.test("Perceptron.update replays a worked sequence (η = 1, AND data in order) step by step", () => {
  const p = new Perceptron(2);
  // Each step: [x, y, changed, w after, b after], worked by hand with a = w·x + b, ŷ = a > 0:
  const steps: [number[], number, boolean, number[], number][] = [
    // epoch 1, w = [0,0], b = 0
    [[0, 0], 0, false, [0, 0], 0], // a = 0 -> ŷ 0, right
    [[0, 1], 0, false, [0, 0], 0], // a = 0 -> ŷ 0, right
    [[1, 0], 0, false, [0, 0], 0], // a = 0 -> ŷ 0, right
    [[1, 1], 1, true, [1, 1], 1], //  a = 0 -> ŷ 0, y 1: w += x = [1,1], b += 1 = 1
    // epoch 2
    [[0, 0], 0, true, [1, 1], 0], //  a = 1 -> ŷ 1, y 0: w -= [0,0] = [1,1], b -= 1 = 0
    [[0, 1], 0, true, [1, 0], -1], // a = 1 + 0 = 1 -> ŷ 1: w -= [0,1] = [1,0], b = -1
    [[1, 0], 0, false, [1, 0], -1], // a = 1 - 1 = 0 -> ŷ 0, right
    [[1, 1], 1, true, [2, 1], 0], //  a = 1 + 0 - 1 = 0 -> ŷ 0, y 1: w += [1,1] = [2,1], b = 0
    // epoch 3
    [[0, 0], 0, false, [2, 1], 0], // a = 0 -> ŷ 0, right
    [[0, 1], 0, true, [2, 0], -1], // a = 1 -> ŷ 1: w = [2,0], b = -1
    [[1, 0], 0, true, [1, 0], -2], // a = 2 - 1 = 1 -> ŷ 1: w = [1,0], b = -2
    [[1, 1], 1, true, [2, 1], -1], // a = 1 - 2 = -1 -> ŷ 0: w = [2,1], b = -1
  ];
  steps.forEach(([x, y, changed, w, b], i) => {
    assertEquals(p.update(x, y), changed, `step ${i + 1}: changed`);
    assertEquals(p.weights, w, `step ${i + 1}: w`);
    assertEquals(p.bias, b, `step ${i + 1}: b`);
  });
});

Deno.test("Perceptron.update with η = 0.5, given initial weights and real inputs", () => {
  const p = new Perceptron(2, { learningRate: 0.5, weights: [1, -1], bias: 0.5 });
  // a = 2 - 1 + 0.5 = 1.5 -> ŷ 1, y 0: Δ = 0.5·(0 - 1) = -0.5: w = [1 - 1, -1 - 0.5] = [0, -1.5], b = 0
  assertEquals(p.update([2, 1], 0), true);
  assertEquals([p.weights, p.bias], [[0, -1.5], 0]);
  // a = 0 + 3 + 0 = 3 -> ŷ 1, y 0: w = [0 + 0.5, -1.5 + 1] = [0.5, -0.5], b = -0.5
  assertEquals(p.update([-1, -2], 0), true);
  assertEquals([p.weights, p.bias], [[0.5, -0.5], -0.5]);
  // a = 0.5 - 0.5 = 0 -> ŷ 0, y 1: Δ = +0.5: w = [1, -0.5], b = 0
  assertEquals(p.update([1, 0], 1), true);
  assertEquals([p.weights, p.bias], [[1, -0.5], 0]);
  // a = 1 -> ŷ 1, y 1: nothing changes
  assertEquals(p.update([1, 0], 1), false);
  assertEquals([p.weights, p.bias], [[1, -0.5], 0]);
});

Deno.test("Perceptron.fit without shuffling: AND converges with the hand-counted mistakes", () => {
  const p = new Perceptron(2, { shuffle: false });
  // Continuing the worked sequence above: epoch 4 errs on [1,0] (w = [1,1], b = -2) and [1,1] (w = [2,2], b = -1);
  // epoch 5 errs on [0,1] only (a = 1: w = [2,1], b = -2); epoch 6: a = -2, -1, 0, 1 -> all right.
  const r = p.fit(X2, AND, { maxEpochs: 50 });
  assertEquals(r, { converged: true, epochs: 6, mistakesPerEpoch: [1, 3, 3, 2, 1, 0] });
  assertEquals(p.weights, [2, 1]);
  assertEquals(p.bias, -2);
});

Deno.test("Perceptron.fit with shuffling learns AND and OR", () => {
  for (const [name, Y] of [["AND", AND], ["OR", OR]] as const) {
    const p = new Perceptron(2, { generator: new Generator(1) });
    const r = p.fit(X2, Y, { maxEpochs: 100 });
    assert(r.converged, `${name} converged`);
    assertEquals(r.mistakesPerEpoch.length, r.epochs);
    assertEquals(r.mistakesPerEpoch.at(-1), 0);
    assertEquals(X2.map((x) => p.predict(x)), Y, `${name} predictions`);
    assertEquals(p.accuracy(X2, Y), 1);
  }
});

Deno.test("Perceptron.fit on XOR stops at the cap and reports no convergence", () => {
  const p = new Perceptron(2, { generator: new Generator(3) });
  const r = p.fit(X2, XOR, { maxEpochs: 40 });
  assertEquals(r.converged, false);
  assertEquals(r.epochs, 40);
  assertEquals(r.mistakesPerEpoch.length, 40);
  assert(r.mistakesPerEpoch.every((m) => m > 0));
  assert(p.accuracy(X2, XOR) < 1); // no line separates XOR
});

Deno.test("Perceptron.fit shuffles with the generator's randperm, epoch by epoch", () => {
  const X = [[1, 0.5], [-1, 2], [0.25, -1], [2, 2], [-2, -0.5]];
  const Y = [1, 0, 1, 1, 0];
  const p = new Perceptron(2, { generator: new Generator(11) });
  const r = p.fit(X, Y, { maxEpochs: 3 });
  // Independent replay: a direct loop over the same permutations with the rule written out.
  const g = new Generator(11);
  const w = [0, 0];
  let b = 0;
  const mistakes: number[] = [];
  for (let e = 0; e < r.epochs; e++) {
    let m = 0;
    for (const i of g.randperm(X.length)) {
      const yHat = w[0] * X[i][0] + w[1] * X[i][1] + b > 0 ? 1 : 0;
      const d = Y[i] - yHat;
      if (d !== 0) {
        m++;
        w[0] += d * X[i][0];
        w[1] += d * X[i][1];
        b += d;
      }
    }
    mistakes.push(m);
  }
  assertEquals(r.mistakesPerEpoch, mistakes);
  assertEquals(p.weights, w);
  assertEquals(p.bias, b);
});

/** A linearly separable 2-D set on a grid of quarters (exact in float32), labelled by x0 + 2·x1 > 0.5. */
function separable(seed: number, n: number): { X: number[][]; Y: number[] } {
  const g = new Generator(seed);
  const X: number[][] = [];
  const Y: number[] = [];
  while (X.length < n) {
    const x = [Math.round(g.random() * 16 - 8) / 4, Math.round(g.random() * 16 - 8) / 4];
    const s = x[0] + 2 * x[1] - 0.5;
    if (Math.abs(s) < 0.5) continue; // keep a margin so convergence is quick
    X.push(x);
    Y.push(s > 0 ? 1 : 0);
  }
  return { X, Y };
}

Deno.test("Perceptron: the tensor path equals the array path", () => {
  const { X, Y } = separable(5, 40);
  const a = new Perceptron(2, { generator: new Generator(9) });
  const ra = a.fit(X, Y, { maxEpochs: 200 });
  const b = new Perceptron(2, { generator: new Generator(9) });
  const rb = b.fit(tensor(X), tensor(Y, { dtype: "int32" }), { maxEpochs: 200 });
  assert(ra.converged);
  assertEquals(rb, ra);
  assertEquals(b.weights, a.weights);
  assertEquals(b.bias, a.bias);
  // Single examples as tensors, and the batched tensor prediction, agree with predict on arrays.
  assertEquals(X.map((x) => b.predict(tensor(x))), X.map((x) => a.predict(x)));
  const batch = a.predictBatch(tensor(X));
  assertEquals(batch.shape, [X.length]);
  assertEquals(batch.dtype, "int32");
  assertEquals(Array.from(batch.dataSync()), X.map((x) => a.predict(x)));
  assertEquals(Array.from(a.predictBatch(X).dataSync()), Y); // arrays go through tensors too
  // update on a tensor example matches update on the array
  const c = new Perceptron(2), d = new Perceptron(2);
  assertEquals(c.update(tensor([1, 1]), 1), d.update([1, 1], 1));
  assertEquals([c.weights, c.bias], [d.weights, d.bias]);
});

Deno.test("Perceptron.predictBatch on the AND truth table", () => {
  const p = new Perceptron(2, { weights: [2, 1], bias: -2 });
  // By hand: [0,0] -> -2, [0,1] -> -1, [1,0] -> 0, [1,1] -> 1; only the last is > 0.
  assertEquals(Array.from(p.predictBatch(tensor(X2)).dataSync()), [0, 0, 0, 1]);
  assertEquals(Array.from(p.predictBatch(tensor(X2, { dtype: "int32" })).dataSync()), [0, 0, 0, 1]);
});

function unchanged(p: Perceptron, w: number[], b: number): void {
  assertEquals(p.weights, w);
  assertEquals(p.bias, b);
}

Deno.test("Perceptron errors: inputs of the wrong length, before any change", () => {
  const p = new Perceptron(2, { weights: [1, 1], bias: 1 });
  assertThrows(() => p.predict([1]), /Perceptron.predict: expected an input of length 2, got 1/);
  assertThrows(() => p.update([1, 0, 1], 1), /Perceptron.update: expected an input of length 2, got 3/);
  assertThrows(() => p.update(tensor([1, 0, 1]), 1), /expected an input of shape \[2\], got \[3\]/);
  // The bad row is the last one: fit must refuse before updating on the good rows.
  assertThrows(() => p.fit([[0, 0], [0, 1], [1]], [0, 0, 1]), /Perceptron.fit: X\[2\] has length 1, expected 2/);
  assertThrows(() => p.fit(tensor([[0, 0, 1]]), [0]), /expected X of shape \[n, 2\], got \[1, 3\]/);
  assertThrows(() => p.predictBatch(tensor([1, 2])), /expected X of shape \[n, 2\], got \[2\]/);
  assertThrows(() => p.update([1, NaN], 1), /x\[1\] must be a finite number/);
  unchanged(p, [1, 1], 1);
});

Deno.test("Perceptron errors: non-binary labels, before any change", () => {
  const p = new Perceptron(2, { weights: [1, 1], bias: 1 });
  assertThrows(() => p.update([0, 0], 2), /Perceptron.update: labels must be 0 or 1, got 2/);
  assertThrows(() => p.update([0, 0], -1), /labels must be 0 or 1, got -1/);
  assertThrows(() => p.fit(X2, [0, 0, 1, 0.5]), /Perceptron.fit: labels must be 0 or 1, got 0.5 at index 3/);
  assertThrows(() => p.fit(tensor(X2), tensor([0, 1, 1, 2])), /labels must be 0 or 1, got 2 at index 3/);
  unchanged(p, [1, 1], 1);
});

Deno.test("Perceptron errors: empty data set and mismatched X/Y lengths, before any change", () => {
  const gen = new Generator(4);
  const p = new Perceptron(2, { weights: [1, 1], bias: 1, generator: gen });
  assertThrows(() => p.fit([], []), /Perceptron.fit: the data set is empty/);
  assertThrows(() => p.fit(X2, [0, 1, 1]), /Perceptron.fit: X has 4 examples but Y has 3 labels/);
  assertThrows(() => p.fit(tensor(X2), tensor([0, 1])), /X has 4 examples but Y has 2 labels/);
  assertThrows(() => p.fit(X2, tensor([[0, 1, 1, 0]])), /expected Y of shape \[n\], got \[1, 4\]/);
  assertThrows(() => p.fit(X2, AND, { maxEpochs: 0 }), /maxEpochs must be a positive integer/);
  unchanged(p, [1, 1], 1);
  assertEquals(gen.offset, 0); // not even a shuffle was drawn
});

Deno.test("Perceptron errors: bad constructor options", () => {
  assertThrows(() => new Perceptron(0), /nInputs must be a positive integer, got 0/);
  assertThrows(() => new Perceptron(2, { learningRate: 0 }), /learningRate must be a positive finite number/);
  assertThrows(() => new Perceptron(2, { weights: [1] }), /weights must have length 2, got 1/);
  assertThrows(() => new Perceptron(2, { bias: Infinity }), /bias must be a finite number/);
});
