/**
 * The graph attention layer of Veličković et al. (2018), PyTorch Geometric's
 * `GATConv`: each node attends over its in-neighbours (and itself) with
 * `αᵢⱼ = softmax_j(LeakyReLU(aₛᵣ꜀·Θxⱼ + a_dst·Θxᵢ))`, per head, and takes
 * `x'ᵢ = Σⱼ αᵢⱼ Θxⱼ`; heads are concatenated or averaged.
 *
 * @module
 */

import { dropout, leakyRelu, nn, noGrad, type Tensor, tensor, zeros } from "./deps.ts";
import { cat } from "./deps.ts";
import { checkEdgeIndex, checkNodeFeatures } from "./edge_index.ts";
import { checkChannels } from "./gcn_conv.ts";
import { type MessageContext, MessagePassing } from "./message_passing.ts";
import { segmentSoftmax } from "./scatter.ts";

/** Options of {@link GATConv}. */
export interface GATConvOptions {
  /** Attention heads (default 1). */
  heads?: number;
  /** Concatenate the heads' outputs (`[N, heads·out]`, default) or average them (`[N, out]`). */
  concat?: boolean;
  /** The slope of LeakyReLU's negative side in the scores (default 0.2). */
  negativeSlope?: number;
  /** Dropout on the attention coefficients while training (default 0). */
  dropout?: number;
  /** Replace any self-loops by one per node, so each node attends to itself (default true). */
  addSelfLoops?: boolean;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: "float32" | "float64";
  /** Parameter device. */
  device?: string;
}

/** What {@link GATConv.forwardWithAttention} returns. */
export interface GATAttention {
  /** The layer's output. */
  out: Tensor;
  /** The edges attended over (self-loops appended; an existing self-loop stays in the list with weight 0). */
  edgeIndex: Tensor;
  /** The attention coefficient of every edge and head, `[E', heads]` (after dropout while training). */
  attention: Tensor;
}

/** PyG's `glorot`: U(±√(6 / (rows + cols))) over the last two dims. */
function glorot(t: Tensor): void {
  const [rows, cols] = t.shape.slice(-2);
  const a = Math.sqrt(6 / (rows + cols));
  noGrad(() => nn.init.uniform_(t, -a, a));
}

/**
 * PyG's `GATConv(inChannels, outChannels, { heads, concat, negativeSlope,
 * dropout })`: parameters `lin.weight` `[heads·out, in]`, `att_src` and
 * `att_dst` `[1, heads, out]`, `bias`, named as PyG names them.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import { GATConv } from "./gat_conv.ts";
 * const conv = new GATConv(4, 8, { heads: 2 });
 * const edges = tensor([[0, 1, 2], [1, 2, 0]], { dtype: "int32" });
 * console.log(conv.forward(randn([3, 4]), edges).shape); // [3, 16]
 * ```
 */
export class GATConv extends MessagePassing {
  /** The shared linear map Θ (no bias). */
  lin: nn.Linear;
  // snake_case as PyG names them, so state dicts move both ways.
  /** The attention vector over the source's transformed features, `[1, heads, out]`. */
  att_src: nn.Parameter;
  /** The attention vector over the target's transformed features, `[1, heads, out]`. */
  att_dst: nn.Parameter;
  /** `[heads·out]` (concat) or `[out]`, or null. */
  bias: nn.Parameter | null;
  /** Attention heads. */
  readonly heads: number;
  /** Whether heads are concatenated. */
  readonly concat: boolean;
  /** LeakyReLU's negative slope. */
  readonly negativeSlope: number;
  /** Dropout on the attention coefficients. */
  readonly dropout: number;
  /** Whether self-loops are added. */
  readonly addSelfLoops: boolean;

