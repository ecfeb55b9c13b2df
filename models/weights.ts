/**
 * Weights in and out of modules: safetensors files keyed by PyTorch's names.
 *
 * @module
 */

import type * as nn from "@dendrite/nn";
import { decodeSafetensors, saveSafetensors } from "./safetensors.ts";

/** Reads a safetensors file synchronously and loads it into `model` (strict), naming the file on failure. */
export function loadWeightsInto(model: nn.Module, path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    throw new Error(`weights: cannot read "${path}": ${(e as Error).message}`);
  }
  let state;
  try {
    state = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`weights: "${path}" is not a valid safetensors file: ${(e as Error).message}`);
  }
  try {
    model.loadStateDict(state);
  } catch (e) {
    throw new Error(`weights: "${path}" does not fit ${model.constructor.name}: ${(e as Error).message}`);
  } finally {
    // loadStateDict copied the values: free the file's tensors now rather than when the collector finds them.
    for (const t of Object.values(state)) t.dispose();
  }
}

/**
 * Saves a module's state dict (parameters and buffers) as safetensors.
 *
 * @example
 * ```ts
 * import * as nn from "@dendrite/nn";
 * import { load, save } from "./weights.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await save(new nn.Linear(2, 3), path);
 * const copy = new nn.Linear(2, 3);
 * load(copy, path);
 * ```
 */
export async function save(model: nn.Module, path: string): Promise<void> {
  await saveSafetensors(model.stateDict(), path);
}

/** Loads a safetensors file into `model` (strict: missing, unexpected or mis-shaped keys throw). */
export function load(model: nn.Module, path: string): void {
  loadWeightsInto(model, path);
}
