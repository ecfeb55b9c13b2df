import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { keep, liveTensors, ones, randn, tensor, tidy } from "./mod.ts";

Deno.test("tidy frees what was made inside but what it returns", () => {
  const before = liveTensors();
  const a = ones([3]);
  let inner: ReturnType<typeof ones> | null = null;
  const out = tidy(() => {
    inner = a.mul(2);
    return inner.add(1);
  });
  ok(inner!.isDisposed, "an intermediate is disposed at the end of the scope");
  ok(!out.isDisposed && !a.isDisposed, "the result and tensors from outside survive");
  deepStrictEqual(out.dataSync(), new Float32Array([3, 3, 3]));
  throws(() => inner!.add(1), /used after dispose/);
  out.dispose();
  a.dispose();
  deepStrictEqual(liveTensors(), before);
});

Deno.test("tidy keeps tensors returned in arrays and objects, keep()-ed tensors, and moves results to the outer scope", () => {
  let keptOne: ReturnType<typeof ones> | null = null;
  const outer = tidy(() => {
    const { x, list } = tidy(() => {
      keptOne = keep(ones([1]));
      return { x: ones([2]), list: [ones([3])] };
    });
    ok(!x.isDisposed && !list[0].isDisposed);
    return x;
  });
  ok(!outer.isDisposed, "returned from both scopes");
  ok(!keptOne!.isDisposed, "kept survives");
});

Deno.test("tidy disposes on a throw and supports async bodies", async () => {
  let made: ReturnType<typeof ones> | null = null;
  throws(() =>
    tidy(() => {
      made = ones([2]);
      throw new Error("boom");
    }), /boom/);
  ok(made!.isDisposed);
  const r = await tidy(async () => {
    const t = ones([2]).mul(3);
    await Promise.resolve();
    made = t.add(0);
    return t;
  });
  ok(!r.isDisposed && made!.isDisposed);
});

Deno.test("a training step as a tidy scope keeps the live tensor count flat (grads and state kept)", async () => {
  const { nn, optim } = await import("../mod.ts");
  const model = new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 2));
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  const x = randn([16, 4]);
  const y = tensor(Array.from({ length: 16 }, (_, i) => i % 2), { dtype: "int32" });
  const criterion = new nn.CrossEntropyLoss();
  const counts: number[] = [];
  const losses: number[] = [];
  for (let step = 0; step < 30; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = criterion.forward(model.forward(x), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    counts.push(liveTensors());
  }
  deepStrictEqual(counts[29], counts[5], `live tensors ${counts.join(",")}`);
  ok(losses[29] < losses[0], "it still learns");
  for (const p of model.parameters()) ok(p.grad && !p.grad.isDisposed, "grads survive the scope");
});
