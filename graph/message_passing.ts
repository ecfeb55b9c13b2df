/**
 * The base of graph layers, after PyTorch Geometric's `MessagePassing`: a
 * layer computes a message per edge (`message`), combines each node's
 * incoming messages (`aggregate`, a scatter over the edges' targets) and
 * turns the result into the node's new features (`update`). `GCNConv`,
 * `SAGEConv` and `GATConv` are their maths on top of it.
 *
 * @module
 */

import { nn, type Tensor, zeros } from "./deps.ts";

/** How a node combines its incoming messages (a node without any gets zeros). */
export type MessageAggregation = "add" | "sum" | "mean" | "max" | "min";

const AGGREGATIONS: readonly string[] = ["add", "sum", "mean", "max", "min"];

/** Which way messages flow along `edgeIndex` `[2, E]`: from row 0 to row 1 (PyG's default), or back. */
export type MessageFlow = "source_to_target" | "target_to_source";

/**
 * What `message` sees of one propagation: the edges, each edge's source
 * (`j`) and target (`i`) node, and per-edge views of node tensors.
 */
export class MessageContext {
  /** The edges messages flow along. */
  readonly edgeIndex: Tensor;
  /** Each edge's sending node `[E]` (PyG's `j`). */
  readonly source: Tensor;
  /** Each edge's receiving node `[E]` (PyG's `i`): messages are aggregated here. */
  readonly target: Tensor;
  /** The number of receiving nodes. */
  readonly numNodes: number;
  /** Per-edge tensors `[E, ...]` the layer passed to `propagate` (edge weights, attention scores). */
  readonly edge: Readonly<Record<string, Tensor>>;
  readonly #x: [Tensor, Tensor];

  /** A context for `edgeIndex` with node features `x` (sources, targets). */
  constructor(
    edgeIndex: Tensor,
    x: [Tensor, Tensor],
    flow: MessageFlow,
    numNodes: number,
    edge: Record<string, Tensor> = {},
  ) {
    this.edgeIndex = edgeIndex;
    this.edge = edge;
    const [s, t] = flow === "source_to_target" ? [0, 1] : [1, 0];
    this.source = edgeIndex.select(0, s);
    this.target = edgeIndex.select(0, t);
    this.numNodes = numNodes;
    this.#x = x;
  }

  /** The source node's features for every edge, `[E, ...]` (PyG's `x_j`). */
  get xJ(): Tensor {
    return this.#x[0].indexSelect(0, this.source);
  }

  /** The target node's features for every edge, `[E, ...]` (PyG's `x_i`). */
  get xI(): Tensor {
    return this.#x[1].indexSelect(0, this.target);
  }

  /** Any per-node tensor `[N, ...]` read at every edge's source, `[E, ...]`. */
  atSource(t: Tensor): Tensor {
    return t.indexSelect(0, this.source);
  }

  /** Any per-node tensor `[N, ...]` read at every edge's target, `[E, ...]`. */
  atTarget(t: Tensor): Tensor {
    return t.indexSelect(0, this.target);
  }
}

/** Options of {@link MessagePassing.propagate}. */
export interface PropagateOptions {
  /** The number of receiving nodes (default: the target features' rows). */
  numNodes?: number;
  /** Per-edge tensors `[E, ...]` that `message` reads from `ctx.edge`. */
  edge?: Record<string, Tensor>;
}

/**
 * A message-passing layer. Subclasses call {@link MessagePassing.propagate}
 * from `forward` and override `message` (default: the source's features),
 * `aggregate` (default: the `aggr` given to the constructor) and `update`
 * (default: the aggregate as it is).
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { MessagePassing } from "./message_passing.ts";
 * // Each node's new feature: the sum of its in-neighbours' features.
 * class SumNeighbours extends MessagePassing {
 *   constructor() {
 *     super("add");
 *   }
 *   override forward(x: ReturnType<typeof tensor>, edgeIndex: ReturnType<typeof tensor>) {
 *     return this.propagate(edgeIndex, x);
 *   }
 * }
 * const edges = tensor([[0, 1, 2], [1, 2, 1]], { dtype: "int32" });
 * console.log(await new SumNeighbours().forward(tensor([[1], [2], [4]]), edges).tolist()); // [[0], [5], [2]]
 * ```
 */
