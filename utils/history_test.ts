import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { History } from "./history.ts";
import type { Plot } from "./plot.ts";

Deno.test("History writes its CSV as rows come: header first, empty cells for left-out columns, quoting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/log.csv`;
    const h = new History({ csv: path });
    h.push({ epoch: 1, trainLoss: 0.5, note: "warm, up" });
    deepStrictEqual(await Deno.readTextFile(path), 'epoch,trainLoss,note\n1,0.5,"warm, up"\n');
    h.push({ epoch: 2, trainLoss: 0.25 });
    deepStrictEqual(await Deno.readTextFile(path), 'epoch,trainLoss,note\n1,0.5,"warm, up"\n2,0.25,\n');
    deepStrictEqual(h.toCsv(), await Deno.readTextFile(path));
    deepStrictEqual(h.column("trainLoss"), [0.5, 0.25]);
    deepStrictEqual(h.column("note").map(Number.isNaN), [true, true]);
    throws(() => h.push({ epoch: 3, valLoss: 1 }), /new column\(s\) "valLoss"; the columns are epoch, trainLoss, note/);
    deepStrictEqual(h.rows.length, 2); // the refused row changed nothing
    throws(() => h.column("acc"), /no column "acc"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("History.figure: a loss panel and an accuracy panel, one labelled curve per column, points in place", () => {
  const h = new History();
  const rows = [
    { epoch: 1, trainLoss: 1.0, valLoss: 1.2, trainAcc: 0.6, valAcc: 0.55, lr: 0.1 },
    { epoch: 2, trainLoss: 0.6, valLoss: 0.8, trainAcc: 0.8, valAcc: 0.7, lr: 0.05 },
    { epoch: 3, trainLoss: 0.3, valLoss: 0.7, trainAcc: 0.9, valAcc: 0.75, lr: 0.01 },
  ];
  for (const r of rows) h.push(r);
  const fig = h.figure();
  const canvas = fig.render();
  deepStrictEqual(fig.panels.length, 2);
  const [loss, acc] = fig.panels as Plot[];
  deepStrictEqual([loss.options.title, acc.options.title], ["loss", "accuracy"]);
  deepStrictEqual(loss.options.xTicks, [1, 2, 3]); // whole epochs only
  // The first series is tab10 blue, the second orange: each point of train loss and val acc where it belongs.
  const has = (x: number, y: number, c: number[]) => {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const p = canvas.pixel(Math.round(x) + dx, Math.round(y) + dy);
        if (p[0] === c[0] && p[1] === c[1] && p[2] === c[2]) return true;
      }
    }
    return false;
  };
  for (const r of rows) {
    ok(has(loss.xToPixel(r.epoch), loss.yToPixel(r.trainLoss), [0x1f, 0x77, 0xb4]), `train loss ${r.epoch}`);
    ok(has(acc.xToPixel(r.epoch), acc.yToPixel(r.valAcc), [0xff, 0x7f, 0x0e]), `val acc ${r.epoch}`);
  }
  // Both panels span the data: the y range holds every value of its columns.
  ok(loss.ranges.y[0] < 0.3 && loss.ranges.y[1] > 1.2);
  // Explicit panels pick any columns.
  deepStrictEqual((h.figure({ panels: { "learning rate": ["lr"] } }).panels[0] as Plot).options.title, "learning rate");
  throws(() => new History().figure(), /no rows/);
});
