import assert from "node:assert/strict";
import { tensor } from "@dendrite/tensor";
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  parseSafetensorsHeader,
  saveSafetensors,
} from "./safetensors.ts";

/** Builds a safetensors buffer by hand: header JSON as given, then the raw data bytes. */
function craft(header: unknown, data: Uint8Array, headerLen?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function bytesOf(values: number[], width: 2 | 4 | 8, kind: "u" | "i" | "f"): Uint8Array {
  const out = new Uint8Array(values.length * width);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (width === 2) dv.setUint16(i * 2, v, true);
    else if (width === 4) kind === "f" ? dv.setFloat32(i * 4, v, true) : dv.setInt32(i * 4, v, true);
    else dv.setBigInt64(i * 8, BigInt(v), true);
  });
  return out;
}

Deno.test("safetensors: round trip of float32/float64/int32/bool through a file, with metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sd = {
      "layer1.0.conv1.weight": tensor([[1.5, -2], [3.25, 1e-8]]),
      "bn1.num_batches_tracked": tensor([7], { dtype: "int32" }).reshape([]),
      "mask": tensor([true, false, true]),
      "double": tensor([Math.PI, -1], { dtype: "float64" }),
      "view": tensor([[1, 2, 3], [4, 5, 6]]).t(), // non-contiguous: written in row-major order of the view
    };
    const path = `${dir}/w.safetensors`;
    await saveSafetensors(sd, path, { metadata: { format: "pt" } });
    const bytes = await Deno.readFile(path);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + n) % 8, 0, "data starts 8-byte aligned");
    const header = parseSafetensorsHeader(bytes);
    assert.deepEqual(header.metadata, { format: "pt" });
    assert.equal(header.entries["mask"].dtype, "BOOL");
    assert.equal(header.entries["double"].dtype, "F64");
    const back = await loadSafetensors(path);
    assert.deepEqual(Object.keys(back).sort(), Object.keys(sd).sort());
    for (const [k, t] of Object.entries(sd)) {
      assert.equal(back[k].dtype, t.dtype, k);
      assert.deepEqual(back[k].shape, t.shape, k);
      assert.deepEqual(await back[k].tolist(), await t.tolist(), k);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: F16, BF16 and I64 files crafted by hand", () => {
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001, 0.5 = 0x3800, inf = 0x7c00.
  const f16 = bytesOf([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3800, 0x7c00], 2, "u");
  // BF16: the top 16 bits of float32: 1.0 = 0x3f80, -3.5 = 0xc060, 0.15625 = 0x3e20.
  const bf16 = bytesOf([0x3f80, 0xc060, 0x3e20], 2, "u");
  const i64 = bytesOf([0, -5, 2147483647], 8, "i");
  const data = new Uint8Array(f16.length + bf16.length + i64.length);
  data.set(f16, 0);
  data.set(bf16, f16.length);
  data.set(i64, f16.length + bf16.length);
  const header = {
    __metadata__: { source: "hand" },
    h: { dtype: "F16", shape: [2, 3], data_offsets: [0, 12] },
    b: { dtype: "BF16", shape: [3], data_offsets: [12, 18] },
    l: { dtype: "I64", shape: [3], data_offsets: [18, 42] },
  };
  const sd = decodeSafetensors(craft(header, data));
  assert.equal(sd.h.dtype, "float32");
  assert.deepEqual(sd.h.shape, [2, 3]);
  assert.deepEqual(Array.from(sd.h.dataSync()), [1, -2, 65504, 2 ** -24, 0.5, Infinity]);
  assert.deepEqual(Array.from(sd.b.dataSync()), [1, -3.5, 0.15625]);
  assert.equal(sd.l.dtype, "int32");
  assert.deepEqual(Array.from(sd.l.dataSync()), [0, -5, 2147483647]);
});

