/**
 * The WebGPU backend of dendrite: WGSL compute kernels on Deno's built-in
 * `navigator.gpu`, registered as device `"webgpu"`.
 *
 * @example
 * ```ts ignore
 * import { gpu, tensor, toDevice } from "@dendrite/dendrite";
 * if (await gpu.isWebGPUAvailable()) {
 *   await gpu.useWebGPU();
 *   const a = tensor([[1, 2], [3, 4]]).to("webgpu");
 *   const b = a.matmul(a).relu();
 *   console.log(await b.tolist()); // [[7, 10], [15, 22]]
 *   const back = await toDevice(b, "cpu");
 * }
 * ```
 *
 * @module
 */

import { registerBackend } from "@dendrite/tensor";
import { WebGpuBackend } from "./backend.ts";
import { acquireDevice, type DeviceOptions, hasNavigatorGpu } from "./device.ts";
import type { MemoryInfo } from "./allocator.ts";

export { WebGpuBackend } from "./backend.ts";
export type { DeviceInfo, DeviceOptions } from "./device.ts";
export type { MemoryInfo } from "./allocator.ts";
export type { DeviceErrors, ErrorRecord } from "./device_errors.ts";
export type { BindingKind, Kernel, Runtime } from "./program.ts";
export type { BufferPool } from "./allocator.ts";
export type { ErrorTracker } from "./device.ts";

let active: WebGpuBackend | null = null;
let pending: Promise<WebGpuBackend> | null = null;
let lost = false;

/**
 * Acquires a WebGPU device and registers the backend as device `"webgpu"`
 * (calling it again returns the same backend, or a new one after device
 * loss). Throws a clear error when no adapter is available.
 *
 * @example
 * ```ts ignore
 * import { gpu, setDefaultDevice, randn } from "@dendrite/dendrite";
 * await gpu.useWebGPU();
 * setDefaultDevice("webgpu");
 * const x = randn([1024, 1024]); // on the GPU
 * ```
 */
export function useWebGPU(options: DeviceOptions = {}): Promise<WebGpuBackend> {
  if (active && !lost) return Promise.resolve(active);
  if (pending) return pending;
  pending = (async () => {
    try {
      const info = await acquireDevice(options);
      if (!info) {
        throw new Error(
          hasNavigatorGpu()
            ? "useWebGPU: navigator.gpu found no adapter (no GPU driver, and no software adapter such as Mesa llvmpipe)"
            : "useWebGPU: this runtime has no navigator.gpu (WebGPU is unavailable)",
        );
      }
      const backend = new WebGpuBackend(info);
      lost = false;
      info.device.lost.then(() => {
        if (active === backend) lost = true;
      });
      registerBackend(backend);
      active = backend;
      return backend;
    } finally {
      pending = null;
    }
  })();
  return pending;
}

/** Whether a WebGPU adapter can be acquired here (does not register anything). */
export async function isWebGPUAvailable(): Promise<boolean> {
  if (active && !lost) return true;
  if (!hasNavigatorGpu()) return false;
  try {
    return (await navigator.gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** The registered WebGPU backend, or null before {@link useWebGPU}. */
export function webgpuBackend(): WebGpuBackend | null {
  return active;
}

/**
 * Device memory of the WebGPU backend: bytes in use by live tensors and
 * bytes the buffer pool holds for reuse (all zero before {@link useWebGPU}).
 */
export function memory(): MemoryInfo {
  return active?.memory() ?? { bytesInUse: 0, buffersInUse: 0, bytesInPool: 0, buffersInPool: 0 };
}

/** Frees the buffers the pool holds for reuse (live tensors keep theirs). */
export function emptyCache(): void {
  active?.runtime.pool.emptyCache();
}

/** Waits until all queued GPU work has run, throwing any error it raised. */
export async function synchronize(): Promise<void> {
  await active?.sync();
}
