/**
 * Helpers for the data tests: write small PNG/JPEG fixtures at test time, in
 * temporary folders, with warnings captured.
 * (Not exported from mod.ts.)
 *
 * @module
 */

import { Image as ScriptImage } from "imagescript";

/** Runs `fn` in a fresh temporary folder, removed afterwards whatever happens. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` with `console.warn` captured (not printed) and returns the warnings it gave. */
export async function captureWarnings(fn: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return warnings;
}

/** Writes an RGB(A) image as PNG or JPEG; `pixel(x, y)` returns [r, g, b, a?]. */
export async function writeImage(
  path: string,
  width: number,
  height: number,
  pixel: (x: number, y: number) => number[],
  format: "png" | "jpeg" = "png",
): Promise<void> {
  const im = new ScriptImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = pixel(x, y);
      const o = 4 * (y * width + x);
      im.bitmap[o] = r;
      im.bitmap[o + 1] = g;
      im.bitmap[o + 2] = b;
      im.bitmap[o + 3] = a;
    }
  }
  await Deno.writeFile(path, format === "png" ? await im.encode() : await im.encodeJPEG(95));
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function zlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A greyscale (colour type 0, 8-bit) PNG, written by hand since imagescript only writes RGBA. */
export async function greyPng(
  width: number,
  height: number,
  value: (x: number, y: number) => number,
): Promise<Uint8Array> {
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter: none
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = value(x, y);
  }
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", await zlib(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
