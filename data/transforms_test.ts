import assert from "node:assert/strict";
import { Generator, tensor } from "@dendrite/tensor";
import { NotSendableError, revive } from "./spec.ts";
import {
  CenterCrop,
  Compose,
  type Image,
  Lambda,
  Normalize,
  padImage,
  RandomCrop,
  RandomHorizontalFlip,
  RandomResizedCrop,
  Resize,
  resizeImage,
  roundHalfEven,
  ToTensor,
} from "./transforms.ts";

/** A one-channel float image from rows. */
function grey(rows: number[][]): Image {
  return { width: rows[0].length, height: rows.length, channels: 1, data: Float32Array.from(rows.flat()) };
}

function rows(img: Image, c = 0): number[][] {
  return Array.from(
    { length: img.height },
    (_, y) => Array.from({ length: img.width }, (_, x) => img.data[(y * img.width + x) * img.channels + c]),
  );
}

/** PyTorch's bilinear (align_corners=False) written directly in 2D: the reference for Resize. */
function bilinearRef(src: number[][], oh: number, ow: number): number[][] {
  const ih = src.length, iw = src[0].length;
  const coord = (i: number, inn: number, out: number) => {
    const s = Math.max((i + 0.5) * (inn / out) - 0.5, 0);
    const i0 = Math.min(Math.floor(s), inn - 1);
    return [i0, Math.min(i0 + 1, inn - 1), s - i0];
  };
  return Array.from({ length: oh }, (_, y) => {
    const [y0, y1, ly] = coord(y, ih, oh);
    return Array.from({ length: ow }, (_, x) => {
      const [x0, x1, lx] = coord(x, iw, ow);
      return (1 - ly) * ((1 - lx) * src[y0][x0] + lx * src[y0][x1]) + ly * ((1 - lx) * src[y1][x0] + lx * src[y1][x1]);
    });
  });
}

function close(a: number[][], b: number[][], tol = 1e-5): void {
  assert.equal(a.length, b.length);
  a.forEach((r, y) => r.forEach((v, x) => assert.ok(Math.abs(v - b[y][x]) <= tol, `(${y},${x}): ${v} vs ${b[y][x]}`)));
}

Deno.test("Resize: 2x2 -> 4x4 bilinear equals the align_corners=False formula", () => {
  const src = [[10, 20], [30, 50]];
  const out = new Resize([4, 4]).forward(grey(src));
  close(rows(out), bilinearRef(src, 4, 4));
  // Hand-worked corner and inner values: row 0 is [10, 12.5, 17.5, 20]; (1,1) = 0.75*(0.75*10+0.25*20)+0.25*(0.75*30+0.25*50).
  close([rows(out)[0]], [[10, 12.5, 17.5, 20]]);
  assert.ok(Math.abs(rows(out)[1][1] - (0.75 * 12.5 + 0.25 * 35)) < 1e-5);
  // Uint8 images come back rounded, like torchvision on uint8 tensors.
  const u8: Image = { width: 2, height: 2, channels: 1, data: Uint8Array.from([10, 20, 30, 50]) };
  const o8 = new Resize([4, 4]).forward(u8);
  assert.ok(o8.data instanceof Uint8Array);
  assert.deepEqual(rows(o8), bilinearRef(src, 4, 4).map((r) => r.map((v) => Math.round(v))));
});

Deno.test("Resize: non-square shrink and upscale match the formula; RGB channels independent", () => {
  const src = Array.from({ length: 5 }, (_, y) => Array.from({ length: 7 }, (_, x) => (x * 13 + y * 29) % 31));
  close(rows(new Resize([3, 4]).forward(grey(src))), bilinearRef(src, 3, 4));
  close(rows(new Resize([8, 11]).forward(grey(src))), bilinearRef(src, 8, 11));
  const rgb: Image = { width: 2, height: 1, channels: 3, data: Float32Array.from([0, 100, 200, 10, 110, 210]) };
  const o = resizeImage(rgb, 1, 4);
  close(rows(o, 0), bilinearRef([[0, 10]], 1, 4));
  close(rows(o, 2), bilinearRef([[200, 210]], 1, 4));
});

Deno.test("Resize: antialias shrink uses the triangle filter (PIL weights 3/7, 3/7, 1/7)", () => {
  const src = [[7, 14, 21, 70]];
  const out = resizeImage(grey(src), 1, 2, true);
  // Output 0: centre 1, support 2 -> taps 0..2 with weights .75, .75, .25 normalised.
  assert.ok(Math.abs(out.data[0] - (3 * 7 + 3 * 14 + 21) / 7) < 1e-4);
  // Output 1: centre 3 -> taps 1..3 with weights .25, .75, .75.
  assert.ok(Math.abs(out.data[1] - (14 + 3 * 21 + 3 * 70) / 7) < 1e-4);
});

