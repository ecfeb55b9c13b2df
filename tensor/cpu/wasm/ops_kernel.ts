/**
 * The source of the second WebAssembly module, the memory-bound kernels
 * (elementwise, pooling, reductions, normalization, optimizer updates,
 * recurrent cells): each family's generator lives in its own file and
 * contributes functions here.
 * Like the SGEMM module it imports the one shared memory, so the kernels run
 * in place on tensors whose storage lives in the heap.
 *
 * @module
 */

import { encodeModule, type Fn } from "./assembler.ts";
import { elementwiseKernels } from "./elementwise_kernel.ts";
import { poolKernels } from "./pool_kernel.ts";
import { memoryKernels } from "./memory_kernel.ts";
import { normKernels } from "./norm_kernel.ts";
import { optimKernels } from "./optim_kernel.ts";
import { reduceKernels } from "./reduce_kernel.ts";
import { rnnKernels } from "./rnn_kernel.ts";

/**
 * What a kernel family contributes: its functions and the names it exports.
 * A family is made with the module index of its first function (`base`), so
 * its functions can `call` each other (never another family's).
 */
export interface KernelFamily {
  /** The functions, in the order they are numbered within the family. */
  readonly fns: Fn[];
  /** Names of the functions to export. */
  readonly exports: string[];
}

/** Builds the ops module from every family. */
export function buildOpsModule(): Uint8Array<ArrayBuffer> {
  const families: KernelFamily[] = [];
  let base = 0;
  for (
    const make of [memoryKernels, elementwiseKernels, poolKernels, reduceKernels, normKernels, optimKernels, rnnKernels]
  ) {
    const family = make(base);
    families.push(family);
    base += family.fns.length;
  }
  return encodeModule(
    { min: 1, max: 65536, shared: true },
    families.flatMap((f) => f.fns),
    families.flatMap((f) => f.exports),
  );
}
