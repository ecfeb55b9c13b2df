import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { Image } from "imagescript";
import type { Canvas } from "./canvas.ts";
import { colormap } from "./colormap.ts";
import { Figure, formatTick, Heatmap, niceTicks, Plot } from "./plot.ts";

const RED: [number, number, number, number] = [255, 0, 0, 255];
const BLACK: [number, number, number, number] = [0, 0, 0, 255];
const same = (a: number[], b: number[]) => a.every((v, i) => v === b[i]);
/** Whether any pixel within `r` of (x, y) has colour `c`. */
function near(canvas: Canvas, x: number, y: number, c: number[], r = 1): boolean {
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) if (same(canvas.pixel(Math.round(x) + dx, Math.round(y) + dy), c)) return true;
  }
  return false;
}

Deno.test("niceTicks picks round steps inside the range; formatTick shows the decimals the step needs", () => {
  deepStrictEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  deepStrictEqual(niceTicks(0.13, 0.97, 4), [0.25, 0.5, 0.75]); // (0.97 − 0.13) / 4 = 0.21 → a step of 0.25
  deepStrictEqual(niceTicks(0.13, 0.97, 5), [0.2, 0.4, 0.6, 0.8]); // 0.168 → 0.2
  deepStrictEqual(niceTicks(-3, 7, 5), [-2, 0, 2, 4, 6]);
  deepStrictEqual(niceTicks(1, 10, 6), [2, 4, 6, 8, 10]);
  deepStrictEqual(niceTicks(0, 1000, 4), [0, 250, 500, 750, 1000]);
  deepStrictEqual([formatTick(0.2, 0.2), formatTick(1, 0.2), formatTick(250, 250), formatTick(0.05, 0.05)], [
    "0.2",
    "1.0",
    "250",
    "0.05",
  ]);
  deepStrictEqual(formatTick(2e7, 1e7), "2.0e7");
  // A step of 0.25 needs two decimals on every tick, 0.5 one.
  deepStrictEqual([formatTick(1.25, 0.25), formatTick(1, 0.25), formatTick(1.5, 0.5)], ["1.25", "1.00", "1.5"]);
});

Deno.test("a line plot: the axes' box, tick marks, and the curve's points where the data put them", () => {
  const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const plot = new Plot({ title: "y = x", xLabel: "x", yLabel: "y", xRange: [0, 10], yRange: [0, 10], grid: false })
    .line(xs, xs, { color: "#ff0000", width: 1 });
  const canvas = plot.render(400, 300);
  const a = plot.area!;
  ok(a.width > 300 && a.height > 200, `area ${JSON.stringify(a)}`);
  const left = a.x, right = a.x + a.width - 1, top = a.y, bottom = a.y + a.height - 1;
  // The box around the axes: left and bottom axis lines (and the other two sides) in black.
  for (let y = top; y <= bottom; y++) ok(same(canvas.pixel(left, y), BLACK), `left axis at y=${y}`);
  for (let x = left; x <= right; x++) ok(same(canvas.pixel(x, bottom), BLACK), `bottom axis at x=${x}`);
  // The curve: data (v, v) sits at a fraction v/10 of the area from its bottom-left corner.
  const px = (v: number) => left + (v / 10) * (a.width - 1), py = (v: number) => bottom - (v / 10) * (a.height - 1);
  for (const v of [1, 2.5, 5, 7.5, 9]) ok(near(canvas, px(v), py(v), RED), `curve at (${v}, ${v})`);
  // And nowhere near (8, 2) or (2, 8).
  ok(!near(canvas, px(8), py(2), RED, 3) && !near(canvas, px(2), py(8), RED, 3));
  // Tick marks below the x axis at 0, 2, …, 10 (round numbers for a 400-pixel-wide plot).
  for (const v of [0, 2, 4, 6, 8, 10]) ok(same(canvas.pixel(Math.round(px(v)), bottom + 2), BLACK), `x tick ${v}`);
  ok(!same(canvas.pixel(Math.round(px(1)), bottom + 2), BLACK));
  for (const v of [0, 2, 4, 6, 8, 10]) ok(same(canvas.pixel(left - 2, Math.round(py(v))), BLACK), `y tick ${v}`);
  // Tick labels: ink below the ticks and left of the axis, and none inside the empty upper-left triangle.
  const inkIn = (x0: number, y0: number, x1: number, y1: number) => {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (same(canvas.pixel(x, y), BLACK)) return true;
    return false;
  };
  ok(inkIn(Math.round(px(10)) - 6, bottom + 6, Math.round(px(10)) + 6, bottom + 16), "label under the tick 10");
  ok(inkIn(left - 20, Math.round(py(10)) - 4, left - 6, Math.round(py(10)) + 4), "label left of the tick 10");
  ok(!inkIn(Math.round(px(1)), Math.round(py(9)), Math.round(px(4)), Math.round(py(6))), "empty corner");
  // The plot maps values the same way the test does.
  deepStrictEqual([plot.xToPixel(5), plot.yToPixel(5)], [px(5), py(5)]);
});