  /** A layer from `inChannels` to `outChannels` features per head. */
  constructor(readonly inChannels: number, readonly outChannels: number, options: GATConvOptions = {}) {
    super("add");
    const name = "GATConv";
    checkChannels(name, inChannels, outChannels);
    this.heads = options.heads ?? 1;
    if (!Number.isInteger(this.heads) || this.heads < 1) {
      throw new RangeError(`${name}: heads must be a positive integer, got ${this.heads}`);
    }
    this.concat = options.concat ?? true;
    this.negativeSlope = options.negativeSlope ?? 0.2;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      throw new RangeError(`${name}: dropout must be in [0, 1), got ${this.dropout}`);
    }
    this.addSelfLoops = options.addSelfLoops ?? true;
    const f = { dtype: options.dtype ?? "float32", device: options.device };
    this.lin = new nn.Linear(inChannels, this.heads * outChannels, { bias: false, ...f });
    this.att_src = new nn.Parameter(zeros([1, this.heads, outChannels], f));
    this.att_dst = new nn.Parameter(zeros([1, this.heads, outChannels], f));
    this.bias = (options.bias ?? true)
      ? new nn.Parameter(zeros([this.concat ? this.heads * outChannels : outChannels], f))
      : null;
    this.resetParameters();
  }

  /** Glorot-uniform weight and attention vectors, zero bias (PyG's initialisation). */
  resetParameters(): void {
    glorot(this.lin.weight);
    glorot(this.att_src);
    glorot(this.att_dst);
    if (this.bias) noGrad(() => nn.init.zeros_(this.bias!));
  }

  /** The attention-weighted sum of each node's in-neighbours (and itself), `[N, heads·out]` or `[N, out]`. */
  override forward(x: Tensor, edgeIndex: Tensor): Tensor {
    return this.forwardWithAttention(x, edgeIndex).out;
  }

  /** {@link GATConv.forward}, also returning the edges and their attention coefficients (PyG's `return_attention_weights`). */
  forwardWithAttention(x: Tensor, edgeIndex: Tensor): GATAttention {
    const op = `GATConv(${this.inChannels}, ${this.outChannels}, heads=${this.heads})`;
    checkNodeFeatures(op, x, this.inChannels);
    const n = x.shape[0];
    checkEdgeIndex(op, edgeIndex, n, x.device);
    const [h, c] = [this.heads, this.outChannels];
    const xh = this.lin.forward(x).reshape([n, h, c]);
    const alphaSrc = xh.mul(this.att_src).sum(-1); // [N, H]
    const alphaDst = xh.mul(this.att_dst).sum(-1);
    let edges = edgeIndex, oldLoop: Tensor | null = null;
    if (this.addSelfLoops) {
      // PyG removes existing self-loops and adds one per node; here an old loop stays in the list but its score is
      // -inf, so its attention is exactly 0 (no host read, so the same code runs on every device).
      oldLoop = edgeIndex.select(0, 0).eq(edgeIndex.select(0, 1));
      const loops = tensor(Int32Array.from({ length: 2 * n }, (_, k) => k % n), {
        dtype: "int32",
        device: x.device,
        shape: [2, n],
      });
      edges = cat([edgeIndex, loops], 1);
      oldLoop = cat([oldLoop, zeros([n], { dtype: "bool", device: x.device })], 0);
    }
    const [from, to] = this.flow === "source_to_target" ? [0, 1] : [1, 0];
    const src = edges.select(0, from), dst = edges.select(0, to);
    let score = leakyRelu(alphaSrc.indexSelect(0, src).add(alphaDst.indexSelect(0, dst)), this.negativeSlope);
    if (oldLoop) score = score.where(oldLoop.logicalNot().unsqueeze(1), -Infinity);
    let alpha = segmentSoftmax(score, dst, n); // [E', H]
    alpha = dropout(alpha, this.dropout, this.training);
    let out = this.propagate(edges, xh, { edge: { alpha } }); // [N, H, C]
    out = this.concat ? out.reshape([n, h * c]) : out.mean(1);
    if (this.bias) out = out.add(this.bias);
    return { out, edgeIndex: edges, attention: alpha };
  }

  /** `αᵢⱼ · Θxⱼ` per head. */
  override message(ctx: MessageContext): Tensor {
    return ctx.xJ.mul(ctx.edge.alpha.unsqueeze(-1));
  }

  /** The layer's settings, for printing. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, heads=${this.heads}${this.concat ? "" : ", concat=false"}${
      this.dropout ? `, dropout=${this.dropout}` : ""
    }`;
  }
}
