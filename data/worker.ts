/**
 * The DataLoader's worker: rebuilds the dataset from its spec, then answers
 * batch requests with encoded samples (tensors as transferable typed arrays).
 * Not a public API; `DataLoader` starts it with `new Worker(…, { type: "module" })`.
 *
 * Messages in: `{ type: "init", spec }`, `{ type: "batch", id, indices, seeds }`.
 * Messages out: `{ type: "ready" }`, `{ type: "init-error", error }`,
 * `{ type: "batch", id, items }`, `{ type: "error", id, error }`.
 *
 * @module
 */

import { defaultGenerator, Tensor } from "@dendrite/tensor";
import type { Dataset } from "./dataset.ts";
import { revive } from "./spec.ts";

/** A tensor flattened for postMessage. */
export interface EncodedTensor {
  /** Marks the encoding. */
  $tensor: true;
  /** Row-major values (transferred, not copied). */
  data: Float32Array | Float64Array | Int32Array | Uint8Array;
  /** The shape. */
  shape: number[];
  /** The dtype. */
  dtype: string;
}

/** An error flattened for postMessage. */
export interface EncodedError {
  /** The error's name. */
  name: string;
  /** The error's message. */
  message: string;
  /** The file involved, if any (ImageReadError). */
  path?: string;
  /** The worker-side stack. */
  stack?: string;
}

/** Encodes tensors inside `value` as {@link EncodedTensor}s, collecting their buffers in `transfer`. */
export function encodeValue(value: unknown, transfer: ArrayBuffer[]): unknown {
  if (value instanceof Tensor) {
    // dataSync returns a copy this worker owns (never a view of its heap), so transferring it detaches nothing in use.
    const data = value.dataSync();
    transfer.push(data.buffer as ArrayBuffer);
    return { $tensor: true, data, shape: value.shape.slice(), dtype: value.dtype } satisfies EncodedTensor;
  }
  if (Array.isArray(value)) return value.map((v) => encodeValue(v, transfer));
  if (ArrayBuffer.isView(value)) return value;
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encodeValue(v, transfer);
    return out;
  }
  return value;
}

/** Flattens an error for postMessage. */
export function encodeError(e: unknown): EncodedError {
  if (e instanceof Error) {
    const path = (e as Error & { path?: unknown }).path;
    return { name: e.name, message: e.message, path: typeof path === "string" ? path : undefined, stack: e.stack };
  }
  return { name: "Error", message: String(e) };
}

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

// Only run the message loop inside a worker (importing this module elsewhere, e.g. for its types, is harmless).
const scope = globalThis as unknown as WorkerScope & { WorkerGlobalScope?: unknown };
if (typeof scope.WorkerGlobalScope !== "undefined" && globalThis instanceof (scope.WorkerGlobalScope as never)) {
  let dataset: Dataset<unknown> | undefined;
  // Requests are handled one at a time so that re-seeding the generator per sample stays deterministic.
  let queue: Promise<void> = Promise.resolve();
  scope.onmessage = (e: MessageEvent) => {
    const msg = e.data as
      | { type: "init"; spec: unknown }
      | { type: "batch"; id: number; indices: number[]; seeds: number[] };
    queue = queue.then(async () => {
      if (msg.type === "init") {
        try {
          dataset = await revive(msg.spec) as Dataset<unknown>;
          scope.postMessage({ type: "ready" });
        } catch (err) {
          scope.postMessage({ type: "init-error", error: encodeError(err) });
        }
        return;
      }
      try {
        const items: unknown[] = [];
        const transfer: ArrayBuffer[] = [];
        for (let k = 0; k < msg.indices.length; k++) {
          defaultGenerator.manualSeed(msg.seeds[k]);
          items.push(encodeValue(await dataset!.get(msg.indices[k]), transfer));
        }
        scope.postMessage({ type: "batch", id: msg.id, items }, transfer);
      } catch (err) {
        scope.postMessage({ type: "error", id: msg.id, error: encodeError(err) });
      }
    });
  };
}
