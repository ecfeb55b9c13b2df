/**
 * Which CPU kernels run float32 GEMMs (matmul, Linear, convolution), and on
 * how many threads.
 *
 * - `"wasm"` (the default where the engine supports WebAssembly SIMD): the
 *   SGEMM in `wasm/` (relaxed-SIMD FMA when available, else plain SIMD),
 *   split across worker threads for large products.
 * - `"ts"`: the TypeScript kernels in `matmul.ts`, the reference and the
 *   fallback; float64 always runs them.
 *
 * The environment variable `DENDRITE_CPU_KERNELS=ts` selects the TypeScript
 * kernels at start-up (read only when `--allow-env` grants it).
 *
 * Memory: CPU tensors live in the WebAssembly heap, up to {@link setCpuHeapLimit}
 * (default 1 GiB; beyond it, ordinary arrays that kernels copy in and out).
 *
 * Threads: {@link setNumThreads} (default `navigator.hardwareConcurrency`);
 * the worker threads load `wasm/worker.ts`, which needs `--allow-read`;
 * without it everything runs on the calling thread.
 *
 * @module
 */

import {
  cpuThreadsReady,
  getCpuHeapLimit,
  getNumThreads,
  setCpuHeapLimit,
  setNumThreads,
  wasmKernelKind,
} from "./wasm/runtime.ts";

export { cpuThreadsReady, getCpuHeapLimit, getNumThreads, setCpuHeapLimit, setNumThreads, wasmKernelKind };

/** The CPU kernel families. */
export type CpuKernels = "ts" | "wasm";

function initialKernels(): CpuKernels {
  try {
    const perm = Deno.permissions.querySync({ name: "env", variable: "DENDRITE_CPU_KERNELS" });
    if (perm.state === "granted" && Deno.env.get("DENDRITE_CPU_KERNELS") === "ts") return "ts";
  } catch {
    // No Deno namespace or no permission API: keep the default.
  }
  return "wasm";
}

let kernels: CpuKernels = initialKernels();

/**
 * Selects the kernels float32 GEMMs run on. `"wasm"` silently means `"ts"`
 * where WebAssembly SIMD is unavailable.
 *
 * @example
 * ```ts
 * import { setCpuKernels } from "./kernels.ts";
 * setCpuKernels("ts"); // the TypeScript reference kernels
 * setCpuKernels("wasm"); // back to WebAssembly SIMD
 * ```
 */
export function setCpuKernels(k: CpuKernels): void {
  if (k !== "ts" && k !== "wasm") throw new RangeError(`setCpuKernels: expected "ts" or "wasm", got ${String(k)}`);
  kernels = k;
}

/** The kernels float32 GEMMs run on now (`"ts"` when WebAssembly SIMD is unavailable). */
export function getCpuKernels(): CpuKernels {
  return kernels === "wasm" && wasmKernelKind() !== "none" ? "wasm" : "ts";
}
