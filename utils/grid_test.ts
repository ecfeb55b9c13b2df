import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { Image } from "imagescript";
import { tensor } from "@dendrite/tensor";
import { captionedGrid, makeGrid, saveImage } from "./grid.ts";

/** Three 1×2×2 images: image k holds k·10 + [1, 2; 3, 4]. */
const three = () => tensor([[[[1, 2], [3, 4]]], [[[11, 12], [13, 14]]], [[[21, 22], [23, 24]]]]);

Deno.test("makeGrid places each image in its cell, pads with padValue, repeats one channel to three", async () => {
  const grid = makeGrid(three(), { nrow: 2, padding: 1, padValue: -1 });
  // 2 columns, 2 rows of (2 + 1) pixels plus 1: 7 × 7.
  deepStrictEqual(grid.shape, [3, 7, 7]);
  const P = -1;
  const plane = [
    [P, P, P, P, P, P, P],
    [P, 1, 2, P, 11, 12, P],
    [P, 3, 4, P, 13, 14, P],
    [P, P, P, P, P, P, P],
    [P, 21, 22, P, P, P, P],
    [P, 23, 24, P, P, P, P],
    [P, P, P, P, P, P, P],
  ];
  deepStrictEqual(await grid.tolist(), [plane, plane, plane]);
});

Deno.test("makeGrid: nrow larger than the batch gives one row; a list of images works like a batch", async () => {
  const images = [tensor([[[1]], [[2]], [[3]]]), tensor([[[4]], [[5]], [[6]]])]; // two 3×1×1 images
  const grid = makeGrid(images, { padding: 0 });
  deepStrictEqual(grid.shape, [3, 1, 2]);
  deepStrictEqual(await grid.tolist(), [[[1, 4]], [[2, 5]], [[3, 6]]]);
});

Deno.test("makeGrid normalize: by the whole batch's range, by valueRange (clamped), or per image", async () => {
  const t = tensor([[[[0, 2]]], [[[4, 8]]]]); // two 1×1×2 images
  const cells = async (g: ReturnType<typeof makeGrid>) => (await g.tolist() as number[][][])[0][0];
  deepStrictEqual(await cells(makeGrid(t, { padding: 0, normalize: true })), [0, 0.25, 0.5, 1]);
  deepStrictEqual(await cells(makeGrid(t, { padding: 0, normalize: true, valueRange: [2, 6] })), [0, 0, 0.5, 1]);
  deepStrictEqual(await cells(makeGrid(t, { padding: 0, normalize: true, scaleEach: true })), [0, 1, 0, 1]);
  // A constant image does not divide by zero.
  deepStrictEqual(await cells(makeGrid(tensor([[[[3, 3]]], [[[3, 3]]]]), { padding: 0, normalize: true })), [
    0,
    0,
    0,
    0,
  ]);
});

Deno.test("makeGrid: one image comes back unpadded, as in torchvision; bad shapes and options are refused", () => {
  deepStrictEqual(makeGrid(tensor([[1, 2], [3, 4]]), { padding: 5 }).shape, [3, 2, 2]);
  throws(() => makeGrid(tensor([1, 2, 3])), /makeGrid: expected images \[B, C, H, W\].*got shape \[3\]/);
  throws(() => makeGrid(three(), { nrow: 0 }), /nrow must be an integer ≥ 1, got 0/);
  throws(() => makeGrid(three(), { normalize: true, valueRange: [1, 1] }), /valueRange must be \[low, high\]/);
  throws(() => makeGrid([]), /empty list/);
});

Deno.test("saveImage writes a PNG whose pixels are the grid's values scaled to 8 bits", async () => {
  const path = await Deno.makeTempFile({ suffix: ".png" });
  try {
    // Image 0 white, image 1 mid-grey (0.5 → 128 as torchvision rounds), padding 0.2 → 51.
    const images = tensor([[[[1, 1], [1, 1]]], [[[0.5, 0.5], [0.5, 0.5]]]]);
    await saveImage(images, path, { padding: 1, padValue: 0.2 });
    const img = await Image.decode(await Deno.readFile(path));
    deepStrictEqual([img.width, img.height], [7, 4]);
    const rgba = (x: number, y: number) => Image.colorToRGBA(img.getPixelAt(x + 1, y + 1));
    deepStrictEqual(rgba(0, 0), [51, 51, 51, 255]);
    deepStrictEqual(rgba(1, 1), [255, 255, 255, 255]);
    deepStrictEqual(rgba(2, 2), [255, 255, 255, 255]);
    deepStrictEqual(rgba(3, 1), [51, 51, 51, 255]);
    deepStrictEqual(rgba(4, 1), [128, 128, 128, 255]);
    deepStrictEqual(rgba(5, 2), [128, 128, 128, 255]);
    deepStrictEqual(rgba(6, 3), [51, 51, 51, 255]);
    // Colour images keep their channels.
    await saveImage(tensor([[[1]], [[0]], [[0.2]]]), path);
    const red = await Image.decode(await Deno.readFile(path));
    deepStrictEqual(Image.colorToRGBA(red.getPixelAt(1, 1)), [255, 0, 51, 255]);
    await rejects(() => saveImage(tensor([[[1]], [[0]]]), path), /tensorToImage: expected an image \[C, H, W\]/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("captionedGrid draws each image scaled up with its caption below, in rows", async () => {
  // Two 1×1×2 images: [0, 1] and [0.5, 0.2]; scale 3, padding 2, captions "a" and "bc".
  const canvas = await captionedGrid(tensor([[[[0, 1]]], [[[0.5, 0.2]]]]), ["a", "bc"], {
    scale: 3,
    padding: 2,
    nrow: 1,
  });
  // Cells are max(2·3, width of "bc" = 11) = 11 wide; the image (6 wide) is centred: starts at 2 + 2 = 4.
  deepStrictEqual(canvas.width, 2 + 11 + 2);
  deepStrictEqual(canvas.pixel(4, 2), [0, 0, 0, 255]);
  deepStrictEqual(canvas.pixel(6, 4), [0, 0, 0, 255]);
  deepStrictEqual(canvas.pixel(7, 2), [255, 255, 255, 255]);
  deepStrictEqual(canvas.pixel(9, 4), [255, 255, 255, 255]);
  // Second row: one image 3 pixels tall + a caption 11 tall + padding 2 below the first, starting at y = 2.
  const y1 = 2 + 3 + 11 + 2;
  deepStrictEqual(canvas.pixel(4, y1), [128, 128, 128, 255]);
  deepStrictEqual(canvas.pixel(7, y1 + 2), [51, 51, 51, 255]);
  // Each caption leaves black ink in the rows under its image.
  const inkIn = (ya: number, yb: number) => {
    for (let y = ya; y < yb; y++) {
      for (let x = 0; x < canvas.width; x++) if (canvas.pixel(x, y).slice(0, 3).every((v) => v === 0)) return true;
    }
    return false;
  };
  ok(inkIn(2 + 3, 2 + 3 + 11), "caption a");
  ok(inkIn(y1 + 3, y1 + 3 + 11), "caption bc");
  ok(!inkIn(y1 - 2, y1), "nothing in the padding between rows");
  await rejects(() => captionedGrid(tensor([[[[0, 1]]]]), ["x", "y"]), /2 captions for 1 images/);
});
