import { deepStrictEqual, ok } from "node:assert/strict";
import { conv2d, crossEntropy, manualSeed, maxPool2d, noGrad, randint, randn, type Tensor, tidy } from "../mod.ts";
import { cpuThreadsReady, getCpuHeapLimit, setCpuHeapLimit, setNumThreads } from "./kernels.ts";
import { heapBytes, heapInUse } from "./wasm/runtime.ts";
import { cpuData } from "./backend.ts";

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
            // As optimizers' zeroGrad does: gradients are kept by tidy, so they are disposed explicitly.
            p.grad?.dispose();
            p.grad = null;
          }
        });
        return loss.dataSync()[0];
      });
    const first = step();
    const before = heapBytes(), inUse = heapInUse();
    ok(before > 0);
    let last = first;
    for (let i = 0; i < 1000; i++) last = step();
    deepStrictEqual(heapBytes(), before);
    // Every block a step took went back: tensor storage lives in the heap and tidy frees it.
    deepStrictEqual(heapInUse(), inUse);
    ok(last < first, `the loss fell: ${first} -> ${last}`);
  } finally {
    setNumThreads(1);
  }
});

Deno.test("CPU tensors live in the WebAssembly heap; dispose returns the block; dataSync returns a copy", () => {
  const inUse = heapInUse();
  const t = randn([64, 64]);
  ok(heapInUse() >= inUse + 64 * 64 * 4, "the storage took a heap block");
  ok(cpuData(t.storage).buffer instanceof SharedArrayBuffer);
  const copy = t.dataSync();
  ok(!(copy.buffer instanceof SharedArrayBuffer), "dataSync hands out an ordinary array");
  const want = copy.slice();
  t.dispose();
  deepStrictEqual(heapInUse(), inUse);
  // The freed block is reused by the next tensor of that size; the copy read before is unaffected.
  const u = randn([64, 64]).mul(0);
  deepStrictEqual(copy, want);
  u.dispose();
});

Deno.test("a loop that never disposes stays within the heap limit and gets its blocks back", async () => {
  const limit = getCpuHeapLimit();
  // A small limit so the loop fills it quickly: 16 MiB above what is in use now.
  setCpuHeapLimit(heapBytes() + 16 * 2 ** 20);
  try {
    let inHeap = 0, fellBack = 0, recovered = false;
    for (let step = 0; step < 3000 && !recovered; step++) {
      // 1 MiB per step, never disposed; `await item()` is the loop's only await, as in a PyTorch-style loop.
      const t = randn([512, 512]).mul(2);
      const heap = cpuData(t.storage).buffer instanceof SharedArrayBuffer;
      if (heap) inHeap++;
      else {
        fellBack++;
        // Under `deno task test` (--v8-flags=--expose-gc) collect now, so recovery does not wait on the collector's
        // own schedule (on a machine with memory to spare it may not run within the loop); elsewhere gc is absent.
        (globalThis as { gc?: () => void }).gc?.();
      }
      // Back in the heap after falling back: the collector found the dead storages and their blocks were reused.
      if (heap && fellBack > 0) recovered = true;
      await t.sum().item();
      ok(heapBytes() <= getCpuHeapLimit() + 2 ** 20, "tensor storage never grows the heap past the limit");
    }
    ok(inHeap > 0 && fellBack > 0, `filled the heap (${inHeap} in the heap, ${fellBack} ordinary arrays)`);
    ok(recovered, "storage went back to the heap after the collector ran");
  } finally {
    setCpuHeapLimit(limit);
  }
});
