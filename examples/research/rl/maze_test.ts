import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { GridMaze, SNARC_MAZE } from "./maze.ts";

const TINY = [
  "#####",
  "#S.##",
  "##.G#",
  "#####",
];

Deno.test("GridMaze: moves, walls, the goal's reward and termination, worked by hand", () => {
  const m = new GridMaze(TINY);
  deepStrictEqual([m.width, m.height, m.start, m.goal], [5, 4, 6, 13]);
  let s = m.reset();
  deepStrictEqual(s, 6); // row 1, col 1
  // Up, left and down hit walls: the agent stays, reward 0.
  for (const a of [0, 3, 2]) {
    deepStrictEqual(m.step(a), { observation: 6, reward: 0, terminated: false, truncated: false });
  }
  s = m.step(1).observation; // right → (1, 2)
  deepStrictEqual(s, 7);
  s = m.step(2).observation; // down → (2, 2)
  deepStrictEqual(s, 12);
  deepStrictEqual(m.step(1), { observation: 13, reward: 1, terminated: true, truncated: false }); // right → G
  throws(() => m.step(0), /episode has ended; call reset/);
  deepStrictEqual(m.render(new Map([[7, "*"]])), "█████\n█S*██\n██ G█\n█████");
});

Deno.test("GridMaze: truncation after maxEpisodeSteps, bad input refused before anything changes", () => {
  const m = new GridMaze(TINY, { maxEpisodeSteps: 2 });
  m.reset();
  deepStrictEqual(m.step(0).truncated, false);
  deepStrictEqual(m.step(0), { observation: 6, reward: 0, terminated: false, truncated: true });
  m.reset();
  throws(() => m.step(4), /GridMaze.step: action must be an integer in \[0, 4\), got 4/);
  deepStrictEqual(m.step(1).observation, 7); // the refused step changed nothing
  throws(() => new GridMaze(["#S#", "#G"]), /rows of equal length/);
  throws(() => new GridMaze(["#S#", "#.#"]), /exactly one S and one G, got 1 and 0/);
  throws(() => new GridMaze(TINY, { slip: 2 }), /slip must be in \[0, 1\]/);
});

Deno.test("GridMaze: a slippery maze is reproducible from its seed", () => {
  const walk = (seed: number) => {
    const m = new GridMaze(SNARC_MAZE, { slip: 0.5 });
    m.reset(seed);
    return Array.from({ length: 40 }, (_, i) => m.step(i % 4).observation);
  };
  deepStrictEqual(walk(3), walk(3));
  ok(walk(3).some((c, i) => c !== walk(4)[i]), "another seed slips differently");
  // Without slip the same actions always give the same cells, whatever the seed.
  const plain = (seed: number) => {
    const m = new GridMaze(SNARC_MAZE);
    m.reset(seed);
    return Array.from({ length: 40 }, (_, i) => m.step(i % 4).observation);
  };
  deepStrictEqual(plain(3), plain(4));
});
