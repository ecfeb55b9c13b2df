// Bad input: each case throws a clear error (naming the op and the shapes involved) before any state changes.
import assert from "node:assert/strict";
import { cat, full, matmul, noGrad, ones, type Tensor, tensor, zeros } from "./mod.ts";

const vals = (t: Tensor | null): number[] => Array.from(t!.dataSync());

Deno.test("mismatched shapes name the op and both shapes", () => {
  const a = ones([2, 3]), b = ones([4]);
  assert.throws(
    () => a.add(b),
    /add: shapes \[2, 3\] and \[4\] cannot be broadcast together \(dimension -1 is 3 vs 4\)/,
  );
  assert.throws(() => a.mul(ones([3, 3])), /mul: shapes \[2, 3\] and \[3, 3\]/);
  assert.throws(() => a.lt(b), /lt: shapes \[2, 3\] and \[4\]/);
  assert.throws(
    () => matmul(ones([2, 3]), ones([4, 5])),
    /matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied \(3 vs 4 inner dimensions\)/,
  );
  assert.throws(() => ones([2, 2, 3]).matmul(ones([3, 3, 1])), /matmul: shapes \[2\] and \[3\] cannot be broadcast/);
  assert.throws(() => ones([3]).matmul(ones([4])), /matmul: 1-D shapes \[3\] and \[4\] differ in size/);
  assert.throws(
    () => ones([]).matmul(ones([2])),
    /matmul: both arguments need at least 1 dimension, got shapes \[\] and \[2\]/,
  );
  assert.throws(() => tensor([true]).matmul(tensor([true])), /matmul: bool tensors cannot be multiplied/);
  assert.throws(
    () => cat([ones([2, 3]), ones([2, 4])], 0),
    /cat: shapes \[2, 3\] and \[2, 4\] must match except in dimension 0/,
  );
});

Deno.test("out-of-range dims name the op, the dim and the rank", () => {
  const x = ones([2, 3]);
  assert.throws(() => x.sum(2), /sum: dimension 2 is out of range for a tensor of rank 2 \(expected -2\.\.1\)/);
  assert.throws(() => x.sum(-3), /sum: dimension -3 is out of range/);
  assert.throws(() => x.mean([0, 0]), /mean: dimension list \[0, 0\] repeats a dimension/);
  assert.throws(() => x.softmax(2), /softmax: dimension 2 is out of range/);
  assert.throws(() => x.logSoftmax(-3), /logSoftmax: dimension -3 is out of range/);
  assert.throws(() => x.transpose(0, 2), /transpose: dimension 2 is out of range/);
  assert.throws(() => x.unsqueeze(3), /unsqueeze: dimension 3 is out of range/);
  assert.throws(() => x.squeeze(5), /squeeze: dimension 5 is out of range/);
  assert.throws(() => x.max(2), /max: dimension 2 is out of range/);
  assert.throws(() => x.argmax(7), /argmax: dimension 7 is out of range/);
  assert.throws(() => x.select(2, 0), /select: dimension 2 is out of range/);
  assert.throws(() => x.narrow(-3, 0, 1), /narrow: dimension -3 is out of range/);
  assert.throws(() => cat([x, x], 2), /cat: dimension 2 is out of range/);
  assert.throws(() => x.gather(2, tensor([[0]], { dtype: "int32" })), /gather: dimension 2 is out of range/);
  assert.throws(() => x.size(2), /size: dimension 2 is out of range/);
  assert.throws(() => x.flatten(1, 0), /flatten: startDim 1 comes after endDim 0/);
  assert.throws(() => x.sum(1.5), /sum: dimension 1.5 is out of range/);
});

Deno.test("reshape and view to an incompatible size", () => {
  const x = ones([2, 3]);
  assert.throws(() => x.reshape([4]), /reshape: shape \[4\] is invalid for input of size 6 \(shape \[2, 3\]\)/);
  assert.throws(() => x.reshape([-1, 4]), /reshape: shape \[-1, 4\] is invalid for input of size 6/);
  assert.throws(() => x.view([-1, -1]), /view: only one dimension can be -1/);
  assert.throws(() => x.reshape([2, -2]), /reshape: invalid size -2 in shape \[2, -2\]/);
  assert.deepEqual(x.shape, [2, 3]);
});

