import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { gradcheck, liveTensors, manualSeed, randn, type Tensor, tensor, tidy, zeros } from "@dendrite/tensor";
import * as nn from "./mod.ts";

const vals = (t: Tensor) => [...t.dataSync()];
function close(a: ArrayLike<number>, e: ArrayLike<number>, tol: number, what: string): void {
  strictEqual(a.length, e.length, `${what}: length`);
  for (let i = 0; i < e.length; i++) {
    ok(Math.abs(a[i] - e[i]) <= tol * (1 + Math.abs(e[i])), `${what}[${i}]: ${a[i]}, expected ${e[i]}`);
  }
}
const { packPaddedSequence, padPackedSequence, padSequence, packSequence } = nn.utils.rnn;

Deno.test("LSTM/GRU/RNN: PyTorch's parameter names, order and shapes; U(±1/√hidden) init; repr", () => {
  manualSeed(0);
  const lstm = new nn.LSTM(5, 6, { numLayers: 2, bidirectional: true, projSize: 3 });
  const shapes = Object.fromEntries([...lstm.namedParameters()].map(([k, p]) => [k, p.shape]));
  deepStrictEqual(Object.keys(shapes), lstm.flatWeightsNames);
  deepStrictEqual(shapes, {
    weight_ih_l0: [24, 5],
    weight_hh_l0: [24, 3],
    bias_ih_l0: [24],
    bias_hh_l0: [24],
    weight_hr_l0: [3, 6],
    weight_ih_l0_reverse: [24, 5],
    weight_hh_l0_reverse: [24, 3],
    bias_ih_l0_reverse: [24],
    bias_hh_l0_reverse: [24],
    weight_hr_l0_reverse: [3, 6],
    weight_ih_l1: [24, 6],
    weight_hh_l1: [24, 3],
    bias_ih_l1: [24],
    bias_hh_l1: [24],
    weight_hr_l1: [3, 6],
    weight_ih_l1_reverse: [24, 6],
    weight_hh_l1_reverse: [24, 3],
    bias_ih_l1_reverse: [24],
    bias_hh_l1_reverse: [24],
    weight_hr_l1_reverse: [3, 6],
  });
  strictEqual(lstm.allWeights.length, 4);
  const gru = new nn.GRU(4, 100, { bias: false });
  deepStrictEqual(Object.keys(gru.stateDict()), ["weight_ih_l0", "weight_hh_l0"]);
  const bound = 1 / Math.sqrt(100);
  const w = vals(gru.param("weight_hh_l0"));
  ok(w.every((v) => Math.abs(v) <= bound) && w.some((v) => Math.abs(v) > 0.9 * bound), "U(±1/√hidden)");
  strictEqual(String(lstm), "LSTM(5, 6, projSize=3, numLayers=2, bidirectional=true)");
  strictEqual(
    String(new nn.RNN(2, 3, { nonlinearity: "relu", batchFirst: true })),
    "RNN(2, 3, batchFirst=true, nonlinearity=relu)",
  );
  const cell = new nn.GRUCell(3, 4);
  deepStrictEqual(Object.keys(cell.stateDict()), ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]);
});

Deno.test("LSTM: batch-first and unbatched inputs give the time-major batched results; default states are zeros", () => {
  manualSeed(1);
  const lstm = new nn.LSTM(3, 4, { numLayers: 2 });
  const x = randn([5, 2, 3]);
  const [out, [h, c]] = lstm.forward(x);
  const [out0, [h0, c0]] = lstm.forward(x, [zeros([2, 2, 4]), zeros([2, 2, 4])]);
  close(vals(out), vals(out0), 0, "zeros are the default");
  close(vals(h), vals(h0), 0, "h");
  close(vals(c), vals(c0), 0, "c");
  const bf = new nn.LSTM(3, 4, { numLayers: 2, batchFirst: true });
  bf.loadStateDict(lstm.stateDict());
  const [outBf, [hBf]] = bf.forward(x.transpose(0, 1).contiguous());
  deepStrictEqual(outBf.shape, [2, 5, 4]);
  close(vals(outBf.transpose(0, 1).contiguous()), vals(out), 1e-6, "batch-first output");
  close(vals(hBf), vals(h), 1e-6, "batch-first hN");
  const [outU, [hU]] = lstm.forward(x.select(1, 1));
  deepStrictEqual(outU.shape, [5, 4]);
  deepStrictEqual(hU.shape, [2, 4]);
  close(vals(outU), vals(out.select(1, 1).contiguous()), 1e-6, "unbatched output");
  close(vals(hU), vals(h.select(1, 1).contiguous()), 1e-6, "unbatched hN");
});

