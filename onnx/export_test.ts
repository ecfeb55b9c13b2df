import assert from "node:assert/strict";
import { manualSeed, noGrad, randint, randn, type Tensor } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { CharRNN, mlp, resnet18 } from "@dendrite/models";
import { decodeModel, type ExampleArg, exportBytes, type ExportOptions } from "./mod.ts";
import { loadOrt, maxAbsDiff, onnxCheck } from "./testing.ts";

const TOL = 1e-4;

/**
 * Exports `model` traced on `example`, checks the file with ONNX's checker, then runs each of `runs` (the example
 * first, then other sizes along the dynamic axes) through dendrite and ONNX Runtime and compares every output.
 */
async function agree(
  model: nn.Module,
  example: readonly ExampleArg[],
  runs: readonly (readonly ExampleArg[])[],
  options: ExportOptions = {},
): Promise<{ bytes: Uint8Array; worst: number }> {
  const bytes = await exportBytes(model, example, options);
  await onnxCheck(bytes);
  const wasTraining = model.training;
  model.eval();
  let worst = 0;
  const session = await loadOrt(bytes);
  for (const args of [example, ...runs]) {
    const flat = (args as unknown[]).flat(4) as Tensor[];
    const feeds: Record<string, Tensor> = {};
    flat.forEach((t, i) => (feeds[options.inputNames?.[i] ?? `input_${i}`] = t));
    const ours = noGrad(() => (model.forward as (...a: unknown[]) => unknown)(...args));
    const outs = [ours].flat(4) as Tensor[];
    const theirs = await session.run(feeds);
    for (const [k, t] of outs.entries()) {
      const name = options.outputNames?.[k] ?? `output_${k}`;
      assert.ok(theirs[name], `ONNX Runtime gave no output "${name}"`);
      assert.deepEqual(theirs[name].dims, [...t.shape], `output "${name}" shape`);
      const diff = maxAbsDiff(await t.data(), theirs[name].data);
      assert.ok(diff <= TOL, `output "${name}" differs by ${diff} (shape [${t.shape}])`);
      worst = Math.max(worst, diff);
    }
  }
  await session.release();
  model.train(wasTraining);
  return { bytes, worst };
}

/** Fills every batch norm's running statistics with non-trivial values, so eval mode is really exercised. */
function randomStats(model: nn.Module): void {
  noGrad(() => {
    for (const m of model.modules()) {
      if (m instanceof nn.BatchNormBase) {
        m.runningMean!.copy_(randn([m.numFeatures]).mul(0.1));
        m.runningVar!.copy_(randn([m.numFeatures]).abs().add(0.5));
        m.weight?.copy_(randn([m.numFeatures]).mul(0.2).add(1));
        m.bias?.copy_(randn([m.numFeatures]).mul(0.1));
      }
    }
  });
}

const batch = (name = "input_0") => ({ [name]: { 0: "batch" } });

Deno.test("onnx: an MLP agrees with ONNX Runtime, at the traced batch size and another", async () => {
  manualSeed(1);
  const net = mlp([20, 32, 16, 5], { dropout: 0.3 });
  const { bytes } = await agree(net, [randn([2, 20])], [[randn([5, 20])]], { dynamicAxes: batch() });
  const m = decodeModel(bytes);
  assert.equal(m.opset_import[0].version, 17);
  // The weights are initializers under their state-dict names; dropout is gone in eval mode.
  const names = m.graph.initializer.map((t) => t.name);
  for (const k of ["0.weight", "0.bias", "3.weight", "6.bias"]) assert.ok(names.includes(k), `initializer ${k}`);
  assert.ok(!m.graph.node.some((n) => n.op_type === "Dropout"));
  assert.deepEqual(m.graph.node.filter((n) => n.op_type === "Gemm").length, 3, "each Linear is one Gemm");
  assert.equal(net.training, true, "export restores the training mode");
});

Deno.test("onnx: the MNIST CNN (conv, batch norm in eval, ReLU, max pool, dropout, flatten, linear) agrees", async () => {
  manualSeed(2);
  const net = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }),
    new nn.BatchNorm2d(8),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1 }),
    new nn.BatchNorm2d(16),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(16 * 7 * 7, 32),
    new nn.ReLU(),
    new nn.Dropout(0.5),
    new nn.Linear(32, 10),
  );
  randomStats(net);
  await agree(net, [randn([2, 1, 28, 28])], [[randn([3, 1, 28, 28])]], {
    inputNames: ["image"],
    outputNames: ["logits"],
    dynamicAxes: { image: { 0: "batch" }, logits: { 0: "batch" } },
  });
});

