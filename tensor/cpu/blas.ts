/**
 * The platform's BLAS through Deno's FFI: `cblas_sgemm` for the float32 GEMMs
 * of matmul and convolution, where a library is found and allowed; the
 * WebAssembly SGEMM everywhere else.
 *
 * Which library: the path in `DENDRITE_BLAS` (`off` turns the native path
 * off), else OpenBLAS (`libopenblas.so.0`, `libopenblas.so`, or a
 * `libblas.so.3` that is OpenBLAS, BLIS or MKL — the reference BLAS is slower
 * than the WebAssembly kernels) on Linux, Apple's Accelerate on macOS, and
 * `libopenblas.dll` on Windows. Nothing is loaded without FFI permission
 * (checked with `Deno.permissions.querySync`, so there is never a prompt);
 * a library without `cblas_sgemm` or whose answers to a small known product
 * are wrong (a wrong ABI) is refused at load, with the reason kept for
 * `cpuInfo()` and printed when `DENDRITE_BLAS_DEBUG=1`.
 *
 * Threads: the library is asked to run each call on its calling thread
 * (`openblas_set_num_threads(1)`, Accelerate's per-thread `BLASSetThreading`,
 * BLIS, MKL), and dendrite's own worker threads (`setNumThreads`) split the
 * work, so the BLAS and the WebAssembly kernels never compete for cores.
 *
 * Safety: the FFI calls take byte addresses inside dendrite's own
 * `WebAssembly.Memory` only, and {@link blasGemmAt} checks every operand's
 * extent against that memory (and the layout against what `cblas_sgemm`
 * accepts) before the call.
 *
 * @module
 */

import type { GemmFn } from "./wasm/jobs.ts";

/** What the native GEMM path found (see `cpuInfo()`). */
export interface BlasStatus {
  /** The library loaded (as opened: a name or a path), or null when none is. */
  readonly library: string | null;
  /** What the library says it is (OpenBLAS's configuration string, "Accelerate"…), or null. */
  readonly detail: string | null;
  /** Why no library is used, or how the one in use was chosen. */
  readonly reason: string;
}

/** `cblas_sgemm`'s arguments: layout, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc. */
const SGEMM = {
  parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "f32", "usize", "i32", "usize", "i32", "f32", "usize", "i32"],
  result: "void",
} as const;

const SYMBOLS = {
  cblas_sgemm: SGEMM,
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  // Accelerate (macOS 15+): per thread; 1 = BLAS_THREADING_SINGLE_THREADED.
  BLASSetThreading: { parameters: ["u32"], result: "i32", optional: true },
  bli_thread_set_num_threads: { parameters: ["i64"], result: "void", optional: true },
  bli_info_get_version_str: { parameters: [], result: "pointer", optional: true },
  MKL_Set_Num_Threads: { parameters: ["i32"], result: "void", optional: true },
} as const;

/** The opened library's symbols (optional ones are null when absent). */
type BlasSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** An opened BLAS: its symbols and what it is. */
export interface BlasLibrary {
  /** As opened (a name the loader searches for, or a path). */
  readonly name: string;
  /** What it says it is, or null. */
  readonly detail: string | null;
  /**
   * Most threads that may call it at once: OpenBLAS keeps a fixed pool of
   * per-call buffers (`max(50, 2·MAX_THREADS)` as built) and ends the process
   * when more calls than that run together; unbounded for the others.
   */
  readonly maxCallers: number;
  /** Its symbols (the optional ones null where absent). */
  readonly symbols: BlasSymbols;
}

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/** The libraries tried, in order, when `DENDRITE_BLAS` names none. */
export function blasCandidates(os: string = Deno.build.os): string[] {
  if (os === "darwin") return ["/System/Library/Frameworks/Accelerate.framework/Accelerate"];
  if (os === "windows") return ["libopenblas.dll", "openblas.dll"];
  return ["libopenblas.so.0", "libopenblas.so", "libblas.so.3"];
}

/** Whether `name` is a generic BLAS name that may be the (slow) reference implementation. */
function generic(name: string): boolean {
  return /(^|\/)libblas\.so/.test(name);
}

/**
 * Opens `name` and asks it to run each call on the calling thread. Throws a
 * clear error when it cannot be opened, lacks `cblas_sgemm`, or (`requireKnown`)
 * is not a BLAS whose speed is known to beat the WebAssembly kernels.
 */
