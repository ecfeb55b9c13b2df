import assert from "node:assert/strict";
import { manualSeed, noGrad, randn, type Tensor } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { decodeModel, exportBytes, type ExportOptions } from "./mod.ts";
import { loadOrt, maxAbsDiff, onnxCheck } from "./testing.ts";

const TOL = 1e-4;

/**
 * Exports `model` traced on `example`, checks it with ONNX's checker, and compares dendrite with ONNX Runtime on the
 * example and on each of `runs` (other sizes along the dynamic axes): every output's shape, and its values within 1e-4.
 * Returns the bytes.
 */
async function agree(
  model: nn.Module,
  example: Tensor,
  runs: readonly Tensor[],
  options: ExportOptions = {},
): Promise<Uint8Array> {
  const bytes = await exportBytes(model, example, options);
  await onnxCheck(bytes);
  model.eval();
  const declared = decodeModel(bytes).graph.output.map((o) => o.type.tensor_type.shape.dim);
  const session = await loadOrt(bytes);
  try {
    for (const x of [example, ...runs]) {
      const ours = [noGrad(() => (model.forward as (x: Tensor) => Tensor | Tensor[])(x))].flat();
      const theirs = await session.run({ input_0: x });
      for (const [k, t] of ours.entries()) {
        const got = theirs[`output_${k}`];
        assert.ok(got, `ONNX Runtime gave no output_${k}`);
        assert.deepEqual(got.dims, [...t.shape], `output ${k} shape for input [${x.shape}]`);
        // The graph's declared output shape holds too: a fixed size where it is one, a named one elsewhere.
        declared[k].forEach((d, i) => {
          if ("dim_value" in d) assert.equal(d.dim_value, t.shape[i], `output ${k} axis ${i} declared ${d.dim_value}`);
        });
        const diff = maxAbsDiff(Array.from(await t.data(), Number), got.data);
        assert.ok(diff <= TOL, `output ${k} differs by ${diff} for input [${x.shape}]`);
      }
    }
  } finally {
    await session.release();
  }
  return bytes;
}

const opTypes = (bytes: Uint8Array) => decodeModel(bytes).graph.node.map((n) => n.op_type);

/** A forward of several functional calls on one input, each output returned (so each is compared). */
class Calls extends nn.Module {
  constructor(readonly calls: readonly ((x: Tensor) => Tensor)[]) {
    super();
  }
  override forward(x: Tensor): Tensor[] {
    return this.calls.map((f) => f(x));
  }
}

Deno.test("onnx: ConvTranspose2d exports as ConvTranspose (stride, padding, outputPadding, groups, dilation, outputSize)", async () => {
  manualSeed(31);
  const layers = new (class extends nn.Module {
    // DCGAN's doubling; uneven stride, kernel and padding per axis with an output padding; groups and dilation; no
    // bias; a forward with outputSize (its output padding picked per call).
    a = new nn.ConvTranspose2d(4, 3, 4, { stride: 2, padding: 1 });
    b = new nn.ConvTranspose2d(4, 2, [3, 2], { stride: [3, 2], padding: [1, 0], outputPadding: [2, 1] });
    c = new nn.ConvTranspose2d(4, 6, 3, { groups: 2, dilation: 2, padding: 2, bias: false });
    d = new nn.ConvTranspose2d(4, 5, 3, { stride: 2, padding: 1, dilation: [1, 2], outputPadding: 1, groups: 4 / 4 });
    e = new nn.ConvTranspose2d(4, 4, 3, { stride: 2, padding: 1, groups: 4 });
    override forward(x: Tensor): Tensor[] {
      const [h, w] = x.shape.slice(2);
      return [
        this.a.forward(x),
        this.b.forward(x),
        this.c.forward(x),
        this.d.forward(x),
        this.e.forward(x, [2 * h, 2 * w]),
      ];
    }
  })();
  for (const opsetVersion of [13, 17]) {
    const bytes = await agree(layers, randn([2, 4, 5, 6]), [randn([3, 4, 5, 6]), randn([1, 4, 7, 4])], {
      dynamicAxes: { input_0: { 0: "batch", 2: "height", 3: "width" } },
      opsetVersion,
    });
    const ops = opTypes(bytes);
    assert.equal(ops.filter((o) => o === "ConvTranspose").length, 5, "one ConvTranspose per layer, bias inside");
    assert.ok(!ops.includes("Add"), "the bias add is part of ConvTranspose");
  }
  // Unbatched input [C, H, W].
  await agree(new nn.ConvTranspose2d(3, 2, 3, { stride: 2 }), randn([3, 4, 4]), []);
});