Deno.test("a line plot's PNG holds the same pixels (decoded with imagescript)", async () => {
  const plot = new Plot({ xRange: [0, 1], yRange: [0, 1] }).line([0, 1], [0.5, 0.5], { color: "#ff0000" });
  const path = await Deno.makeTempFile({ suffix: ".png" });
  try {
    await plot.savePng(path, 200, 150);
    const img = await Image.decode(await Deno.readFile(path));
    deepStrictEqual([img.width, img.height], [200, 150]);
    const y = Math.round(plot.yToPixel(0.5)), x = Math.round(plot.xToPixel(0.5));
    deepStrictEqual(Image.colorToRGBA(img.getPixelAt(x + 1, y + 1)), RED);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("the legend names each labelled series beside its colour, in the corner the data leave empty", () => {
  const xs = [0, 1, 2, 3, 4];
  // Both curves fall from the upper left to the lower right: the legend goes upper right.
  const plot = new Plot().line(xs, [4, 2, 1, 0.5, 0.2], { label: "train", color: "#ff0000" })
    .line(xs, [4.2, 2.5, 1.5, 1, 0.9], { label: "val", color: "#0000ff" })
    .line(xs, [3, 3, 3, 3, 3], { color: "#00ff00" }); // no label: not in the legend
  const canvas = plot.render(400, 300);
  const a = plot.area!;
  const find = (c: number[], x0: number, y0: number, x1: number, y1: number) => {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (same(canvas.pixel(x, y), c)) return [x, y];
    return null;
  };
  const qx = a.x + Math.floor(a.width / 2), qy = a.y + Math.floor(a.height / 3);
  const red = find(RED, qx, a.y + 1, a.x + a.width - 2, qy),
    blue = find([0, 0, 255, 255], qx, a.y + 1, a.x + a.width - 2, qy);
  ok(red && blue, "both legend samples in the upper-right corner");
  ok(blue![1] > red![1], "entries in the order the series were added");
  // Ink (the labels) right of the samples.
  ok(find(BLACK, red![0] + 15, red![1] - 4, red![0] + 60, red![1] + 4), "label beside the red sample");
  // The unlabelled green series is drawn but has no legend entry up there (its line is at y = 3, lower).
  ok(!find([0, 255, 0, 255], qx, a.y + 1, a.x + a.width - 2, Math.round(plot.yToPixel(3)) - 4));
});

Deno.test("bars fill from the bottom to their height; the reliability-diagram diagonal is dashed", () => {
  const plot = new Plot({ xRange: [0, 4], yRange: [0, 4], legend: "none" })
    .bar([1, 2, 3], [1, 2, 3], { color: "#ff0000", width: 0.5 })
    .line([0, 4], [0, 4], { color: "#0000ff", dash: [4, 4], width: 1 });
  const canvas = plot.render(300, 300);
  for (const [x, h] of [[1, 1], [2, 2], [3, 3]]) {
    ok(same(canvas.pixel(Math.round(plot.xToPixel(x)), Math.round(plot.yToPixel(h - 0.3))), RED), `inside bar ${x}`);
    ok(!same(canvas.pixel(Math.round(plot.xToPixel(x)), Math.round(plot.yToPixel(h + 0.3))), RED), `above bar ${x}`);
    ok(!same(canvas.pixel(Math.round(plot.xToPixel(x + 0.4)), Math.round(plot.yToPixel(h / 2))), RED), `beside ${x}`);
  }
  // Along the dashed diagonal some pixels are blue and some are not.
  let on = 0, off = 0;
  for (let v = 0.2; v < 0.9; v += 0.01) {
    if (near(canvas, plot.xToPixel(v), plot.yToPixel(v), [0, 0, 255, 255], 0)) on++;
    else off++;
  }
  ok(on > 10 && off > 10, `dashes: ${on} on, ${off} off`);
});

Deno.test("Heatmap colours each cell by the colormap, row 0 on top, with readable annotations", () => {
  const map = new Heatmap([[0, 1], [2, 3]], { colormap: "gray", annotate: true, colorbar: false });
  const canvas = map.render(200, 200);
  const gray = colormap("gray");
  for (const [i, j, v] of [[0, 0, 0], [0, 1, 1], [1, 0, 2], [1, 1, 3]]) {
    const r = map.cellRect(i, j);
    // A corner of the cell (the number sits in the middle).
    deepStrictEqual(canvas.pixel(r.x + 2, r.y + 2), [...gray(v / 3), 255], `cell ${i},${j}`);
  }
  // The dark cell's number is written in white, the light one's in black.
  const ink = (i: number, j: number, c: number[]) => {
    const r = map.cellRect(i, j);
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) if (same(canvas.pixel(x, y), c)) return true;
    }
    return false;
  };
  ok(ink(0, 0, [255, 255, 255, 255]) && ink(1, 1, BLACK));
  throws(() => new Heatmap([[1, 2], [3]]), /rows of equal length/);
  throws(() => new Heatmap([[1, 2]], { xTickLabels: ["a"] }), /1 xTickLabels for 2 columns/);
});

Deno.test("Figure lays panels out in rows, each drawn inside its own rectangle", () => {
  const a = new Plot({ xRange: [0, 1], yRange: [0, 1] }).line([0, 1], [0, 1]);
  const b = new Plot({ xRange: [0, 1], yRange: [0, 1] }).line([0, 1], [1, 0]);
  const c = new Plot({ xRange: [0, 1], yRange: [0, 1] }).line([0, 1], [0, 0]);
  const canvas = new Figure([a, b, c], { columns: 2, panelWidth: 200, panelHeight: 150 }).render();
  deepStrictEqual([canvas.width, canvas.height], [400, 300]);
  ok(a.area!.x < 200 && b.area!.x >= 200 && c.area!.y >= 150 && c.area!.x < 200);
  throws(() => new Figure([]), /at least one panel/);
  throws(() => new Plot({ xRange: [1, 0] }), /xRange must be \[low, high\]/);
  throws(() => new Plot().line([1, 2], [1]), /x has 2 values but y has 1/);
});
