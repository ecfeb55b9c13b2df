/**
 * Acquiring the WebGPU adapter and device: the limits we ask for, device-loss
 * tracking, and turning WebGPU's asynchronous error reports into errors that
 * name the kernel that caused them.
 *
 * @module
 */

/** Options of {@link acquireDevice} (and of `useWebGPU`). */
export interface DeviceOptions {
  /** Passed to `navigator.gpu.requestAdapter` (default: "high-performance"). */
  powerPreference?: GPUPowerPreference;
  /** Accept a software (fallback) adapter such as Mesa llvmpipe (default true). */
  allowFallbackAdapter?: boolean;
}

/** What the backend needs to know about its device. */
export interface DeviceInfo {
  /** The device. */
  readonly device: GPUDevice;
  /** The adapter's description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  readonly description: string;
  /** Whether the adapter is a software fallback. */
  readonly isFallback: boolean;
}

/** Whether `navigator.gpu` exists in this runtime (an adapter may still be missing). */
export function hasNavigatorGpu(): boolean {
  return typeof navigator !== "undefined" && "gpu" in navigator && navigator.gpu !== undefined;
}

/**
 * Requests an adapter and a device with the adapter's largest buffer and
 * workgroup limits (the defaults are lower than what real work needs).
 * Returns null when no adapter exists.
 */
export async function acquireDevice(options: DeviceOptions = {}): Promise<DeviceInfo | null> {
  if (!hasNavigatorGpu()) return null;
  const adapter = await navigator.gpu.requestAdapter({
    powerPreference: options.powerPreference ?? "high-performance",
  });
  if (!adapter) return null;
  const info = adapter.info;
  const isFallback = info?.isFallbackAdapter ?? false;
  if (isFallback && options.allowFallbackAdapter === false) return null;
  const want: (keyof GPUSupportedLimits)[] = [
    "maxBufferSize",
    "maxStorageBufferBindingSize",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupSizeY",
    "maxStorageBuffersPerShaderStage",
  ];
  const requiredLimits: Record<string, number> = {};
  for (const k of want) requiredLimits[k] = adapter.limits[k] as number;
  const device = await adapter.requestDevice({ requiredLimits });
  return { device, description: info?.description || info?.device || "unknown adapter", isFallback };
}

/**
 * Error bookkeeping for one device: WebGPU reports validation and
 * out-of-memory errors asynchronously, so errors are collected per batch of
 * dispatches and thrown (with the kernel names of the batch) at the next
 * read-back; a lost device fails every later call at once.
 */
export class ErrorTracker {
  #pending: Promise<string | null>[] = [];
  #lost: string | null = null;

  /** Starts watching `device` for loss and uncaptured errors. */
  constructor(device: GPUDevice) {
    device.lost.then((info) => {
      this.#lost = `the WebGPU device was lost (${info.reason ?? "unknown"}): ${info.message}`;
    });
  }

  /** Throws when the device was lost, naming what was being attempted. */
  checkAlive(what: string): void {
    if (this.#lost !== null) {
      throw new Error(`webgpu ${what}: ${this.#lost}; call \`await gpu.useWebGPU()\` again to get a new device`);
    }
  }

  /** Pushes error scopes for one batch. */
  push(device: GPUDevice): void {
    device.pushErrorScope("validation");
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("internal");
  }

  /** Pops the scopes of a batch whose dispatches ran the `kernels` named. */
  pop(device: GPUDevice, kernels: Iterable<string>): void {
    const names = [...new Set(kernels)];
    const what = names.length ? `kernels ${names.slice(0, 12).join(", ")}${names.length > 12 ? ", …" : ""}` : "copies";
    const scopes = [device.popErrorScope(), device.popErrorScope(), device.popErrorScope()];
    this.#pending.push(
      Promise.all(scopes).then((errs) => {
        const e = errs.find((x) => x !== null);
        if (!e) return null;
        const kind = e instanceof GPUOutOfMemoryError
          ? "out of device memory"
          : e instanceof GPUValidationError
          ? "validation error"
          : "internal error";
        return `webgpu: ${kind} in a batch running ${what}: ${e.message}`;
      }, (err) => `webgpu: error scope failed: ${err}`),
    );
  }

  /** Watches error scopes popped around one step (e.g. a pipeline build) described by `what`. */
  watch(what: string, scopes: Promise<GPUError | null>[]): void {
    this.#pending.push(
      Promise.all(scopes).then((errs) => {
        const e = errs.find((x) => x !== null);
        return e ? `webgpu: ${what} failed: ${e.message}` : null;
      }, (err) => `webgpu: error scope of ${what} failed: ${err}`),
    );
  }

  /** Awaits every batch's scopes and throws the first error found. */
  async check(): Promise<void> {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    const msgs = await Promise.all(pending);
    const first = msgs.find((m) => m !== null);
    if (first) throw new Error(first);
    if (this.#lost !== null) throw new Error(`webgpu: ${this.#lost}`);
  }
}