Deno.test("onnx: interpolate/Upsample export as Resize: nearest and bilinear, alignCorners, size or scaleFactor", async () => {
  manualSeed(32);
  const F = nn.F;
  // Whole scale factors follow a dynamic height and width (the output is size·factor).
  const whole = new Calls([
    (x) => F.interpolate(x, { scaleFactor: 2 }),
    (x) => F.interpolate(x, { scaleFactor: [3, 1] }),
    (x) => F.interpolate(x, { scaleFactor: 2, mode: "bilinear" }),
    (x) => F.interpolate(x, { scaleFactor: [2, 3], mode: "bilinear", alignCorners: true }),
  ]);
  const bytes = await agree(whole, randn([2, 3, 6, 5]), [randn([3, 3, 6, 5]), randn([1, 3, 9, 4])], {
    dynamicAxes: { input_0: { 0: "batch", 2: "height", 3: "width" } },
  });
  assert.equal(opTypes(bytes).filter((o) => o === "Resize").length, 4);
  // Fractional factors (the source index uses the factor itself, as PyTorch's does), at a fixed height and width.
  const fractional = new Calls([
    (x) => F.interpolate(x, { scaleFactor: [3, 1.5] }),
    (x) => F.interpolate(x, { scaleFactor: 0.5 }),
    (x) => F.interpolate(x, { scaleFactor: 0.6 }),
    (x) => F.interpolate(x, { scaleFactor: [1.5, 2.5], mode: "bilinear", alignCorners: true }),
    (x) => F.interpolate(x, { scaleFactor: 0.6, mode: "bilinear" }),
    (x) => F.interpolate(x, { scaleFactor: 1.3, mode: "bilinear" }),
  ]);
  await agree(fractional, randn([2, 3, 7, 9]), [randn([3, 3, 7, 9])], { dynamicAxes: { input_0: { 0: "batch" } } });
  // Along a dynamic height: ⌊H/2⌋ is no polynomial of H, and the exact matrices of a fractional nearest scale need a
  // fixed H; both refused, naming the op.
  const half = new Calls([(x) => F.interpolate(x, { scaleFactor: [0.5, 1] })]);
  await assert.rejects(
    () => exportBytes(half, randn([1, 3, 8, 9]), { dynamicAxes: { input_0: { 2: "height" } } }),
    /interpolate \(op #0\): a scaleFactor of 0.5 along the dynamic height/,
  );
  await assert.rejects(
    () => exportBytes(fractional, randn([1, 3, 7, 9]), { dynamicAxes: { input_0: { 2: "height" } } }),
    /interpolate \(op #0\): Resize cannot reproduce PyTorch's nearest cells from 7×9 to 21×13 exactly, .* fixed height/,
  );
  const sized = new Calls([
    (x) => F.interpolate(x, { size: [7, 11] }),
    (x) => F.interpolate(x, { size: [3, 4] }),
    (x) => F.interpolate(x, { size: 20 }),
    (x) => F.interpolate(x, { size: [9, 13], mode: "bilinear" }),
    (x) => F.interpolate(x, { size: [9, 13], mode: "bilinear", alignCorners: true }),
    (x) => F.interpolate(x, { size: [1, 3], mode: "bilinear" }),
    (x) => F.interpolate(x, { size: [1, 3], mode: "bilinear", alignCorners: true }),
    (x) => F.interpolate(x, { scaleFactor: 1.7, recomputeScaleFactor: true }),
    (x) => F.interpolate(x, { scaleFactor: 1.7, mode: "bilinear", recomputeScaleFactor: true }),
  ]);
  for (const opsetVersion of [13, 15, 17]) {
    await agree(sized, randn([2, 2, 6, 7]), [randn([4, 2, 6, 7])], {
      dynamicAxes: { input_0: { 0: "batch" } },
      opsetVersion,
    });
  }
  const up = new nn.Sequential(
    new nn.Upsample({ scaleFactor: 2, mode: "nearest" }),
    new nn.Upsample({ size: [10, 12], mode: "bilinear", alignCorners: false }),
  );
  await agree(up, randn([1, 2, 3, 4]), [randn([2, 2, 3, 4])], { dynamicAxes: { input_0: { 0: "batch" } } });
});

Deno.test("onnx: GroupNorm exports (InstanceNormalization over the groups, then the per-channel affine)", async () => {
  manualSeed(33);
  const affine = (m: nn.GroupNorm) => {
    noGrad(() => {
      m.weight?.copy_(randn([m.numChannels]).mul(0.5).add(1));
      m.bias?.copy_(randn([m.numChannels]).mul(0.5));
    });
    return m;
  };
  const norms = new (class extends nn.Module {
    a = affine(new nn.GroupNorm(2, 6));
    b = affine(new nn.GroupNorm(1, 6, { eps: 1e-3 }));
    c = affine(new nn.GroupNorm(6, 6));
    d = new nn.GroupNorm(3, 6, { affine: false });
    override forward(x: Tensor): Tensor[] {
      const seq = x.flatten(2); // [N, C, H·W]: a 3-D input
      return [this.a.forward(x), this.b.forward(x), this.c.forward(x), this.d.forward(x), this.a.forward(seq)];
    }
  })();
  for (const opsetVersion of [13, 17]) {
    const bytes = await agree(norms, randn([2, 6, 4, 5]).mul(3).add(1), [randn([5, 6, 4, 5]), randn([1, 6, 3, 2])], {
      dynamicAxes: { input_0: { 0: "batch", 2: "height", 3: "width" } },
      opsetVersion,
    });
    const ops = opTypes(bytes);
    assert.equal(ops.filter((o) => o === "InstanceNormalization").length, 5);
    assert.ok(!ops.includes("GroupNormalization"), "GroupNormalization is opset 18");
  }
  // float64 takes the arithmetic path (ONNX Runtime's InstanceNormalization is float32 only).
  const f64 = new Calls([(x) => nn.F.groupNorm(x, 2), (x) => nn.F.elu(x, 0.5)]);
  const bytes = await agree(
    f64,
    randn([2, 4, 3, 3], { dtype: "float64" }),
    [randn([3, 4, 3, 3], { dtype: "float64" })],
    {
      dynamicAxes: { input_0: { 0: "batch" } },
    },
  );
  assert.ok(!opTypes(bytes).includes("InstanceNormalization"));
});

Deno.test("onnx: SiLU, Mish, ELU, Softplus, Dropout2d (eval) and Unflatten export with standard ops", async () => {
  manualSeed(34);
  const net = new nn.Sequential(
    new nn.Linear(6, 48),
    new nn.Unflatten(1, [3, 4, 4]),
    new nn.SiLU(),
    new nn.Dropout2d(0.3),
    new nn.Conv2d(3, 3, 3, { padding: 1 }),
    new nn.Mish(),
    new nn.Conv2d(3, 3, 3, { padding: 1 }),
    new nn.ELU(0.7),
    new nn.Flatten(),
  );
  const acts = new Calls([
    (x) => net.forward(x) as Tensor,
    (x) => nn.F.softplus(x.mul(30)),
    (x) => nn.F.mish(x.mul(30)),
  ]);
  (acts as unknown as { net: nn.Module }).net = net;
  for (const opsetVersion of [13, 17]) {
    const bytes = await agree(acts, randn([2, 6]).mul(3), [randn([4, 6]).mul(3)], {
      dynamicAxes: { input_0: { 0: "batch" } },
      opsetVersion,
    });
    const ops = opTypes(bytes);
    for (const op of ["Sigmoid", "Elu", "Tanh"]) assert.ok(ops.includes(op), op);
    assert.ok(!ops.includes("Mish") && !ops.includes("Dropout"), "Mish is opset 18; Dropout2d is gone in eval");
  }
});

Deno.test("onnx: interpolate agrees at many sizes and factors (Resize where it reproduces PyTorch's cells, else exact matrices)", async () => {
  manualSeed(35);
  const sizes = [1, 2, 3, 5, 7, 10, 13, 20, 21, 29];
  const factors = [0.3, 0.7, 1.1, 1.3, 1.7, 2.2, 2.5, 3.3];
  let resized = 0, matrices = 0;
  for (const h of [4, 7, 10, 14]) {
    const calls: ((x: Tensor) => Tensor)[] = [];
    for (const mode of ["nearest", "bilinear"] as const) {
      for (const o of sizes) calls.push((x) => nn.F.interpolate(x, { size: [o, h + 1], mode }));
      for (const f of factors) calls.push((x) => nn.F.interpolate(x, { scaleFactor: f, mode }));
    }
    const ops = opTypes(await agree(new Calls(calls), randn([1, 2, h, 11]), []));
    resized += ops.filter((o) => o === "Resize").length;
    matrices += ops.filter((o) => o === "MatMul").length / 2;
  }
  assert.ok(resized > 0 && matrices > 0, `both paths ran (${resized} Resize, ${matrices} matrix pairs)`);
});
