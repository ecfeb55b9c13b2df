/**
 * Graph classification on graphs the example generates: which random-graph
 * model made a graph — Erdős–Rényi (every edge independent), Barabási–Albert
 * (preferential attachment: hubs) or Watts–Strogatz (a ring lattice with a
 * few rewired edges: clustered, even degrees) — all with 12–30 nodes and
 * about four edges per node on average. Nodes know only their degree
 * (one-hot, capped at 9). Two GCN layers, mean and sum pooling over each
 * graph of a mini-batch (`graph.Batch`), and a linear classifier.
 *
 *   deno run -A examples/graph_classification.ts [--graphs 900] [--epochs 20] [--batch-size 32] [--lr 0.005]
 *     [--seed 0] [--device cpu|webgpu] [--out graphcls_out]
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  cat,
  crossEntropy,
  Generator,
  gpu,
  graph,
  manualSeed,
  models,
  nn,
  optim,
  type Tensor,
  tensor,
} from "../mod.ts";

/** The graph families, by class number. */
export const FAMILIES = ["Erdős–Rényi", "Barabási–Albert", "Watts–Strogatz"] as const;
/** Degrees at or above this share the last one-hot slot. */
export const MAX_DEGREE = 9;

/** An undirected simple graph as a list of pairs `a < b`. */
type Edges = [number, number][];

function addEdge(set: Set<string>, edges: Edges, a: number, b: number): boolean {
  if (a === b) return false;
  const [u, v] = a < b ? [a, b] : [b, a];
  const key = `${u},${v}`;
  if (set.has(key)) return false;
  set.add(key);
  edges.push([u, v]);
  return true;
}

/** G(n, p) with p = 4 / (n − 1): every pair joined independently. */
export function erdosRenyi(n: number, g: Generator): Edges {
  const p = 4 / (n - 1), edges: Edges = [], set = new Set<string>();
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (g.random() < p) addEdge(set, edges, a, b);
  return edges;
}

/** Preferential attachment: each new node joins 2 existing ones chosen in proportion to their degree. */
export function barabasiAlbert(n: number, g: Generator, m = 2): Edges {
  const edges: Edges = [], set = new Set<string>(), ends: number[] = [];
  for (let a = 0; a <= m; a++) {
    for (let b = a + 1; b <= m; b++) {
      addEdge(set, edges, a, b);
      ends.push(a, b);
    }
  }
  for (let v = m + 1; v < n; v++) {
    let added = 0;
    while (added < m) {
      const u = ends[Math.floor(g.random() * ends.length)];
      if (addEdge(set, edges, u, v)) {
        ends.push(u, v);
        added++;
      }
    }
  }
  return edges;
}

/** A ring where each node joins its 2 nearest neighbours on each side, each edge rewired with probability 0.1. */
export function wattsStrogatz(n: number, g: Generator, k = 4, beta = 0.1): Edges {
  const edges: Edges = [], set = new Set<string>();
  for (let a = 0; a < n; a++) {
    for (let j = 1; j <= k / 2; j++) {
      let b = (a + j) % n;
      if (g.random() < beta) {
        for (let tries = 0; tries < 10; tries++) {
          const c = Math.floor(g.random() * n);
          if (c !== a && !set.has(a < c ? `${a},${c}` : `${c},${a}`)) {
            b = c;
            break;
          }
        }
      }
      addEdge(set, edges, a, b);
    }
  }
  return edges;
}

/** A graph of family `label` with `n` nodes as `GraphData`: degree one-hot features, edges both ways, `y` the family. */
export function makeGraph(label: number, n: number, g: Generator): graph.GraphData {
  const edges = [erdosRenyi, barabasiAlbert, wattsStrogatz][label](n, g);
  const degree = new Array(n).fill(0);
  const src: number[] = [], dst: number[] = [];
  for (const [a, b] of edges) {
    degree[a]++, degree[b]++;
    src.push(a, b);
    dst.push(b, a);
  }
  const x = new Float32Array(n * (MAX_DEGREE + 1));
  degree.forEach((d, i) => x[i * (MAX_DEGREE + 1) + Math.min(d, MAX_DEGREE)] = 1);
  return new graph.GraphData({
    x: tensor(x, { shape: [n, MAX_DEGREE + 1] }),
    edgeIndex: tensor(Int32Array.from([...src, ...dst]), { dtype: "int32", shape: [2, src.length] }),
    y: tensor([label], { dtype: "int32" }),
  });
}

/** `count` graphs, the families in turn, 12–30 nodes each. */
export function makeDataset(count: number, g: Generator): graph.GraphData[] {
  return Array.from({ length: count }, (_, i) => makeGraph(i % 3, 12 + Math.floor(g.random() * 19), g));
}

/** Two GCN layers, mean and sum pooling per graph, and a linear classifier. */
export class GraphClassifier extends nn.Module {
  /** First graph convolution. */
  conv1: graph.GCNConv;
  /** Second graph convolution. */
  conv2: graph.GCNConv;
  /** The classifier over the pooled features. */
  head: nn.Linear;

  /** A classifier of graphs with `features` per node into `classes`. */
  constructor(features: number, hidden: number, classes: number) {
    super();
    this.conv1 = new graph.GCNConv(features, hidden);
    this.conv2 = new graph.GCNConv(hidden, hidden);
    this.head = new nn.Linear(2 * hidden, classes);
  }

