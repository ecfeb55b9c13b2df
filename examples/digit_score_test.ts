import { deepStrictEqual, ok } from "node:assert/strict";
import { rand, tensor } from "../mod.ts";
import { DigitScorer, junkBatch } from "./digit_score.ts";

Deno.test("digit scorer: a briefly trained classifier scores real digits above noise on every measure; cached weights reload", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/classifier.safetensors`;
  const lines: string[] = [];
  try {
    const scorer = await DigitScorer.load({ path, epochs: 1, maxBatches: 80, log: (l) => lines.push(l) });
    ok(lines.some((l) => l.includes("Training the digit classifier")), "trained when nothing was cached");
    const real = await scorer.score(scorer.mnist.test.images.narrow(0, 0, 300));
    const noise = await scorer.score(rand([300, 1, 28, 28]));
    ok(real.confident > noise.confident + 0.25, `confident: real ${real.confident}, noise ${noise.confident}`);
    ok(real.frechet * 5 < noise.frechet, `Fréchet: real ${real.frechet}, noise ${noise.frechet}`);
    ok(Math.abs(real.classShares.reduce((a, b) => a + b) - 1) < 1e-9);
    ok(Math.min(...real.classShares) > 0.03, `every class among real digits: ${real.classShares}`);
    // A second load reads the cache: no training, the same scores.
    lines.length = 0;
    const again = await DigitScorer.load({ path, log: (l) => lines.push(l) });
    deepStrictEqual(lines, []);
    const same = await again.score(scorer.mnist.test.images.narrow(0, 0, 300));
    ok(Math.abs(same.frechet - real.frechet) < 1e-6 * (1 + real.frechet));
    deepStrictEqual(same.classShares, real.classShares);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("junkBatch: noise and blends with their soft targets (uniform; half of each blended label)", async () => {
  const x = rand([6, 1, 28, 28]);
  const y = tensor([0, 1, 2, 3, 4, 5], { dtype: "int32" });
  const { images, target } = junkBatch(x, y, 8);
  deepStrictEqual(images.shape, [8, 1, 28, 28]);
  deepStrictEqual(target.shape, [8, 10]);
  const t = await target.tolist() as number[][];
  for (const row of t.slice(0, 4)) deepStrictEqual(row.map((v) => Math.round(v * 10) / 10), new Array(10).fill(0.1));
  deepStrictEqual(t[4].slice(0, 3), [0.5, 0.5, 0]); // digits 0 and 1 blended
  const blend = await images.narrow(0, 4, 1).data(),
    a = await x.narrow(0, 0, 1).data(),
    b = await x.narrow(0, 1, 1).data();
  ok(blend.every((v, i) => Math.abs(v - (a[i] + b[i]) / 2) < 1e-6));
});
