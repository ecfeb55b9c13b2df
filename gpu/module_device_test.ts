// Moving whole modules between devices: to("webgpu") synchronously, toDevice("cpu") back with an async read.
import { deepStrictEqual, ok } from "node:assert/strict";
import { manualSeed, randn } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("module devices")) {
  Deno.test("a module trained on WebGPU comes back to the CPU with toDevice and computes the same", async () => {
    await useWebGPU();
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
    model.to("webgpu");
    const x = randn([5, 3]);
    model.forward(x.to("webgpu")).sum().backward(); // grads and BN running stats on the GPU
    model.eval();
    const onGpu = await model.forward(x.to("webgpu")).data();
    await model.toDevice("cpu");
    for (const p of model.parameters()) {
      deepStrictEqual(p.device, "cpu");
      ok(p.requiresGrad && p.isLeaf, "still a trainable leaf");
      ok(p.grad !== null && p.grad.device === "cpu", "its gradient came along");
    }
    deepStrictEqual(Object.values(model.stateDict()).every((t) => t.device === "cpu"), true);
    const onCpu = model.forward(x).dataSync();
    for (let i = 0; i < onCpu.length; i++) {
      ok(Math.abs(onCpu[i] - onGpu[i]) < 1e-5, `output ${i}: ${onCpu[i]} vs ${onGpu[i]}`);
    }
  });
}

if (await webgpuOrSkip("batch norm cumulative average")) {
  Deno.test("BatchNorm with momentum null (cumulative average) runs on WebGPU: running stats are the plain mean of batch stats", async () => {
    await useWebGPU();
    manualSeed(1);
    const bn = new nn.BatchNorm1d(3, { momentum: null }).to("webgpu");
    const batches = [randn([4, 3]), randn([4, 3]).mul(2), randn([4, 3]).add(1)];
    for (const b of batches) bn.forward(b.to("webgpu"));
    // After n batches the running mean is the average of the n batch means (starting from 0 with factor 1/1).
    const want = [0, 1, 2].map((c) => batches.reduce((s, b) => s + mean(b.dataSync(), c), 0) / batches.length);
    const got = await bn.runningMean!.data();
    for (let c = 0; c < 3; c++) ok(Math.abs(got[c] - want[c]) < 1e-5, `channel ${c}: ${got[c]} vs ${want[c]}`);
    deepStrictEqual(Array.from(await bn.numBatchesTracked!.data()), [3]);
  });
}

function mean(data: ArrayLike<number>, channel: number): number {
  let s = 0;
  for (let r = 0; r < 4; r++) s += data[r * 3 + channel];
  return s / 4;
}
