/**
 * How the digits are shared among federated clients: non-IID (each client
 * holds only a few classes, as phones hold their owners' data) or IID (a
 * uniform shuffle), as in McMahan et al.'s FedAvg experiments.
 *
 * @module
 */

import { Generator } from "../../../mod.ts";

/**
 * Non-IID shares: client `k` holds the `classesPerClient` classes starting at `k · stride` (mod `numClasses`), with
 * `stride = max(1, ⌊numClasses / numClients⌋)` so that every class has a holder when there are enough clients, and
 * each class's samples are dealt in equal contiguous parts to the clients that hold it. With 10 clients and 2 classes
 * each, client 3 holds half of the 3s and half of the 4s; with 5 clients, client 3 holds all the 6s and 7s. Returns
 * each client's sample indices.
 */
export function nonIidSplit(
  labels: ArrayLike<number>,
  numClients: number,
  classesPerClient: number,
  numClasses = 10,
): number[][] {
  if (!Number.isInteger(numClients) || numClients < 1) {
    throw new RangeError(`nonIidSplit: numClients must be a positive integer, got ${numClients}`);
  }
  if (!Number.isInteger(classesPerClient) || classesPerClient < 1 || classesPerClient > numClasses) {
    throw new RangeError(
      `nonIidSplit: classesPerClient must be an integer in [1, ${numClasses}], got ${classesPerClient}`,
    );
  }
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  // holders[c]: the clients holding class c, in client order.
  const holders: number[][] = Array.from({ length: numClasses }, () => []);
  const stride = Math.max(1, Math.floor(numClasses / numClients));
  for (let k = 0; k < numClients; k++) {
    for (let j = 0; j < classesPerClient; j++) holders[(k * stride + j) % numClasses].push(k);
  }
  const shares: number[][] = Array.from({ length: numClients }, () => []);
  for (let c = 0; c < numClasses; c++) {
    const hs = holders[c];
    if (hs.length === 0) continue;
    const n = byClass[c].length;
    hs.forEach((k, j) => {
      shares[k].push(...byClass[c].slice(Math.floor((j * n) / hs.length), Math.floor(((j + 1) * n) / hs.length)));
    });
  }
  return shares;
}

/** IID shares: a seeded shuffle of all indices dealt in `numClients` nearly equal parts. */
export function iidSplit(length: number, numClients: number, seed = 0): number[][] {
  if (!Number.isInteger(numClients) || numClients < 1) {
    throw new RangeError(`iidSplit: numClients must be a positive integer, got ${numClients}`);
  }
  const order = new Generator(seed).randperm(length);
  return Array.from(
    { length: numClients },
    (_, k) => order.slice(Math.floor((k * length) / numClients), Math.floor(((k + 1) * length) / numClients)),
  );
}
