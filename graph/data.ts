/**
 * Graphs as PyTorch Geometric holds them: `GraphData` (PyG's `Data`: node
 * features `x`, an int32 `edgeIndex` `[2, E]`, targets `y`, edge features)
 * and `Batch` (PyG's `Batch`): many graphs as one disconnected graph whose
 * `batch` vector names each node's graph, so one forward pass runs them all.
 *
 * @module
 */

import { cat, fmtShape, type Tensor, tensor } from "./deps.ts";
import { checkEdgeIndex } from "./edge_index.ts";

/** What a {@link GraphData} is made of. */
export interface GraphDataInit {
  /** Node features `[numNodes, F]`. */
  x?: Tensor | null;
  /** Edges, int32 `[2, E]`: sources in row 0, targets in row 1. */
  edgeIndex: Tensor;
  /** Targets: one per node (`[numNodes, ...]`) or per graph (`[1, ...]` or a scalar). */
  y?: Tensor | null;
  /** Edge features `[E, ...]`. */
  edgeAttr?: Tensor | null;
  /** The number of nodes (default: `x`'s rows). */
  numNodes?: number;
}

/**
 * One graph (PyG's `Data`), checked when made: the edges' node ids against
 * the number of nodes, `x`'s and `edgeAttr`'s rows against the nodes and
 * edges, everything on one device.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import { GraphData } from "./data.ts";
 * const g = new GraphData({ x: randn([3, 4]), edgeIndex: tensor([[0, 1], [1, 2]], { dtype: "int32" }) });
 * console.log(g.numNodes, g.numEdges); // 3 2
 * ```
 */
export class GraphData {
  /** Node features, or null. */
  readonly x: Tensor | null;
  /** Edges `[2, E]`. */
  readonly edgeIndex: Tensor;
  /** Targets, or null. */
  readonly y: Tensor | null;
  /** Edge features, or null. */
  readonly edgeAttr: Tensor | null;
  /** The number of nodes. */
  readonly numNodes: number;

  /** A graph from its parts (see {@link GraphDataInit}). */
  constructor(init: GraphDataInit) {
    const op = "GraphData";
    const x = init.x ?? null;
    const numNodes = init.numNodes ?? x?.shape[0];
    if (numNodes === undefined || !Number.isInteger(numNodes) || numNodes < 0) {
      throw new RangeError(`${op}: give numNodes (a non-negative integer) or node features x, got ${numNodes}`);
    }
    if (x && (x.ndim < 1 || x.shape[0] !== numNodes)) {
      throw new RangeError(`${op}: x ${fmtShape(x.shape)} must have one row per node (${numNodes})`);
    }
    checkEdgeIndex(op, init.edgeIndex, numNodes, x?.device);
    const e = init.edgeIndex.shape[1];
    const edgeAttr = init.edgeAttr ?? null;
    if (edgeAttr && (edgeAttr.ndim < 1 || edgeAttr.shape[0] !== e)) {
      throw new RangeError(`${op}: edgeAttr ${fmtShape(edgeAttr.shape)} must have one row per edge (${e})`);
    }
    for (const [name, t] of [["y", init.y], ["edgeAttr", edgeAttr]] as const) {
      if (t && t.device !== init.edgeIndex.device) {
        throw new Error(`${op}: ${name} is on "${t.device}" but edgeIndex on "${init.edgeIndex.device}"`);
      }
    }
    this.x = x;
    this.edgeIndex = init.edgeIndex;
    this.y = init.y ?? null;
    this.edgeAttr = edgeAttr;
    this.numNodes = numNodes;
  }

  /** The number of edges. */
  get numEdges(): number {
    return this.edgeIndex.shape[1];
  }

  /** The number of node features (0 without `x`). */
  get numNodeFeatures(): number {
    return this.x && this.x.ndim > 1 ? this.x.shape[1] : 0;
  }

  /** The same graph with every tensor on `device`. */
  to(device: string): GraphData {
    return new GraphData({
      x: this.x?.to(device),
      edgeIndex: this.edgeIndex.to(device),
      y: this.y?.to(device),
      edgeAttr: this.edgeAttr?.to(device),
      numNodes: this.numNodes,
    });
  }
}

/**
 * Graphs concatenated into one (PyG's `Batch`): node features and targets
 * stacked along dim 0, every graph's edges shifted by the nodes before it,
 * `batch[i]` the graph of node i and `ptr` where each graph's nodes start.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import { Batch, GraphData } from "./data.ts";
 * const edges = tensor([[0, 1], [1, 0]], { dtype: "int32" });
 * const b = Batch.fromDataList([
 *   new GraphData({ x: randn([2, 3]), edgeIndex: edges }),
 *   new GraphData({ x: randn([3, 3]), edgeIndex: edges }),
 * ]);
 * console.log(b.numGraphs, b.ptr, await b.batch.tolist(), await b.edgeIndex.tolist());
 * // 2 [0, 2, 5] [0, 0, 1, 1, 1] [[0, 1, 2, 3], [1, 0, 3, 2]]
 * ```
 */