export function openBlas(name: string, requireKnown = false): BlasLibrary {
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(name, SYMBOLS);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  const s = lib.symbols;
  const detail = s.openblas_get_config
    ? cString(s.openblas_get_config())
    : s.bli_info_get_version_str
    ? `BLIS ${cString(s.bli_info_get_version_str())}`
    : s.MKL_Set_Num_Threads
    ? "MKL"
    : s.BLASSetThreading || /Accelerate/.test(name)
    ? "Accelerate"
    : null;
  if (requireKnown && detail === null) {
    lib.close();
    throw new Error(`${name}: not OpenBLAS, BLIS, MKL or Accelerate (the reference BLAS is slower than WebAssembly)`);
  }
  singleThreaded(s);
  const built = /MAX_THREADS=(\d+)/.exec(detail ?? "");
  // A margin below the pool size for other users of the library in this process.
  const maxCallers = built ? Math.max(50, 2 * Number(built[1])) - 8 : Infinity;
  return { name, detail, maxCallers, symbols: s };
}

/** Asks the library to run calls made on this thread on this thread alone (dendrite's threads split the work). */
export function singleThreaded(s: BlasSymbols): void {
  s.openblas_set_num_threads?.(1);
  s.BLASSetThreading?.(1);
  s.bli_thread_set_num_threads?.(1n);
  s.MKL_Set_Num_Threads?.(1);
}

function cString(p: Deno.PointerValue): string | null {
  return p === null ? null : Deno.UnsafePointerView.getCString(p).trim();
}

