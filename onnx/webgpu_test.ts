// Exporting a model that lives on WebGPU: the trace runs the forward on the device, the weights are read back
// asynchronously, and ONNX Runtime (on the CPU) agrees with the device's outputs.
import assert from "node:assert/strict";
import { manualSeed, noGrad, randint, randn, type Tensor, toDevice } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { CharRNN } from "@dendrite/models";
import { isWebGPUAvailable, useWebGPU } from "@dendrite/gpu";
import { exportBytes } from "./mod.ts";
import { loadOrt, maxAbsDiff } from "./testing.ts";

async function webgpu(): Promise<boolean> {
  if (await isWebGPUAvailable()) return true;
  if (Deno.env.get("DENDRITE_REQUIRE_WEBGPU") === "1") {
    Deno.test("onnx[webgpu]: WebGPU adapter required", () => {
      throw new Error("DENDRITE_REQUIRE_WEBGPU=1 but navigator.gpu has no adapter: the WebGPU tests cannot run");
    });
    return false;
  }
  console.error("!!! WebGPU: no adapter available, SKIPPING the ONNX export tests on WebGPU !!!");
  Deno.test({ name: "onnx[webgpu] (no WebGPU adapter)", ignore: true, fn: () => {} });
  return false;
}

async function agreeOnDevice(model: nn.Module, x: Tensor, run: Tensor): Promise<void> {
  const bytes = await exportBytes(model, x, { dynamicAxes: { input_0: { 0: "batch" } } });
  model.eval();
  const ours = await noGrad(() => (model.forward as (x: Tensor) => Tensor | [Tensor, unknown])(run));
  const out = Array.isArray(ours) ? ours[0] : ours;
  const session = await loadOrt(bytes);
  const host = await toDevice(run, "cpu");
  const theirs = await session.run({ input_0: host });
  await session.release();
  const diff = maxAbsDiff(await out.data(), theirs.output_0.data);
  assert.ok(diff <= 1e-4, `ONNX Runtime differs from WebGPU by ${diff}`);
}

if (await webgpu()) {
  await useWebGPU();
  Deno.test("onnx[webgpu]: a CNN with batch norm and a CharRNN exported from the device agree with ONNX Runtime", async () => {
    manualSeed(51);
    const cnn = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 4 * 4, 5),
    );
    await cnn.toDevice("webgpu");
    await agreeOnDevice(cnn, randn([2, 1, 8, 8]).to("webgpu"), randn([3, 1, 8, 8]).to("webgpu"));
    const rnn = new CharRNN(20, { embeddingDim: 6, hiddenSize: 8, cell: "gru" });
    await rnn.toDevice("webgpu");
    const ids = (b: number) => randint(0, 20, [b, 5], { dtype: "int32" }).to("webgpu");
    await agreeOnDevice(rnn, ids(2), ids(4));
  });

  Deno.test("onnx[webgpu]: a Transformer encoder layer traced through the device's fused attention agrees", async () => {
    manualSeed(52);
    const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true, normFirst: true });
    const causal = new (class extends nn.Module {
      layer = layer;
      override forward(x: Tensor): Tensor {
        const mask = nn.generateSquareSubsequentMask(x.shape[1], { device: x.device });
        return this.layer.forward(x, { srcMask: mask, isCausal: true });
      }
    })();
    await causal.toDevice("webgpu");
    await agreeOnDevice(causal, randn([2, 5, 8]).to("webgpu"), randn([3, 5, 8]).to("webgpu"));
  });
}
