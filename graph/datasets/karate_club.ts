/**
 * Zachary's karate club (1977): 34 members of a university karate club, an
 * edge between two who met outside the club (78 edges), and the faction each
 * joined when the club split between the instructor "Mr. Hi" (node 0) and
 * the president, "Officer" (node 33). The data file `karate_club.json`
 * cites its source.
 *
 * @module
 */

import { eye, type Tensor, tensor } from "../deps.ts";
import { GraphData } from "../data.ts";
import karate from "./karate_club.json" with { type: "json" };

/** The 78 friendships as undirected pairs `[a, b]` with `a < b`. */
export const KARATE_EDGES: readonly (readonly [number, number])[] = karate.edges.map(([a, b]) => [a, b] as const);
/** Each member's faction: 0 for Mr. Hi's club, 1 for the Officer's. */
export const KARATE_FACTIONS: readonly number[] = karate.factions;
/** The factions' names, by faction number. */
export const KARATE_FACTION_NAMES: readonly string[] = karate.factionNames;
/** Where the data come from. */
export const KARATE_SOURCE: string = karate.source;

/** Options of {@link karateClub}. */
export interface KarateClubOptions {
  /** Where the tensors live (default "cpu"). */
  device?: string;
}

/**
 * The karate club as a graph: `x` the identity `[34, 34]` (a learnt vector
 * per member, as in Kipf & Welling's demonstration), every friendship as two
 * directed edges (`edgeIndex` `[2, 156]`), and `y` the faction (int32 `[34]`).
 *
 * @example
 * ```ts
 * import { karateClub } from "./karate_club.ts";
 * const g = karateClub();
 * console.log(g.numNodes, g.numEdges); // 34 156
 * ```
 */
export function karateClub(options: KarateClubOptions = {}): GraphData {
  const device = options.device ?? "cpu";
  const src: number[] = [], dst: number[] = [];
  for (const [a, b] of KARATE_EDGES) {
    src.push(a, b);
    dst.push(b, a);
  }
  const edgeIndex: Tensor = tensor([src, dst], { dtype: "int32", device });
  return new GraphData({
    x: eye(karate.nodes, { device }),
    edgeIndex,
    y: tensor(KARATE_FACTIONS as number[], { dtype: "int32", device }),
  });
}
