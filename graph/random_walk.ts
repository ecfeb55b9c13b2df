/**
 * Random walks over a graph, the corpus of DeepWalk (Perozzi et al., 2014)
 * and node2vec (Grover & Leskovec, 2016): each walk is a "sentence" of node
 * ids for a word2vec trainer.
 *
 * @module
 */

import type { Tensor } from "./deps.ts";
import { Generator } from "./deps.ts";
import { checkEdgeIndex } from "./edge_index.ts";

/** Options of {@link randomWalks}. */
export interface RandomWalkOptions {
  /** Nodes per walk, the start included (default 20). */
  walkLength?: number;
  /** Walks started from every node (default 10). */
  walksPerNode?: number;
  /**
   * node2vec's return parameter p: a step back to the previous node is weighted 1/p (default 1; p = q = 1 is
   * DeepWalk's uniform walk).
   */
  p?: number;
  /** node2vec's in-out parameter q: a step away from the previous node's neighbourhood is weighted 1/q (default 1). */
  q?: number;
  /** The random numbers (default: a generator seeded 0). */
  generator?: Generator;
}

/**
 * `walksPerNode` walks from every node of the graph `edgeIndex` (int32
 * `[2, E]`, row 0 to row 1; give undirected graphs both directions), each of
 * `walkLength` nodes; a walk stops early at a node without out-edges. The
 * walks come round by round (every node once, in a shuffled order, then again),
 * as DeepWalk orders them. Reads the edges on the host.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { randomWalks } from "./random_walk.ts";
 * const ring = tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]], { dtype: "int32" });
 * const walks = randomWalks(ring, 3, { walkLength: 5, walksPerNode: 2 });
 * console.log(walks.length, walks[0].length); // 6 5
 * ```
 */
export function randomWalks(edgeIndex: Tensor, numNodes: number, options: RandomWalkOptions = {}): Int32Array[] {
  const op = "randomWalks";
  const walkLength = options.walkLength ?? 20, walksPerNode = options.walksPerNode ?? 10;
  const p = options.p ?? 1, q = options.q ?? 1;
  if (!Number.isInteger(walkLength) || walkLength < 1) {
    throw new RangeError(`${op}: walkLength must be >= 1, got ${walkLength}`);
  }
  if (!Number.isInteger(walksPerNode) || walksPerNode < 1) {
    throw new RangeError(`${op}: walksPerNode must be >= 1, got ${walksPerNode}`);
  }
  if (!(p > 0) || !(q > 0)) throw new RangeError(`${op}: p and q must be > 0, got ${p} and ${q}`);
  checkEdgeIndex(op, edgeIndex, numNodes);
  const g = options.generator ?? new Generator(0);
  const e = edgeIndex.shape[1];
  const ids = edgeIndex.dataSync();
  const out: number[][] = Array.from({ length: numNodes }, () => []);
  for (let k = 0; k < e; k++) out[ids[k]].push(ids[e + k]);
  const linked = out.map((ns) => new Set(ns));
  const walks: Int32Array[] = [];
  for (let round = 0; round < walksPerNode; round++) {
    for (const start of g.randperm(numNodes)) {
      const walk = new Int32Array(walkLength);
      walk[0] = start;
      let len = 1;
      while (len < walkLength) {
        const cur = walk[len - 1], next = out[cur];
        if (next.length === 0) break;
        if (len === 1 || (p === 1 && q === 1)) {
          walk[len++] = next[Math.floor(g.random() * next.length)];
          continue;
        }
        // node2vec's second-order step: weight 1/p back to prev, 1 to prev's neighbours, 1/q further out.
        const prev = walk[len - 2];
        const weights = next.map((x) => (x === prev ? 1 / p : linked[prev].has(x) ? 1 : 1 / q));
        let r = g.random() * weights.reduce((s, w) => s + w, 0);
        let pick = next.length - 1;
        for (let k = 0; k < next.length; k++) {
          r -= weights[k];
          if (r < 0) {
            pick = k;
            break;
          }
        }
        walk[len++] = next[pick];
      }
      walks.push(len === walkLength ? walk : walk.slice(0, len));
    }
  }
  return walks;
}