Deno.test("Resize: a single size sets the shorter side; maxSize caps the longer", () => {
  assert.deepEqual(new Resize(256).outputSize(300, 500), [256, 426]);
  assert.deepEqual(new Resize(256).outputSize(500, 300), [426, 256]);
  assert.deepEqual(new Resize(2).outputSize(4, 6), [2, 3]);
  assert.deepEqual(new Resize(100, { maxSize: 150 }).outputSize(100, 300), [50, 150]);
  const img = grey([[1, 2], [3, 4]]);
  assert.equal(new Resize(2).forward(img), img, "already the right size: unchanged, as torchvision");
  assert.throws(() => new Resize(0), /Resize: size must be a positive integer/);
  assert.throws(() => new Resize(4).forward(tensor([1]) as unknown as Image), /Resize: expected an Image/);
});

Deno.test("CenterCrop: torchvision's round-half-even coordinates and zero padding", () => {
  const img = grey(Array.from({ length: 7 }, (_, y) => Array.from({ length: 6 }, (_, x) => 10 * y + x)));
  // top = round((7-2)/2) = round(2.5) = 2, left = round((6-3)/2) = round(1.5) = 2.
  assert.deepEqual(rows(new CenterCrop([2, 3]).forward(img)), [[22, 23, 24], [32, 33, 34]]);
  // top = round(1.5) = 2, left = round(1) = 1.
  assert.deepEqual(rows(new CenterCrop([4, 4]).forward(img)), [[21, 22, 23, 24], [31, 32, 33, 34], [41, 42, 43, 44], [
    51,
    52,
    53,
    54,
  ]]);
  assert.equal(roundHalfEven(0.5), 0);
  assert.equal(roundHalfEven(2.5), 2);
  assert.equal(roundHalfEven(3.5), 4);
  // Larger than the image: padded [(4-2)//2, (3-2)//2, (4-2+1)//2, (3-2+1)//2] = [1, 0, 1, 1] then cropped.
  assert.deepEqual(rows(new CenterCrop([3, 4]).forward(grey([[1, 2], [3, 4]]))), [[0, 1, 2, 0], [0, 3, 4, 0], [
    0,
    0,
    0,
    0,
  ]]);
});

Deno.test("padImage: constant, edge, reflect, symmetric", () => {
  const r = grey([[1, 2, 3]]);
  assert.deepEqual(rows(padImage(r, [2, 0, 2, 0], "reflect"))[0], [3, 2, 1, 2, 3, 2, 1]);
  assert.deepEqual(rows(padImage(r, [2, 0, 2, 0], "edge"))[0], [1, 1, 1, 2, 3, 3, 3]);
  assert.deepEqual(rows(padImage(r, [2, 0, 2, 0], "symmetric"))[0], [2, 1, 1, 2, 3, 3, 2]);
  assert.deepEqual(rows(padImage(r, [1, 1, 0, 0], "constant", 9)), [[9, 9, 9, 9], [9, 1, 2, 3]]);
  assert.throws(() => padImage(r, [3, 0, 0, 0], "reflect"), /reflect padding must be smaller/);
});

Deno.test("padImage: every side, every row, two channels (numpy.pad's values)", () => {
  const img: Image = {
    width: 3,
    height: 3,
    channels: 2,
    data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((v) => [v, 10 * v])),
  };
  // [left, top, right, bottom] = [1, 2, 2, 1]: np.pad(hwc, ((2, 1), (1, 2), (0, 0)), mode).
  const expected: Record<"reflect" | "edge" | "symmetric", number[][]> = {
    reflect: [
      [8, 7, 8, 9, 8, 7],
      [5, 4, 5, 6, 5, 4],
      [2, 1, 2, 3, 2, 1],
      [5, 4, 5, 6, 5, 4],
      [8, 7, 8, 9, 8, 7],
      [5, 4, 5, 6, 5, 4],
    ],
    edge: [
      [1, 1, 2, 3, 3, 3],
      [1, 1, 2, 3, 3, 3],
      [1, 1, 2, 3, 3, 3],
      [4, 4, 5, 6, 6, 6],
      [7, 7, 8, 9, 9, 9],
      [7, 7, 8, 9, 9, 9],
    ],
    symmetric: [
      [4, 4, 5, 6, 6, 5],
      [1, 1, 2, 3, 3, 2],
      [1, 1, 2, 3, 3, 2],
      [4, 4, 5, 6, 6, 5],
      [7, 7, 8, 9, 9, 8],
      [7, 7, 8, 9, 9, 8],
    ],
  };
  for (const [mode, want] of Object.entries(expected)) {
    const out = padImage(img, [1, 2, 2, 1], mode as keyof typeof expected);
    assert.deepEqual([out.width, out.height, out.channels], [6, 6, 2], mode);
    assert.deepEqual(rows(out, 0), want, mode);
    assert.deepEqual(rows(out, 1), want.map((r) => r.map((v) => 10 * v)), mode);
  }
});

