/**
 * A federated client running in its own Deno Worker: it keeps its share of
 * the digits (sent once) and, each round, receives the global weights as
 * safetensors bytes, trains them for some local epochs with SGD, and answers
 * with its weights as safetensors bytes and its sample count. The data never
 * leaves the worker.
 *
 * Messages in: `{ type: "init", … }` ({@link InitMessage}), `{ type: "round", … }` ({@link RoundMessage}).
 * Messages out: `{ type: "ready" }`, `{ type: "update", … }` ({@link UpdateMessage}), `{ type: "error", message }`.
 *
 * @module
 */

import { data, Generator, models, nn, optim, setNumThreads, type Tensor, tensor, tidy } from "../../../mod.ts";
import { buildModel, type ModelName } from "./models.ts";

/** The client's share and training settings. */
export interface InitMessage {
  /** "init". */
  type: "init";
  /** Which client (seeds its shuffling). */
  client: number;
  /** Images, `n × 784` floats in [0, 1]. */
  images: Float32Array;
  /** Labels, `n`. */
  labels: Int32Array;
  /** The architecture. */
  model: ModelName;
  /** Local SGD learning rate. */
  lr: number;
  /** Local minibatch size. */
  batchSize: number;
}

/** One round of local training. */
export interface RoundMessage {
  /** "round". */
  type: "round";
  /** Round number (seeds the shuffling). */
  round: number;
  /** The global model as safetensors bytes. */
  weights: Uint8Array;
  /** Local epochs. */
  epochs: number;
}

/** The client's answer to a round. */
export interface UpdateMessage {
  /** "update". */
  type: "update";
  /** Which client. */
  client: number;
  /** The locally trained model as safetensors bytes. */
  weights: Uint8Array;
  /** The client's sample count (FedAvg's weight). */
  samples: number;
  /** Mean training loss over the local steps. */
  loss: number;
}

let state: { init: InitMessage; x: Tensor; y: Tensor } | undefined;

async function round(msg: RoundMessage): Promise<UpdateMessage> {
  if (!state) throw new Error("client_worker: a round arrived before init");
  const { init, x, y } = state;
  const model = buildModel(init.model);
  const weights = models.decodeSafetensors(msg.weights);
  model.loadStateDict(weights);
  for (const t of Object.values(weights)) t.dispose();
  model.train();
  const opt = new optim.SGD(model.parameters(), { lr: init.lr });
  const loader = new data.DataLoader(new data.TensorDataset(x, y), {
    batchSize: init.batchSize,
    shuffle: true,
    generator: new Generator(init.client * 100_003 + msg.round),
  });
  let sum = 0, steps = 0;
  for (let e = 0; e < msg.epochs; e++) {
    for await (const [xb, yb] of loader) {
      const loss = tidy(() => {
        opt.zeroGrad();
        const l = nn.functional.crossEntropy(model.forward(xb), yb);
        l.backward();
        opt.step();
        return l;
      });
      sum += await loss.item();
      loss.dispose();
      steps++;
    }
  }
  const bytes = await models.encodeSafetensors(model.stateDict());
  return { type: "update", client: init.client, weights: bytes, samples: y.shape[0], loss: sum / Math.max(1, steps) };
}

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, options?: { transfer?: Transferable[] }): void;
}

// The message loop runs only inside a worker (the server imports this module for its types alone).
const scope = globalThis as unknown as WorkerScope & { WorkerGlobalScope?: unknown };
if (typeof scope.WorkerGlobalScope !== "undefined" && globalThis instanceof (scope.WorkerGlobalScope as never)) {
  // One thread per client: the clients themselves run side by side.
  setNumThreads(1);
  // Rounds are handled one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  scope.onmessage = (e: MessageEvent<InitMessage | RoundMessage>) => {
    const msg = e.data;
    queue = queue.then(async () => {
      try {
        if (msg.type === "init") {
          const n = msg.labels.length;
          state = {
            init: msg,
            x: tensor(msg.images).reshape([n, 1, 28, 28]),
            y: tensor(msg.labels, { dtype: "int32" }),
          };
          scope.postMessage({ type: "ready" });
        } else {
          const update = await round(msg);
          scope.postMessage(update, { transfer: [update.weights.buffer as ArrayBuffer] });
        }
      } catch (err) {
        scope.postMessage({ type: "error", message: (err as Error).stack ?? String(err) });
      }
    });
  };
}
