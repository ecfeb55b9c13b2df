import { ok } from "node:assert/strict";
import { autograd, Generator, nn, tensor } from "../../mod.ts";
import { forwardWith, innerStep, main, pointsOf } from "./maml.ts";

Deno.test("maml: the meta-gradient through one inner step matches central differences (float64)", async () => {
  // A 1-3-1 net; meta-loss L_q(θ − α∇L_s(θ)). Its gradient by second-order autograd against finite differences of
  // the meta-loss itself, evaluated independently with the step written out.
  const gen = new Generator(3);
  const w = (shape: number[]) =>
    tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gen.random() - 0.5), { dtype: "float64" })
      .reshape(shape);
  const params = [w([3, 1]), w([3]), w([1, 3]), w([1])].map((p) => p.requiresGrad_());
  const xs = tensor([[-1], [0.5], [2]], { dtype: "float64" }), ys = tensor([[0.3], [-0.2], [1]], { dtype: "float64" });
  const xq = tensor([[1], [-2]], { dtype: "float64" }), yq = tensor([[0.5], [0.1]], { dtype: "float64" });
  const alpha = 0.1;
  const metaLoss = (ps: typeof params) =>
    nn.functional.mseLoss(forwardWith(innerStep(ps, xs, ys, alpha, true), xq), yq);
  const grads = autograd.grad(metaLoss(params), params);
  const eps = 1e-6;
  for (const [k, p] of params.entries()) {
    const flat = await p.reshape([-1]).tolist() as number[];
    const analytic = await grads[k].reshape([-1]).tolist() as number[];
    for (let i = 0; i < flat.length; i++) {
      const at = async (delta: number) => {
        const shifted = params.map((q, j) => {
          if (j !== k) return q.detach().requiresGrad_();
          const v = [...flat];
          v[i] += delta;
          return tensor(v, { dtype: "float64" }).reshape(q.shape).requiresGrad_();
        });
        return await metaLoss(shifted).item();
      };
      const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      ok(
        Math.abs(numeric - analytic[i]) < 1e-6 * Math.max(1, Math.abs(numeric)),
        `param ${k}[${i}]: ${analytic[i]} vs ${numeric}`,
      );
    }
  }
});

Deno.test("maml: pointsOf draws points on the task's sine", async () => {
  const { x, y } = pointsOf({ amplitude: 2, phase: 1 }, 5, new Generator(0));
  const xv = await x.reshape([-1]).tolist() as number[], yv = await y.reshape([-1]).tolist() as number[];
  xv.forEach((v, i) => ok(v >= -5 && v <= 5 && Math.abs(yv[i] - 2 * Math.sin(v - 1)) < 1e-5));
});

Deno.test("maml example, tiny run: MAML's initialisation adapts in a few steps, the pre-trained one hardly", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { maml, pretrained } = await main(["--quick", "--out", out]);
    const mamlGain = maml[0].mean - maml[10].mean, preGain = pretrained[0].mean - pretrained[10].mean;
    ok(maml[10].mean < pretrained[10].mean, `after 10 steps MAML ${maml[10].mean}, pre-trained ${pretrained[10].mean}`);
    ok(mamlGain > 2 * preGain && mamlGain > 0.5, `MAML gains ${mamlGain}, pre-training ${preGain}`);
    ok((await Deno.stat(`${out}/maml.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
