import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { tensor } from "@dendrite/tensor";
import { Accuracy, ConfusionMatrix, MeanMetric } from "./metrics.ts";

const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-12) && a.length === b.length;
const int = (v: number[]) => tensor(v, { dtype: "int32" });

// Nine rows by hand: targets and predictions.
const TARGETS = [0, 0, 0, 1, 1, 2, 2, 2, 2];
const PREDS = [0, 1, 0, 1, 1, 2, 0, 2, 1];

Deno.test("ConfusionMatrix counts (target, prediction) pairs; precision, recall, F1 as worked by hand", () => {
  const cm = new ConfusionMatrix(3);
  cm.updateArrays(PREDS, TARGETS);
  // Row t, column p: class 0 → 2× 0, 1× 1; class 1 → 2× 1; class 2 → 1× 0, 1× 1, 2× 2.
  deepStrictEqual(cm.matrix, [[2, 1, 0], [0, 2, 0], [1, 1, 2]]);
  deepStrictEqual(cm.total, 9);
  ok(Math.abs(cm.accuracy() - 6 / 9) < 1e-12);
  // Precision: column sums 3, 4, 2 with 2, 2, 2 on the diagonal. Recall: row sums 3, 2, 4.
  ok(close(cm.precision(), [2 / 3, 1 / 2, 1]));
  ok(close(cm.recall(), [2 / 3, 1, 1 / 2]));
  // F1 = 2PR / (P + R): 2/3; 2·0.5·1/1.5 = 2/3; 2·1·0.5/1.5 = 2/3.
  ok(close(cm.f1(), [2 / 3, 2 / 3, 2 / 3]));
  deepStrictEqual(cm.perClass().map((c) => c.support), [3, 2, 4]);
  const m = cm.macro();
  ok(close([m.precision, m.recall, m.f1], [(2 / 3 + 0.5 + 1) / 3, (2 / 3 + 1 + 0.5) / 3, 2 / 3]));
});

Deno.test("ConfusionMatrix accumulates tensor batches (scores or indices) like one big batch", async () => {
  const cm = new ConfusionMatrix(3);
  // Scores whose argmax is PREDS[0..4] (a tie between classes 0 and 2 goes to 0), then indices for the rest.
  await cm.update(
    tensor([[5, 1, 5], [0, 3, 1], [2, 1, 0], [0, 9, 1], [1, 2, 0]]),
    int(TARGETS.slice(0, 5)),
  );
  await cm.update(int(PREDS.slice(5)), int(TARGETS.slice(5)));
  deepStrictEqual(cm.matrix, [[2, 1, 0], [0, 2, 0], [1, 1, 2]]);
  cm.reset();
  deepStrictEqual(cm.total, 0);
  ok(Number.isNaN(cm.accuracy()));
});

Deno.test("ConfusionMatrix: a class never predicted has precision 0, never present recall 0; bad input changes nothing", () => {
  const cm = new ConfusionMatrix(3, { labels: ["cat", "dog", "eel"] });
  cm.updateArrays([0, 0, 1], [0, 1, 1]);
  deepStrictEqual(cm.precision(), [0.5, 1, 0]);
  deepStrictEqual(cm.recall(), [1, 0.5, 0]);
  deepStrictEqual(cm.f1()[2], 0);
  throws(() => cm.updateArrays([0, 3], [0, 0]), /prediction\[1\] = 3 is not a class index in \[0, 3\)/);
  throws(() => cm.updateArrays([0, 1], [0, 1.5]), /target\[1\] = 1.5/);
  throws(() => cm.updateArrays([0], [0, 1]), /1 predictions for 2 targets/);
  deepStrictEqual(cm.total, 3);
  throws(() => new ConfusionMatrix(2, { labels: ["a"] }), /1 labels for 2 classes/);
});

Deno.test("ConfusionMatrix prints a table and sklearn's report", () => {
  const cm = new ConfusionMatrix(3, { labels: ["cat", "dog", "eel"] });
  cm.updateArrays(PREDS, TARGETS);
  deepStrictEqual(
    cm.toString(),
    [
      "true | predicted",
      "     | cat dog eel",
      "-----+------------",
      "cat  |   2   1   0",
      "dog  |   0   2   0",
      "eel  |   1   1   2",
    ].join("\n"),
  );
  const report = cm.report(2).split("\n");
  deepStrictEqual(report[0], "             precision    recall  f1-score   support");
  deepStrictEqual(report[1], "cat               0.67      0.67      0.67         3");
  deepStrictEqual(report[3], "eel               1.00      0.50      0.67         4");
  deepStrictEqual(report[5], "accuracy                              0.67         9");
  deepStrictEqual(report[6], "macro avg         0.72      0.72      0.67         9");
});

Deno.test("ConfusionMatrix.heatmap draws the counts (darker for more), or rows normalised to recall", () => {
  const cm = new ConfusionMatrix(3);
  cm.updateArrays(PREDS, TARGETS);
  const map = cm.heatmap({ colorbar: false });
  deepStrictEqual(map.values, [[2, 1, 0], [0, 2, 0], [1, 1, 2]]);
  const canvas = map.render(300, 300);
  const lum = (i: number, j: number) => {
    const r = map.cellRect(i, j);
    const [R, G, B] = canvas.pixel(r.x + 1, r.y + 1);
    return R + G + B;
  };
  ok(lum(0, 0) < lum(0, 1) && lum(0, 1) < lum(0, 2), "2 darker than 1 darker than 0");
  deepStrictEqual(lum(0, 0), lum(2, 2));
  const recall = cm.heatmap({ normalize: "true" }).values;
  ok(close(recall.map((r, i) => r[i]), cm.recall()));
});

Deno.test("Accuracy top-k over batches, as worked by hand; ties go to the lower class like argmax", async () => {
  const scores = [[0.1, 0.5, 0.4], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5]];
  const targets = [2, 0, 0];
  // Top-1: predictions 1, 0, 2 → one right. Top-2: target 2 is second in row 0 → two right. Top-3: all.
  for (const [k, want] of [[1, 1 / 3], [2, 2 / 3], [3, 1]]) {
    const acc = new Accuracy({ topK: k });
    await acc.update(tensor(scores.slice(0, 2)), int(targets.slice(0, 2)));
    await acc.update(tensor(scores.slice(2)), int(targets.slice(2)));
    ok(Math.abs(acc.compute() - want) < 1e-12, `top-${k}: ${acc.compute()}`);
    deepStrictEqual(acc.count, 3);
  }
  const tie = new Accuracy();
  tie.updateArrays([1, 1, 1, 1], 2, [0, 1]); // both rows tie: argmax says class 0
  deepStrictEqual(tie.compute(), 0.5);
  await rejects(() => tie.update(tensor([1, 2]), int([0])), /expected scores \[N, C\] and targets \[N\]/);
  throws(() => new Accuracy({ topK: 0 }), /topK must be an integer ≥ 1/);
});

Deno.test("MeanMetric weights each batch's mean by its size", () => {
  const m = new MeanMetric();
  ok(Number.isNaN(m.compute()));
  m.update(0.5, 64);
  m.update(0.2, 16);
  ok(Math.abs(m.compute() - (0.5 * 64 + 0.2 * 16) / 80) < 1e-12);
  deepStrictEqual(m.weight, 80);
  m.reset();
  m.update(3);
  deepStrictEqual(m.compute(), 3);
  throws(() => m.update(1, -1), /weight must be ≥ 0/);
});
