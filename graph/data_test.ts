// GraphData and Batch (PyG's Data and Batch), and the karate club data file.
import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { Generator, randn, type Tensor, tensor } from "@dendrite/tensor";
import { Batch, GraphData, KARATE_EDGES, KARATE_FACTIONS, karateClub, randomWalks, toUndirected } from "./mod.ts";

const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const vals = (t: Tensor) => Array.from(t.dataSync());

Deno.test("Batch.fromDataList shifts each graph's edges, stacks features and targets, and splits back", () => {
  const a = new GraphData({ x: randn([2, 3]), edgeIndex: int([[0, 1], [1, 0]]), y: int([1]) });
  const b = new GraphData({ x: randn([3, 3]), edgeIndex: int([[0, 2, 1], [1, 1, 2]]), y: int([0]) });
  const batch = Batch.fromDataList([a, b, a]);
  equal(batch.numGraphs, 3);
  equal(batch.numNodes, 7);
  deepStrictEqual(batch.ptr, [0, 2, 5, 7]);
  deepStrictEqual(vals(batch.batch), [0, 0, 1, 1, 1, 2, 2]);
  deepStrictEqual(vals(batch.edgeIndex), [0, 1, 2, 4, 3, 5, 6, 1, 0, 3, 3, 4, 6, 5]);
  deepStrictEqual(vals(batch.y!), [1, 0, 1]);
  deepStrictEqual(vals(batch.x!).slice(6, 15), vals(b.x!));
  const back = batch.getExample(1);
  deepStrictEqual(vals(back.edgeIndex), vals(b.edgeIndex));
  deepStrictEqual(vals(back.x!), vals(b.x!));
  deepStrictEqual(vals(back.y!), [0]);
});

Deno.test("GraphData and Batch check their parts before anything is built", () => {
  throws(
    () => new GraphData({ x: randn([2, 3]), edgeIndex: int([[0, 2], [1, 0]]) }),
    /GraphData: edgeIndex\[0, 1\] = 2 is out of range for 2 nodes/,
  );
  throws(
    () => new GraphData({ x: randn([2, 3]), edgeIndex: int([[0], [1]]), numNodes: 3 }),
    /x \[2, 3\] must have one row per node \(3\)/,
  );
  throws(
    () => new GraphData({ edgeIndex: int([[0], [1]]) }),
    /give numNodes \(a non-negative integer\) or node features x/,
  );
  throws(
    () => new GraphData({ x: randn([2, 3]), edgeIndex: int([[0], [1]]), edgeAttr: randn([2, 1]) }),
    /edgeAttr \[2, 1\] must have one row per edge \(1\)/,
  );
  const a = new GraphData({ x: randn([2, 3]), edgeIndex: int([[0], [1]]) });
  const c = new GraphData({ x: randn([2, 4]), edgeIndex: int([[0], [1]]) });
  throws(
    () => Batch.fromDataList([a, c]),
    /Batch.fromDataList: graph 1 has x \[2, 4\], whose rows differ from graph 0's \[2, 3\]/,
  );
  throws(() => Batch.fromDataList([]), /expected a non-empty list of graphs/);
  throws(() => Batch.fromDataList([a]).getExample(1), /Batch.getExample: index 1 is out of range for 1 graphs/);
});

Deno.test("the karate club: 34 members, 78 friendships (both ways: 156 edges), 17 + 17 in the factions", () => {
  const g = karateClub();
  equal(g.numNodes, 34);
  equal(KARATE_EDGES.length, 78);
  equal(g.numEdges, 156);
  equal(toUndirected(g.edgeIndex).shape[1], 156, "every edge is there both ways already");
  ok(KARATE_EDGES.every(([a, b]) => a < b && b < 34), "pairs a < b within range");
  equal(new Set(KARATE_EDGES.map(([a, b]) => `${a},${b}`)).size, 78, "no repeated friendship");
  // Degrees from Zachary's matrix: Mr. Hi (0) has 16 friends, the Officer (33) 17, member 11 one.
  const deg = new Array(34).fill(0);
  for (const [a, b] of KARATE_EDGES) deg[a]++, deg[b]++;
  deepStrictEqual([deg[0], deg[33], deg[11], deg[32]], [16, 17, 1, 12]);
  equal(KARATE_FACTIONS.filter((f) => f === 0).length, 17);
  deepStrictEqual([KARATE_FACTIONS[0], KARATE_FACTIONS[33], KARATE_FACTIONS[8], KARATE_FACTIONS[9]], [0, 1, 0, 1]);
  deepStrictEqual(vals(g.y!), KARATE_FACTIONS);
});

Deno.test("randomWalks follow edges, start from every node each round, and bias back-steps with node2vec's p", () => {
  const g = karateClub();
  const walks = randomWalks(g.edgeIndex, 34, { walkLength: 12, walksPerNode: 3, generator: new Generator(4) });
  equal(walks.length, 102);
  const friends = new Set(KARATE_EDGES.flatMap(([a, b]) => [`${a},${b}`, `${b},${a}`]));
  for (const w of walks) {
    for (let k = 1; k < w.length; k++) ok(friends.has(`${w[k - 1]},${w[k]}`), `step ${w[k - 1]}->${w[k]}`);
  }
  for (let r = 0; r < 3; r++) {
    deepStrictEqual(walks.slice(r * 34, r * 34 + 34).map((w) => w[0]).sort((a, b) => a - b), [...Array(34).keys()]);
  }
  // A path 0 - 1 - 2: from 1 (having come from 0) a walk returns to 0 with weight 1/p against 1/q for 2.
  const path = int([[0, 1, 1, 2], [1, 0, 2, 1]]);
  const backs = (p: number, q: number) =>
    randomWalks(path, 3, { walkLength: 3, walksPerNode: 400, p, q, generator: new Generator(5) })
      .filter((w) => w[0] === 0).filter((w) => w[2] === 0).length / 400;
  ok(backs(1, 1) > 0.4 && backs(1, 1) < 0.6, `uniform: ${backs(1, 1)}`);
  ok(backs(0.25, 4) > 0.9, `p = 1/4, q = 4 return: ${backs(0.25, 4)}`);
  ok(backs(4, 0.25) < 0.1, `p = 4, q = 1/4 go on: ${backs(4, 0.25)}`);
  throws(() => randomWalks(path, 2), /randomWalks: edgeIndex\[0, 3\] = 2 is out of range for 2 nodes/);
});
