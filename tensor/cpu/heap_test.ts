import { deepStrictEqual, ok } from "node:assert/strict";
import { conv2d, crossEntropy, manualSeed, maxPool2d, noGrad, randint, randn, type Tensor, tidy } from "../mod.ts";
import { cpuThreadsReady, setNumThreads } from "./kernels.ts";
import { heapBytes } from "./wasm/runtime.ts";

Deno.test("1,000 training steps of a small CNN do not grow the WebAssembly memory", async () => {
  setNumThreads(2);
  await cpuThreadsReady();
  try {
    manualSeed(1);
    // conv 1→8 (8×8 images, so several images share a GEMM), ReLU, 2×2 max pool, conv 8→8, linear: every hot kernel.
    const params: Tensor[] = [
      randn([8, 1, 3, 3]).mul(0.3),
      randn([8]).mul(0.1),
      randn([8, 8, 3, 3]).mul(0.2),
      randn([8 * 4 * 4, 10]).mul(0.1),
      randn([10]).mul(0.1),
    ].map((t) => t.detach().requiresGrad_());
    const [w1, b1, w2, fc, bfc] = params;
    const x = randn([16, 1, 8, 8]), y = randint(0, 10, [16]);
    const step = () =>
      tidy(() => {
        const h = maxPool2d(conv2d(x, w1, b1, { padding: 1 }).relu(), 2);
        const z = conv2d(h, w2, null, { padding: 1 }).relu().flatten(1);
        const loss = crossEntropy(z.matmul(fc).add(bfc), y);
        loss.backward();
        noGrad(() => {
          for (const p of params) {
            p.sub_(p.grad as Tensor, 0.05);
            p.grad = null;
          }
        });
        return loss.dataSync()[0];
      });
    const first = step();
    const before = heapBytes();
    ok(before > 0);
    let last = first;
    for (let i = 0; i < 1000; i++) last = step();
    deepStrictEqual(heapBytes(), before);
    ok(last < first, `the loss fell: ${first} -> ${last}`);
  } finally {
    setNumThreads(1);
  }
});
