/**
 * Federated averaging (McMahan et al., "Communication-Efficient Learning of
 * Deep Networks from Decentralized Data", 2017) with every client in its own
 * Deno Worker. Each round the server sends the global weights to the clients
 * as safetensors bytes, each client trains on its own data, and the server
 * replaces the global model by the average of the clients' models weighted by
 * their sample counts: `w ← Σ_k (n_k / n) w_k`.
 *
 * @module
 */

import { models, noGrad, type Tensor } from "../../../mod.ts";
import type { InitMessage, RoundMessage, UpdateMessage } from "./client_worker.ts";

/**
 * `Σ_k weights[k] · states[k]` per key, the weights normalised to sum to 1. Every state dict must have the same keys
 * and shapes (checked first). Integer entries (counters) are taken from the first state.
 */
export function federatedAverage(
  states: readonly Record<string, Tensor>[],
  weights: readonly number[],
): Record<string, Tensor> {
  if (states.length === 0 || states.length !== weights.length) {
    throw new RangeError(
      `federatedAverage: expected one weight per state dict, got ${states.length} and ${weights.length}`,
    );
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0) || weights.some((w) => !(w >= 0))) {
    throw new RangeError(`federatedAverage: weights must be non-negative with a positive sum, got [${weights}]`);
  }
  const keys = Object.keys(states[0]).sort();
  states.forEach((s, k) => {
    const ks = Object.keys(s).sort();
    if (ks.join("\n") !== keys.join("\n")) {
      throw new Error(`federatedAverage: state dict ${k} has other keys than state dict 0`);
    }
    for (const key of keys) {
      if (s[key].shape.join() !== states[0][key].shape.join()) {
        throw new Error(
          `federatedAverage: "${key}" has shape [${s[key].shape}] in state dict ${k}, [${states[0][key].shape}] in 0`,
        );
      }
    }
  });
  return noGrad(() => {
    const out: Record<string, Tensor> = {};
    for (const key of keys) {
      if (states[0][key].dtype !== "float32" && states[0][key].dtype !== "float64") {
        out[key] = states[0][key].clone();
        continue;
      }
      let acc = states[0][key].mul(weights[0] / total);
      for (let k = 1; k < states.length; k++) {
        const next = acc.add(states[k][key].mul(weights[k] / total));
        acc.dispose();
        acc = next;
      }
      out[key] = acc;
    }
    return out;
  });
}

/** A client in its own Worker (see `client_worker.ts`). */
export class WorkerClient {
  readonly #worker: Worker;
  #pending: { resolve: (u: UpdateMessage) => void; reject: (e: Error) => void } | null = null;
  readonly #ready: Promise<void>;

  /** Starts the Worker and sends it its data (the arrays are transferred: the caller's copies become empty). */
  constructor(init: Omit<InitMessage, "type">) {
    this.#worker = new Worker(new URL("./client_worker.ts", import.meta.url).href, { type: "module" });
    let ready!: () => void, failed!: (e: Error) => void;
    this.#ready = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    this.#ready.catch(() => {});
    this.#worker.onmessage = (e: MessageEvent) => {
      const msg = e.data as { type: "ready" } | UpdateMessage | { type: "error"; message: string };
      if (msg.type === "ready") return ready();
      const p = this.#pending;
      this.#pending = null;
      if (msg.type === "update") p?.resolve(msg);
      else {
        const err = new Error(`federated client ${init.client}: ${msg.message}`);
        failed(err);
        p?.reject(err);
      }
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const err = new Error(`federated client ${init.client} crashed: ${e.message}`);
      failed(err);
      this.#pending?.reject(err);
      this.#pending = null;
    };
    this.#worker.postMessage({ type: "init", ...init } satisfies InitMessage, {
      transfer: [init.images.buffer as ArrayBuffer, init.labels.buffer as ArrayBuffer],
    });
  }

  /** Trains the global `weights` (safetensors bytes) on the client's data; resolves with its update. */
  async train(round: number, weights: Uint8Array, epochs: number): Promise<UpdateMessage> {
    await this.#ready;
    if (this.#pending) throw new Error("WorkerClient.train: the previous round has not finished");
    const p = new Promise<UpdateMessage>((resolve, reject) => (this.#pending = { resolve, reject }));
    this.#worker.postMessage({ type: "round", round, weights, epochs } satisfies RoundMessage);
    return await p;
  }

  /** Stops the Worker. */
  close(): void {
    this.#worker.terminate();
  }
}

/** What one FedAvg round returns. */
export interface RoundResult {
  /** The new global weights as safetensors bytes. */
  weights: Uint8Array;
  /** The new global state dict. */
  state: Record<string, Tensor>;
  /** Mean local training loss, weighted by sample count. */
  loss: number;
  /** Bytes sent to and received from the clients in the round. */
  bytes: number;
}

/** One FedAvg round: every client trains the global `weights` for `epochs` local epochs, in parallel; the server averages. */
export async function fedAvgRound(
  clients: readonly WorkerClient[],
  weights: Uint8Array,
  round: number,
  epochs: number,
): Promise<RoundResult> {
  const updates = await Promise.all(clients.map((c) => c.train(round, weights, epochs)));
  const states = updates.map((u) => models.decodeSafetensors(u.weights));
  const samples = updates.map((u) => u.samples);
  const state = federatedAverage(states, samples);
  for (const s of states) for (const t of Object.values(s)) t.dispose();
  const n = samples.reduce((a, b) => a + b, 0);
  const loss = updates.reduce((a, u) => a + u.loss * u.samples, 0) / n;
  const bytes = clients.length * weights.length + updates.reduce((a, u) => a + u.weights.length, 0);
  return { weights: await models.encodeSafetensors(state), state, loss, bytes };
}
