// perSampleGrads (one pass, per-layer rules) against perSampleGradsLoop (one backward per sample), in float64.
import assert from "node:assert/strict";
import { manualSeed, randint, randn, type Tensor, tensor } from "@dendrite/tensor";
import {
  BatchNorm2d,
  Conv2d,
  Embedding,
  Flatten,
  LayerNorm,
  Linear,
  MaxPool2d,
  Module,
  perSampleGrads,
  perSampleGradsLoop,
  ReLU,
  Sequential,
  Tanh,
} from "./mod.ts";
import { crossEntropy, mseLoss } from "./functional.ts";

manualSeed(17);
const f64 = { dtype: "float64" as const };

function assertSame(fast: Map<string, Tensor>, slow: Map<string, Tensor>, tol = 1e-10): void {
  assert.deepEqual([...fast.keys()], [...slow.keys()]);
  for (const [name, s] of slow) {
    const f = fast.get(name)!;
    assert.deepEqual(f.shape, s.shape, name);
    const a = f.dataSync(), b = s.dataSync();
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
    assert.ok(worst <= tol, `${name}: differs from the loop by ${worst}`);
  }
}

const ce = (out: Tensor, y: Tensor) => crossEntropy(out, y);

Deno.test("perSampleGrads: an MLP with cross-entropy matches one backward per sample", () => {
  const model = new Sequential(new Linear(5, 8, f64), new Tanh(), new Linear(8, 3, f64));
  const x = randn([6, 5], f64), y = randint(0, 3, [6]);
  const fast = perSampleGrads(model, ce, x, y);
  assertSame(fast, perSampleGradsLoop(model, ce, x, y));
  assert.deepEqual(fast.get("0.weight")!.shape, [6, 8, 5]);
  for (const p of model.parameters()) assert.equal(p.grad, null, "no .grad is touched");
});

Deno.test("perSampleGrads: the mean of the per-sample gradients is the batch gradient", () => {
  const model = new Sequential(new Linear(4, 6, f64), new ReLU(), new Linear(6, 2, f64));
  const x = randn([7, 4], f64), y = randint(0, 2, [7]);
  const fast = perSampleGrads(model, ce, x, y);
  ce(model.forward(x), y).backward();
  for (const [name, p] of model.namedParameters()) {
    const mean = fast.get(name)!.mean(0).dataSync(), batch = p.grad!.dataSync();
    for (let i = 0; i < mean.length; i++) assert.ok(Math.abs(mean[i] - batch[i]) < 1e-12, `${name}[${i}]`);
  }
});

Deno.test("perSampleGrads: a CNN (padding, stride, groups, 'same' with an even kernel, pooling) matches the loop", () => {
  const model = new Sequential(
    new Conv2d(2, 4, 3, { padding: 1, ...f64 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(4, 4, 3, { stride: 2, padding: 1, groups: 2, ...f64 }),
    new Tanh(),
    new Conv2d(4, 3, 2, { padding: "same", bias: false, ...f64 }),
    new Flatten(),
    new Linear(3 * 2 * 2, 3, f64),
  );
  const x = randn([5, 2, 8, 8], f64), y = randint(0, 3, [5]);
  assertSame(perSampleGrads(model, ce, x, y), perSampleGradsLoop(model, ce, x, y));
});

Deno.test("perSampleGrads: Embedding (with a padding row), LayerNorm and a sequence of positions match the loop", () => {
  class Tagger extends Module {
    emb = new Embedding(7, 4, { paddingIdx: 0, ...f64 });
    norm = new LayerNorm(4, f64);
    head = new Linear(4, 2, f64);
    override forward(tokens: Tensor): Tensor {
      return this.head.forward(this.norm.forward(this.emb.forward(tokens))).mean(1); // [B, 2]
    }
  }
  const model = new Tagger();
  const tokens = tensor([[1, 2, 0, 3], [4, 4, 5, 0], [6, 1, 2, 2]], { dtype: "int32" });
  const target = randn([3, 2], f64);
  // A loss per sample [B] (mean over each sample's outputs).
  const lossFn = (out: Tensor, t: Tensor) => out.sub(t).square().mean(1);
  const fast = perSampleGrads(model, lossFn, tokens, target);
  assertSame(fast, perSampleGradsLoop(model, lossFn, tokens, target));
  const padRow = fast.get("emb.weight")!.narrow(1, 0, 1).abs().sum().dataSync()[0];
  assert.equal(padRow, 0, "the padding row gets no gradient");
});

Deno.test("perSampleGrads: a layer called twice (shared weights) and a sum-reduced loss", () => {
  const shared = new Linear(3, 3, f64);
  class Twice extends Module {
    layer = shared;
    override forward(x: Tensor): Tensor {
      return this.layer.forward(this.layer.forward(x).tanh());
    }
  }
  const model = new Twice();
  const x = randn([4, 3], f64), y = randn([4, 3], f64);
  const sse = (out: Tensor, t: Tensor) => mseLoss(out, t, "sum");
  assertSame(
    perSampleGrads(model, sse, x, y, { lossReduction: "sum" }),
    perSampleGradsLoop(model, sse, x, y, { lossReduction: "sum" }),
  );
});

Deno.test("perSampleGrads: BatchNorm in eval mode matches the loop; in training mode it is refused", () => {
  const model = new Sequential(
    new Conv2d(1, 3, 3, f64),
    new BatchNorm2d(3, f64),
    new ReLU(),
    new Flatten(),
    new Linear(3 * 4 * 4, 2, f64),
  );
  const x = randn([4, 1, 6, 6], f64), y = randint(0, 2, [4]);
  model.forward(x); // move the running statistics away from 0 and 1
  assert.throws(
    () => perSampleGrads(model, ce, x, y),
    /perSampleGrads: BatchNorm2d at "1" normalizes with the batch's statistics, which mixes the samples/,
  );
  model.eval();
  assertSame(perSampleGrads(model, ce, x, y), perSampleGradsLoop(model, ce, x, y));
});

Deno.test("perSampleGrads: errors name the layer or the shapes; frozen layers are skipped", () => {
  class Scale extends Module {
    w = new Linear(2, 2, f64).weight; // a parameter owned by a layer with no per-sample rule
    override forward(x: Tensor): Tensor {
      return x.matmul(this.w);
    }
  }
  const model = new Sequential(new Scale(), new Linear(2, 2, f64));
  const x = randn([3, 2], f64), y = randint(0, 2, [3]);
  assert.throws(() => perSampleGrads(model, ce, x, y), /Scale at "0" has trainable parameters but no per-sample rule/);
  model.at(0).requiresGrad_(false);
  const fast = perSampleGrads(model, ce, x, y);
  assert.deepEqual([...fast.keys()], ["1.weight", "1.bias"]);
  assertSame(fast, perSampleGradsLoop(model, ce, x, y));
  assert.throws(() => perSampleGrads(model, ce, x, randint(0, 2, [4])), /target's batch dim must match the input's 3/);
  assert.throws(
    () => perSampleGrads(model, (out) => out.sum(1).unsqueeze(1), x, y),
    /one loss \(a mean or sum over the batch\) or one per sample \[3\], got \[3, 1\]/,
  );
});