Deno.test("safetensors: F32 and F64 data at aligned and misaligned byte offsets read the same", () => {
  const f32 = [1.5, -2, 3.25], f64 = [0.1, -1e300];
  const f32Aligned = new Set<boolean>(), f64Aligned = new Set<boolean>();
  for (let pad = 0; pad < 8; pad++) {
    const data = new Uint8Array(pad + 12 + 16);
    const dv = new DataView(data.buffer);
    f32.forEach((v, i) => dv.setFloat32(pad + 4 * i, v, true));
    f64.forEach((v, i) => dv.setFloat64(pad + 12 + 8 * i, v, true));
    const header: Record<string, unknown> = {
      f: { dtype: "F32", shape: [3], data_offsets: [pad, pad + 12] },
      d: { dtype: "F64", shape: [2], data_offsets: [pad + 12, pad + 28] },
    };
    if (pad > 0) header.p = { dtype: "U8", shape: [pad], data_offsets: [0, pad] };
    const bytes = craft(header, data);
    const start = bytes.length - data.length;
    f32Aligned.add((start + pad) % 4 === 0);
    f64Aligned.add((start + pad + 12) % 8 === 0);
    const sd = decodeSafetensors(bytes);
    assert.deepEqual(Array.from(sd.f.dataSync()), f32, `pad ${pad}`);
    assert.equal(sd.d.dtype, "float64");
    assert.deepEqual(Array.from(sd.d.dataSync()), f64, `pad ${pad}`);
  }
  // Both the in-place and the copying read ran, for each dtype.
  assert.equal(f32Aligned.size, 2);
  assert.equal(f64Aligned.size, 2);
});

Deno.test("safetensors: I64 that does not fit int32 is a clear error naming the key", () => {
  const data = bytesOf([1, 2 ** 40], 8, "i");
  assert.throws(
    () => decodeSafetensors(craft({ "big.ids": { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, data)),
    /"big\.ids": I64 value 1099511627776 .*does not fit in int32/,
  );
});

Deno.test("safetensors: errors for unknown dtype, truncation and header lies", async () => {
  const four = bytesOf([1, 2], 4, "f");
  const cases: [string, Uint8Array, RegExp][] = [
    ["short file", new Uint8Array(5), /truncated file: 5 bytes/],
    ["header longer than file", craft({}, new Uint8Array(0), 500), /truncated file: the header claims 500 bytes/],
    [
      "not JSON",
      (() => {
        const b = craft({}, new Uint8Array(0));
        b[8] = 0x78;
        return b;
      })(),
      /not valid UTF-8 JSON/,
    ],
    [
      "unknown dtype",
      craft({ w: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)),
      /"w": unknown dtype "F8_E4M3"/,
    ],
    [
      "data truncated",
      craft({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, four),
      /"w": data_offsets \[0, 16\] lie outside the 8-byte data section/,
    ],
    [
      "size mismatch",
      craft({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, four),
      /"w": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] span 8/,
    ],
    [
      "overlap",
      craft({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
      }, four),
      /"b": data_offsets \[4, 8\] overlap those of "a"/,
    ],
    [
      "gap",
      craft({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, four),
      /"a": data_offsets \[4, 8\] leave a gap/,
    ],
    [
      "trailing bytes",
      craft({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, four),
      /cover 4 bytes of data but the data section has 8/,
    ],
    [
      "bad shape",
      craft({ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, four),
      /"a": shape must be an array of non-negative integers/,
    ],
    [
      "end before begin",
      craft({ a: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, four),
      /"a": data_offsets \[8, 0\] end before they begin/,
    ],
    ["bad metadata", craft({ __metadata__: { n: 1 } }, new Uint8Array(0)), /__metadata__\["n"\] must be a string/],
  ];
  for (const [name, bytes, re] of cases) assert.throws(() => decodeSafetensors(bytes), re, name);
  // loadSafetensors adds the file name.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/bad.safetensors`, cases[3][1]);
    await assert.rejects(() => loadSafetensors(`${dir}/bad.safetensors`), /unknown dtype .*bad\.safetensors/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: the encoded layout matches the format spec byte for byte", async () => {
  const bytes = await encodeSafetensors({ b: tensor([2], { dtype: "int32" }), a: tensor([1.5]) });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(
    text.trimEnd(),
    JSON.stringify({
      a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      b: { dtype: "I32", shape: [1], data_offsets: [4, 8] },
    }),
  );
  assert.ok(/^ *$/.test(text.slice(text.trimEnd().length)), "padding is spaces");
  const dv = new DataView(bytes.buffer, 8 + n);
  assert.equal(dv.getFloat32(0, true), 1.5);
  assert.equal(dv.getInt32(4, true), 2);
  await assert.rejects(() => encodeSafetensors({ __metadata__: tensor([1]) }), /reserved/);
});
