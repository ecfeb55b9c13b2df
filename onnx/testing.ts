/**
 * Test helpers (`@dendrite/onnx/testing`): run an exported model in ONNX
 * Runtime (its WebAssembly build from npm, `onnxruntime-web`, which runs in
 * Deno as it is, offline) and check it with ONNX's own model checker
 * (Debian's `python3-onnx`, where installed).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Linear } from "@dendrite/nn";
 * import { exportBytes } from "./mod.ts";
 * import { loadOrt, maxAbsDiff } from "./testing.ts";
 * const fc = new Linear(3, 2);
 * const x = randn([4, 3]);
 * const session = await loadOrt(await exportBytes(fc, x));
 * const { output_0 } = await session.run({ input_0: x });
 * console.log(maxAbsDiff(fc.forward(x).dataSync(), output_0.data) < 1e-5); // true
 * await session.release();
 * ```
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import type { Tensor } from "@dendrite/tensor";

ort.env.wasm.numThreads = 1;

const ORT_TYPE = { float32: "float32", float64: "float64", int32: "int32", bool: "bool" } as const;

/** An ONNX Runtime session: `run(feeds)` gives each output's data and dims; `release()` frees it. */
export interface OrtModel {
  /** Runs the model on `feeds` (by input name). */
  run(feeds: Record<string, Tensor>): Promise<Record<string, { data: number[]; dims: number[] }>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** Loads `bytes` into ONNX Runtime. */
export async function loadOrt(bytes: Uint8Array): Promise<OrtModel> {
  const session = await ort.InferenceSession.create(bytes);
  return { run: (feeds) => runSession(session, feeds), release: () => session.release() };
}

/** Runs `bytes` in ONNX Runtime once on `feeds`. */
export async function runOrt(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
): Promise<Record<string, { data: number[]; dims: number[] }>> {
  const model = await loadOrt(bytes);
  try {
    return await model.run(feeds);
  } finally {
    await model.release();
  }
}

async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, Tensor>,
): Promise<Record<string, { data: number[]; dims: number[] }>> {
  {
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const data = await t.data();
      input[name] = new ort.Tensor(ORT_TYPE[t.dtype], t.dtype === "bool" ? Uint8Array.from(data) : data, [...t.shape]);
    }
    const out = await session.run(input);
    const result: Record<string, { data: number[]; dims: number[] }> = {};
    for (const [name, v] of Object.entries(out)) {
      result[name] = { data: Array.from(v.data as ArrayLike<number | bigint>, Number), dims: [...v.dims] };
    }
    return result;
  }
}

/** The largest absolute difference between two equally long lists. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const PYTHON = "/usr/bin/python3";
const CHECK = `
import sys, onnx
onnx.checker.check_model(sys.argv[1], full_check=True)
print("ok", onnx.__version__)
`;

/**
 * Runs ONNX's checker (with full shape inference) on `bytes`. Returns a line
 * saying it passed, or why it was skipped (no `python3-onnx` here); throws
 * with the checker's message when the model is invalid. Where
 * `DENDRITE_REQUIRE_ONNX_CHECKER=1` (CI: `.ci/run` installs the package),
 * a missing checker is an error.
 */
export async function onnxCheck(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".onnx" });
  try {
    await Deno.writeFile(path, bytes);
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(PYTHON, { args: ["-c", CHECK, path], stdout: "piped", stderr: "piped" }).output();
    } catch (e) {
      return skipped(`${PYTHON} cannot run (${(e as Error).message})`);
    }
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success && /No module named '?onnx/.test(stderr)) return skipped("python3-onnx is not installed");
    if (!out.success) {
      throw new Error(`the ONNX checker rejected the model:\n${stderr.trim().split("\n").slice(-4).join("\n")}`);
    }
    return new TextDecoder().decode(out.stdout).trim();
  } finally {
    await Deno.remove(path);
  }
}

function skipped(why: string): string {
  if (Deno.env.get("DENDRITE_REQUIRE_ONNX_CHECKER") === "1") {
    throw new Error(`the ONNX checker is required here (DENDRITE_REQUIRE_ONNX_CHECKER=1) but ${why}`);
  }
  const line = `skipped: ${why}; the ONNX checker part of this test did not run (CI installs python3-onnx)`;
  console.warn(line);
  return line;
}
