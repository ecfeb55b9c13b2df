// The autograd engine seen through tensors: backward, accumulation, retainGraph, hooks, noGrad, createGraph.
import assert from "node:assert/strict";
import { enableGrad, isGradEnabled, noGrad, type Tensor, tensor } from "./mod.ts";

const vals = (t: Tensor | null): number[] => Array.from(t!.dataSync());
const leaf = (v: number[]) => tensor(v, { dtype: "float64" }).requiresGrad_();

Deno.test("backward of a scalar; of a non-scalar with an explicit gradient", () => {
  const x = leaf([1, 2, 3]);
  x.mul(x).sum().backward();
  assert.deepEqual(vals(x.grad), [2, 4, 6]);
  const y = leaf([1, 2, 3]);
  const out = y.mul(3); // non-scalar
  out.backward(tensor([1, 0.5, -1], { dtype: "float64" }));
  assert.deepEqual(vals(y.grad), [3, 1.5, -3]);
});

Deno.test("backward on a non-scalar without a gradient throws before touching any grad", () => {
  const x = leaf([1, 2]);
  const y = x.mul(2);
  assert.throws(
    () => y.backward(),
    /backward: grad can be implicitly created only for scalar outputs; this tensor has shape \[2\]/,
  );
  assert.equal(x.grad, null);
  assert.throws(
    () => y.backward(tensor([1, 2, 3], { dtype: "float64" })),
    /backward: gradient has shape \[3\] but the tensor has shape \[2\]/,
  );
  assert.equal(x.grad, null);
  assert.throws(() => tensor([1]).mul(2).sum().backward(), /backward: this tensor does not require grad/);
});

Deno.test("gradients accumulate into leaves across backward calls", () => {
  const x = leaf([1, 2]);
  x.mul(3).sum().backward();
  x.mul(x).sum().backward();
  assert.deepEqual(vals(x.grad), [3 + 2, 3 + 4]);
  x.grad = null;
  x.sum().backward();
  assert.deepEqual(vals(x.grad), [1, 1]);
});

Deno.test("a second backward without retainGraph throws a clear error; with it, gradients accumulate", () => {
  const x = leaf([1, 2]);
  const y = x.mul(x).sum();
  y.backward();
  assert.throws(() => y.backward(), /trying to backward through the graph a second time .* retainGraph: true/);
  assert.deepEqual(vals(x.grad), [2, 4], "the failed call changed nothing");
  const z = leaf([1, 2]);
  const w = z.mul(z).sum();
  w.backward(undefined, { retainGraph: true });
  w.backward();
  assert.deepEqual(vals(z.grad), [4, 8]);
  assert.throws(() => w.backward(), /second time/);
});

Deno.test("saved tensors are released after backward (node.released), kept with retainGraph", () => {
  const x = leaf([1, 2]);
  const h = x.exp();
  const y = h.sum();
  assert.equal(y.gradFn!.released, false);
  y.backward(undefined, { retainGraph: true });
  assert.equal(y.gradFn!.released, false);
  assert.equal(h.gradFn!.released, false);
  y.backward();
  assert.equal(y.gradFn!.released, true);
  assert.equal(h.gradFn!.released, true);
});

Deno.test("a tensor used twice (diamond) gets the sum of both paths", () => {
  const x = leaf([2, -1]);
  const a = x.mul(3);
  const b = a.mul(a); // 9x²
  const c = a.add(b).sum(); // 3x + 9x², d/dx = 3 + 18x
  c.backward();
  assert.deepEqual(vals(x.grad), [3 + 36, 3 - 18]);
  // Two leaves fed by one add each own their gradient (no aliasing).
  const p = leaf([1, 1]), q = leaf([1, 1]);
  p.add(q).sum().backward();
  assert.notEqual(p.grad, q.grad);
  noGrad(() => p.grad!.mul_(5));
  assert.deepEqual(vals(q.grad), [1, 1]);
});

