// Device-side assertions on WebGPU: the checks the CPU makes at once (cross-entropy's class indices, BCE's [0, 1]
// inputs, anomaly mode's NaN/Inf) are made by a kernel that records the first failure; it is raised, naming the op,
// at the next read-back or synchronize() — whichever tensor that reads — and only once.
import { equal, ok, rejects } from "node:assert/strict";
import {
  binaryCrossEntropy,
  crossEntropy,
  detectAnomaly,
  embedding,
  type NestedValues,
  nllLoss,
  tensor,
} from "@dendrite/tensor";
import { synchronize, useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("webgpu device assertions")) {
  await useWebGPU();
  const on = (v: NestedValues) => tensor(v, { device: "webgpu" });
  const labels = (v: number[]) => tensor(v, { dtype: "int32", device: "webgpu" });
  const logits = () => on([[1, 2, 3], [0, 1, 0], [2, 0, 1]]);

  Deno.test("webgpu: a class index out of range fails the next read-back, naming crossEntropy, the value and C", async () => {
    const loss = crossEntropy(logits(), labels([0, 5, 1])); // nothing is thrown here: the check runs on the device
    await rejects(() => loss.item(), (e: Error) => {
      ok(e instanceof RangeError, String(e));
      equal(e.message, "crossEntropy: target 5 is out of bounds for 3 classes (and is not ignoreIndex -100)");
      return true;
    });
    // Raised once: the next read succeeds.
    equal(await on([7]).item(), 7);
    // A negative index other than ignoreIndex fails too; ignoreIndex itself passes.
    const neg = crossEntropy(logits(), labels([0, -1, 1]));
    await rejects(() => neg.item(), /crossEntropy: target -1 is out of bounds for 3 classes/);
    const ignored = await crossEntropy(logits(), labels([0, -100, 1])).item();
    ok(Number.isFinite(ignored));
  });

  Deno.test("webgpu: the failure surfaces at any read-back (another tensor's) and at synchronize()", async () => {
    const unrelated = on([1, 2]);
    crossEntropy(logits(), labels([3, 0, 0]));
    await rejects(() => unrelated.data(), /crossEntropy: target 3 is out of bounds for 3 classes/);
    nllLoss(logits().logSoftmax(1), labels([0, 9, 0]));
    await rejects(() => synchronize(), /nllLoss: target 9 is out of bounds for 3 classes/);
    await synchronize(); // cleared
  });

  Deno.test("webgpu: the composed path ([N, C, d] inputs) and embedding indices are checked the same way", async () => {
    const x = on([[[1, 2], [0, 1], [3, 1]]]); // [1, 3, 2]: three classes, two positions
    await rejects(
      () => crossEntropy(x, tensor([[0, 4]], { dtype: "int32", device: "webgpu" })).item(),
      /crossEntropy: target 4 is out of bounds for 3 classes/,
    );
    const weight = on([[1, 2], [3, 4]]);
    await rejects(
      () => embedding(labels([1, 2]), weight).data(),
      /embedding: index 2 is out of bounds for 2 embeddings/,
    );
  });

  Deno.test("webgpu: BCE refuses inputs outside [0, 1] and NaN at the next read-back, like PyTorch", async () => {
    const t = on([1, 0, 1]);
    await rejects(
      () => binaryCrossEntropy(on([0.5, 1.5, 0.2]), t).item(),
      /binaryCrossEntropy: all elements of input should be between 0 and 1, got 1\.5 \(element 1 of the input\)/,
    );
    await rejects(() => binaryCrossEntropy(on([0.5, 0.1, NaN]), t).item(), /got NaN \(element 2/);
    const ok01 = await binaryCrossEntropy(on([0, 1, 0.5]), t).item(); // the bounds themselves are allowed
    ok(Number.isFinite(ok01));
  });

  Deno.test("webgpu: anomaly mode names the op whose forward or derivative produced a non-finite value", async () => {
    const x = on([0, 1]).requiresGrad_();
    const y = detectAnomaly(() => x.log()); // on the CPU this throws here; on WebGPU at the next read
    await rejects(
      () => y.data(),
      /anomaly: Log \(forward\) produced -Infinity in its output \(element 0 of shape \[2\]\)/,
    );
    const z = on([0, 4]).requiresGrad_();
    detectAnomaly(() => z.sqrt().sum().backward());
    await rejects(() => z.grad!.data(), /anomaly: SqrtBackward produced Infinity in its gradient for input 0/);
    // Finite values pass through.
    const w = on([1, 2]).requiresGrad_();
    detectAnomaly(() => w.mul(w).sum().backward());
    equal((await w.grad!.tolist() as number[]).join(), "2,4");
  });
}
