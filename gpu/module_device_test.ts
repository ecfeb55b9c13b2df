// Moving whole modules between devices: to("webgpu") synchronously, toDevice("cpu") back with an async read.
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { crossEntropy, manualSeed, randint, randn, type Tensor } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import * as optim from "@dendrite/optim";
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

if (await webgpuOrSkip("module moves with an optimizer")) {
  Deno.test("build model, build optimizer, move model to WebGPU, train: the same Parameter objects learn there", async () => {
    await useWebGPU();
    manualSeed(5);
    const model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 3));
    const params = [...model.parameters()];
    const opt = new optim.SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
    model.to("webgpu");
    deepStrictEqual([...model.parameters()], params);
    ok(params.every((p) => p.device === "webgpu"));
    const start = await Promise.all(params.map((p) => p.data()));
    const x = randn([32, 4]).to("webgpu"), y = randint(0, 3, [32]).to("webgpu");
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) {
      opt.zeroGrad();
      const loss = crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      losses.push(await loss.item());
    }
    const end = await Promise.all(params.map((p) => p.data()));
    ok(end.every((e, i) => e.some((v, j) => v !== start[i][j])), "every moved parameter changed");
    ok(losses[14] < losses[0] * 0.7, `loss fell: ${losses[0]} → ${losses[14]}`);
    ok([...opt.state.values()].every((s) => (s.momentum_buffer as Tensor).device === "webgpu"));
  });

  Deno.test("optimizer state follows a move to WebGPU at the next step; back to the CPU it needs optimizer.toDevice", async () => {
    await useWebGPU();
    manualSeed(6);
    const model = new nn.Linear(3, 2);
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    const x = randn([4, 3]);
    model.forward(x).sum().backward();
    opt.step(); // state on the CPU
    model.to("webgpu");
    model.forward(x.to("webgpu")).sum().backward();
    opt.step();
    const w = model.weight;
    strictEqual((opt.state.get(w)!.exp_avg as Tensor).device, "webgpu", "moved at the step");
    await model.toDevice("cpu");
    model.forward(x).sum().backward();
    const before = Array.from(w.dataSync());
    throws(() => opt.step(), (e: Error) => {
      ok(e.message.includes(`state "exp_avg" is on "webgpu" but the parameter is now on "cpu"`), e.message);
      ok(e.message.includes(`await optimizer.toDevice("cpu")`), e.message);
      return true;
    });
    deepStrictEqual(Array.from(w.dataSync()), before, "the refused step changed nothing");
    await opt.toDevice("cpu");
    opt.step();
    strictEqual((opt.state.get(w)!.exp_avg as Tensor).device, "cpu");
    ok(Array.from(w.dataSync()).some((v, i) => v !== before[i]));
    await rejects(() => opt.toDevice("tpu"), /no backend is registered for device "tpu"/);
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