Deno.test("packed batches: final states at each sequence's end, padding never reaches states, outputs or gradients", () => {
  manualSeed(2);
  for (
    const make of [
      () => new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true }),
      () => new nn.GRU(3, 4, { bidirectional: true }),
    ]
  ) {
    const m = make();
    const lengths = [2, 5, 3];
    const x = randn([5, 3, 3]).requiresGrad_();
    const run = (input: Tensor | nn.PackedSequence) =>
      m instanceof nn.LSTM ? ((o) => [o[0], o[1][0]] as const)(m.forward(input as Tensor)) : m.forward(input as Tensor);
    const [packedOut, hN] = run(packPaddedSequence(x, lengths, { enforceSorted: false }));
    const [padded, outLens] = padPackedSequence(packedOut as unknown as nn.PackedSequence, { paddingValue: -7 });
    deepStrictEqual(vals(outLens), lengths);
    for (let b = 0; b < 3; b++) {
      // Each sequence alone, unbatched and unpadded.
      const [alone, hAlone] = run(x.narrow(0, 0, lengths[b]).select(1, b));
      close(
        vals(padded.narrow(0, 0, lengths[b]).select(1, b).contiguous()),
        vals(alone),
        1e-5,
        `output of sequence ${b}`,
      );
      close(vals(hN.select(1, b).contiguous()), vals(hAlone), 1e-5, `final state of sequence ${b}`);
      for (let t = lengths[b]; t < 5; t++) ok(vals(padded.select(0, t).select(0, b)).every((v) => v === -7), "padding");
    }
    padded.mul(randn(padded.shape)).sum().add(hN.sum()).backward();
    const g = x.grad!;
    for (let b = 0; b < 3; b++) {
      for (let t = lengths[b]; t < 5; t++) ok(vals(g.select(0, t).select(0, b)).every((v) => v === 0), "no gradient");
    }
  }
});

Deno.test("gradcheck (float64): every cell, and a 2-layer bidirectional LSTM and GRU on a packed batch", () => {
  manualSeed(3);
  const opts = { atol: 1e-7, rtol: 1e-5 };
  const cells: [nn.RNNCellBase, (c: nn.RNNCellBase, x: Tensor, h: Tensor) => Tensor][] = [
    [
      new nn.LSTMCell(2, 3),
      (c, x, h) => ((r) => r[0].add(r[1].mul(0.5)))((c as nn.LSTMCell).forward(x, [h, h.mul(2)])),
    ],
    [new nn.GRUCell(2, 3), (c, x, h) => (c as nn.GRUCell).forward(x, h)],
    [new nn.RNNCell(2, 3), (c, x, h) => (c as nn.RNNCell).forward(x, h)],
    [new nn.RNNCell(2, 3, { nonlinearity: "relu" }), (c, x, h) => (c as nn.RNNCell).forward(x, h)],
  ];
  for (const [cell, step] of cells) {
    cell.to("float64");
    const x = randn([2, 2], { dtype: "float64" }).requiresGrad_(),
      h = randn([2, 3], { dtype: "float64" }).requiresGrad_();
    ok(gradcheck((xi, hi) => step(cell, xi, hi), [x, h, ...cell.parameters()], opts), cell.constructor.name);
  }
  for (
    const m of [
      new nn.LSTM(2, 2, { numLayers: 2, bidirectional: true }),
      new nn.GRU(2, 2, { numLayers: 2, bidirectional: true }),
    ]
  ) {
    m.to("float64");
    const x = randn([3, 3, 2], { dtype: "float64" }).requiresGrad_();
    const w = randn([6, 4], { dtype: "float64" });
    const f = (xi: Tensor) => {
      const packed = packPaddedSequence(xi, [3, 1, 2], { enforceSorted: false });
      const [out, h] = m instanceof nn.LSTM ? ((o) => [o[0], o[1][0]] as const)(m.forward(packed)) : m.forward(packed);
      return out.data.mul(w).sum().add(h.square().sum());
    };
    // One parameter of each kind, spread over both layers and directions (all of them would take seconds).
    const some = ["weight_ih_l0", "weight_hh_l0_reverse", "bias_ih_l1", "bias_hh_l1_reverse", "weight_hh_l1"];
    ok(gradcheck(f, [x, ...some.map((n) => m.param(n))], opts), m.constructor.name);
  }
});

