import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { arange } from "@dendrite/tensor";
import { DataLoader, TensorDataset } from "@dendrite/data";
import { formatDuration, progress, ProgressBar, type ProgressOptions } from "./progress.ts";

/** A stream that records what is written, and a clock the test moves. */
function fixture(mode: ProgressOptions["mode"], terminal = false) {
  let text = "";
  let t = 0;
  const stream = {
    writeSync: (p: Uint8Array) => {
      text += new TextDecoder().decode(p);
      return p.length;
    },
    isTerminal: () => terminal,
  };
  return {
    opts: { stream, mode, now: () => t } satisfies ProgressOptions,
    tick: (seconds: number) => t += seconds * 1000,
    text: () => text,
  };
}

Deno.test("formatDuration: mm:ss, and h:mm:ss past an hour", () => {
  deepStrictEqual([formatDuration(0), formatDuration(75), formatDuration(3725), formatDuration(NaN)], [
    "00:00",
    "01:15",
    "1:02:05",
    "?",
  ]);
});

Deno.test("piped (lines mode): one plain line per interval and one at the end, never carriage returns", async () => {
  const f = fixture("lines");
  async function* batches() {
    for (let i = 0; i < 10; i++) yield i;
  }
  const bar = progress(batches(), { ...f.opts, total: 10, desc: "epoch 1/3", interval: 3 });
  let seen = 0;
  for await (const i of bar) {
    deepStrictEqual(i, seen++);
    f.tick(1); // each item takes one second
    bar.setPostfix({ loss: 1 / (i + 1), acc: "n/a" });
  }
  deepStrictEqual(bar.n, 10);
  const lines = f.text().split("\n");
  deepStrictEqual(lines.pop(), ""); // ends with a newline
  ok(!f.text().includes("\r"));
  // After 3 s: 3 items at 1 it/s, 7 left → 00:07 remaining; the postfix is the latest set.
  deepStrictEqual(lines, [
    "epoch 1/3: 3/10 (30%) [00:03<00:07, 1.00it/s, loss=0.3333, acc=n/a]",
    "epoch 1/3: 6/10 (60%) [00:06<00:04, 1.00it/s, loss=0.1667, acc=n/a]",
    "epoch 1/3: 9/10 (90%) [00:09<00:01, 1.00it/s, loss=0.1111, acc=n/a]",
    "epoch 1/3: 10/10 (100%) [00:10<00:00, 1.00it/s, loss=0.1, acc=n/a]",
  ]);
});

Deno.test("a run shorter than the interval prints just its final line; the total comes from length", () => {
  const f = fixture("lines");
  const loaderLike = {
    length: 4,
    *[Symbol.iterator]() {
      yield* [1, 2, 3, 4];
    },
  };
  let sum = 0;
  for (const v of progress(loaderLike, { ...f.opts, unit: "batch" })) {
    sum += v;
    f.tick(0.5);
  }
  deepStrictEqual(sum, 10);
  deepStrictEqual(f.text(), "4/4 (100%) [00:02<00:00, 2.00batch/s]\n");
});

Deno.test("on a terminal the bar redraws in place and leaves its last state on its own line", () => {
  const f = fixture("tty", true);
  const bar = new ProgressBar(null, { ...f.opts, total: 4, width: 80, minInterval: 0 });
  for (let i = 0; i < 4; i++) {
    f.tick(2);
    bar.update(1);
  }
  bar.setPostfix({ loss: 0.25 });
  bar.close();
  const text = f.text();
  const frames = text.split("\r").slice(1);
  ok(frames.length >= 5, `${frames.length} frames`);
  ok(frames.slice(0, -1).every((fr) => fr.endsWith("\x1b[K")), "each frame clears the rest of the line");
  deepStrictEqual(
    frames.at(-1),
    `100%|${"█".repeat(frames.at(-1)!.indexOf("|", 5) - 5)}| 4/4 [00:08<00:00, 2.00s/it, loss=0.25]\x1b[K\n`,
  );
  // Half-way: half the bar filled.
  const half = frames.find((fr) => fr.includes(" 2/4 "))!;
  const inner = half.slice(half.indexOf("|") + 1, half.lastIndexOf("|"));
  deepStrictEqual(inner.replaceAll(" ", "").length, inner.length / 2);
  ok(half.startsWith(" 50%|"));
  // Slower than one item a second shows seconds per item, like tqdm.
  ok(half.includes("2.00s/it"), half);
});