Deno.test("hooks see and replace gradients; removing a hook stops it", () => {
  const x = leaf([1, 2]);
  const seen: number[][] = [];
  const remove = x.registerHook((g) => {
    seen.push(vals(g));
    return g.mul(10);
  });
  x.mul(2).sum().backward();
  assert.deepEqual(seen, [[2, 2]]);
  assert.deepEqual(vals(x.grad), [20, 20]);
  remove();
  x.grad = null;
  x.mul(2).sum().backward();
  assert.deepEqual(vals(x.grad), [2, 2]);
  assert.equal(seen.length, 1);
  // A hook on an intermediate tensor changes what flows upstream.
  const y = leaf([1, 2]);
  const h = y.mul(3);
  h.registerHook((g) => g.neg());
  h.sum().backward();
  assert.deepEqual(vals(y.grad), [-3, -3]);
  // A hook that returns nothing only observes.
  const z = leaf([1]);
  let called = 0;
  z.registerHook(() => {
    called++;
  });
  z.mul(4).sum().backward();
  assert.equal(called, 1);
  assert.deepEqual(vals(z.grad), [4]);
  assert.throws(
    () => tensor([1]).registerHook((g) => g),
    /registerHook: cannot register a hook on a tensor that does not require grad/,
  );
});

Deno.test("retainGrad keeps an intermediate gradient; others stay null", () => {
  const x = leaf([1, 2]);
  const h = x.mul(3).retainGrad();
  const k = h.mul(h);
  k.sum().backward();
  assert.deepEqual(vals(h.grad), [6, 12]);
  assert.equal(k.grad, null);
  assert.deepEqual(vals(x.grad), [18, 36]);
});

Deno.test("detach cuts the graph", () => {
  const x = leaf([1, 2]);
  const y = x.mul(x.detach()).sum(); // d/dx = x (the detached factor is a constant)
  y.backward();
  assert.deepEqual(vals(x.grad), [1, 2]);
  const d = x.mul(2).detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  const e = x.mul(2);
  e.detach_();
  assert.equal(e.requiresGrad, false);
  assert.equal(e.isLeaf, true);
});

Deno.test("noGrad records nothing; enableGrad re-enables inside; async bodies keep the mode", async () => {
  const x = leaf([1, 2]);
  const y = noGrad(() => x.mul(2).exp().sum());
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  assert.equal(isGradEnabled(), true);
  const z = noGrad(() => enableGrad(() => x.mul(2)));
  assert.equal(z.requiresGrad, true);
  assert.throws(() =>
    noGrad(() => {
      throw new Error("boom");
    }), /boom/);
  assert.equal(isGradEnabled(), true, "restored after a throw");
  const w = await noGrad(async () => {
    await Promise.resolve();
    return x.mul(2);
  });
  assert.equal(w.requiresGrad, false);
  assert.equal(isGradEnabled(), true);
  // No graph when no input requires grad.
  const c = tensor([1, 2]).mul(tensor([3, 4])).sum();
  assert.equal(c.requiresGrad, false);
  assert.equal(c.gradFn, null);
});

Deno.test("createGraph gives second derivatives: d²/dx² x³ = 6x, d²/dx² sin x = -sin x", () => {
  const x = leaf([1, 2, -3]);
  x.pow(3).sum().backward(undefined, { createGraph: true });
  const g = x.grad!;
  assert.deepEqual(vals(g), [3, 12, 27]);
  assert.equal(g.requiresGrad, true);
  x.grad = null;
  g.sum().backward();
  assert.deepEqual(vals(x.grad), [6, 12, -18]);

  const y = leaf([0.5, 1.5]);
  y.sin().sum().backward(undefined, { createGraph: true });
  const gy = y.grad!;
  y.grad = null;
  gy.sum().backward();
  const want = [0.5, 1.5].map((v) => -Math.sin(v));
  vals(y.grad).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12));
  // Without createGraph the gradient is a plain tensor.
  const z = leaf([1]);
  z.pow(3).sum().backward();
  assert.equal(z.grad!.requiresGrad, false);
});

Deno.test("requiresGrad_ on a non-leaf and turning it off", () => {
  const x = leaf([1]);
  const y = x.mul(2);
  assert.equal(y.requiresGrad_(true), y);
  assert.throws(() => y.requiresGrad_(false), /requiresGrad_: cannot turn off gradients of a non-leaf tensor/);
});

Deno.test("retainGrad twice does not double the retained gradient", () => {
  const x = leaf([1, 2]);
  const h = x.mul(2).retainGrad().retainGrad();
  h.sum().backward();
  assert.deepEqual(vals(h.grad), [1, 1]);
});
