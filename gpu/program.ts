/**
 * Running WGSL kernels: pipelines built once per kernel and specialization
 * with explicit layouts, one command encoder collecting many dispatches
 * (submitted on read-back or every {@link Runtime.maxBatch} dispatches),
 * per-dispatch parameters from a uniform ring buffer, and read-backs through
 * pooled staging buffers.
 *
 * @module
 */

import { BufferPool, sizeClass } from "./allocator.ts";
import { ErrorTracker } from "./device.ts";

/** How a kernel binds one storage buffer. */
export type BindingKind = "rw" | "ro";

/**
 * A kernel: WGSL source plus its bindings. Storage bindings come first
 * (`@binding(0)` … in order); the uniform parameter block is always the last
 * binding, `@binding(bindings.length)`, read through a dynamic offset.
 */
export interface Kernel {
  /** Human-readable name, used as the pipeline label and in error messages. */
  readonly name: string;
  /** Cache key: the name plus every specialization baked into the source. */
  readonly key: string;
  /** The storage bindings, in order. */
  readonly bindings: readonly BindingKind[];
  /** Builds the WGSL source (called once per key). */
  source(): string;
}

/** Bytes of one uniform slot: the minimum dynamic-offset alignment WebGPU guarantees. */
export const SLOT_BYTES = 256;
/** 32-bit words in one uniform slot. */
export const SLOT_WORDS: number = SLOT_BYTES / 4;

const f32Scratch = new Float32Array(1);
const i32Scratch = new Int32Array(f32Scratch.buffer);

/** The bits of `x` as float32, as a signed 32-bit word (for parameter blocks). */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return i32Scratch[0];
}

/** Workgroup counts covering `n` invocations of `size` threads, spilling into y past 65,535. */
export function groups1d(n: number, size: number): [number, number, number] {
  const wg = Math.max(1, Math.ceil(n / size));
  if (wg <= 65535) return [wg, 1, 1];
  const y = Math.ceil(wg / 65535);
  return [Math.ceil(wg / y), y, 1];
}

const kernels = new Map<string, Kernel>();

/**
 * The kernel cached under `key` (which becomes its {@link Kernel.key}), made by
 * `make` on first use: kernel factories run on every dispatch, so the WGSL
 * pieces they assemble are built once.
 */
export function cachedKernel(key: string, make: () => Omit<Kernel, "key">): Kernel {
  let k = kernels.get(key);
  if (!k) kernels.set(key, k = { ...make(), key });
  return k;
}

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** The per-device machinery every kernel call goes through. */
export class Runtime {
  /** Dispatches recorded before the encoder is submitted on its own. */
  maxBatch = 256;
  /** The device's buffer pool (size classes, reuse). */
  readonly pool: BufferPool;
  /** Validation and out-of-memory errors the device reported. */
  readonly errors: ErrorTracker;
  #pipelines = new Map<string, Compiled>();
  #layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #ring: GPUBuffer;
  #ringHost: Int32Array;
  #slot = 0;
  #batchKernels: string[] = [];
  #staging = new Map<number, GPUBuffer[]>();
  /** Number of dispatches recorded since the runtime started (for tests and benches). */
  dispatches = 0;
  /** Number of submits. */
  submits = 0;

