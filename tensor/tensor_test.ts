import assert from "node:assert/strict";
import { arange, isTensor, noGrad, randn, type Tensor, tensor, zeros } from "./mod.ts";

const vals = (t: Tensor): number[] => Array.from(t.dataSync());

Deno.test("data, item and tolist read back asynchronously (strided views in logical order)", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(Array.from(await x.data()), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(await x.t().data()), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(Array.from(await x.select(0, 1).data()), [4, 5, 6]);
  assert.deepEqual(await x.tolist(), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(await x.t().tolist(), [[1, 4], [2, 5], [3, 6]]);
  assert.deepEqual(await tensor([true, false]).tolist(), [true, false]);
  assert.deepEqual(await tensor(2.5).tolist(), 2.5);
  assert.equal(await x.sum().item(), 21);
  assert.equal(await tensor([[7]]).item(), 7);
  await assert.rejects(
    () => x.item(),
    /item: only one-element tensors can be converted to a number; this one has shape \[2, 3\]/,
  );
  // data() returns a copy: writing into it does not change the tensor.
  const d = await x.data();
  d[0] = 100;
  assert.equal(x.dataSync()[0], 1);
});

Deno.test("toString prints like PyTorch", () => {
  assert.equal(tensor([[1, 2], [3, 4]]).toString(), "tensor([[1., 2.],\n        [3., 4.]])");
  assert.equal(tensor([1.5, 2, 3]).toString(), "tensor([1.5000, 2.0000, 3.0000])");
  assert.equal(tensor([1, -2], { dtype: "int32" }).toString(), "tensor([ 1, -2], dtype=int32)");
  assert.equal(tensor([true, false]).toString(), "tensor([ True, False])");
  assert.equal(tensor(3).toString(), "tensor(3.)");
  assert.equal(tensor([1, 2], { dtype: "float64" }).toString(), "tensor([1., 2.], dtype=float64)");
  assert.equal(tensor([1e-5, 1, 1e5]).toString(), "tensor([1.0000e-05, 1.0000e+00, 1.0000e+05])");
  assert.equal(tensor([NaN, Infinity, 1]).toString(), "tensor([nan, inf, 1.])");
  assert.equal(
    tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]).toString(),
    "tensor([[[1., 2.],\n         [3., 4.]],\n\n        [[5., 6.],\n         [7., 8.]]])",
  );
  assert.equal(tensor([1, 2], { requiresGrad: true }).toString(), "tensor([1., 2.], requiresGrad=true)");
  assert.equal(tensor([1, 2], { requiresGrad: true }).mul(2).toString(), "tensor([2., 4.], gradFn=<MulBackward>)");
  assert.equal(tensor([[1, 2], [3, 4]]).t().toString(), "tensor([[1., 3.],\n        [2., 4.]])");
  assert.equal(
    arange(2000).float().toString(),
    "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03, 1.9990e+03])",
  );
  assert.equal(arange(1001).toString(), "tensor([   0,    1,    2,  ...,  998,  999, 1000], dtype=int32)");
  assert.equal(tensor([0, 10]).toString(), "tensor([ 0., 10.])");
});

Deno.test("to(dtype) converts (truncating to int32, non-zero to bool); to(device) on the same device is a no-op", () => {
  const x = tensor([-1.7, 0, 2.5]);
  assert.deepEqual(vals(x.to("int32")), [-1, 0, 2]);
  assert.equal(x.int().dtype, "int32");
  assert.deepEqual(vals(x.bool()), [1, 0, 1]);
  assert.equal(x.double().dtype, "float64");
  assert.equal(x.to("float32"), x);
  assert.equal(x.to("cpu"), x);
  assert.equal(x.cpu(), x);
  assert.deepEqual(vals(tensor([true, false]).float()), [1, 0]);
  assert.throws(() => x.to("webgpu"), /no backend is registered for device "webgpu"/);
});

Deno.test("clone copies, detach shares storage without the graph", () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const c = x.clone();
  assert.notEqual(c.storage, x.storage);
  assert.deepEqual(vals(c), [1, 2, 3]);
  assert.equal(c.requiresGrad, true);
  const d = x.mul(2).detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  const e = x.detach();
  assert.equal(e.storage, x.storage);
});