Deno.test("recurrent layers: wrong ranks, feature sizes, state shapes and lengths are errors naming the module and shapes", () => {
  const lstm = new nn.LSTM(3, 4, { numLayers: 2 });
  throws(
    () => lstm.forward(randn([2, 3, 4, 3])),
    /LSTM\(3, 4\): expected input \[T, B, 3\] or unbatched \[T, 3\], got \[2, 3, 4, 3\]/,
  );
  throws(
    () => lstm.forward(randn([5, 2, 7])),
    /LSTM\(3, 4\): expected input features 3 \(the last dim\), got input \[5, 2, 7\]/,
  );
  throws(
    () => lstm.forward(randn([5, 2, 3]), [randn([1, 2, 4]), randn([2, 2, 4])]),
    /LSTM\(3, 4\): expected h0 \[2, 2, 4\] for input \[5, 2, 3\], got \[1, 2, 4\]/,
  );
  throws(
    () => lstm.forward(randn([5, 2, 3]), [randn([2, 2, 4]), randn([2, 3, 4])]),
    /expected c0 \[2, 2, 4\] for input \[5, 2, 3\], got \[2, 3, 4\]/,
  );
  const gru = new nn.GRU(3, 4, { batchFirst: true });
  throws(
    () => gru.forward(randn([2, 5, 3]), randn([1, 5, 4])),
    /GRU\(3, 4\): expected hx \[1, 2, 4\] for input \[2, 5, 3\], got \[1, 5, 4\]/,
  );
  throws(() => new nn.GRU(3, 4, { projSize: 2 } as nn.LSTMOptions), /projSize is only supported by LSTM/);
  throws(() => new nn.LSTM(3, 4, { projSize: 4 }), /projSize 4 must be smaller than hiddenSize 4/);
  throws(
    () => packPaddedSequence(randn([4, 2, 3]), [5, 2]),
    /length 5 of sequence 0 is outside \[1, 4\] \(input \[4, 2, 3\] has 4 steps\)/,
  );
  throws(
    () => packPaddedSequence(randn([4, 2, 3]), [2, 4]),
    /lengths \[2, 4\] are not sorted longest first.*enforceSorted: false/,
  );
  throws(() => packPaddedSequence(randn([4, 2, 3]), [4]), /1 lengths for a batch of 2 sequences \(input \[4, 2, 3\]\)/);
  throws(
    () => new nn.LSTMCell(3, 4).forward(randn([2, 3]), [randn([2, 5]), randn([2, 4])]),
    /LSTMCell\(3, 4\): expected a state \[2, 4\] for input \[2, 3\], got \[2, 5\]/,
  );
  throws(
    () => new nn.GRUCell(3, 4).forward(randn([2, 2])),
    /GRUCell\(3, 4\): expected input \[B, 3\] or \[3\], got \[2, 2\]/,
  );
});

Deno.test("dropout between layers: active only while training, never after the last layer", () => {
  manualSeed(4);
  const m = new nn.GRU(3, 8, { numLayers: 2, dropout: 0.5 });
  const x = randn([4, 2, 3]);
  const a = vals(m.forward(x)[0]), b = vals(m.forward(x)[0]);
  ok(a.some((v, i) => v !== b[i]), "training: two runs differ");
  m.eval();
  deepStrictEqual(vals(m.forward(x)[0]), vals(m.forward(x)[0]));
  const one = new nn.GRU(3, 8, { dropout: 0.5 });
  deepStrictEqual(vals(one.forward(x)[0]), vals(one.forward(x)[0]), "a single layer has nothing to drop");
});