  /** Sets up a runtime on `device`. */
  constructor(readonly device: GPUDevice) {
    this.pool = new BufferPool(device);
    this.errors = new ErrorTracker(device);
    this.#ring = device.createBuffer({
      size: this.maxBatch * SLOT_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: "dendrite uniform ring",
    });
    this.#ringHost = new Int32Array(this.maxBatch * SLOT_WORDS);
  }

  #compile(k: Kernel): Compiled {
    let c = this.#pipelines.get(k.key);
    if (c) return c;
    const sig = k.bindings.join(",");
    let lay = this.#layouts.get(sig);
    if (!lay) {
      const entries: GPUBindGroupLayoutEntry[] = k.bindings.map((b, i) => ({
        binding: i,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b === "rw" ? "storage" : "read-only-storage" },
      }));
      entries.push({
        binding: k.bindings.length,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: SLOT_BYTES },
      });
      const bgl = this.device.createBindGroupLayout({ label: `layout ${sig}`, entries });
      lay = { bgl, pl: this.device.createPipelineLayout({ label: `layout ${sig}`, bindGroupLayouts: [bgl] }) };
      this.#layouts.set(sig, lay);
    }
    // A scope of its own, so a WGSL or pipeline error is reported as this kernel's, not as the batch's.
    this.device.pushErrorScope("validation");
    this.device.pushErrorScope("internal");
    let code: string;
    try {
      code = k.source();
    } catch (e) {
      this.device.popErrorScope();
      this.device.popErrorScope();
      throw new Error(`webgpu ${k.name}: building the shader source failed: ${e instanceof Error ? e.message : e}`);
    }
    const module = this.device.createShaderModule({ label: k.name, code });
    const pipeline = this.device.createComputePipeline({
      label: k.name,
      layout: lay.pl,
      compute: { module, entryPoint: "main" },
    });
    this.errors.watch(
      `shader compilation of kernel ${k.name} (key ${k.key})`,
      [this.device.popErrorScope(), this.device.popErrorScope()],
    );
    c = { pipeline, layout: lay.bgl };
    this.#pipelines.set(k.key, c);
    return c;
  }

  /** Number of distinct pipelines built so far. */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  #ensureEncoder(): GPUCommandEncoder {
    if (!this.#encoder) {
      this.errors.checkAlive("dispatch");
      this.errors.push(this.device);
      this.#encoder = this.device.createCommandEncoder({ label: "dendrite batch" });
    }
    return this.#encoder;
  }

  #endPass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }

  /**
   * Records one dispatch of `kernel` over `buffers` (in binding order) with
   * the parameter words `params` (at most 64) and `groups` workgroups.
   */
  dispatch(kernel: Kernel, buffers: readonly GPUBuffer[], params: ArrayLike<number>, groups: [number, number, number]) {
    if (buffers.length !== kernel.bindings.length) {
      throw new Error(`webgpu ${kernel.name}: ${buffers.length} buffers for ${kernel.bindings.length} bindings`);
    }
    if (params.length > SLOT_WORDS) throw new Error(`webgpu ${kernel.name}: ${params.length} parameter words`);
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const enc = this.#ensureEncoder();
    const c = this.#compile(kernel);
    const slot = this.#slot++;
    this.#ringHost.set(params, slot * SLOT_WORDS);
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    entries.push({ binding: buffers.length, resource: { buffer: this.#ring, offset: 0, size: SLOT_BYTES } });
    const bg = this.device.createBindGroup({ label: kernel.name, layout: c.layout, entries });
    if (!this.#pass) this.#pass = enc.beginComputePass({ label: "dendrite pass" });
    this.#pass.setPipeline(c.pipeline);
    this.#pass.setBindGroup(0, bg, [slot * SLOT_BYTES]);
    this.#pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.#batchKernels.push(kernel.name);
    this.dispatches++;
    if (this.#slot >= this.maxBatch) this.flush();
  }

  /** Records zeroing of the first `bytes` bytes of `buffer` (in order with dispatches). */
  clear(buffer: GPUBuffer, bytes: number): void {
    const enc = this.#ensureEncoder();
    this.#endPass();
    enc.clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  /** Records a buffer-to-buffer copy (in order with dispatches). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    const enc = this.#ensureEncoder();
    this.#endPass();
    enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.#encoder) return;
    this.#endPass();
    if (this.#slot > 0) {
      this.device.queue.writeBuffer(this.#ring, 0, this.#ringHost.buffer as ArrayBuffer, 0, this.#slot * SLOT_BYTES);
    }
    this.device.queue.submit([this.#encoder.finish()]);
    this.submits++;
    this.errors.pop(this.device, this.#batchKernels);
    this.#encoder = null;
    this.#slot = 0;
    this.#batchKernels = [];
    this.pool.onSubmit();
  }

  /**
   * Reads `bytes` bytes of `buffer` back: the copy joins the current batch,
   * which is submitted now; several reads awaited together share one wait.
   */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = sizeClass(Math.max(bytes, 4));
    let staging = this.#staging.get(size)?.pop();
    if (!staging) {
      staging = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: "dendrite staging",
      });
    }
    if (bytes > 0) this.copy(buffer, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    this.flush();
    try {
      await Promise.all([staging.mapAsync(GPUMapMode.READ, 0, size), this.errors.check()]);
    } catch (e) {
      this.errors.checkAlive("read");
      throw e;
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let list = this.#staging.get(size);
    if (!list) this.#staging.set(size, list = []);
    list.push(staging);
    return out;
  }

  /** Waits until every recorded dispatch has run, throwing any error they raised. */
  async sync(): Promise<void> {
    this.flush();
    await Promise.all([this.device.queue.onSubmittedWorkDone(), this.errors.check()]);
  }
}
