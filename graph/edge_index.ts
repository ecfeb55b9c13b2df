/**
 * Edge indices as PyTorch Geometric keeps them: an int32 tensor `[2, E]`
 * whose first row holds each edge's source node and second row its target,
 * messages flowing from source to target. Checks and the small utilities the
 * layers share (self-loops, degrees).
 *
 * @module
 */

import { cat, fmtShape, getBackend, ones, type Tensor, tensor, zeros } from "./deps.ts";

/**
 * Throws an error naming `op` unless `edgeIndex` is an int32 `[2, E]` tensor
 * on `device` whose node ids lie in `[0, numNodes)`. Ids are read back and
 * checked where the device reads synchronously (the CPU); elsewhere the
 * gather kernels report a bad id when the work runs.
 */
export function checkEdgeIndex(op: string, edgeIndex: Tensor, numNodes: number, device?: string): void {
  if (edgeIndex === null || typeof edgeIndex !== "object" || typeof edgeIndex.shape !== "object") {
    throw new TypeError(`${op}: edgeIndex must be an int32 tensor of shape [2, numEdges]`);
  }
  if (edgeIndex.dtype !== "int32") {
    throw new TypeError(`${op}: edgeIndex must be int32, got dtype ${edgeIndex.dtype} (convert with .int())`);
  }
  if (edgeIndex.ndim !== 2 || edgeIndex.shape[0] !== 2) {
    throw new RangeError(`${op}: edgeIndex must have shape [2, numEdges], got ${fmtShape(edgeIndex.shape)}`);
  }
  if (device !== undefined && edgeIndex.device !== device) {
    throw new Error(`${op}: edgeIndex is on "${edgeIndex.device}" but the node features are on "${device}"`);
  }
  if (!getBackend(edgeIndex.device).readSync) return;
  const ids = edgeIndex.dataSync();
  const e = edgeIndex.shape[1];
  for (let k = 0; k < ids.length; k++) {
    if (ids[k] < 0 || ids[k] >= numNodes) {
      throw new RangeError(
        `${op}: edgeIndex[${k < e ? 0 : 1}, ${k % e}] = ${ids[k]} is out of range for ${numNodes} nodes`,
      );
    }
  }
}

/** Throws unless `x` is a 2-D float node-feature matrix `[numNodes, features]` (with `features` when given). */
export function checkNodeFeatures(op: string, x: Tensor, features?: number): void {
  if (x === null || typeof x !== "object" || typeof x.shape !== "object") {
    throw new TypeError(`${op}: x must be a node-feature tensor [numNodes, features]`);
  }
  if (x.dtype !== "float32" && x.dtype !== "float64") {
    throw new TypeError(`${op}: x must be float32 or float64, got ${x.dtype}`);
  }
  if (x.ndim !== 2) throw new RangeError(`${op}: x must be [numNodes, features], got ${fmtShape(x.shape)}`);
  if (features !== undefined && x.shape[1] !== features) {
    throw new RangeError(`${op}: expected ${features} features per node, got x of shape ${fmtShape(x.shape)}`);
  }
}

/** Throws unless `edgeWeight` is null or a float `[E]` tensor for `edgeIndex`'s E edges. */
export function checkEdgeWeight(op: string, edgeWeight: Tensor | null | undefined, edgeIndex: Tensor): void {
  if (edgeWeight === null || edgeWeight === undefined) return;
  if (edgeWeight.ndim !== 1 || edgeWeight.shape[0] !== edgeIndex.shape[1]) {
    throw new RangeError(
      `${op}: edgeWeight must be [numEdges] = [${edgeIndex.shape[1]}], got ${fmtShape(edgeWeight.shape)}`,
    );
  }
  if (edgeWeight.dtype !== "float32" && edgeWeight.dtype !== "float64") {
    throw new TypeError(`${op}: edgeWeight must be float32 or float64, got ${edgeWeight.dtype}`);
  }
}

/**
 * `edgeIndex` with a self-loop `(i, i)` appended for every node, and the
 * matching edge weights (the loops weighted `fillValue`) when weights are
 * given (like PyG's `add_self_loops`).
 */
export function addSelfLoops(
  edgeIndex: Tensor,
  numNodes: number,
  edgeWeight: Tensor | null = null,
  fillValue = 1,
): { edgeIndex: Tensor; edgeWeight: Tensor | null } {
  const device = edgeIndex.device;
  const loops = tensor(Int32Array.from({ length: 2 * numNodes }, (_, k) => k % numNodes), {
    dtype: "int32",
    device,
    shape: [2, numNodes],
  });
  const out = cat([edgeIndex, loops], 1);
  if (edgeWeight === null) return { edgeIndex: out, edgeWeight: null };
  const w = ones([numNodes], { dtype: edgeWeight.dtype, device }).mul(fillValue);
  return { edgeIndex: out, edgeWeight: cat([edgeWeight, w], 0) };
}

/**
 * `edgeIndex` without its self-loops (edges `(i, i)`), read on the host:
 * it needs a device that reads synchronously (the CPU).
 */
export function removeSelfLoops(edgeIndex: Tensor): Tensor {
  const e = edgeIndex.shape[1];
  const ids = edgeIndex.dataSync();
  const keep: number[] = [];
  for (let k = 0; k < e; k++) if (ids[k] !== ids[e + k]) keep.push(k);
  const out = new Int32Array(2 * keep.length);
  keep.forEach((k, j) => {
    out[j] = ids[k];
    out[keep.length + j] = ids[e + k];
  });
  return tensor(out, { dtype: "int32", device: edgeIndex.device, shape: [2, keep.length] });
}

/**
 * Every edge in both directions, each directed edge once (like PyG's
 * `to_undirected`, sorted by source then target), read on the host.
 */
export function toUndirected(edgeIndex: Tensor): Tensor {
  const e = edgeIndex.shape[1];
  const ids = edgeIndex.dataSync();
  const seen = new Set<string>();
  const pairs: [number, number][] = [];
  for (let k = 0; k < e; k++) {
    for (const [s, t] of [[ids[k], ids[e + k]], [ids[e + k], ids[k]]]) {
      const key = `${s},${t}`;
      if (!seen.has(key)) {
        seen.add(key);
        pairs.push([s, t]);
      }
    }
  }
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Int32Array(2 * pairs.length);
  pairs.forEach(([s, t], j) => {
    out[j] = s;
    out[pairs.length + j] = t;
  });
  return tensor(out, { dtype: "int32", device: edgeIndex.device, shape: [2, pairs.length] });
}

/** How many entries of int32 `index` `[E]` name each of `numNodes` nodes, as a float tensor (PyG's `degree`). */
export function degree(index: Tensor, numNodes: number, dtype: "float32" | "float64" = "float32"): Tensor {
  const e = index.shape[0];
  return zeros([numNodes], { dtype, device: index.device }).scatterAdd(
    0,
    index,
    ones([e], { dtype, device: index.device }),
  );
}
