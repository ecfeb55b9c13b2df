// The design's memory promise on WebGPU: a seed-style training loop written with one `tidy` scope per
// step runs 1,000 steps with flat device memory.
import { deepStrictEqual, ok } from "node:assert/strict";
import { manualSeed, randint, randn, tidy } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import * as optim from "@dendrite/optim";
import { memory, synchronize, useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("gpu memory")) {
  Deno.test("a small CNN trains 1,000 steps on WebGPU with bytes in use after step 1,000 equal to after step 10", async () => {
    await useWebGPU();
    manualSeed(0);
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 4 * 4, 3),
    ).to("webgpu");
    const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const criterion = new nn.CrossEntropyLoss();
    const x = randn([4, 1, 8, 8]).to("webgpu");
    const y = randint(0, 3, [4]).to("webgpu");
    let at10 = -1;
    let first = NaN;
    let last = NaN;
    for (let step = 1; step <= 1000; step++) {
      const loss = tidy(() => {
        opt.zeroGrad();
        const l = criterion.forward(model.forward(x), y);
        l.backward();
        opt.step();
        return l.detach();
      });
      if (step === 1) first = await loss.item();
      if (step === 1000) last = await loss.item();
      loss.dispose();
      if (step === 10) {
        await synchronize();
        at10 = memory().bytesInUse;
      }
    }
    await synchronize();
    const at1000 = memory().bytesInUse;
    deepStrictEqual(at1000, at10, `bytes in use: ${at10} after step 10, ${at1000} after step 1000`);
    ok(last < first, `the loss falls (${first} -> ${last})`);
  });
}