export abstract class MessagePassing extends nn.Module {
  /** How incoming messages combine. */
  readonly aggr: MessageAggregation;
  /** Which way messages flow. */
  readonly flow: MessageFlow;

  /** A layer aggregating with `aggr`, messages flowing along `flow`. */
  constructor(aggr: MessageAggregation = "add", flow: MessageFlow = "source_to_target") {
    super();
    if (!AGGREGATIONS.includes(aggr)) {
      throw new RangeError(`${new.target.name}: aggr must be one of ${AGGREGATIONS.join(", ")}, got "${aggr}"`);
    }
    if (flow !== "source_to_target" && flow !== "target_to_source") {
      throw new RangeError(`${new.target.name}: flow must be "source_to_target" or "target_to_source", got "${flow}"`);
    }
    this.aggr = aggr;
    this.flow = flow;
  }

  /**
   * Runs message → aggregate → update over `edgeIndex` with node features
   * `x` (or `[sourceFeatures, targetFeatures]` for a bipartite graph), for
   * `options.numNodes` receiving nodes (default: the target features' rows),
   * with per-edge tensors `options.edge` for `message` to read. The edge
   * index must already be checked (the layers do it first thing in `forward`).
   */
  propagate(edgeIndex: Tensor, x: Tensor | [Tensor, Tensor], options: PropagateOptions = {}): Tensor {
    const pair: [Tensor, Tensor] = Array.isArray(x) ? x : [x, x];
    const ctx = new MessageContext(edgeIndex, pair, this.flow, options.numNodes ?? pair[1].shape[0], options.edge);
    const messages = this.message(ctx);
    return this.update(this.aggregate(messages, ctx), ctx);
  }

  /** The message of every edge, `[E, ...]`; by default the source's features. */
  message(ctx: MessageContext): Tensor {
    return ctx.xJ;
  }

  /** Combines the messages `[E, ...]` at their targets into `[numNodes, ...]` with this layer's `aggr`. */
  aggregate(messages: Tensor, ctx: MessageContext): Tensor {
    return aggregateAt(messages, ctx.target, ctx.numNodes, this.aggr);
  }

  /** The node's new features from the aggregate; by default the aggregate itself. */
  update(aggregated: Tensor, _ctx: MessageContext): Tensor {
    return aggregated;
  }

  /** The layer's settings, for printing. */
  override extraRepr(): string {
    return `aggr="${this.aggr}"`;
  }
}

/**
 * The rows of `src` `[E, ...]` grouped by an already-checked `index` `[E]` into `[n, ...]`: summed (an index-add),
 * averaged, or their elementwise max or min (a scatter-reduce that leaves groups without rows at zero, as PyG does).
 */
export function aggregateAt(src: Tensor, index: Tensor, n: number, aggr: MessageAggregation): Tensor {
  const rest = src.shape.slice(1);
  const out = zeros([n, ...rest], { dtype: src.dtype, device: src.device });
  if (aggr === "max" || aggr === "min") {
    const at = index.reshape([index.shape[0], ...rest.map(() => 1)]).expand(src.shape);
    return out.scatterReduce(0, at, src, aggr === "max" ? "amax" : "amin", { includeSelf: false });
  }
  const summed = out.indexAdd(0, index, src);
  if (aggr !== "mean") return summed;
  const ones = zeros([index.shape[0]], { dtype: src.dtype, device: src.device }).add(1);
  const count = zeros([n], { dtype: src.dtype, device: src.device }).indexAdd(0, index, ones);
  return summed.div(count.clamp(1).reshape([n, ...rest.map(() => 1)]));
}
