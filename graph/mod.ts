/**
 * Graph neural networks for dendrite, with PyTorch Geometric's names and
 * normalisations: `MessagePassing` (message → aggregate → update on
 * scatter), `GCNConv`, `SAGEConv`, `GATConv`, global pooling over the `batch` vector,
 * `GraphData` and `Batch` (many graphs as one), and Zachary's karate club.
 *
 * @example
 * ```ts
 * import { crossEntropy, tensor } from "@dendrite/tensor";
 * import { GCNConv, karateClub } from "./mod.ts";
 * const g = karateClub();
 * const conv1 = new GCNConv(34, 8), conv2 = new GCNConv(8, 2);
 * const logits = conv2.forward(conv1.forward(g.x!, g.edgeIndex).relu(), g.edgeIndex);
 * const labelled = tensor([0, 33], { dtype: "int32" }); // one member of each faction
 * crossEntropy(logits.indexSelect(0, labelled), g.y!.indexSelect(0, labelled)).backward();
 * ```
 *
 * @module
 */

export {
  type MessageAggregation,
  MessageContext,
  type MessageFlow,
  MessagePassing,
  type PropagateOptions,
} from "./message_passing.ts";
export { GCNConv, type GCNConvOptions, gcnNorm, type GcnNormOptions } from "./gcn_conv.ts";
export { SAGEConv, type SAGEConvOptions } from "./sage_conv.ts";
export { type GATAttention, GATConv, type GATConvOptions } from "./gat_conv.ts";
export { type Aggregation, scatter, segmentSoftmax } from "./scatter.ts";
export { globalAddPool, globalMaxPool, globalMeanPool } from "./pool.ts";
export { Batch, GraphData, type GraphDataInit } from "./data.ts";
export { type RandomWalkOptions, randomWalks } from "./random_walk.ts";
export { addSelfLoops, checkEdgeIndex, degree, removeSelfLoops, toUndirected } from "./edge_index.ts";
export {
  KARATE_EDGES,
  KARATE_FACTION_NAMES,
  KARATE_FACTIONS,
  KARATE_SOURCE,
  karateClub,
  type KarateClubOptions,
} from "./datasets/karate_club.ts";
