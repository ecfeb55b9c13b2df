import { deepStrictEqual, ok } from "node:assert/strict";
import { tensor } from "../../mod.ts";
import { auroc, calibration, main } from "./uncertainty.ts";
import { renderLetters } from "./letters.ts";

Deno.test("calibration: accuracy, NLL and ECE against hand-worked values", async () => {
  // Two samples: confidence 0.93 and right (bin (13/15, 14/15]), confidence 0.62 and wrong (bin (9/15, 10/15]).
  const probs = tensor([[0.93, 0.07], [0.38, 0.62]]);
  const c = await calibration(probs, tensor([0, 0], { dtype: "int32" }));
  ok(Math.abs(c.accuracy - 0.5) < 1e-9);
  ok(Math.abs(c.nll - (-Math.log(0.93) - Math.log(0.38)) / 2) < 1e-6);
  // ECE = ½·|1 − 0.93| + ½·|0 − 0.62| = 0.345
  ok(Math.abs(c.ece - 0.345) < 1e-6, `ECE ${c.ece}`);
  deepStrictEqual(c.bins.map((b) => b.count), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
});

Deno.test("auroc: Mann–Whitney with ties, against hand-worked values", () => {
  ok(auroc([1, 2, 3], [4, 5]) === 1);
  ok(auroc([4, 5], [1, 2, 3]) === 0);
  // Pairs (in, out): (1,1) tie ½, (1,3) 1, (2,1) 0, (2,3) 1 → 2.5 / 4
  ok(Math.abs(auroc([1, 2], [1, 3]) - 0.625) < 1e-12);
});

Deno.test("renderLetters draws reproducible strokes in [0, 1]", () => {
  const a = renderLetters(4, 7), b = renderLetters(4, 7);
  deepStrictEqual(a.shape, [4, 1, 28, 28]);
  deepStrictEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  const v = Array.from(a.dataSync());
  ok(v.every((p) => p >= 0 && p <= 1));
  const ink = v.reduce((s, p) => s + p, 0) / 4;
  ok(ink > 20 && ink < 300, `ink per letter ${ink}`);
});

Deno.test("uncertainty example, tiny run: temperature scaling lowers the NLL; every method is measured", async () => {
  const out = await Deno.makeTempDir();
  try {
    const results = await main(["--quick", "--out", out]);
    deepStrictEqual(results.length, 4);
    const [plain, scaled] = results;
    ok(plain.accuracy > 0.2, `accuracy ${plain.accuracy}`);
    ok(scaled.nll < plain.nll, `NLL after temperature scaling ${scaled.nll}, before ${plain.nll}`);
    ok(Math.abs(scaled.accuracy - plain.accuracy) < 1e-9, "a temperature does not change the argmax");
    for (const r of results) ok(r.aurocNoise >= 0 && r.aurocNoise <= 1 && r.ece >= 0 && r.ece <= 1);
    ok((await Deno.stat(`${out}/reliability.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