Deno.test("onnx: ResNet-18 agrees with ONNX Runtime within 1e-4, batch 1 traced and batch 2 run", async () => {
  manualSeed(3);
  const net = resnet18({ numClasses: 10 });
  randomStats(net);
  const { bytes } = await agree(net, [randn([1, 3, 32, 32])], [[randn([2, 3, 32, 32])]], { dynamicAxes: batch() });
  const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.op_type));
  for (const op of ["Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "GlobalAveragePool"]) {
    assert.ok(ops.has(op), op);
  }
});

Deno.test("onnx: LSTM, GRU and RNN layers export as ONNX's own ops with PyTorch's gate order mapped", async () => {
  manualSeed(4);
  const cases: [string, nn.RNNBase][] = [
    [
      "LSTM 2 layers bidirectional batchFirst",
      new nn.LSTM(5, 6, { numLayers: 2, bidirectional: true, batchFirst: true }),
    ],
    ["GRU bidirectional", new nn.GRU(5, 6, { bidirectional: true })],
    ["GRU 2 layers no bias", new nn.GRU(5, 4, { numLayers: 2, bias: false })],
    ["RNN tanh", new nn.RNN(5, 6, { numLayers: 2 })],
    ["RNN relu bidirectional", new nn.RNN(5, 3, { nonlinearity: "relu", bidirectional: true })],
  ];
  for (const [what, layer] of cases) {
    const bf = layer.batchFirst;
    const shape = (b: number, t: number) => (bf ? [b, t, 5] : [t, b, 5]);
    const opType = layer instanceof nn.LSTM ? "LSTM" : layer instanceof nn.GRU ? "GRU" : "RNN";
    const { bytes } = await agree(layer, [randn(shape(2, 4))], [[randn(shape(3, 7))]], {
      dynamicAxes: { input_0: bf ? { 0: "batch", 1: "time" } : { 0: "time", 1: "batch" } },
    }).catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });
    assert.ok(decodeModel(bytes).graph.node.some((n) => n.op_type === opType), `${what} uses ONNX's ${opType}`);
  }
});

Deno.test("onnx: an LSTM with given initial states, and an unbatched GRU, agree", async () => {
  manualSeed(5);
  const lstm = new nn.LSTM(4, 5, { numLayers: 2 });
  const state = (b: number): [Tensor, Tensor] => [randn([2, b, 5]), randn([2, b, 5])];
  await agree(lstm, [randn([3, 2, 4]), state(2)], [[randn([6, 4, 4]), state(4)]], {
    inputNames: ["x", "h0", "c0"],
    outputNames: ["y", "hN", "cN"],
    dynamicAxes: { x: { 0: "time", 1: "batch" }, h0: { 1: "batch" }, c0: { 1: "batch" } },
  });
  const gru = new nn.GRU(4, 5);
  await agree(gru, [randn([3, 4])], [[randn([5, 4])]], { dynamicAxes: { input_0: { 0: "time" } } });
});

Deno.test("onnx: RNNCell, LSTMCell and GRUCell export (one step of ONNX's RNN ops), alone and stepped in a loop", async () => {
  manualSeed(8);
  const dyn = { 0: "batch" };
  await agree(new nn.RNNCell(4, 5, { nonlinearity: "relu" }), [randn([2, 4]), randn([2, 5])], [[
    randn([3, 4]),
    randn([3, 5]),
  ]], { dynamicAxes: { input_0: dyn, input_1: dyn } });
  const lstm = new nn.LSTMCell(4, 5);
  const state = (b: number): [Tensor, Tensor] => [randn([b, 5]), randn([b, 5])];
  await agree(lstm, [randn([2, 4]), state(2)], [[randn([6, 4]), state(6)]], {
    dynamicAxes: { input_0: dyn, input_1: dyn, input_2: dyn },
  });
  // No state given (zeros), no bias, unbatched.
  await agree(new nn.GRUCell(4, 5, { bias: false }), [randn([4])], []);
  // A GRU cell stepped over a fixed number of steps in a custom forward, with its bias_hh inside the reset product.
  const looped = new (class extends nn.Module {
    cell = new nn.GRUCell(3, 4);
    override forward(x: Tensor): Tensor {
      let h: Tensor | null = null;
      for (let t = 0; t < x.shape[1]; t++) h = this.cell.forward(x.select(1, t), h);
      return h!;
    }
  })();
  const { bytes } = await agree(looped, [randn([2, 3, 3])], [[randn([5, 3, 3])]], { dynamicAxes: { input_0: dyn } });
  assert.equal(decodeModel(bytes).graph.node.filter((n) => n.op_type === "GRU").length, 3, "one GRU node per step");
});

