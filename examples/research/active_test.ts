import { deepStrictEqual, ok } from "node:assert/strict";
import { tensor } from "../../mod.ts";
import { main, softmaxMargin, topK } from "./active.ts";

Deno.test("softmaxMargin: the gap between the two largest probabilities, against a direct computation", async () => {
  const rows = [[2, 1, 0], [0, 0, 3], [1, 1, -1]];
  const got = await softmaxMargin(tensor(rows)).tolist() as number[];
  rows.forEach((r, i) => {
    const e = r.map(Math.exp), z = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / z).sort((a, b) => b - a);
    ok(Math.abs(got[i] - (p[0] - p[1])) < 1e-6, `row ${i}: ${got[i]} vs ${p[0] - p[1]}`);
  });
});

Deno.test("topK: positions of the largest values, earlier first on ties", () => {
  deepStrictEqual(topK([0.1, 0.9, 0.5, 0.9], 3), [1, 3, 2]);
  deepStrictEqual(topK(new Float32Array([3, 1, 2]), 1), [0]);
});

Deno.test("active example, tiny run: margin sampling beats random sampling for the same number of labels", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { labels, accuracy } = await main(["--quick", "--out", out]);
    ok(labels.length === 6 && labels[0] === 100 && labels[5] === 350);
    ok(accuracy.random[0] === accuracy.uncertainty[0], "both start from the same labelled set and weights");
    let gain = 0;
    for (let i = 1; i < labels.length; i++) {
      gain += (accuracy.uncertainty[i] - accuracy.random[i]) / (labels.length - 1);
    }
    ok(gain > 0.012, `mean gain of margin sampling ${gain}`);
    ok(accuracy.random[5] > accuracy.random[0] + 0.03, "more labels help");
    ok((await Deno.stat(`${out}/accuracy_vs_labels.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
