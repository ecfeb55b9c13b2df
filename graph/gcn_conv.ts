/**
 * The graph convolution of Kipf & Welling (2017), PyTorch Geometric's
 * `GCNConv`: `X' = D̂^{-1/2} Â D̂^{-1/2} X Θ + b`, with `Â = A + I` (self-loops
 * of weight 1, or 2 when `improved`) and `D̂` its degree matrix.
 *
 * @module
 */

import { keep, nn, noGrad, ones, type Tensor, tensor, zeros } from "./deps.ts";
import { cat } from "./deps.ts";
import { checkEdgeIndex, checkEdgeWeight, checkNodeFeatures } from "./edge_index.ts";
import { type MessageContext, type MessageFlow, MessagePassing } from "./message_passing.ts";

/** Options of {@link gcnNorm}. */
export interface GcnNormOptions {
  /** Self-loops weigh 2 instead of 1 (default false). */
  improved?: boolean;
  /** Add the self-loops (default true). */
  addSelfLoops?: boolean;
  /** Which way messages flow (default "source_to_target": degrees are counted at the targets). */
  flow?: MessageFlow;
  /** Dtype of the weights when none are given (default float32). */
  dtype?: "float32" | "float64";
}

/**
 * GCN's symmetric normalisation (PyG's `gcn_norm`): adds a self-loop to every
 * node (an existing self-loop keeps its weight in place of the fill value),
 * then weighs edge `(j → i)` by `w / √(deg(j)·deg(i))` with degrees summed
 * over the weights at the receiving end. Returns the new edges and weights.
 */
export function gcnNorm(
  edgeIndex: Tensor,
  edgeWeight: Tensor | null,
  numNodes: number,
  options: GcnNormOptions = {},
): { edgeIndex: Tensor; edgeWeight: Tensor } {
  const device = edgeIndex.device;
  const dtype = edgeWeight?.dtype ?? options.dtype ?? "float32";
  let ei = edgeIndex;
  let w = edgeWeight ?? ones([edgeIndex.shape[1]], { dtype, device });
  if (options.addSelfLoops ?? true) {
    // PyG's add_remaining_self_loops, without a host read: an existing loop stays in the list with weight 0 and
    // lends its weight to the node's new loop (several loops on one node add up).
    const fill = options.improved ? 2 : 1;
    const from = ei.select(0, 0);
    const isLoop = from.eq(ei.select(0, 1));
    const loopWeight = zeros([numNodes], { dtype, device }).scatterAdd(0, from, w.where(isLoop, 0));
    const hasLoop = zeros([numNodes], { dtype, device }).scatterAdd(0, from, isLoop.to(dtype));
    const loops = tensor(Int32Array.from({ length: 2 * numNodes }, (_, k) => k % numNodes), {
      dtype: "int32",
      device,
      shape: [2, numNodes],
    });
    ei = cat([ei, loops], 1);
    w = cat([w.where(isLoop.logicalNot(), 0), loopWeight.where(hasLoop.gt(0), fill)], 0);
  }
  const [row, col] = [ei.select(0, 0), ei.select(0, 1)];
  const at = (options.flow ?? "source_to_target") === "source_to_target" ? col : row;
  const deg = zeros([numNodes], { dtype, device }).scatterAdd(0, at, w);
  // deg^-1/2 with 0 for isolated nodes; the clamp keeps the gradient finite there.
  const inv = deg.clamp(1e-30).rsqrt().where(deg.gt(0), 0);
  return { edgeIndex: ei, edgeWeight: inv.indexSelect(0, row).mul(w).mul(inv.indexSelect(0, col)) };
}

/** Options of {@link GCNConv}. */
export interface GCNConvOptions {
  /** Self-loops weigh 2 (`Â = A + 2I`) (default false). */
  improved?: boolean;
  /**
   * Compute the normalised edges once and reuse them on later calls (default false): for a fixed graph
   * (transductive learning); later calls then ignore the edges they are given, as PyG does.
   */
  cached?: boolean;
  /** Add self-loops (default true). */
  addSelfLoops?: boolean;
  /** Apply the symmetric normalisation (default true); false uses the edge weights as they are. */
  normalize?: boolean;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: "float32" | "float64";
  /** Parameter device. */
  device?: string;
}

