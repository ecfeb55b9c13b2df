import { deepStrictEqual, ok } from "node:assert/strict";
import { Generator, tensor } from "../../mod.ts";
import { GradientReversal, lambdaAt, main, texturize } from "./dann.ts";

Deno.test("GradientReversal: identity forward, −λ times the gradient backward", async () => {
  const x = tensor([1, -2, 3]).requiresGrad_();
  const y = GradientReversal.apply(x, 0.5);
  deepStrictEqual(await y.tolist(), [1, -2, 3]);
  y.mul(tensor([1, 2, 4])).sum().backward();
  deepStrictEqual(await x.grad!.tolist(), [-0.5, -1, -2]);
});

Deno.test("lambdaAt follows 2/(1 + e^(−10p)) − 1", () => {
  ok(lambdaAt(0, 1) === 0);
  ok(Math.abs(lambdaAt(0.5, 2) - 2 * (2 / (1 + Math.exp(-5)) - 1)) < 1e-12);
  ok(lambdaAt(1, 1) > 0.9999 && lambdaAt(1, 1) < 1);
});

Deno.test("texturize keeps strokes at 1 and lays a texture in [0, 0.7] under the rest", async () => {
  const x = tensor([...new Array(392).fill(0), ...new Array(392).fill(1)]).reshape([1, 1, 28, 28]);
  const out = texturize({ x, y: tensor(new Int32Array([3])), labels: new Int32Array([3]) }, new Generator(0));
  const v = await out.x.reshape([-1]).tolist() as number[];
  ok(v.slice(392).every((p) => p === 1), "strokes stay white");
  const bg = v.slice(0, 392);
  ok(bg.every((p) => p >= 0 && p <= 0.7 + 1e-6) && Math.max(...bg) - Math.min(...bg) > 0.2, "a varying texture");
});

Deno.test("dann example, tiny run: adaptation raises the target accuracy over source-only training", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { sourceOnly, dann } = await main(["--quick", "--out", out]);
    ok(sourceOnly.source > 0.5, `source accuracy ${sourceOnly.source}`);
    ok(dann.target > sourceOnly.target + 0.04, `target: DANN ${dann.target}, source only ${sourceOnly.target}`);
    ok((await Deno.stat(`${out}/curves.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