Deno.test("auto mode: a terminal redraws, a pipe prints lines; CI set means lines even on a terminal", () => {
  const hadCi = Deno.env.get("CI");
  try {
    Deno.env.delete("CI");
    const tty = fixture("auto", true);
    new ProgressBar(null, { ...tty.opts, total: 2 }).close();
    ok(tty.text().includes("\r"));
    const pipe = fixture("auto", false);
    new ProgressBar(null, { ...pipe.opts, total: 2 }).close();
    ok(!pipe.text().includes("\r"));
    Deno.env.set("CI", "true");
    const ci = fixture("auto", true);
    new ProgressBar(null, { ...ci.opts, total: 2 }).close();
    ok(!ci.text().includes("\r"));
  } finally {
    if (hadCi === undefined) Deno.env.delete("CI");
    else Deno.env.set("CI", hadCi);
  }
});

Deno.test("leaving a loop early counts the item the body took, and closes the bar once", () => {
  const f = fixture("lines");
  const bar = progress([1, 2, 3, 4, 5], { ...f.opts });
  for (const v of bar) if (v === 3) break;
  deepStrictEqual(bar.n, 3);
  bar.close();
  deepStrictEqual(f.text().split("\n").length, 2); // one final line
  ok(f.text().startsWith("3/5 (60%)"));
});

Deno.test("write() prints a message without breaking the bar; unknown totals show a count", () => {
  const f = fixture("tty", true);
  const bar = new ProgressBar(null, { ...f.opts, minInterval: 0 });
  f.tick(1);
  bar.update(5);
  bar.write("saved checkpoint");
  bar.close();
  ok(f.text().includes("\r\x1b[Ksaved checkpoint\n\r5it [00:01, 5.00it/s]"), JSON.stringify(f.text()));
  const quiet = fixture("lines");
  const off = new ProgressBar(null, { ...quiet.opts, disable: true, total: 3 });
  off.update(3);
  off.close();
  deepStrictEqual(quiet.text(), "");
});

Deno.test("bad arguments are refused", () => {
  throws(() => progress(42 as never), /expected an iterable/);
  throws(() => new ProgressBar(null, { total: -1 }), /total must be a non-negative number/);
  throws(() => new ProgressBar(null, { interval: -2, mode: "lines" }), /interval must be ≥ 0 seconds/);
  throws(() => [...new ProgressBar(null, { mode: "lines", disable: true })], /wraps an async iterable \(or none\)/);
});

Deno.test("a DataLoader's length is the total, and `for await` yields its batches", async () => {
  const f = fixture("lines");
  const ds = new TensorDataset(arange(10).reshape([10, 1]));
  const bar = progress(new DataLoader(ds, { batchSize: 3 }), f.opts);
  deepStrictEqual(bar.total, 4);
  const sizes: number[] = [];
  for await (const [x] of bar) sizes.push(x.shape[0]);
  deepStrictEqual(sizes, [3, 3, 3, 1]);
  ok(f.text().startsWith("4/4 (100%)"), f.text());
});

Deno.test("piped: a final state the last interval line already showed is not printed twice by close()", () => {
  const f = fixture("lines");
  const bar = new ProgressBar(null, { ...f.opts, total: 2, interval: 1 });
  f.tick(1);
  bar.update(); // interval reached: "1/2"
  f.tick(1);
  bar.update(); // interval reached: "2/2"
  bar.close(); // nothing new to say
  deepStrictEqual(f.text().split("\n").filter((l) => l !== "").map((l) => l.split(" ")[0]), ["1/2", "2/2"]);
});
