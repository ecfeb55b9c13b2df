/**
 * The autograd tests as a device-parametrized suite: backward, accumulation,
 * retainGraph, hooks, noGrad, createGraph, `grad` and second order through the
 * kernel-backed layers. `autogradSuite("cpu", ...)` runs in
 * `tensor/autograd_test.ts`; `gpu/autograd_test.ts` runs the same cases on
 * WebGPU. Values are read with `await t.data()` (devices cannot read
 * synchronously); the CPU runs in float64, other devices in float32 (the
 * values are small integers, exact in both, except where a tolerance says so).
 *
 * @example
 * ```ts ignore
 * import { autogradSuite } from "@dendrite/tensor/testing";
 * autogradSuite("cpu", "autograd[cpu]");
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  avgPool2d,
  batchNorm,
  cat,
  conv2d,
  crossEntropy,
  type Device,
  type DType,
  enableGrad,
  grad,
  isGradEnabled,
  manualSeed,
  maxPool2d,
  noGrad,
  randn,
  type Tensor,
  tensor,
} from "./mod.ts";

/**
 * Registers the autograd test cases (`Deno.test`) for tensors on `device`,
 * each named `${prefix}: <case>`.
 */
export function autogradSuite(device: Device, prefix: string = `autograd[${device}]`): void {
  // float64 exists on the CPU only; the CPU keeps it so these tests cover the gradcheck dtype too.
  const dtype: DType = device === "cpu" ? "float64" : "float32";
  const exact = dtype === "float64";
  const vals = async (t: Tensor | null): Promise<number[]> => Array.from(await t!.data());
  const all = (ts: (Tensor | null)[]): Promise<number[][]> => Promise.all(ts.map(vals));
  const leaf = (v: number[]) => tensor(v, { dtype, device }).requiresGrad_();
  const on = (v: number[]) => tensor(v, { dtype, device });
  const test = (name: string, fn: () => void | Promise<void>) => Deno.test(`${prefix}: ${name}`, fn);

  test("backward of a scalar; of a non-scalar with an explicit gradient", async () => {
    const x = leaf([1, 2, 3]);
    x.mul(x).sum().backward();
    const y = leaf([1, 2, 3]);
    const out = y.mul(3); // non-scalar
    out.backward(on([1, 0.5, -1]));
    const [gx, gy] = await all([x.grad, y.grad]);
    assert.deepEqual(gx, [2, 4, 6]);
    assert.deepEqual(gy, [3, 1.5, -3]);
    assert.equal(x.grad!.device, device);
  });

  test("backward on a non-scalar without a gradient throws before touching any grad", () => {
    const x = leaf([1, 2]);
    const y = x.mul(2);
    assert.throws(
      () => y.backward(),
      /backward: grad can be implicitly created only for scalar outputs; this tensor has shape \[2\]/,
    );
    assert.equal(x.grad, null);
    assert.throws(() => y.backward(on([1, 2, 3])), /backward: gradient has shape \[3\] but the tensor has shape \[2\]/);
    assert.equal(x.grad, null);
    assert.throws(() => on([1]).mul(2).sum().backward(), /backward: this tensor does not require grad/);
  });

  test("gradients accumulate into leaves across backward calls", async () => {
    const x = leaf([1, 2]);
    x.mul(3).sum().backward();
    x.mul(x).sum().backward();
    assert.deepEqual(await vals(x.grad), [3 + 2, 3 + 4]);
    x.grad = null;
    x.sum().backward();
    assert.deepEqual(await vals(x.grad), [1, 1]);
  });

  test("a second backward without retainGraph throws a clear error; with it, gradients accumulate", async () => {
    const x = leaf([1, 2]);
    const y = x.mul(x).sum();
    y.backward();
    assert.throws(() => y.backward(), /trying to backward through the graph a second time .* retainGraph: true/);
    const z = leaf([1, 2]);
    const w = z.mul(z).sum();
    w.backward(undefined, { retainGraph: true });
    w.backward();
    assert.throws(() => w.backward(), /second time/);
    const [gx, gz] = await all([x.grad, z.grad]);
    assert.deepEqual(gx, [2, 4], "the failed call changed nothing");
    assert.deepEqual(gz, [4, 8]);
  });

  test("saved tensors are released after backward (node.released), kept with retainGraph", () => {
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

  test("a tensor used twice (diamond) gets the sum of both paths", async () => {
    const x = leaf([2, -1]);
    const a = x.mul(3);
    const b = a.mul(a); // 9x²
    const c = a.add(b).sum(); // 3x + 9x², d/dx = 3 + 18x
    c.backward();
    // Two leaves fed by one add each own their gradient (no aliasing).
    const p = leaf([1, 1]), q = leaf([1, 1]);
    p.add(q).sum().backward();
    assert.notEqual(p.grad, q.grad);
    noGrad(() => p.grad!.mul_(5));
    const [gx, gp, gq] = await all([x.grad, p.grad, q.grad]);
    assert.deepEqual(gx, [3 + 36, 3 - 18]);
    assert.deepEqual(gp, [5, 5]);
    assert.deepEqual(gq, [1, 1]);
  });

  test("hooks see and replace gradients; removing a hook stops it", async () => {
    const x = leaf([1, 2]);
    // A hook runs synchronously inside backward: keep what it saw and read it afterwards.
    const seen: Tensor[] = [];
    const remove = x.registerHook((g) => {
      seen.push(g);
      return g.mul(10);
    });
    x.mul(2).sum().backward();
    assert.equal(seen.length, 1);
    const [seen0, g1] = await all([seen[0], x.grad]);
    assert.deepEqual(seen0, [2, 2]);
    assert.deepEqual(g1, [20, 20]);
    remove();
    x.grad = null;
    x.mul(2).sum().backward();
    assert.equal(seen.length, 1);
    // A hook on an intermediate tensor changes what flows upstream.
    const y = leaf([1, 2]);
    const h = y.mul(3);
    h.registerHook((g) => g.neg());
    h.sum().backward();
    // A hook that returns nothing only observes.
    const z = leaf([1]);
    let called = 0;
    z.registerHook(() => {
      called++;
    });
    z.mul(4).sum().backward();
    assert.equal(called, 1);
    const [g2, gy, gz] = await all([x.grad, y.grad, z.grad]);
    assert.deepEqual(g2, [2, 2]);
    assert.deepEqual(gy, [-3, -3]);
    assert.deepEqual(gz, [4]);
    assert.throws(
      () => on([1]).registerHook((g) => g),
      /registerHook: cannot register a hook on a tensor that does not require grad/,
    );
  });

  test("retainGrad keeps an intermediate gradient; others stay null", async () => {
    const x = leaf([1, 2]);
    const h = x.mul(3).retainGrad();
    const k = h.mul(h);
    k.sum().backward();
    assert.equal(k.grad, null);
    const [gh, gx] = await all([h.grad, x.grad]);
    assert.deepEqual(gh, [6, 12]);
    assert.deepEqual(gx, [18, 36]);
  });

  test("detach cuts the graph", async () => {
    const x = leaf([1, 2]);
    const y = x.mul(x.detach()).sum(); // d/dx = x (the detached factor is a constant)
    y.backward();
    assert.deepEqual(await vals(x.grad), [1, 2]);
    const d = x.mul(2).detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.gradFn, null);
    const e = x.mul(2);
    e.detach_();
    assert.equal(e.requiresGrad, false);
    assert.equal(e.isLeaf, true);
  });

  test("noGrad records nothing; enableGrad re-enables inside; async bodies keep the mode", async () => {
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
    const c = on([1, 2]).mul(on([3, 4])).sum();
    assert.equal(c.requiresGrad, false);
    assert.equal(c.gradFn, null);
  });

  test("createGraph gives second derivatives: d²/dx² x³ = 6x, d²/dx² sin x = -sin x", async () => {
    const x = leaf([1, 2, -3]);
    x.pow(3).sum().backward(undefined, { createGraph: true });
    const g = x.grad!;
    assert.equal(g.requiresGrad, true);
    x.grad = null;
    g.sum().backward();

    const y = leaf([0.5, 1.5]);
    y.sin().sum().backward(undefined, { createGraph: true });
    const gy = y.grad!;
    y.grad = null;
    gy.sum().backward();
    // Without createGraph the gradient is a plain tensor.
    const z = leaf([1]);
    z.pow(3).sum().backward();
    assert.equal(z.grad!.requiresGrad, false);

    const [first, second, sin2] = await all([g, x.grad, y.grad]);
    // x³ and its derivatives are exact in float64; float32 pow (exp/log on devices) rounds slightly.
    const near = (got: number[], want: number[], tol: number, what: string) =>
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol * (1 + Math.abs(want[i])), `${what}[${i}]: ${v}`));
    if (exact) {
      assert.deepEqual(first, [3, 12, 27]);
      assert.deepEqual(second, [6, 12, -18]);
    } else {
      near(first, [3, 12, 27], 1e-5, "d/dx x³");
      near(second, [6, 12, -18], 1e-5, "d²/dx² x³");
    }
    near(sin2, [0.5, 1.5].map((v) => -Math.sin(v)), exact ? 1e-12 : 1e-6, "d²/dx² sin x");
  });

  test("requiresGrad_ on a non-leaf and turning it off", () => {
    const x = leaf([1]);
    const y = x.mul(2);
    assert.equal(y.requiresGrad_(true), y);
    assert.throws(() => y.requiresGrad_(false), /requiresGrad_: cannot turn off gradients of a non-leaf tensor/);
  });

  test("retainGrad twice does not double the retained gradient", async () => {
    const x = leaf([1, 2]);
    const h = x.mul(2).retainGrad().retainGrad();
    h.sum().backward();
    assert.deepEqual(await vals(h.grad), [1, 1]);
  });

  test("grad returns dy/dx without touching .grad; an unused input is null with allowUnused", async () => {
    const x = leaf([1, 2, 3]), unused = leaf([4]);
    const [dx, du] = grad(x.mul(x).sum(), [x, unused], { allowUnused: true });
    assert.deepEqual(await vals(dx), [2, 4, 6]);
    assert.equal(du, null);
    assert.equal(x.grad, null);
    assert.equal(dx!.device, device);
  });

  test("grad with createGraph: a Hessian-vector product of a²b + b³ at (1, 2) is [2, -10] for v = [1, -1]", async () => {
    const p = leaf([1, 2]);
    const a = p.narrow(0, 0, 1), b = p.narrow(0, 1, 1);
    const [g] = grad(a.square().mul(b).add(b.mul(b).mul(b)).sum(), p, { createGraph: true });
    const [hv] = grad(g.mul(on([1, -1])).sum(), p);
    assert.deepEqual(await vals(g), [4, 13]);
    assert.deepEqual(await vals(hv), [2, -10]);
  });

  test("second order through conv2d, batch norm, pooling and fused cross-entropy matches the CPU in float64", async () => {
    manualSeed(21);
    const shapes = { x: [2, 2, 6, 6], w: [3, 2, 3, 3], fc: [3 * 2 * 2 + 3 * 3 * 3, 4], v: [3, 2, 3, 3] };
    const init = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randn(s, { dtype: "float64" })]));
    const target = [1, 3];
    // H·v for the weights w (and the mixed derivative for the input x) of a small CNN's loss.
    const hvp = (dev: Device, dt: DType) => {
      const t = (k: string, grads = true) => {
        const v = init[k].to(dt).to(dev);
        return grads ? v.detach().requiresGrad_() : v;
      };
      const [x, w, fc, v] = [t("x"), t("w"), t("fc", false), t("v", false)];
      const h = batchNorm(conv2d(x, w, null, { padding: 1 }), null, null, { training: true }).relu();
      const pooled = [maxPool2d(h, 3, { stride: 3 }), avgPool2d(h, 2)].map((q) => q.reshape([2, -1]));
      const logits = cat([pooled[0], pooled[1]], 1).matmul(fc);
      const loss = crossEntropy(logits, tensor(target, { dtype: "int32", device: dev }));
      const [gw] = grad(loss, w, { createGraph: true });
      return grad(gw.mul(v).sum(), [x, w]);
    };
    const want = await Promise.all(hvp("cpu", "float64").map((g) => vals(g)));
    const got = await Promise.all(hvp(device, dtype).map((g) => vals(g)));
    got.forEach((g, k) =>
      g.forEach((v, i) =>
        assert.ok(Math.abs(v - want[k][i]) <= (exact ? 1e-10 : 2e-3) * (1 + Math.abs(want[k][i])), `${k}[${i}]: ${v}`)
      )
    );
  });
}
