/**
 * Which CPU kernels run float32 GEMMs (matmul, Linear, convolution), and on
 * how many threads.
 *
 * - `"wasm"` (the default where the engine supports WebAssembly SIMD): the
 *   platform's BLAS through Deno's FFI where one loads (OpenBLAS, Accelerate;
 *   `blas.ts`, {@link setCpuBlas}), else the SGEMM in `wasm/` (relaxed-SIMD
 *   FMA when available, else plain SIMD), split across worker threads for
 *   large products; every other kernel is WebAssembly SIMD.
 * - `"ts"`: the TypeScript kernels in `matmul.ts`, the reference and the
 *   fallback; float64 always runs them.
 *
 * The environment variable `DENDRITE_CPU_KERNELS=ts` selects the TypeScript
 * kernels at start-up (read only when `--allow-env` grants it).
 * `DENDRITE_BLAS` names the BLAS library to load (`off`: none), and
 * `DENDRITE_BLAS_DEBUG=1` prints one line saying which GEMM path was chosen
 * and why. {@link cpuInfo} tells the same.
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
  cpuBlasActive,
  cpuThreadsReady,
  getBlasStatus,
  getCpuHeapLimit,
  getNumThreads,
  setCpuBlas,
  setCpuHeapLimit,
  setNumThreads,
  wasmKernelKind,
} from "./wasm/runtime.ts";
import type { BlasStatus } from "./blas.ts";

export type { BlasStatus };
export { cpuThreadsReady, getCpuHeapLimit, getNumThreads, setCpuBlas, setCpuHeapLimit, setNumThreads, wasmKernelKind };

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

/** What the CPU backend runs on here (see {@link cpuInfo}). */
export interface CpuInfo {
  /** The kernel family selected ({@link getCpuKernels}). */
  readonly kernels: CpuKernels;
  /** What float32 GEMMs (matmul, Linear, convolution) run on now. */
  readonly gemm: "blas" | "wasm" | "ts";
  /** The WebAssembly kernel build ({@link wasmKernelKind}). */
  readonly wasm: "relaxed-simd" | "simd" | "none";
  /** Threads a large kernel is split across ({@link setNumThreads}). */
  readonly threads: number;
  /** The native BLAS: the library and what it is, or why none is used. */
  readonly blas: BlasStatus;
}

/**
 * What the CPU backend runs on here: the kernels, the GEMM path (native BLAS,
 * WebAssembly or TypeScript), the thread count, and which BLAS library was
 * loaded or why none was (no `--allow-ffi`, no library found, a library
 * refused at load). Looks for the BLAS if no GEMM has yet.
 *
 * @example
 * ```ts
 * import { cpuInfo } from "./kernels.ts";
 * const info = cpuInfo();
 * console.log(info.gemm, info.blas.library ?? info.blas.reason);
 * ```
 */
export function cpuInfo(): CpuInfo {
  const k = getCpuKernels();
  const blas = getBlasStatus();
  return {
    kernels: k,
    gemm: k === "ts" ? "ts" : cpuBlasActive() ? "blas" : "wasm",
    wasm: wasmKernelKind(),
    threads: getNumThreads(),
    blas,
  };
}