export class Batch extends GraphData {
  /** The graph of each node, int32 `[numNodes]`. */
  readonly batch: Tensor;
  /** Where each graph's nodes start, with the total at the end (`numGraphs + 1` numbers). */
  readonly ptr: readonly number[];
  /** Where each graph's edges start, with the total at the end. */
  readonly edgePtr: readonly number[];
  /** The number of graphs. */
  readonly numGraphs: number;

  /** Internal: use {@link Batch.fromDataList}. */
  constructor(init: GraphDataInit, batch: Tensor, ptr: readonly number[], edgePtr: readonly number[]) {
    super(init);
    this.batch = batch;
    this.ptr = ptr.slice();
    this.edgePtr = edgePtr.slice();
    this.numGraphs = ptr.length - 1;
  }

  /** One graph made of `graphs` (all with `x`, `y`, `edgeAttr` alike, on one device), checked before anything is built. */
  static fromDataList(graphs: readonly GraphData[]): Batch {
    const op = "Batch.fromDataList";
    if (!Array.isArray(graphs) || graphs.length === 0) {
      throw new RangeError(`${op}: expected a non-empty list of graphs`);
    }
    const first = graphs[0];
    graphs.forEach((g, i) => {
      if (!(g instanceof GraphData)) throw new TypeError(`${op}: item ${i} is not a GraphData`);
      if (g.edgeIndex.device !== first.edgeIndex.device) {
        throw new Error(`${op}: graph ${i} is on "${g.edgeIndex.device}", graph 0 on "${first.edgeIndex.device}"`);
      }
      for (const key of ["x", "y", "edgeAttr"] as const) {
        const a = first[key], b = g[key];
        if ((a === null) !== (b === null)) {
          throw new Error(`${op}: graph ${i} ${b ? "has" : "lacks"} ${key}, graph 0 not`);
        }
        if (a && b && key !== "y" && fmtShape(a.shape.slice(1)) !== fmtShape(b.shape.slice(1))) {
          throw new RangeError(
            `${op}: graph ${i} has ${key} ${fmtShape(b.shape)}, whose rows differ from graph 0's ${fmtShape(a.shape)}`,
          );
        }
      }
    });
    const ptr = [0], edgePtr = [0];
    for (const g of graphs) {
      ptr.push(ptr[ptr.length - 1] + g.numNodes);
      edgePtr.push(edgePtr[edgePtr.length - 1] + g.numEdges);
    }
    const device = first.edgeIndex.device;
    const batch = tensor(
      Int32Array.from({ length: ptr[ptr.length - 1] }, (_, i) => {
        let lo = 0, hi = graphs.length - 1;
        while (lo < hi) { // the last graph whose first node is <= i
          const mid = (lo + hi + 1) >> 1;
          if (ptr[mid] <= i) lo = mid;
          else hi = mid - 1;
        }
        return lo;
      }),
      { dtype: "int32", device },
    );
    const edgeIndex = cat(graphs.map((g, i) => (ptr[i] === 0 ? g.edgeIndex : g.edgeIndex.add(ptr[i]))), 1);
    const stack = (
      ts: (Tensor | null)[],
    ) => (ts[0] ? cat(ts.map((t) => (t!.ndim === 0 ? t!.reshape([1]) : t!)), 0) : null);
    return new Batch(
      {
        x: stack(graphs.map((g) => g.x)),
        edgeIndex,
        y: stack(graphs.map((g) => g.y)),
        edgeAttr: stack(graphs.map((g) => g.edgeAttr)),
        numNodes: ptr[ptr.length - 1],
      },
      batch,
      ptr,
      edgePtr,
    );
  }

  /** Graph `i` back on its own (its nodes renumbered from 0). */
  getExample(i: number): GraphData {
    if (!Number.isInteger(i) || i < 0 || i >= this.numGraphs) {
      throw new RangeError(`Batch.getExample: index ${i} is out of range for ${this.numGraphs} graphs`);
    }
    const [n0, n1] = [this.ptr[i], this.ptr[i + 1]], [e0, e1] = [this.edgePtr[i], this.edgePtr[i + 1]];
    const perNodeY = this.y !== null && this.y.shape[0] === this.numNodes;
    return new GraphData({
      x: this.x?.narrow(0, n0, n1 - n0),
      edgeIndex: this.edgeIndex.narrow(1, e0, e1 - e0).sub(n0),
      y: this.y === null ? null : perNodeY ? this.y.narrow(0, n0, n1 - n0) : this.y.narrow(0, i, 1),
      edgeAttr: this.edgeAttr?.narrow(0, e0, e1 - e0),
      numNodes: n1 - n0,
    });
  }
}
