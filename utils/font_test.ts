import { deepStrictEqual, ok } from "node:assert/strict";
import { glyph, GLYPH_ADVANCE, hasGlyph, rasterize, textWidth } from "./font.ts";

Deno.test("the font covers printable ASCII; unknown characters draw a box", () => {
  for (let c = 32; c < 127; c++) ok(hasGlyph(String.fromCharCode(c)), `missing "${String.fromCharCode(c)}"`);
  ok(!hasGlyph("€"));
  deepStrictEqual(glyph("€"), glyph("\uFFFD"));
  // "T": a full top row, then the middle column.
  deepStrictEqual([...glyph("T")], [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0]);
});

Deno.test("textWidth counts characters times the advance, less the last gap, times the scale", () => {
  deepStrictEqual(textWidth(""), 0);
  deepStrictEqual(textWidth("ab"), 2 * GLYPH_ADVANCE - 1);
  deepStrictEqual(textWidth("ab", 2), 2 * (2 * GLYPH_ADVANCE - 1));
});

Deno.test("rasterize places ink where the glyph has it, scaled, and turned for vertical text", () => {
  const ink = (text: string, scale = 1, vertical = false) => {
    const pts: string[] = [];
    rasterize(text, 10, 20, (x, y) => pts.push(`${x},${y}`), scale, vertical);
    return pts.sort();
  };
  // "L": column 0 of rows 0–6, and row 6 across.
  const expected = ["10,20", "10,21", "10,22", "10,23", "10,24", "10,25", "10,26", "11,26", "12,26", "13,26", "14,26"];
  deepStrictEqual(ink("L"), expected.sort());
  deepStrictEqual(ink("L", 2).length, 4 * expected.length);
  // Turned a quarter anticlockwise: the stem lies along the bottom (y = 20), the foot stands at x = 16.
  const turned = ink("L", 1, true);
  for (let r = 0; r <= 6; r++) ok(turned.includes(`${10 + r},20`), `stem pixel ${10 + r},20`);
  for (let c = 0; c <= 4; c++) ok(turned.includes(`16,${20 - c}`), `foot pixel 16,${20 - c}`);
  deepStrictEqual(turned.length, expected.length);
  // The second character starts one advance further.
  ok(ink("IL").includes(`${10 + GLYPH_ADVANCE},26`));
});
