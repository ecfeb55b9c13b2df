/**
 * Device-side assertions, the way CUDA's device asserts work: a kernel that
 * finds bad input cannot throw, so it records the first failure in a small
 * error buffer — which check failed (a *site*), the offending value and its
 * flat index — and the backend reads that record with the next read-back
 * (`data()`, `item()`, `tolist()`, `toDevice(t, "cpu")`) or `sync()`, and
 * throws the site's error there, whatever tensor that read was for. The record
 * is then cleared, so each failure is raised once.
 *
 * A site is a check with its error message (say, "crossEntropy: target … is
 * out of bounds for 10 classes"); sites are registered once per distinct
 * message and kept, so a training loop registers no new ones per step.
 *
 * @module
 */

import { STORAGE_USAGE } from "./allocator.ts";
import type { Runtime } from "./program.ts";

/** 32-bit words of the error record: count, site, value bits, index, and room for more. */
export const RECORD_WORDS = 8;

/**
 * WGSL: the error buffer at `@binding(b)` and `report(site, value, index)`, which keeps the first failure of a
 * dispatch batch (later ones only count).
 */
export function reportWgsl(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> err: array<atomic<i32>, ${RECORD_WORDS}>;
fn report(site: i32, value: i32, index: i32) {
  if (atomicAdd(&err[0], 1) == 0) {
    atomicStore(&err[1], site);
    atomicStore(&err[2], value);
    atomicStore(&err[3], index);
  }
}`;
}

/** What a kernel recorded: the value's 32 bits (read as int32 and as float32), its flat index, and every word. */
export interface ErrorRecord {
  /** The value's bits as an int32 (for int32 and bool checks). */
  readonly int: number;
  /** The same bits as a float32 (for float checks). */
  readonly float: number;
  /** The flat (row-major) index of the element. */
  readonly index: number;
  /**
   * The whole record: `[count, site, value, index, …]`, or for a kernel with a fixed code whatever it writes after
   * the code (the indexing kernels: `[count, code, index value, dim, size]`).
   */
  readonly words: Int32Array;
}

/** Ids below this are fixed codes that kernels bake in ({@link DeviceErrors.fixed}); sites are numbered from here. */
const FIRST_SITE = 1000;

/** The error buffer of one device and the sites its kernels report to. */
export class DeviceErrors {
  /** The record kernels write (bind it where `reportWgsl` says). */
  readonly buffer: GPUBuffer;
  #makers: ((r: ErrorRecord) => Error)[] = [];
  #fixed = new Map<number, (r: ErrorRecord) => Error>();
  #ids = new Map<string, number>();
  #armed = false;

  /** Creates the (zeroed) error buffer on `device`. */
  constructor(device: GPUDevice) {
    this.buffer = device.createBuffer({
      size: 256,
      usage: STORAGE_USAGE,
      label: "dendrite device assertions",
    });
  }

  /**
   * The id kernels report for the check described by `key` (its full message, so equal checks share one id);
   * `make` builds that check's error from the record. Also notes that a check was dispatched: the next
   * read-back reads the record.
   */
  site(key: string, make: (r: ErrorRecord) => Error): number {
    this.#armed = true;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = FIRST_SITE + this.#makers.length;
      this.#makers.push(make);
      this.#ids.set(key, id);
    }
    return id;
  }

  /**
   * Registers the error of a fixed `code` (below 1000) that kernels write themselves with their own record layout
   * (the indexing kernels' `INDEX_ERROR`).
   */
  fixed(code: number, make: (r: ErrorRecord) => Error): void {
    if (!(code > 0 && code < FIRST_SITE)) throw new RangeError(`DeviceErrors.fixed: code ${code} is not in 1..999`);
    this.#fixed.set(code, make);
  }

  /** Notes that a kernel with a fixed code was dispatched: the next read-back reads the record. */
  arm(): void {
    this.#armed = true;
  }

  /**
   * When a check was dispatched since the last read: queues a read of the record (it joins the batch being read
   * back) and its reset, and returns a promise of the error it holds (null when none failed). Else null.
   */
  take(runtime: Runtime): Promise<Error | null> | null {
    if (!this.#armed) return null;
    this.#armed = false;
    const read = runtime.read(this.buffer, RECORD_WORDS * 4);
    runtime.clear(this.buffer, RECORD_WORDS * 4);
    return read.then((buf) => {
      const words = new Int32Array(buf);
      if (words[0] === 0) return null;
      const id = words[1];
      const make = id < FIRST_SITE ? this.#fixed.get(id) : this.#makers[id - FIRST_SITE];
      const bits = new Float32Array(words.buffer, 8, 1)[0];
      if (!make) return new Error(`webgpu: a device-side check failed (unknown site ${id})`);
      return make({ int: words[2], float: bits, index: words[3], words });
    });
  }
}
