/**
 * GraphSAGE (Hamilton et al., 2017), PyTorch Geometric's `SAGEConv` with the
 * mean aggregator: `x'_i = W₁ x_i + W₂ · mean_{j ∈ N(i)} x_j`.
 *
 * @module
 */

import { nn, type Tensor } from "./deps.ts";
import { checkEdgeIndex, checkNodeFeatures } from "./edge_index.ts";
import { checkChannels } from "./gcn_conv.ts";
import { type MessageAggregation, MessagePassing } from "./message_passing.ts";

/** Options of {@link SAGEConv}. */
export interface SAGEConvOptions {
  /** How neighbours combine: "mean" (default), or "add"/"sum". */
  aggr?: MessageAggregation;
  /** L2-normalise each output row (default false). */
  normalize?: boolean;
  /** Add the node's own transformed features, `W₁ x_i` (default true). */
  rootWeight?: boolean;
  /** Learn an additive bias (on the neighbours' map, as PyG has it; default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: "float32" | "float64";
  /** Parameter device. */
  device?: string;
}

/**
 * PyG's `SAGEConv(inChannels, outChannels)`: parameters `lin_l.weight`,
 * `lin_l.bias` (the neighbours' map W₂) and `lin_r.weight` (the root's map
 * W₁), as PyG names them. `forward(x, edgeIndex)` gives `[N, out]`.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import { SAGEConv } from "./sage_conv.ts";
 * const conv = new SAGEConv(4, 8);
 * const edges = tensor([[0, 1, 2], [1, 2, 0]], { dtype: "int32" });
 * console.log(conv.forward(randn([3, 4]), edges).shape); // [3, 8]
 * ```
 */
export class SAGEConv extends MessagePassing {
  // snake_case as PyG names them, so state dicts move both ways.
  /** The neighbours' map W₂ (with the bias). */
  lin_l: nn.Linear;
  /** The root's map W₁ (no bias), or null without `rootWeight`. */
  lin_r: nn.Linear | null;
  /** Whether output rows are L2-normalised. */
  readonly normalize: boolean;

  /** A layer from `inChannels` to `outChannels` features per node. */
  constructor(readonly inChannels: number, readonly outChannels: number, options: SAGEConvOptions = {}) {
    super(options.aggr ?? "mean");
    checkChannels("SAGEConv", inChannels, outChannels);
    const f = { dtype: options.dtype, device: options.device };
    this.lin_l = new nn.Linear(inChannels, outChannels, { bias: options.bias ?? true, ...f });
    this.lin_r = (options.rootWeight ?? true) ? new nn.Linear(inChannels, outChannels, { bias: false, ...f }) : null;
    this.normalize = options.normalize ?? false;
  }

  /** `W₂ · aggr_{j → i} x_j + W₁ x_i` (then L2-normalised with `normalize`). */
  override forward(x: Tensor, edgeIndex: Tensor): Tensor {
    const op = `SAGEConv(${this.inChannels}, ${this.outChannels})`;
    checkNodeFeatures(op, x, this.inChannels);
    checkEdgeIndex(op, edgeIndex, x.shape[0], x.device);
    let out = this.lin_l.forward(this.propagate(edgeIndex, x));
    if (this.lin_r) out = out.add(this.lin_r.forward(x));
    if (this.normalize) out = out.div(out.square().sum(-1, { keepdim: true }).sqrt().clamp(1e-12));
    return out;
  }

  /** The layer's settings, for printing. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, aggr="${this.aggr}"`;
  }
}