Deno.test("in-place ops write through, broadcast, and are refused on tensors requiring grad", () => {
  const x = zeros([2, 3]);
  x.fill_(2);
  assert.deepEqual(vals(x), [2, 2, 2, 2, 2, 2]);
  x.add_(tensor([1, 2, 3]));
  assert.deepEqual(vals(x), [3, 4, 5, 3, 4, 5]);
  x.sub_(1, 2);
  assert.deepEqual(vals(x), [1, 2, 3, 1, 2, 3]);
  x.mul_(tensor([[2], [-1]]));
  assert.deepEqual(vals(x), [2, 4, 6, -1, -2, -3]);
  x.div_(2);
  assert.deepEqual(vals(x), [1, 2, 3, -0.5, -1, -1.5]);
  x.clamp_(-1, 2);
  assert.deepEqual(vals(x), [1, 2, 2, -0.5, -1, -1]);
  x.copy_(tensor([9, 8, 7]));
  assert.deepEqual(vals(x), [9, 8, 7, 9, 8, 7]);
  x.zero_();
  assert.deepEqual(vals(x), [0, 0, 0, 0, 0, 0]);
  const i = zeros([2], { dtype: "int32" });
  i.copy_(tensor([1.9, -2.9]));
  assert.deepEqual(vals(i), [1, -2], "copy_ converts to the destination dtype");
  const w = tensor([1, 2], { requiresGrad: true });
  assert.throws(
    () => w.add_(1),
    /add_: a leaf tensor that requires grad cannot be modified in place while grad mode is on/,
  );
  assert.deepEqual(vals(w), [1, 2], "nothing was written");
  noGrad(() => w.sub_(tensor([1, 1]), 0.5));
  assert.deepEqual(vals(w), [0.5, 1.5]);
  assert.throws(
    () => x.copy_(tensor([1, 2])),
    /copy_: .*\[2\].*\[2, 3\]/,
  );
});

Deno.test("dispose: a disposed tensor refuses use; views keep the storage alive", () => {
  const x = randn([3]);
  const v = x.reshape([3]);
  x.dispose();
  assert.equal(x.isDisposed, true);
  assert.throws(() => x.add(1), /was used after dispose\(\)/);
  assert.equal(v.add(1).shape[0], 3);
  assert.match(x.toString(), /tensor\(<disposed>, shape=\[3\]/);
  x.dispose(); // twice is harmless
});

Deno.test("metadata: isTensor, requiresGrad setter, isLeaf", () => {
  const x = tensor([1]);
  assert.equal(isTensor(x), true);
  assert.equal(isTensor([1]), false);
  x.requiresGrad = true;
  assert.equal(x.requiresGrad, true);
  assert.equal(x.isLeaf, true);
  assert.equal(x.mul(2).isLeaf, false);
  x.requiresGrad_(false);
  assert.equal(x.mul(2).requiresGrad, false);
});

Deno.test("add_/sub_ with alpha update in place through the fused kernel, broadcasting and strided operands", async () => {
  const { noGrad, tensor } = await import("./mod.ts");
  const p = tensor([[1, 2, 3], [4, 5, 6]]).requiresGrad_();
  const g = tensor([[10, 20], [30, 40], [50, 60]]).t(); // strided: shape [2, 3]
  const storage = p.storage;
  noGrad(() => p.sub_(g, 0.5));
  // p - 0.5·gᵀ by hand: [[1-5, 2-15, 3-25], [4-10, 5-20, 6-30]]
  const got = await p.tolist();
  if (JSON.stringify(got) !== JSON.stringify([[-4, -13, -22], [-6, -15, -24]])) throw new Error(JSON.stringify(got));
  if (p.storage !== storage) throw new Error("the update must write into the same storage");
  noGrad(() => p.add_(tensor([1, 1, 1]), 2)); // broadcast row
  const got2 = await p.tolist();
  if (JSON.stringify(got2) !== JSON.stringify([[-2, -11, -20], [-4, -13, -22]])) throw new Error(JSON.stringify(got2));
  let threw = false;
  try {
    p.add_(tensor([1, 1, 1]));
  } catch (e) {
    threw = /requires grad cannot be modified in place/.test((e as Error).message);
  }
  if (!threw) throw new Error("in-place update of a leaf requiring grad outside noGrad must throw");
});

Deno.test("fill_ and zero_ write a whole tensor in place, and only the viewed elements of a strided view", async () => {
  const { arange, noGrad } = await import("./mod.ts");
  const base = arange(0, 6, 1, { dtype: "float32" });
  const storage = base.storage;
  noGrad(() => base.slice(0, 1, 6, 2).fill_(-1)); // elements 1, 3, 5
  if (JSON.stringify(await base.tolist()) !== JSON.stringify([0, -1, 2, -1, 4, -1])) {
    throw new Error(`strided fill_: ${JSON.stringify(await base.tolist())}`);
  }
  base.zero_();
  if (JSON.stringify(await base.tolist()) !== JSON.stringify([0, 0, 0, 0, 0, 0]) || base.storage !== storage) {
    throw new Error("zero_ must clear the tensor's own storage");
  }
});