/** Reads an environment variable only where `--allow-env` grants it (never prompts). */
export function envVar(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Whether FFI may open `name` without a prompt. */
function ffiAllowed(name: string): boolean {
  if (typeof Deno?.dlopen !== "function") return false;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state === "granted") return true;
    return Deno.permissions.querySync({ name: "ffi", path: name }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Finds and opens the BLAS to use: `DENDRITE_BLAS` if set, else the
 * platform's candidates. Never throws: without a library, `lib` is null and
 * `reason` says why (each candidate's failure, or the missing permission).
 */
export function findBlas(): { lib: BlasLibrary | null; reason: string } {
  if (typeof Deno?.dlopen !== "function") return { lib: null, reason: "no Deno FFI in this runtime" };
  const chosen = envVar("DENDRITE_BLAS")?.trim();
  if (chosen && /^(off|none|0|false)$/i.test(chosen)) return { lib: null, reason: `DENDRITE_BLAS=${chosen}` };
  const names = chosen ? [chosen] : blasCandidates();
  const failures: string[] = [];
  const denied = names.filter((name) => !ffiAllowed(name));
  if (denied.length === names.length) return { lib: null, reason: "no FFI permission (run with --allow-ffi)" };
  for (const name of names) {
    if (denied.includes(name)) {
      failures.push(`${name}: no FFI permission`);
      continue;
    }
    try {
      const lib = openBlas(name, !chosen && generic(name));
      return { lib, reason: chosen ? "DENDRITE_BLAS" : "found" };
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  return { lib: null, reason: failures.join("; ") };
}

/**
 * How `cblas_sgemm` reads a rows×cols operand with element strides `rs`, `cs`:
 * `[transpose flag, leading dimension]`, or null when neither layout fits
 * (no unit stride, overlapping rows, stride 0). A dimension of size 1 has no
 * stride that matters.
 */
export function blasLayout(rows: number, cols: number, rs: number, cs: number): [number, number] | null {
  if (cs === 1 || cols === 1) {
    const ld = rows === 1 ? Math.max(1, cols) : rs;
    if (ld >= Math.max(1, cols)) return [NO_TRANS, ld];
  }
  if (rs === 1 || rows === 1) {
    const ld = cols === 1 ? Math.max(1, rows) : cs;
    if (ld >= Math.max(1, rows)) return [TRANS, ld];
  }
  return null;
}

/** Byte offset of the last element of a rows×cols operand read as `[flag, ld]` (row-major). */
function lastByte(rows: number, cols: number, [flag, ld]: [number, number]): number {
  return flag === NO_TRANS ? ((rows - 1) * ld + cols - 1) * 4 : ((cols - 1) * ld + rows - 1) * 4;
}

/**
 * Multiply-adds below which a product stays on the WebAssembly SGEMM: a
 * `cblas_sgemm` call costs a microsecond or two whatever its size (the FFI
 * call, the library's own set-up), and the WebAssembly kernel is as fast up
 * to about 32³ (measured on one thread: 16³ 0.5 µs against 0.7, 32³ 2.4
 * against 2.3, 64³ 14 against 7).
 */
export const BLAS_MIN_MACS = 1 << 15;

/** Throws unless `[at, at + last]` (bytes) is 4-aligned and inside `[lowest, size)`. */
function checkOperand(what: string, at: number, last: number, lowest: number, size: number, mnk: string): void {
  if (!(Number.isInteger(at) && at >= lowest && at % 4 === 0 && at + last + 4 <= size)) {
    throw new RangeError(
      `native sgemm: operand ${what} of ${mnk} at byte ${at} (last byte ${at + last + 3}) is outside the heap ` +
        `[${lowest}, ${size})`,
    );
  }
}

/**
 * `C[m,n] = A·B` (or `C += A·B` when `acc`) by one `cblas_sgemm` call, on
 * float32 data at byte addresses in `memory` (the same arguments as the
 * WebAssembly `gemm` export). Operands `cblas_sgemm` cannot read (no unit
 * stride), and products under `minMacs()` multiply-adds, go to `fallback`; an
 * operand reaching outside `[lowest, heapBytes())` (the memory's current
 * size), or misaligned, throws before the call, never reaching the library.
 */
export function blasGemmAt(
  lib: BlasLibrary,
  memory: WebAssembly.Memory,
  heapBytes: () => number,
  lowest: number,
  fallback: GemmFn,
  minMacs: () => number = () => BLAS_MIN_MACS,
): GemmFn {
  // Deno types `usize` parameters as bigint, but takes numbers too (these addresses are far below 2^53), which
  // spares a bigint per operand per call.
  const sgemm = lib.symbols.cblas_sgemm as unknown as (...args: number[]) => void;
  let bytes = -1, base = 0;
  return (m, n, k, a, ars, acs, b, brs, bcs, c, ldc, pa, pb, acc) => {
    if (m === 0 || n === 0) return;
    const la = blasLayout(m, k, ars, acs), lb = blasLayout(k, n, brs, bcs);
    if (k === 0 || m * n * k < minMacs() || la === null || lb === null || ldc < n) {
      fallback(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, pa, pb, acc);
      return;
    }
    // The size every thread sees now (`memory.buffer` in a worker can lag behind a growth made by another thread).
    const size = heapBytes();
    if (size !== bytes) {
      // Shared memories are reserved at their maximum up front, so the base stays put; read it again anyway.
      base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(memory.buffer, 0, 1))));
      bytes = size;
    }
    const mnk = `${m}×${n}×${k}`;
    checkOperand("A", a, lastByte(m, k, la), lowest, size, mnk);
    checkOperand("B", b, lastByte(k, n, lb), lowest, size, mnk);
    checkOperand("C", c, lastByte(m, n, [NO_TRANS, ldc]), lowest, size, mnk);
    sgemm(ROW_MAJOR, la[0], lb[0], m, n, k, 1, base + a, la[1], base + b, lb[1], acc ? 1 : 0, base + c, ldc);
  };
}

/**
 * Checks a loaded library on products with known answers before any tensor
 * reaches it: every transpose combination, leading dimensions wider than the
 * rows, `beta` = 1, small integers so the sums are exact. `gemm` runs on the
 * `floats` (a heap view) at byte address `at`; false when any result is wrong
 * (a wrong ABI or a broken library).
 */
export function blasSelfTest(gemm: GemmFn, floats: Float32Array, at: number): boolean {
  const m = 3, n = 5, k = 4, ld = 7;
  const A = (i: number, p: number) => ((i * 3 + p * 5) % 7) - 3;
  const B = (p: number, j: number) => ((p * 2 + j * 3) % 5) - 2;
  const aAt = at, bAt = at + 64 * 4, cAt = at + 128 * 4, w = at / 4;
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      for (const acc of [0, 1]) {
        floats.fill(0, w, w + 192);
        for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) floats[w + (ta ? p * ld + i : i * ld + p)] = A(i, p);
        for (let p = 0; p < k; p++) {
          for (let j = 0; j < n; j++) floats[w + 64 + (tb ? j * ld + p : p * ld + j)] = B(p, j);
        }
        for (let i = 0; i < m * ld; i++) floats[w + 128 + i] = 1;
        const [ars, acs] = ta ? [1, ld] : [ld, 1], [brs, bcs] = tb ? [1, ld] : [ld, 1];
        gemm(m, n, k, aAt, ars, acs, bAt, brs, bcs, cAt, ld, 0, 0, acc);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < ld; j++) {
            let want = 1;
            if (j < n) {
              want = acc;
              for (let p = 0; p < k; p++) want += A(i, p) * B(p, j);
            }
            if (floats[w + 128 + i * ld + j] !== want) return false;
          }
        }
      }
    }
  }
  return true;
}