Deno.test("onnx: the losses export (cross-entropy with weights, ignored targets, smoothing, probabilities; NLL, MSE, BCE)", async () => {
  manualSeed(9);
  const labels = (n: number) => randint(0, 4, [n], { dtype: "int32" }).where(randn([n]).gt(-0.8), -100);
  const weight = randn([4]).abs().add(0.5);
  const losses = new (class extends nn.Module {
    ce = new nn.CrossEntropyLoss();
    ceWeighted = new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.1 });
    ceNone = new nn.CrossEntropyLoss({ reduction: "none" });
    nll = new nn.NLLLoss({ reduction: "sum" });
    mse = new nn.MSELoss();
    bce = new nn.BCEWithLogitsLoss();
    override forward(x: Tensor, y: Tensor, p: Tensor): Tensor[] {
      return [
        this.ce.forward(x, y),
        this.ceWeighted.forward(x, y),
        this.ceNone.forward(x, y),
        this.ce.forward(x, p),
        this.nll.forward(x.logSoftmax(1), y),
        this.mse.forward(x, p),
        this.bce.forward(x, p),
      ];
    }
  })();
  const probs = (n: number) => randn([n, 4]).softmax(1);
  await agree(losses, [randn([5, 4]), labels(5), probs(5)], [[randn([8, 4]), labels(8), probs(8)]], {
    dynamicAxes: { input_0: { 0: "batch" }, input_1: { 0: "batch" }, input_2: { 0: "batch" } },
  });
});

Deno.test("onnx: a CharRNN (embedding, LSTM, dropout, linear, transposes) agrees at another batch and length", async () => {
  manualSeed(6);
  const model = new CharRNN(30, { embeddingDim: 8, hiddenSize: 12, numLayers: 2, dropout: 0.2 });
  await agree(
    model,
    [randint(0, 30, [2, 5], { dtype: "int32" })],
    [[randint(0, 30, [4, 9], { dtype: "int32" })]],
    { inputNames: ["ids"], dynamicAxes: { ids: { 0: "batch", 1: "time" } } },
  );
});

Deno.test("onnx: embedding, layer norm, batch norm 1d, pooling and every activation agree", async () => {
  manualSeed(7);
  const seq = new nn.Sequential(
    new nn.Embedding(11, 8, { paddingIdx: 0 }),
    new nn.LayerNorm(8),
    new nn.Linear(8, 6),
    new nn.GELU("tanh"),
    new nn.LayerNorm([3, 6], { elementwiseAffine: false }),
  );
  const ids = (b: number) => randint(0, 11, [b, 3], { dtype: "int32" });
  await agree(seq, [ids(2)], [[ids(5)]], { dynamicAxes: batch() });

  const acts = new nn.Sequential(
    new nn.Linear(6, 8),
    new nn.BatchNorm1d(8),
    new nn.LeakyReLU(0.2),
    new nn.Linear(8, 8),
    new nn.GELU(),
    new nn.Sigmoid(),
    new nn.Linear(8, 8),
    new nn.Tanh(),
    new nn.Identity(),
    new nn.Softmax(1),
    new nn.LogSoftmax(-1),
  );
  randomStats(acts);
  await agree(acts, [randn([2, 6])], [[randn([7, 6])]], { dynamicAxes: batch() });

  const pools = new nn.Sequential(
    new nn.Conv2d(2, 4, 3, { padding: "same", dilation: 2 }),
    new nn.Conv2d(4, 4, 3, { groups: 2, stride: 2, padding: 1 }),
    new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: false }),
    new nn.AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }),
    new nn.AdaptiveAvgPool2d([3, 2]),
  );
  await agree(pools, [randn([1, 2, 17, 17])], [[randn([3, 2, 17, 17])]], { dynamicAxes: batch() });
  const even = new nn.Sequential(new nn.Conv2d(2, 3, 4, { padding: "same" }), new nn.AvgPool2d(2, { ceilMode: true }));
  await agree(even, [randn([1, 2, 9, 9])], [[randn([2, 2, 9, 9])]], { dynamicAxes: batch() });
});