Deno.test("float indices to gather, indexSelect, scatterAdd and oneHot are refused", () => {
  const x = ones([2, 3]);
  assert.throws(
    () => x.gather(1, tensor([[0, 1]])),
    /gather: index must be an int32 tensor, got dtype float32 \(convert with \.int\(\)\)/,
  );
  assert.throws(() => x.indexSelect(0, tensor([0])), /indexSelect: index must be an int32 tensor, got dtype float32/);
  assert.throws(() => x.scatterAdd(0, tensor([[0, 1, 0]]), ones([1, 3])), /scatterAdd: index must be an int32 tensor/);
  assert.throws(
    () => x.indexSelect(0, tensor([[0]], { dtype: "int32" })),
    /indexSelect: index must be 1-D, got shape \[1, 1\]/,
  );
  assert.throws(
    () => x.gather(1, tensor([[0, 5]], { dtype: "int32" })),
    /gather: index 5 is out of range for dimension 1 of size 3/,
  );
  assert.throws(
    () => x.gather(1, tensor([0], { dtype: "int32" })),
    /gather: index of shape \[1\] does not fit input of shape \[2, 3\]/,
  );
  assert.throws(
    () => x.scatterAdd(0, tensor([[2, 0, 0]], { dtype: "int32" }), ones([1, 3])),
    /scatterAdd: index 2 is out of range/,
  );
  assert.deepEqual(vals(x), [1, 1, 1, 1, 1, 1], "the input is untouched");
});

Deno.test("backward on a non-scalar and backward twice", () => {
  const x = ones([2]).requiresGrad_();
  assert.throws(() => x.mul(2).backward(), /backward: grad can be implicitly created only for scalar outputs/);
  const y = x.mul(x).sum();
  y.backward();
  assert.throws(() => y.backward(), /MulBackward|SumBackward/);
  assert.throws(() => y.backward(), /second time/);
  assert.deepEqual(vals(x.grad), [2, 2]);
});

Deno.test("ragged and malformed nested arrays", () => {
  assert.throws(() => tensor([[1, 2], [3]]), /tensor: ragged nested array: element \[1\] has length 1, expected 2/);
  assert.throws(
    () => tensor([[1, 2], 3] as never),
    /tensor: ragged nested array: element \[1\] is a scalar, expected an array of length 2/,
  );
  assert.throws(
    () => tensor([1, [2]] as never),
    /tensor: ragged nested array: element \[1\] is an array but siblings are scalars/,
  );
  assert.throws(() => tensor([[[1], [2]], [[3], [4, 5]]]), /element \[1\]\[1\] has length 2, expected 1/);
  assert.throws(() => tensor([1, "2"] as never), /tensor: element \[1\] is string, expected a number or boolean/);
  assert.throws(() => tensor([1], { dtype: "float16" as never }), /unknown dtype "float16"/);
});

Deno.test("requiresGrad on integer and bool tensors is refused and leaves the tensor as it was", () => {
  const i = tensor([1, 2], { dtype: "int32" });
  assert.throws(
    () => i.requiresGrad_(),
    /requiresGrad_: only floating-point tensors can require gradients, got dtype int32/,
  );
  assert.equal(i.requiresGrad, false);
  assert.throws(() => tensor([true]).requiresGrad_(), /got dtype bool/);
  assert.throws(() => tensor([1], { dtype: "int32", requiresGrad: true }), /only floating-point tensors/);
  assert.throws(() => zeros([2], { dtype: "int32", requiresGrad: true }), /only floating-point tensors/);
});

Deno.test("invalid shapes, operands and in-place writes", () => {
  assert.throws(() => zeros([2, -1]), /invalid shape \[2, -1\]: sizes must be non-negative integers/);
  assert.throws(() => ones([1.5]), /invalid shape \[1\.5\]/);
  assert.throws(() => full(3 as never, 1), /full: shape must be an array of integers/);
  assert.throws(() => ones([2]).add("1" as never), /add: second operand must be a Tensor or a number, got string/);
  assert.throws(() => ones([2]).mul(null as never), /mul: second operand must be a Tensor or a number, got null/);
  const w = ones([2]).requiresGrad_();
  assert.throws(() => w.copy_(zeros([2])), /copy_: a leaf tensor that requires grad cannot be modified in place/);
  assert.throws(() => w.mul(2).zero_(), /zero_: a tensor that requires grad cannot be modified in place/);
  assert.deepEqual(vals(w), [1, 1]);
  const x = zeros([2, 2]);
  assert.throws(() => noGrad(() => x.copy_(ones([3]))), /copy_: shapes \[3\] and \[2, 2\] cannot be broadcast/);
  assert.deepEqual(vals(x), [0, 0, 0, 0]);
});
