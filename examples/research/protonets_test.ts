import { deepStrictEqual, ok } from "node:assert/strict";
import { arange, Generator, tensor } from "../../mod.ts";
import { main, prototypeLogits, rot90, sampleEpisode } from "./protonets.ts";

Deno.test("rot90 turns counter-clockwise as PyTorch's rot90(x, k, [2, 3]) does", async () => {
  // [[0, 1], [2, 3]] turned once counter-clockwise is [[1, 3], [0, 2]].
  const x = arange(4).reshape([1, 1, 2, 2]);
  deepStrictEqual(await rot90(x, 1).tolist(), [[[[1, 3], [0, 2]]]]);
  deepStrictEqual(await rot90(x, 2).tolist(), [[[[3, 2], [1, 0]]]]);
  deepStrictEqual(await rot90(x, 4).tolist(), await x.tolist());
  // A non-square image: row i, column j of the turned image is column w−1−i, row j of the input.
  const y = arange(6).reshape([1, 1, 2, 3]), turned = await rot90(y, 1).tolist() as number[][][][];
  const v = await y.tolist() as number[][][][];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) ok(turned[0][0][i][j] === v[0][0][j][2 - i]);
});

Deno.test("prototypeLogits: minus the squared distance to each class mean, against a direct loop", async () => {
  const support = tensor([[0, 0], [2, 0], [0, 4], [0, 2]]); // class 0 mean [1, 0], class 1 mean [0, 3]
  const queries = tensor([[1, 1], [-1, 3]]);
  const logits = await prototypeLogits(support, 2, queries).tolist() as number[][];
  const means = [[1, 0], [0, 3]], q = [[1, 1], [-1, 3]];
  for (let i = 0; i < 2; i++) {
    for (let c = 0; c < 2; c++) {
      const d = (q[i][0] - means[c][0]) ** 2 + (q[i][1] - means[c][1]) ** 2;
      ok(Math.abs(logits[i][c] + d) < 1e-5, `query ${i} class ${c}: ${logits[i][c]} vs ${-d}`);
    }
  }
});

Deno.test("sampleEpisode draws disjoint support and queries of the chosen classes, labelled by position", async () => {
  const labels = Int32Array.from({ length: 60 }, (_, i) => i % 6);
  const pool = { x: arange(60).reshape([60, 1, 1, 1]), y: tensor(labels), labels };
  const e = sampleEpisode(pool, [0, 1, 2, 3, 4, 5], 3, 2, 4, new Generator(1));
  const s = await e.support.reshape([-1]).tolist() as number[], q = await e.query.reshape([-1]).tolist() as number[];
  const ql = await e.queryLabels.tolist() as number[];
  ok(s.length === 6 && q.length === 12 && new Set([...s, ...q]).size === 18);
  s.forEach((v, i) => ok(v % 6 === e.classes[Math.floor(i / 2)]));
  q.forEach((v, i) => ok(v % 6 === e.classes[ql[i]] && ql[i] === Math.floor(i / 4)));
});

Deno.test("protonets example, tiny run: the trained embedding beats the untrained one on unseen digits", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await main(["--quick", "--out", out]);
    for (const shot of [1, 5]) {
      ok(r.protonet[shot].mean > r.untrained[shot].mean + 0.03, `${shot}-shot: ${JSON.stringify(r)}`);
      ok(r.protonet[shot].mean > 0.3 && r.protonet[shot].ci95 > 0 && r.protonet[shot].ci95 < 0.1);
    }
    ok((await Deno.stat(`${out}/episode.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
