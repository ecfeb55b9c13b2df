/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors),
 * so state dicts move between dendrite and PyTorch unchanged.
 *
 * Layout: an 8-byte little-endian unsigned header length `N`, then `N` bytes
 * of UTF-8 JSON `{ "<name>": { "dtype", "shape", "data_offsets": [begin, end] }, …,
 * "__metadata__"?: { string: string } }` (we pad it with spaces so the data
 * starts 8-byte aligned), then the raw little-endian data, where every
 * tensor's offsets are relative to the start of the data and the tensors tile
 * it exactly (no gaps, no overlaps).
 *
 * Read: F32, F16 and BF16 (→ float32), F64 (→ float64), I64/U64/I32/U32/I16/U16/I8/U8
 * (→ int32; 64- and 32-bit values must fit in int32 or a clear error names the key),
 * BOOL (→ bool). Written: F32, F64, I32, BOOL (our dtypes).
 *
 * @module
 */

import { type DType, Tensor, tensor, type TypedArray } from "@dendrite/tensor";

/** A safetensors header entry. */
export interface SafetensorsEntry {
  /** The safetensors dtype name (`"F32"`, `"BF16"`, …). */
  dtype: string;
  /** The shape. */
  shape: number[];
  /** `[begin, end)` byte offsets into the data section. */
  data_offsets: [number, number];
}

/** A parsed header: entries by name, optional metadata, and where the data starts. */
export interface SafetensorsHeader {
  /** Tensor entries in file order. */
  entries: Record<string, SafetensorsEntry>;
  /** The `__metadata__` string map, if any. */
  metadata?: Record<string, string>;
  /** Byte offset of the data section (8 + header length). */
  dataStart: number;
}

/** Options of {@link encodeSafetensors} / {@link saveSafetensors}. */
export interface SafetensorsWriteOptions {
  /** String key/value pairs stored as `__metadata__`. */
  metadata?: Record<string, string>;
}

const ITEM_SIZE: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const WRITE_DTYPE: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32", bool: "BOOL" };

/** The maximum header size we accept (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

function fail(msg: string): never {
  throw new Error(`safetensors: ${msg}`);
}

/**
 * Parses and validates the header of a safetensors buffer: sizes, dtypes,
 * shapes and that the offsets tile the data exactly. Throws a clear error
 * (naming the key) for anything that does not add up.
 */
