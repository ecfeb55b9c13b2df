import { deepStrictEqual, ok } from "node:assert/strict";
import { main, runMaze } from "./rl_maze.ts";

Deno.test("rl_maze: Q-learning's greedy policy walks a shortest path, and episodes shorten as it learns", () => {
  const res = runMaze({ episodes: 150 });
  ok(res.greedy.terminated, "the greedy policy reaches the goal");
  deepStrictEqual(res.greedy.path.length - 1, res.shortest);
  ok(res.optimalFrom !== null && res.optimalFrom <= 150);
  const mean = (a: number, b: number) => res.episodes.slice(a, b).reduce((s, e) => s + e.steps, 0) / (b - a);
  ok(mean(140, 150) < mean(0, 10) / 3, `late episodes ${mean(140, 150)} steps, early ${mean(0, 10)}`);
});

Deno.test("rl_maze: the example prints its table and writes both pictures", async () => {
  const out = await Deno.makeTempDir({ prefix: "rl_maze_test_" });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    const res = await main(["--quick", "--out", out]);
    ok(res.greedy.terminated);
    ok(lines.some((l) => l.startsWith("episodes   mean steps")), lines.join("\n"));
    for (const f of ["maze_steps.png", "maze_values.png"]) {
      const bytes = await Deno.readFile(`${out}/${f}`);
      deepStrictEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    }
  } finally {
    console.log = log;
    await Deno.remove(out, { recursive: true });
  }
});
