/**
 * Version counters as a device-parametrized suite: a tensor saved for
 * backward and then changed in place makes `backward()` throw PyTorch's error
 * (naming the node, the versions and the shape) before any gradient is
 * written; a rule that saved nothing still runs. `tensor/version_test.ts` runs
 * it on the CPU, `gpu/autograd_test.ts` on WebGPU.
 *
 * @example
 * ```ts ignore
 * import { versionCounterSuite } from "@dendrite/tensor/testing";
 * versionCounterSuite("cpu", "version[cpu]");
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Device, type DType, noGrad, type Tensor, tensor } from "./mod.ts";

/** The start of PyTorch's message, which every case expects. */
const STALE = /one of the variables needed for gradient computation has been modified by an inplace operation/;

/** Registers the version-counter test cases (`Deno.test`) for tensors on `device`, named `${prefix}: <case>`. */
export function versionCounterSuite(device: Device, prefix: string = `version[${device}]`): void {
  const dtype: DType = device === "cpu" ? "float64" : "float32";
  const vals = async (t: Tensor | null): Promise<number[]> => Array.from(await t!.data());
  const leaf = (v: number[]) => tensor(v, { dtype, device }).requiresGrad_();
  const on = (v: number[]) => tensor(v, { dtype, device });
  const test = (name: string, fn: () => void | Promise<void>) => Deno.test(`${prefix}: ${name}`, fn);
  /** Asserts `fn` throws the stale-variable error naming `node`, the found and the expected version, and `shape`. */
  const throwsStale = (
    fn: () => void,
    node: string,
    found: number,
    expected: number,
    shape: string,
    dt: DType = dtype,
  ) =>
    assert.throws(fn, (e: Error) => {
      assert.match(e.message, STALE);
      assert.ok(e.message.includes(`[${node}, ${dt} shape ${shape}]`), e.message);
      assert.ok(e.message.includes(`is at version ${found}; expected version ${expected} instead`), e.message);
      return true;
    });

  test("in-place ops bump the version counter, which views share", () => {
    const x = on([1, 2, 3, 4]);
    const v = x.reshape([2, 2]).select(0, 1);
    assert.equal(x.version, 0);
    noGrad(() => x.add_(1));
    assert.equal(x.version, 1);
    v.fill_(0);
    assert.equal(x.version, 2, "a write through a view bumps the base");
    assert.equal(v.version, 2);
    x.mul_(2).copy_(on([0, 0, 0, 0])).zero_();
    assert.equal(x.version, 5);
    assert.equal(x.clone().version, 0, "a copy has a counter of its own");
  });

  test("the issue's example: a constant changed after w·x was recorded throws MulBackward before any grad", async () => {
    const w = leaf([1, 1]);
    const x = on([3, 4]);
    const y = w.mul(x).sum();
    x.mul_(10);
    throwsStale(() => y.backward(), "MulBackward", 1, 0, "[2]");
    assert.equal(w.grad, null, "no gradient was written");
    // Undone by recomputing: the same graph rebuilt after the change gives the new gradient.
    w.mul(x).sum().backward();
    assert.deepEqual(await vals(w.grad), [30, 40]);
  });

  test("a rule that saves nothing does not raise: y = x + 1, x changed, y.backward() is legal", async () => {
    const x = leaf([1, 2]);
    const y = x.add(1).mul(3).sum(); // add and mul-by-a-number save no tensor of x
    noGrad(() => x.add_(1));
    y.backward();
    assert.deepEqual(await vals(x.grad), [3, 3]);
    const c = on([5, 6]);
    const z = leaf([1, 1]);
    const s = z.add(c).sub(c).sum(); // add/sub of a constant: the rule never reads it
    c.zero_();
    s.backward();
    assert.deepEqual(await vals(z.grad), [1, 1]);
  });

  test("the whole graph is checked before backward writes any gradient, not just the branch that fails", () => {
    const a = leaf([1, 2]), b = leaf([3, 4]);
    const c = on([5, 6]);
    const y = a.mul(2).sum().add(b.mul(c).sum()); // a's branch saves nothing; b's saves c
    c.add_(1);
    throwsStale(() => y.backward(), "MulBackward", 1, 0, "[2]");
    assert.equal(a.grad, null, "the healthy branch's leaf got nothing either");
    assert.equal(b.grad, null);
  });

  test("a leaf changed in place under noGrad after use", () => {
    const w = leaf([1, 2]);
    const y = w.mul(w).sum(); // MulBackward saves w (both operands)
    noGrad(() => w.mul_(2));
    throwsStale(() => y.backward(), "MulBackward", 1, 0, "[2]");
    assert.equal(w.grad, null);
    const h = leaf([1, 2]);
    const l = h.log().sum();
    noGrad(() => h.sub_(0.5));
    throwsStale(() => l.backward(), "LogBackward", 1, 0, "[2]");
  });

  test("an output saved by its rule (exp, softmax) changed through a detached view", () => {
    const x = leaf([0, 1]);
    const y = x.exp();
    y.detach().mul_(2);
    throwsStale(() => y.sum().backward(), "ExpBackward", 1, 0, "[2]");
    const s = leaf([1, 2, 3]).softmax(0);
    s.detach().zero_();
    throwsStale(() => s.mul(on([1, 0, 0])).sum().backward(), "SoftmaxBackward", 1, 0, "[3]");
  });

  test("a write through a view of a saved tensor is caught (views share the counter)", () => {
    const w = leaf([1, 1, 1, 1]).reshape([2, 2]);
    const a = on([1, 2, 3, 4]).reshape([2, 2]);
    const y = a.matmul(w).sum();
    a.select(0, 0).fill_(7);
    throwsStale(() => y.backward(), "MatmulBackward", 1, 0, "[2, 2]");
  });

  test("indices handed to the caller (max along a dim) are saved", () => {
    const x = leaf([1, 5, 3, 2]).reshape([2, 2]);
    const [values, indices] = x.max(1);
    indices.zero_();
    throwsStale(() => values.sum().backward(), "MaxBackward", 1, 0, "[2, 1]", "int32");
  });

  test("with retainGraph, a change between two backward calls fails the second and keeps the first's gradient", async () => {
    const w = leaf([2, 3]);
    const c = on([1, 2]);
    const y = w.mul(c).sum();
    y.backward(undefined, { retainGraph: true });
    c.add_(1);
    throwsStale(() => y.backward(), "MulBackward", 1, 0, "[2]");
    assert.deepEqual(await vals(w.grad), [1, 2]);
  });

  test("an operand cast before the op is a copy: changing the original later is harmless and the gradient right", async () => {
    const w = leaf([1, 1]);
    const counts = tensor([3, 4], { dtype: "int32", device });
    const y = w.mul(counts).sum(); // counts is cast to the float dtype; the rule reads the cast copy
    counts.mul_(10);
    y.backward();
    assert.deepEqual(await vals(w.grad), [3, 4]);
  });
}