/**
 * PyG's `GCNConv(inChannels, outChannels)`: parameters `lin.weight`
 * `[out, in]` (Glorot-initialised) and `bias` `[out]` (zeros), as PyG names
 * them. `forward(x, edgeIndex, edgeWeight?)` with `x` `[N, in]` and an
 * int32 `edgeIndex` `[2, E]` gives `[N, out]`.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import { GCNConv } from "./gcn_conv.ts";
 * const conv = new GCNConv(4, 2);
 * const edges = tensor([[0, 1, 1, 2], [1, 0, 2, 1]], { dtype: "int32" }); // a path 0 - 1 - 2
 * console.log(conv.forward(randn([3, 4]), edges).shape); // [3, 2]
 * ```
 */
export class GCNConv extends MessagePassing {
  /** The linear map Θ, without bias. */
  lin: nn.Linear;
  /** `[outChannels]`, or null. */
  bias: nn.Parameter | null;
  /** Whether self-loops weigh 2. */
  readonly improved: boolean;
  /** Whether the normalised edges are computed once. */
  readonly cached: boolean;
  /** Whether self-loops are added. */
  readonly addSelfLoops: boolean;
  /** Whether the symmetric normalisation is applied. */
  readonly normalize: boolean;
  #cache: { edgeIndex: Tensor; edgeWeight: Tensor } | null = null;

  /** A layer from `inChannels` to `outChannels` features per node. */
  constructor(readonly inChannels: number, readonly outChannels: number, options: GCNConvOptions = {}) {
    super("add");
    checkChannels("GCNConv", inChannels, outChannels);
    this.improved = options.improved ?? false;
    this.cached = options.cached ?? false;
    this.addSelfLoops = options.addSelfLoops ?? true;
    this.normalize = options.normalize ?? true;
    this.lin = new nn.Linear(inChannels, outChannels, { bias: false, dtype: options.dtype, device: options.device });
    this.bias = (options.bias ?? true)
      ? new nn.Parameter(zeros([outChannels], { dtype: options.dtype ?? "float32", device: options.device }))
      : null;
    this.resetParameters();
  }

  /** Glorot-uniform weight, zero bias (PyG's initialisation); forgets the cached normalisation. */
  resetParameters(): void {
    noGrad(() => {
      nn.init.xavierUniform_(this.lin.weight);
      if (this.bias) nn.init.zeros_(this.bias);
    });
    this.#cache?.edgeIndex.dispose();
    this.#cache?.edgeWeight.dispose();
    this.#cache = null;
  }

  /** `D̂^{-1/2} Â D̂^{-1/2} x Θ + b` over the edges `edgeIndex` (optionally weighted). */
  override forward(x: Tensor, edgeIndex: Tensor, edgeWeight: Tensor | null = null): Tensor {
    const op = `GCNConv(${this.inChannels}, ${this.outChannels})`;
    checkNodeFeatures(op, x, this.inChannels);
    const n = x.shape[0];
    checkEdgeIndex(op, edgeIndex, n, x.device);
    checkEdgeWeight(op, edgeWeight, edgeIndex);
    let edges: { edgeIndex: Tensor; edgeWeight: Tensor | null } = { edgeIndex, edgeWeight };
    if (this.normalize) {
      if (this.#cache) edges = this.#cache;
      else {
        const norm = gcnNorm(edgeIndex, edgeWeight, n, {
          improved: this.improved,
          addSelfLoops: this.addSelfLoops,
          flow: this.flow,
          dtype: x.dtype as "float32" | "float64",
        });
        edges = norm;
        // The cache outlives the caller's tidy scope; a gradient never flows into it.
        if (this.cached) this.#cache = { edgeIndex: keep(norm.edgeIndex), edgeWeight: keep(norm.edgeWeight.detach()) };
      }
    }
    const h = this.lin.forward(x);
    const out = this.propagate(edges.edgeIndex, h, { edge: edges.edgeWeight ? { weight: edges.edgeWeight } : {} });
    return this.bias ? out.add(this.bias) : out;
  }

  /** `w_ji · Θx_j`: the source's transformed features scaled by the edge's normalised weight. */
  override message(ctx: MessageContext): Tensor {
    const w = ctx.edge.weight;
    return w ? ctx.xJ.mul(w.unsqueeze(1)) : ctx.xJ;
  }

  /** The layer's settings, for printing. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}${this.improved ? ", improved=true" : ""}${
      this.cached ? ", cached=true" : ""
    }`;
  }
}

/** Throws naming the layer unless both channel counts are positive integers. */
export function checkChannels(layer: string, inChannels: number, outChannels: number): void {
  if (!Number.isInteger(inChannels) || inChannels < 1 || !Number.isInteger(outChannels) || outChannels < 1) {
    throw new RangeError(
      `${layer}: inChannels and outChannels must be positive integers, got ${inChannels} and ${outChannels}`,
    );
  }
}
