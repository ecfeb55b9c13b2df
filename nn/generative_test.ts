import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { gradcheck, manualSeed, randn, type Tensor, zeros } from "@dendrite/tensor";
import * as nn from "./mod.ts";
import { nnGenerativeSuite } from "./generative_suite.ts";

// The generative layers forward and backward, moved with Module.to, in float32 (gpu/nn_test.ts runs the same on WebGPU).
nnGenerativeSuite("cpu", "nn-generative[cpu]");

const vals = (t: Tensor) => [...t.dataSync()];

Deno.test("ConvTranspose2d: PyTorch's weight layout, init bound, output sizes, outputSize; float64 gradcheck", () => {
  manualSeed(1);
  const up = new nn.ConvTranspose2d(16, 8, 4, { stride: 2, padding: 1, groups: 2 });
  deepStrictEqual(up.weight.shape, [16, 4, 4, 4]);
  deepStrictEqual(Object.keys(up.stateDict()), ["weight", "bias"]);
  // PyTorch's fan-in of a transposed convolution's weight is its dim 1 times the kernel: (8/2)·4·4.
  const bound = 1 / Math.sqrt(4 * 16);
  ok(vals(up.weight).every((v) => Math.abs(v) <= bound) && vals(up.weight).some((v) => Math.abs(v) > 0.9 * bound));
  ok(vals(up.bias!).every((v) => Math.abs(v) <= bound));
  deepStrictEqual(up.forward(randn([2, 16, 7, 7])).shape, [2, 8, 14, 14]);
  deepStrictEqual(up.forward(randn([16, 7, 7])).shape, [8, 14, 14]);
  const down = new nn.ConvTranspose2d(3, 3, 3, { stride: 2, padding: 1 });
  deepStrictEqual(down.forward(randn([1, 3, 7, 7])).shape, [1, 3, 13, 13]);
  deepStrictEqual(down.forward(randn([1, 3, 7, 7]), [14, 13]).shape, [1, 3, 14, 13]);
  deepStrictEqual(down.forward(randn([1, 3, 7, 7]), [1, 3, 14, 14]).shape, [1, 3, 14, 14]);
  deepStrictEqual(down.outputPaddingFor([7, 7], [14, 13]), [1, 0]);
  strictEqual(
    up.toString(),
    "ConvTranspose2d(16, 8, kernelSize=[4, 4], stride=[2, 2], padding=[1, 1], groups=2)",
  );
  const l = new nn.ConvTranspose2d(2, 3, [2, 3], { stride: [2, 1], outputPadding: [1, 0], dtype: "float64" });
  gradcheck((x) => l.forward(x), [randn([2, 2, 3, 2], { dtype: "float64" }).requiresGrad_()]);
});

Deno.test("ConvTranspose2d: errors name the layer and the numbers, before any state changes", () => {
  throws(() => new nn.ConvTranspose2d(6, 4, 3, { groups: 4 }), {
    message: "ConvTranspose2d(6, 4): groups=4 must divide both channel counts (6 in, 4 out)",
  });
  throws(
    () => new nn.ConvTranspose2d(4, 4, 3, { stride: 2, outputPadding: 2 }),
    /ConvTranspose2d\(4, 4\): outputPadding 2×2 must be smaller than either the stride 2×2 or the dilation 1×1/,
  );
  const layer = new nn.ConvTranspose2d(3, 3, 3, { stride: 2, padding: 1 });
  const before = vals(layer.weight);
  throws(
    () => layer.forward(zeros([1, 3, 7, 7]), [16, 13]),
    {
      message:
        "ConvTranspose2d(3, 3): requested an output size of 16×13, but valid sizes range from 13×13 to 14×14 (for an input of 7×7)",
    },
  );
  throws(
    () => layer.forward(zeros([1, 4, 7, 7])),
    /ConvTranspose2d\(3, 3\): expected input \[N, 3, H, W\], got \[1, 4, 7, 7\]/,
  );
  throws(() => new nn.ConvTranspose2d(3, 3, 3, { padding: 4 }).forward(zeros([1, 3, 2, 2])), /which is too small/);
  deepStrictEqual(vals(layer.weight), before);
});

Deno.test("Upsample and GroupNorm: options checked when the layer is made, with the layer's name and the numbers", () => {
  throws(
    () => new nn.Upsample({ size: 4, scaleFactor: 2 }),
    /Upsample: only one of size and scaleFactor should be given/,
  );
  throws(() => new nn.Upsample({}), /Upsample: either size or scaleFactor should be given/);
  throws(
    () => new nn.Upsample({ scaleFactor: 2, alignCorners: true }),
    /Upsample: alignCorners can only be set with mode "bilinear"/,
  );
  throws(() => new nn.Upsample({ scaleFactor: 0 }), /Upsample: scaleFactor must be a positive number/);
  throws(() => new nn.Upsample({ scaleFactor: 0.2 }).forward(zeros([1, 1, 4, 4])), /gives an output of 0×0/);
  strictEqual(
    new nn.Upsample({ scaleFactor: 2, mode: "bilinear" }).toString(),
    'Upsample(scaleFactor=2, mode="bilinear")',
  );
  throws(() => new nn.GroupNorm(3, 64), {
    message: "GroupNorm(3, 64): numGroups=3 must be a positive integer dividing numChannels=64",
  });
  const gn = new nn.GroupNorm(4, 8);
  deepStrictEqual(Object.keys(gn.stateDict()), ["weight", "bias"]);
  deepStrictEqual(vals(gn.weight!), new Array(8).fill(1));
  throws(() => gn.forward(zeros([2, 6, 3])), /GroupNorm\(4, 8\): expected input \[N, 8, \.\.\.\], got \[2, 6, 3\]/);
  strictEqual(new nn.GroupNorm(2, 4, { affine: false }).weight, null);
  // The same in training and eval (no running statistics).
  const x = randn([2, 8, 3, 3]);
  const a = vals(gn.forward(x));
  gn.eval();
  deepStrictEqual(vals(gn.forward(x)), a);
});

Deno.test("losses and activations: options checked at construction", () => {
  throws(() => new nn.KLDivLoss({ reduction: "avg" as "mean" }), /KLDivLoss: reduction must be "mean", "batchmean"/);
  throws(() => new nn.SmoothL1Loss({ beta: -0.5 }), /SmoothL1Loss: beta must be a finite number ≥ 0, got -0.5/);
  throws(() => new nn.HuberLoss({ delta: 0 }), /HuberLoss: delta must be a finite number > 0, got 0/);
  throws(() => new nn.Dropout2d(2), /Dropout2d: probability must be in \[0, 1\], got 2/);
  strictEqual(
    new nn.KLDivLoss({ reduction: "batchmean", logTarget: true }).toString(),
    'KLDivLoss(reduction="batchmean", logTarget=true)',
  );
});

Deno.test("Unflatten: Flatten's inverse; the error names the dim and the sizes", () => {
  const x = randn([2, 3, 4, 5]);
  const back = new nn.Unflatten(1, [3, 4, 5]).forward(new nn.Flatten().forward(x));
  deepStrictEqual(back.shape, [2, 3, 4, 5]);
  deepStrictEqual(vals(back), vals(x));
  deepStrictEqual(new nn.Unflatten(-1, [2, 2]).forward(zeros([3, 4])).shape, [3, 2, 2]);
  throws(
    () => new nn.Unflatten(1, [4, 4]).forward(zeros([2, 12])),
    /Unflatten: dim 1 of input \[2, 12\] must have 16 elements for \[4, 4\]/,
  );
  throws(() => new nn.Unflatten(1, [0, 4]), /unflattenedSize must be positive integers/);
});