Deno.test("nn.utils.rnn: padSequence, packSequence and the pack/pad round trip", () => {
  const a = tensor([[1], [2], [3]]), b = tensor([[4]]), c = tensor([[5], [6]]);
  deepStrictEqual(padSequence([a, b, c]).shape, [3, 3, 1]);
  deepStrictEqual(vals(padSequence([a, b, c], { batchFirst: true, paddingValue: -1 })), [1, 2, 3, 4, -1, -1, 5, 6, -1]);
  deepStrictEqual(vals(padSequence([a, b], { batchFirst: true, paddingSide: "left" })), [1, 2, 3, 0, 0, 4]);
  const packed = packSequence([a, b, c], { enforceSorted: false });
  deepStrictEqual(packed.steps, [3, 2, 1]);
  deepStrictEqual(vals(packed.data), [1, 5, 4, 2, 6, 3]);
  deepStrictEqual(vals(packed.sortedIndices!), [0, 2, 1]);
  const [padded, lengths] = padPackedSequence(packed, { batchFirst: true, totalLength: 4 });
  deepStrictEqual(padded.shape, [3, 4, 1]);
  deepStrictEqual(vals(padded), [1, 2, 3, 0, 4, 0, 0, 0, 5, 6, 0, 0]);
  deepStrictEqual(vals(lengths), [3, 1, 2]);
  throws(
    () => padPackedSequence(packed, { totalLength: 2 }),
    /totalLength 2 is shorter than the longest sequence \(3 steps\)/,
  );
  throws(() => packSequence([b, a]), /lengths \[1, 3\] are not sorted longest first/);
});

Deno.test("Embedding: maxNorm rescales the rows a lookup reads (in place, no gradient); fromPretrained shares and freezes", () => {
  const w = tensor([[3, 4], [0.3, 0.4], [6, 8]]);
  const emb = nn.Embedding.fromPretrained(w, { freeze: false, maxNorm: 1 });
  ok(emb.weight.requiresGrad);
  const out = emb.forward(tensor([0, 1], { dtype: "int32" }));
  const s = 1 / (5 + 1e-7);
  close(vals(out), [3 * s, 4 * s, 0.3, 0.4], 1e-6, "looked-up rows");
  close(vals(emb.weight), [3 * s, 4 * s, 0.3, 0.4, 6, 8], 1e-6, "row 2 was not read, so it keeps its norm");
  close(vals(w), vals(emb.weight), 0, "the table is the pretrained tensor's storage");
  out.sum().backward();
  deepStrictEqual(vals(emb.weight.grad!), [1, 1, 1, 1, 0, 0]);
  const l1 = new nn.Embedding(2, 2, { maxNorm: 1, normType: 1 });
  l1.loadStateDict({ weight: tensor([[1, 3], [0.2, 0.2]]) });
  l1.forward(tensor([[0, 1]], { dtype: "int32" }));
  close(vals(l1.weight), [0.25, 0.75, 0.2, 0.2], 1e-6, "L1 norm");
  const frozen = nn.Embedding.fromPretrained(randn([4, 3]));
  ok(!frozen.weight.requiresGrad && frozen.numParameters(true) === 0, "frozen by default");
  throws(() => nn.Embedding.fromPretrained(randn([4])), /expected embeddings \[numEmbeddings, dim\], got \[4\]/);
  throws(() => new nn.Embedding(3, 2, { maxNorm: 0 }), /maxNorm must be positive/);
});

Deno.test("memory: a training step of a packed bidirectional LSTM inside tidy leaves no tensor behind", () => {
  manualSeed(5);
  const m = new nn.LSTM(3, 8, { numLayers: 2, bidirectional: true, projSize: 4 });
  const x = randn([6, 4, 3]);
  const step = () =>
    tidy(() => {
      m.zeroGrad();
      const [out, [h]] = m.forward(packPaddedSequence(x, [6, 5, 3, 2]));
      out.data.square().sum().add(h.sum()).backward();
    });
  step();
  step();
  const before = liveTensors();
  for (let i = 0; i < 5; i++) step();
  strictEqual(liveTensors(), before);
});