export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (bytes.length < 8) fail(`truncated file: ${bytes.length} bytes, need at least 8 for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER) fail(`header length ${n} is larger than the ${MAX_HEADER}-byte limit (not a safetensors file?)`);
  if (8 + n > bytes.length) {
    fail(`truncated file: the header claims ${n} bytes but only ${bytes.length - 8} follow the length field`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("the header is not a JSON object");
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const entries: Record<string, SafetensorsEntry> = {};
  let metadata: Record<string, string> | undefined;
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    if (key === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("__metadata__ must be an object");
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") fail(`__metadata__["${k}"] must be a string, got ${typeof v}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as Partial<SafetensorsEntry> | null;
    if (typeof e !== "object" || e === null) fail(`"${key}": the entry is not an object`);
    if (typeof e.dtype !== "string") fail(`"${key}": missing dtype`);
    const size = ITEM_SIZE[e.dtype];
    if (size === undefined) {
      fail(`"${key}": unknown dtype "${e.dtype}" (supported: ${Object.keys(ITEM_SIZE).join(", ")})`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`"${key}": shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`"${key}": data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off;
    if (end < begin) fail(`"${key}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) {
      fail(`"${key}": data_offsets [${begin}, ${end}] lie outside the ${dataLen}-byte data section (truncated file?)`);
    }
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (numel * size !== end - begin) {
      fail(
        `"${key}": shape [${e.shape}] of ${e.dtype} needs ${
          numel * size
        } bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries[key] = { dtype: e.dtype, shape: e.shape.slice(), data_offsets: [begin, end] };
  }
  // The tensors must tile the data section exactly, as the reference reader demands.
  const sorted = Object.entries(entries).sort((a, b) =>
    a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]
  );
  let pos = 0;
  let prev = "";
  for (const [key, e] of sorted) {
    const [begin, end] = e.data_offsets;
    if (begin < pos) fail(`"${key}": data_offsets [${begin}, ${end}] overlap those of "${prev}" (which end at ${pos})`);
    if (begin > pos) {
      fail(
        `"${key}": data_offsets [${begin}, ${end}] leave a gap after ${prev ? `"${prev}"` : "the header"} (at ${pos})`,
      );
    }
    pos = end;
    prev = key;
  }
  if (pos !== dataLen) fail(`the tensors cover ${pos} bytes of data but the data section has ${dataLen}`);
  return { entries, metadata, dataStart };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function decodeEntry(key: string, e: SafetensorsEntry, bytes: Uint8Array, dataStart: number): Tensor {
  const [begin, end] = e.data_offsets;
  const chunk = bytes.subarray(dataStart + begin, dataStart + end);
  const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const count = e.shape.reduce((a, b) => a * b, 1);
  let out: TypedArray;
  switch (e.dtype) {
    // Safetensors data is little-endian like our hosts. tensor() below copies the values anyway, so an aligned chunk
    // is read in place; only a misaligned one is first copied (slice) into a fresh, aligned buffer.
    case "F32":
      out = chunk.byteOffset % 4 === 0
        ? new Float32Array(chunk.buffer, chunk.byteOffset, count)
        : new Float32Array(chunk.slice().buffer);
      break;
    case "F64":
      out = chunk.byteOffset % 8 === 0
        ? new Float64Array(chunk.buffer, chunk.byteOffset, count)
        : new Float64Array(chunk.slice().buffer);
      break;
    case "F16": {
      out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      break;
    }
    case "BF16": {
      const f = new Float32Array(count);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      out = f;
      break;
    }
    case "BOOL":
      out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = chunk[i] ? 1 : 0;
      break;
    default: {
      out = new Int32Array(count);
      const read: (i: number) => number | bigint = {
        I64: (i: number) => dv.getBigInt64(8 * i, true),
        U64: (i: number) => dv.getBigUint64(8 * i, true),
        I32: (i: number) => dv.getInt32(4 * i, true),
        U32: (i: number) => dv.getUint32(4 * i, true),
        I16: (i: number) => dv.getInt16(2 * i, true),
        U16: (i: number) => dv.getUint16(2 * i, true),
        I8: (i: number) => dv.getInt8(i),
        U8: (i: number) => dv.getUint8(i),
      }[e.dtype]!;
      for (let i = 0; i < count; i++) {
        const v = read(i);
        if (v > 2147483647 || v < -2147483648) {
          fail(`"${key}": ${e.dtype} value ${v} at flat index ${i} does not fit in int32 (our integer dtype)`);
        }
        out[i] = Number(v);
      }
    }
  }
  const dtype: DType = e.dtype === "F64"
    ? "float64"
    : e.dtype === "BOOL"
    ? "bool"
    : out instanceof Int32Array
    ? "int32"
    : "float32";
  return tensor(out, { shape: e.shape, dtype });
}

/**
 * Decodes a safetensors buffer into CPU tensors (on the default device), by name.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { decodeSafetensors, encodeSafetensors } from "./mod.ts";
 * const bytes = await encodeSafetensors({ w: tensor([1, 2, 3]) });
 * const { w } = decodeSafetensors(bytes);
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  const { entries, dataStart } = parseSafetensorsHeader(bytes);
  const out: Record<string, Tensor> = {};
  for (const [key, e] of Object.entries(entries)) out[key] = decodeEntry(key, e, bytes, dataStart);
  return out;
}

/**
 * Encodes tensors as a safetensors buffer (F32/F64/I32/BOOL), in name order,
 * with the header padded with spaces to an 8-byte boundary.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { encodeSafetensors } from "./mod.ts";
 * const bytes = await encodeSafetensors({ bias: tensor([0.5]) }, { metadata: { format: "pt" } });
 * ```
 */
export async function encodeSafetensors(
  stateDict: Record<string, Tensor>,
  options: SafetensorsWriteOptions = {},
): Promise<Uint8Array> {
  const names = Object.keys(stateDict).sort();
  if (names.includes("__metadata__")) fail(`"__metadata__" is reserved and cannot name a tensor`);
  // Every entry is checked before any is read (and so before saveSafetensors touches the file).
  for (const name of names) {
    const t = stateDict[name];
    if (!(t instanceof Tensor)) fail(`"${name}": expected a Tensor, got ${t === null ? "null" : typeof t}`);
    if (t.isDisposed) fail(`"${name}": the tensor was disposed`);
    if (!WRITE_DTYPE[t.dtype]) fail(`"${name}": cannot write dtype ${t.dtype}`);
  }
  const header: Record<string, unknown> = {};
  if (options.metadata) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string") fail(`metadata["${k}"] must be a string, got ${typeof v}`);
    }
    header.__metadata__ = options.metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = stateDict[name];
    const dtype = WRITE_DTYPE[t.dtype];
    if (!dtype) fail(`"${name}": cannot write dtype ${t.dtype}`);
    const data = await t.data();
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype, shape: t.shape.slice(), data_offsets: [offset, offset + raw.length] };
    chunks.push(raw);
    offset += raw.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/**
 * Writes a state dict (name → tensor) to `path` as safetensors.
 *
 * @example
 * ```ts ignore
 * import { saveSafetensors } from "./mod.ts";
 * await saveSafetensors(model.stateDict(), "resnet18.safetensors");
 * ```
 */
export async function saveSafetensors(
  stateDict: Record<string, Tensor>,
  path: string | URL,
  options: SafetensorsWriteOptions = {},
): Promise<void> {
  await Deno.writeFile(path, await encodeSafetensors(stateDict, options));
}

/**
 * Reads a safetensors file into tensors by name. Errors name the file and,
 * for a bad entry, the key.
 *
 * @example
 * ```ts ignore
 * import { loadSafetensors } from "./mod.ts";
 * const stateDict = await loadSafetensors("resnet18.safetensors");
 * ```
 */
export async function loadSafetensors(path: string | URL): Promise<Record<string, Tensor>> {
  const bytes = await Deno.readFile(path);
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`${(e as Error).message} (in ${String(path)})`, { cause: e });
  }
}
