// The graph examples in small: their networks learn what they are meant to (well above chance), quickly.
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Generator } from "../mod.ts";
import { trainKarate } from "./karate_gcn.ts";
import { barabasiAlbert, erdosRenyi, trainGraphClassifier, wattsStrogatz } from "./graph_classification.ts";
import { deepWalk, twoMeans } from "./deepwalk.ts";

Deno.test("karate GCN: two labelled members teach the other 32 (>= 85%); an MLP without edges cannot (< 75%)", async () => {
  const gcn = await trainKarate({ epochs: 60 });
  const mlp = await trainKarate({ epochs: 60, model: "mlp" });
  ok(gcn.accuracy >= 0.85, `GCN accuracy ${gcn.accuracy}`);
  ok(mlp.accuracy < 0.75, `MLP accuracy ${mlp.accuracy}`);
  ok(gcn.losses[1] < 0.2 * gcn.losses[0], `loss ${gcn.losses}`);
});

Deno.test("graph classification: the generators make what they say; a short run beats chance (1/3) by far", async () => {
  const g = new Generator(1);
  const ws = wattsStrogatz(20, g, 4, 0);
  equal(ws.length, 40, "a ring lattice of 20 nodes and 4 neighbours has 40 edges");
  const deg = (edges: [number, number][], n: number) => {
    const d = new Array(n).fill(0);
    for (const [a, b] of edges) d[a]++, d[b]++;
    return d;
  };
  deepStrictEqual(new Set(deg(ws, 20)), new Set([4]));
  equal(barabasiAlbert(30, g).length, 3 + 2 * 27, "3 edges among the first 3 nodes, then 2 per node");
  ok(Math.max(...deg(barabasiAlbert(30, g), 30)) > Math.max(...deg(erdosRenyi(30, g), 30)), "BA grows hubs");
  const r = await trainGraphClassifier({ graphs: 150, epochs: 4 });
  ok(r.testAccuracy[r.testAccuracy.length - 1] > 0.6, `test accuracy ${r.testAccuracy}`);
  ok(r.losses[r.losses.length - 1] < r.losses[0], `loss ${r.losses}`);
});

Deno.test("DeepWalk: walks alone place members with their faction's leader (>= 80%), and 2-means finds the split", async () => {
  const r = await deepWalk({ walksPerNode: 10, walkLength: 10, epochs: 2 });
  ok(r.leaderAccuracy >= 0.8, `nearer-leader accuracy ${r.leaderAccuracy}`);
  ok(r.clusterAgreement >= 30, `2-means agreement ${r.clusterAgreement}/34`);
  const rows = [[1, 0], [0.9, 0.1], [0, 1], [0.2, 0.9]].map((v) => Float32Array.from(v));
  deepStrictEqual(twoMeans(rows, [0, 2]), [0, 0, 1, 1]);
});
