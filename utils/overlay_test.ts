import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { ones, tensor, zeros } from "@dendrite/tensor";
import { colorize, overlayHeatmap, resizeBilinear } from "./overlay.ts";

const near = (a: ArrayLike<number>, b: number[], tol = 1e-6) =>
  a.length === b.length && b.every((v, i) => Math.abs(a[i] - v) <= tol);

Deno.test("resizeBilinear samples as F.interpolate(bilinear, align_corners=False)", () => {
  // 2 → 4: output pixel o reads source (o + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
  const up = resizeBilinear([0, 1, 1, 0], 2, 2, 4, 4);
  ok(near(up, [0, 0.25, 0.75, 1, 0.25, 0.375, 0.625, 0.75, 0.75, 0.625, 0.375, 0.25, 1, 0.75, 0.25, 0]));
  // 2×3 → 3×5: rows read y = 0, 0.5, 1 and columns x = 0, 0.4, 1, 1.6, 2 of [[0, 1, 2], [3, 4, 5]].
  const r = resizeBilinear([0, 1, 2, 3, 4, 5], 2, 3, 3, 5);
  ok(near(r, [0, 0.4, 1, 1.6, 2, 1.5, 1.9, 2.5, 3.1, 3.5, 3, 3.4, 4, 4.6, 5], 1e-5), String(r));
});

Deno.test("overlayHeatmap: alpha 1 shows the resized, rescaled map; alpha 0 the image; between, the blend", async () => {
  const heat = tensor([[0, 10], [10, 0]]); // resized, then scaled by its range to [0, 1]
  const image = zeros([1, 4, 4]);
  const onlyHeat = await (await overlayHeatmap(image, heat, { alpha: 1, colormap: "gray" })).data();
  // Grey: every channel the resized value (0.625 at row 1, column 2), to the colormap's 8-bit step.
  for (let ch = 0; ch < 3; ch++) {
    ok(Math.abs(onlyHeat[ch * 16 + 1 * 4 + 2] - 0.625) <= 0.5 / 255, `channel ${ch}`);
    deepStrictEqual(onlyHeat[ch * 16], 0);
    deepStrictEqual(onlyHeat[ch * 16 + 3], 1);
  }
  const onlyImage = await overlayHeatmap(tensor([[[0.2, 0.4], [0.6, 0.8]]]), heat, { alpha: 0 });
  ok(near(await onlyImage.data(), [0.2, 0.4, 0.6, 0.8, 0.2, 0.4, 0.6, 0.8, 0.2, 0.4, 0.6, 0.8]));
  // White image, half jet: the map's top is jet's dark red (127, 0, 0).
  const blend = await (await overlayHeatmap(ones([3, 2, 2]), heat, { alpha: 0.5 })).data();
  ok(near([blend[1], blend[4 + 1], blend[8 + 1]], [0.5 + 0.5 * 127 / 255, 0.5, 0.5]));
});

Deno.test("overlayHeatmap works on batches (one map per image); colorize colours maps alone", async () => {
  const images = zeros([2, 3, 4, 4]);
  const maps = tensor([[[0, 1], [2, 3]], [[3, 2], [1, 0]]]);
  const out = await overlayHeatmap(images, maps, { alpha: 1, colormap: "gray" });
  deepStrictEqual(out.shape, [2, 3, 4, 4]);
  const d = await out.data();
  // Each map scaled by its own range: image 0's top-left is its minimum, image 1's its maximum.
  deepStrictEqual([d[0], d[3 * 16]], [0, 1]);
  const c = await colorize(tensor([[0, 1]]), { colormap: "viridis" });
  deepStrictEqual(c.shape, [3, 1, 2]);
  ok(near(await c.data(), [68 / 255, 253 / 255, 1 / 255, 231 / 255, 84 / 255, 37 / 255]));
  await rejects(() => overlayHeatmap(images, tensor([[1]])), /a batch of 2 images needs 2 maps/);
  await rejects(() => overlayHeatmap(zeros([2, 4, 4]), tensor([[1]])), /C = 1 or 3/);
  await rejects(() => overlayHeatmap(zeros([1, 4, 4]), tensor([[1]]), { alpha: 2 }), /alpha must be in \[0, 1\]/);
});
