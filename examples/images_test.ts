import { deepStrictEqual } from "node:assert/strict";
import { Image } from "imagescript";
import { tensor } from "../mod.ts";
import { saveDigitScatter, saveImageGrid } from "./images.ts";

Deno.test("saveImageGrid: images laid out nrow per row with padding, each pixel a scale×scale block", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Three 2×2 images: black, white, and one with a single white pixel (values outside [0, 1] clamp).
    const t = tensor([[[[0, 0], [0, 0]]], [[[1, 2], [1, 1]]], [[[0, 0], [0, 0.5]]]]);
    await saveImageGrid(t, `${dir}/g.png`, { nrow: 2, padding: 1, scale: 2 });
    const img = await Image.decode(await Deno.readFile(`${dir}/g.png`));
    // 2 columns of (2 + 1) plus 1 padding = 7 pixels wide, 2 rows → 7 high, times the scale.
    deepStrictEqual([img.width, img.height], [14, 14]);
    const grey = (x: number, y: number) => Image.colorToRGBA(img.getPixelAt(x + 1, y + 1))[0];
    deepStrictEqual([grey(2, 2), grey(3, 3)], [0, 0]); // image 0
    deepStrictEqual([grey(8, 2), grey(9, 5)], [255, 255]); // image 1 (2 clamped to 255)
    deepStrictEqual([grey(4, 8), grey(4, 10)], [0, 128]); // image 2: its bottom-right pixel is 0.5
    deepStrictEqual(grey(6, 2), 0); // padding between images
    await saveDigitScatter(
      [0, 0, 1, 1],
      [3, 7],
      Array.from({ length: 10 }, () => new Array(784).fill(0)),
      `${dir}/s.png`,
      100,
    );
    const s = await Image.decode(await Deno.readFile(`${dir}/s.png`));
    deepStrictEqual([s.width, s.height], [164, 432]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