  /** Class scores `[numGraphs, classes]` of a batch. */
  override forward(b: graph.Batch): Tensor {
    let h = this.conv1.forward(b.x!, b.edgeIndex).relu();
    h = this.conv2.forward(h, b.edgeIndex).relu();
    // Sum pooling is scaled down so graphs of 12 and 30 nodes give features of one size.
    const pooled = cat([
      graph.globalMeanPool(h, b.batch, b.numGraphs),
      graph.globalAddPool(h, b.batch, b.numGraphs).div(20),
    ], 1);
    return this.head.forward(pooled);
  }
}

/** Options of {@link trainGraphClassifier}. */
export interface GraphClassificationOptions {
  /** Graphs generated, two thirds to train, one third to test (default 900). */
  graphs?: number;
  /** Passes over the training graphs (default 20). */
  epochs?: number;
  /** Graphs per mini-batch (default 32). */
  batchSize?: number;
  /** Adam's learning rate (default 0.005). */
  lr?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Device (default "cpu"). */
  device?: string;
  /** Called after each epoch. */
  onEpoch?: (epoch: number, loss: number, testAccuracy: number) => void;
}

/** What {@link trainGraphClassifier} returns. */
export interface GraphClassificationResult {
  /** The trained model. */
  model: GraphClassifier;
  /** Test accuracy after each epoch. */
  testAccuracy: number[];
  /** Mean training loss of each epoch. */
  losses: number[];
  /** `confusion[true][predicted]` on the test graphs after training. */
  confusion: number[][];
}

/** Generates the graphs, trains, and evaluates on the held-out third. */
export async function trainGraphClassifier(
  options: GraphClassificationOptions = {},
): Promise<GraphClassificationResult> {
  const device = options.device ?? "cpu";
  const seed = options.seed ?? 0;
  manualSeed(seed);
  const g = new Generator(seed);
  const all = makeDataset(options.graphs ?? 900, g).map((d) => (device === "cpu" ? d : d.to(device)));
  const split = Math.floor(all.length * 2 / 3);
  const train = all.slice(0, split), test = all.slice(split);
  const model = new GraphClassifier(MAX_DEGREE + 1, 32, 3);
  model.to(device);
  const opt = new optim.Adam(model.parameters(), { lr: options.lr ?? 0.005 });
  const batchSize = options.batchSize ?? 32;
  const testBatch = graph.Batch.fromDataList(test);
  const testY = Array.from(await testBatch.y!.data());
  const testAccuracy: number[] = [], losses: number[] = [];
  let confusion: number[][] = [];
  for (let epoch = 1; epoch <= (options.epochs ?? 20); epoch++) {
    model.train();
    const order = g.randperm(train.length);
    let lossSum = 0, batches = 0;
    for (let i = 0; i < order.length; i += batchSize) {
      const b = graph.Batch.fromDataList(order.slice(i, i + batchSize).map((k) => train[k]));
      opt.zeroGrad();
      const loss = crossEntropy(model.forward(b), b.y!);
      loss.backward();
      opt.step();
      lossSum += await loss.item();
      batches++;
    }
    model.eval();
    const pred = Array.from(await model.forward(testBatch).argmax(1).data());
    confusion = FAMILIES.map(() => FAMILIES.map(() => 0));
    pred.forEach((p, i) => confusion[testY[i]][p]++);
    const acc = pred.filter((p, i) => p === testY[i]).length / pred.length;
    testAccuracy.push(acc);
    losses.push(lossSum / batches);
    options.onEpoch?.(epoch, lossSum / batches, acc);
  }
  return { model, testAccuracy, losses, confusion };
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      graphs: { type: "string", default: "900" },
      epochs: { type: "string", default: "20" },
      "batch-size": { type: "string", default: "32" },
      lr: { type: "string", default: "0.005" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "graphcls_out" },
    },
  });
  if (a.device === "webgpu") await gpu.useWebGPU();
  else if (a.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${a.device}"`);
  const graphs = Number(a.graphs);
  console.log(
    `${graphs} generated graphs (${FAMILIES.join(", ")}), 12-30 nodes, ~4 edges per node; ` +
      `train ${Math.floor(graphs * 2 / 3)}, test ${graphs - Math.floor(graphs * 2 / 3)}`,
  );
  const start = performance.now();
  const r = await trainGraphClassifier({
    graphs,
    epochs: Number(a.epochs),
    batchSize: Number(a["batch-size"]),
    lr: Number(a.lr),
    seed: Number(a.seed),
    device: a.device,
    onEpoch: (e, loss, acc) =>
      console.log(`epoch ${String(e).padStart(3)}  loss ${loss.toFixed(4)}  test accuracy ${(100 * acc).toFixed(1)}%`),
  });
  console.log(`\n| true \\ predicted | ${FAMILIES.join(" | ")} | accuracy |`);
  console.log(`|---|${FAMILIES.map(() => "---:").join("|")}|---:|`);
  r.confusion.forEach((row, i) => {
    const total = row.reduce((s, v) => s + v, 0);
    console.log(`| ${FAMILIES[i]} | ${row.join(" | ")} | ${(100 * row[i] / total).toFixed(1)}% |`);
  });
  console.log(
    `\ntest accuracy ${(100 * r.testAccuracy[r.testAccuracy.length - 1]).toFixed(1)}% (chance 33.3%) after ${
      ((performance.now() - start) / 1000).toFixed(1)
    } s`,
  );
  await Deno.mkdir(a.out, { recursive: true });
  await models.saveSafetensors(r.model.stateDict(), `${a.out}/graph_classifier.safetensors`);
  console.log(`wrote ${a.out}/graph_classifier.safetensors`);
}

if (import.meta.main) await main();