Deno.test("ToTensor and Normalize: CHW layout, /255, per-channel (x - mean) / std", async () => {
  const img: Image = { width: 2, height: 1, channels: 3, data: Uint8Array.from([255, 0, 51, 102, 204, 0]) };
  const t = new ToTensor().forward(img);
  assert.deepEqual(t.shape, [3, 1, 2]);
  const v = await t.data();
  const expected = [[255, 102], [0, 204], [51, 0]].flat().map((x) => Math.fround(x / 255));
  assert.deepEqual(Array.from(v), expected);
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const n = await new Normalize({ mean, std }).forward(t).data();
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 2; p++) {
      const want = (expected[c * 2 + p] - mean[c]) / std[c];
      assert.ok(Math.abs(n[c * 2 + p] - want) < 1e-6, `${c},${p}`);
    }
  }
  assert.throws(
    () => new Normalize({ mean: [0, 0], std: [1, 1] }).forward(t),
    /mean\/std have 2 channels but .*\[3,1,2\]/,
  );
  assert.throws(() => new Normalize({ mean: [0], std: [0] }), /std has a zero/);
  assert.throws(() => new Normalize({ mean, std }).forward(img as never), /apply ToTensor first/);
});

Deno.test("RandomHorizontalFlip: draws one number per call from its generator", () => {
  const img = grey([[1, 2, 3]]);
  const flip = new RandomHorizontalFlip(0.5, { generator: new Generator(3) });
  const ref = new Generator(3);
  for (let i = 0; i < 20; i++) {
    const want = ref.random() < 0.5 ? [3, 2, 1] : [1, 2, 3];
    assert.deepEqual(rows(flip.forward(img))[0], want);
  }
  assert.deepEqual(rows(new RandomHorizontalFlip(1).forward(img))[0], [3, 2, 1]);
  assert.deepEqual(rows(new RandomHorizontalFlip(0).forward(img))[0], [1, 2, 3]);
});

Deno.test("RandomCrop: padding then a crop at randint positions; reproducible by seed", () => {
  const img = grey([[1, 2], [3, 4]]);
  const crop = new RandomCrop(2, { padding: 1, generator: new Generator(11) });
  const ref = new Generator(11);
  const padded = [[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]];
  for (let i = 0; i < 10; i++) {
    const top = ref.randint(0, 3), left = ref.randint(0, 3);
    assert.deepEqual(rows(crop.forward(img)), padded.slice(top, top + 2).map((r) => r.slice(left, left + 2)));
  }
  assert.throws(() => new RandomCrop(3).forward(img), /crop size 3x3 is larger than the \(padded\) image 2x2/);
  assert.deepEqual(new RandomCrop(3, { padIfNeeded: true }).forward(img).width, 3);
});

Deno.test("RandomResizedCrop: parameters within scale/ratio, reproducible, fallback centre crop", () => {
  const a = new RandomResizedCrop(8, { generator: new Generator(5) });
  const b = new RandomResizedCrop(8, { generator: new Generator(5) });
  for (let i = 0; i < 50; i++) {
    const [top, left, h, w] = a.getParams(60, 80);
    assert.deepEqual(b.getParams(60, 80), [top, left, h, w]);
    assert.ok(top >= 0 && left >= 0 && top + h <= 60 && left + w <= 80);
    // Rounding of sqrt() can push area/ratio slightly past the range; allow one pixel's worth.
    assert.ok(h * w >= 0.08 * 4800 * 0.8 && h * w <= 4800);
    assert.ok(w / h > (3 / 4) * 0.8 && w / h < (4 / 3) * 1.25);
  }
  // An impossible scale forces the fallback: 10x40 has ratio 4 > 4/3, so h = 10, w = round(10 * 4/3) = 13, centred.
  const c = new RandomResizedCrop(4, { scale: [2, 3], generator: new Generator(0) });
  assert.deepEqual(c.getParams(10, 40), [0, 13, 10, 13]);
  const out = new RandomResizedCrop([4, 6], { generator: new Generator(1) }).forward(grey([[1, 2], [3, 4]]));
  assert.deepEqual([out.height, out.width], [4, 6]);
});

Deno.test("Compose and Lambda; specs rebuild the same pipeline, Lambda cannot be sent", async () => {
  const pipeline = new Compose([new Resize([4, 4]), new CenterCrop(2), new ToTensor()]);
  const img: Image = { width: 2, height: 2, channels: 3, data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) };
  const t = pipeline.forward(img);
  assert.deepEqual(t.shape, [3, 2, 2]);
  const rebuilt = await revive(structuredClone(pipeline.toWorkerSpec())) as Compose;
  assert.ok(rebuilt instanceof Compose);
  assert.deepEqual(await rebuilt.forward(img).tolist(), await t.tolist());
  const withLambda = new Compose([new Lambda((x: Image) => x), new ToTensor()]);
  assert.deepEqual(withLambda.forward(img).shape, [3, 2, 2]);
  assert.throws(() => withLambda.toWorkerSpec(), NotSendableError);
  assert.throws(() => new Compose([(x: unknown) => x]).toWorkerSpec(), /Compose step 0 is a plain function/);
});
