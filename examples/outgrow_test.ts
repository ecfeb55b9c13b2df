/**
 * The README's "Where to go when you outgrow one machine", checked: a
 * dendrite model saved as safetensors loads into PyTorch as it is (strict
 * `load_state_dict`) and gives the same logits, and the same model exported
 * to ONNX gives them in ONNX Runtime.
 */

import assert from "node:assert/strict";
import { manualSeed, models, noGrad, onnx, randn, type Tensor } from "../mod.ts";
import { loadOrt, maxAbsDiff } from "@dendrite/onnx/testing";
import { mnistCnn } from "./mnist_loop.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("./outgrow/load_in_pytorch.py", import.meta.url).pathname;

async function torchAvailable(): Promise<boolean> {
  try {
    return (await new Deno.Command(PYTHON, { args: ["-c", "import torch"], stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

/** Non-trivial batch-norm statistics, so eval mode is really compared. */
function randomStats(model: { stateDict(): Record<string, Tensor> }): void {
  noGrad(() => {
    for (const [k, t] of Object.entries(model.stateDict())) {
      if (k.endsWith("running_mean")) t.copy_(randn(t.shape).mul(0.1));
      if (k.endsWith("running_var")) t.copy_(randn(t.shape).abs().add(0.5));
    }
  });
}

/** Saves `model`, runs it in PyTorch on `x` via the committed script; returns PyTorch's logits. */
async function inPyTorch(name: string, model: Parameters<typeof models.save>[0], x: Tensor) {
  const dir = await Deno.makeTempDir();
  try {
    await models.save(model, `${dir}/w.safetensors`);
    await Deno.writeFile(`${dir}/x.f32`, new Uint8Array((await x.data() as Float32Array).buffer));
    const out = await new Deno.Command(PYTHON, {
      args: [SCRIPT, name, `${dir}/w.safetensors`, `${dir}/x.f32`, x.shape.join(",")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, `PyTorch could not load the file:\n${new TextDecoder().decode(out.stderr)}`);
    return JSON.parse(new TextDecoder().decode(out.stdout)) as { shape: number[]; data: number[]; keys: number };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("outgrow: safetensors load into PyTorch as they are, and the ONNX file runs in ONNX Runtime, same logits", async (t) => {
  const haveTorch = await torchAvailable();
  // Debian's python3-torch is on the development machines; say so rather than pass silently elsewhere.
  if (!haveTorch) console.warn(`skipped: ${PYTHON} has no torch (Debian's python3-torch), so nothing is compared`);
  await t.step({
    name: "the MNIST CNN: PyTorch and ONNX Runtime agree with dendrite within 1e-4",
    ignore: !haveTorch,
    fn: async () => {
      manualSeed(41);
      const model = mnistCnn();
      randomStats(model);
      model.eval();
      const x = randn([3, 1, 28, 28]);
      const ours = await noGrad(() => model.forward(x)).data();
      const torch = await inPyTorch("mnist-cnn", model, x);
      assert.equal(torch.keys, Object.keys(model.stateDict()).length);
      assert.deepEqual(torch.shape, [3, 10]);
      assert.ok(maxAbsDiff(ours, torch.data) <= 1e-4, `PyTorch differs by ${maxAbsDiff(ours, torch.data)}`);
      const bytes = await onnx.exportBytes(model, x, {
        inputNames: ["image"],
        outputNames: ["logits"],
        dynamicAxes: { image: { 0: "batch" }, logits: { 0: "batch" } },
      });
      const session = await loadOrt(bytes);
      const ort = await session.run({ image: x });
      await session.release();
      assert.ok(
        maxAbsDiff(ours, ort.logits.data) <= 1e-4,
        `ONNX Runtime differs by ${maxAbsDiff(ours, ort.logits.data)}`,
      );
    },
  });
  await t.step({
    name: "ResNet-18 with torchvision's names loads strictly into PyTorch and agrees within 1e-4",
    ignore: !haveTorch,
    fn: async () => {
      manualSeed(42);
      const model = models.resnet18({ numClasses: 10 });
      randomStats(model);
      model.eval();
      const x = randn([2, 3, 32, 32]);
      const ours = await noGrad(() => model.forward(x)).data();
      const torch = await inPyTorch("resnet18", model, x);
      assert.equal(torch.keys, 122, "every key of torchvision's resnet18 state dict");
      assert.ok(maxAbsDiff(ours, torch.data) <= 1e-4, `PyTorch differs by ${maxAbsDiff(ours, torch.data)}`);
    },
  });
});
