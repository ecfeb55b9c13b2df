import { deepStrictEqual, throws } from "node:assert/strict";
import { Image } from "imagescript";
import { Canvas, rgba } from "./canvas.ts";

Deno.test("rgba parses hex strings and arrays, and refuses anything else", () => {
  deepStrictEqual(rgba("#1f77b4"), [31, 119, 180, 255]);
  deepStrictEqual(rgba("#ff000080"), [255, 0, 0, 128]);
  deepStrictEqual(rgba([1, 2, 3]), [1, 2, 3, 255]);
  throws(() => rgba("red"), /expected "#rrggbb"/);
  throws(() => rgba([1, 2, 300]), /in 0..255/);
});

Deno.test("Canvas draws lines through both ends, dashes, blends alpha and respects the clip", () => {
  const c = new Canvas(20, 10);
  deepStrictEqual(c.pixel(0, 0), [255, 255, 255, 255]);
  c.line(2, 3, 12, 3, "#ff0000");
  for (let x = 2; x <= 12; x++) deepStrictEqual(c.pixel(x, 3), [255, 0, 0, 255]);
  deepStrictEqual(c.pixel(13, 3), [255, 255, 255, 255]);
  // A diagonal visits one pixel per column.
  c.line(0, 0, 5, 5, "#0000ff");
  for (let k = 0; k <= 5; k++) deepStrictEqual(c.pixel(k, k), [0, 0, 255, 255]);
  // Dashes: 2 on, 2 off.
  c.line(0, 8, 9, 8, "#00ff00", 1, [2, 2]);
  deepStrictEqual([0, 1, 2, 3, 4, 5].map((x) => c.pixel(x, 8)[1] === 255 && c.pixel(x, 8)[0] === 0), [
    true,
    true,
    false,
    false,
    true,
    true,
  ]);
  // Half-transparent black over white is mid grey.
  c.setPixel(19, 0, [0, 0, 0, 128]);
  deepStrictEqual(c.pixel(19, 0).slice(0, 3), [127, 127, 127]);
  c.setClip({ x: 0, y: 0, width: 5, height: 5 });
  c.fillRect(0, 6, 20, 1, "#000000");
  c.fillRect(4, 4, 3, 1, "#000000");
  c.setClip(null);
  deepStrictEqual(c.pixel(0, 6), [255, 255, 255, 255]);
  deepStrictEqual(c.pixel(4, 4), [0, 0, 0, 255]);
  deepStrictEqual(c.pixel(5, 4), [255, 255, 255, 255]);
});

Deno.test("Canvas.encodePng round-trips through imagescript pixel for pixel", async () => {
  const c = new Canvas(7, 5, "#102030");
  c.disc(3, 2, 1, "#ffffff");
  c.text(0, 0, "1", "#ff0000");
  const img = await Image.decode(await c.encodePng());
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 7; x++) deepStrictEqual(Image.colorToRGBA(img.getPixelAt(x + 1, y + 1)), c.pixel(x, y));
  }
  throws(() => new Canvas(0, 3), /positive integers/);
});
