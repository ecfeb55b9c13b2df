/**
 * A gridworld maze, the task of Minsky's SNARC (1951): a "rat" that learns,
 * by reward alone, its way from the start to the goal.
 *
 * The maze is drawn as text: `#` wall, `S` start, `G` goal, anything else an
 * open cell. The observation is the agent's cell, `row * width + col`. Four
 * actions move one cell up, right, down or left; a move into a wall leaves the
 * agent where it is. Reaching the goal gives reward 1 and terminates; every
 * other step gives 0; the episode is truncated after `maxEpisodeSteps`. With
 * `slip > 0` the chosen move is replaced, with that probability, by one of the
 * four drawn at random (a seeded, stochastic maze).
 *
 * @module
 */

import { Generator } from "../../../mod.ts";
import { checkAction, checkSeed, type Env, type StepResult } from "./env.ts";

/** Row and column steps of the four actions: up, right, down, left. */
export const MOVES: readonly (readonly [number, number])[] = [[-1, 0], [0, 1], [1, 0], [0, -1]];

/** Arrows for the four actions, for printing a policy. */
export const ARROWS = ["↑", "→", "↓", "←"] as const;

/** The maze the example learns: 9 × 13, several dead ends, a 24-step shortest path. */
export const SNARC_MAZE: readonly string[] = [
  "#############",
  "#S..#.....#.#",
  "#.#.#.###.#.#",
  "#.#...#...#.#",
  "#.#####.###.#",
  "#...#...#...#",
  "###.#.#.#.#.#",
  "#.....#...#G#",
  "#############",
];

/** Options of {@link GridMaze}. */
export interface GridMazeOptions {
  /** Steps before truncation (default 1,000). */
  maxEpisodeSteps?: number;
  /** Probability that a move is replaced by a random one (default 0: deterministic). */
  slip?: number;
  /** Seed of the random stream used when `reset` is called without one (default 0). */
  seed?: number;
}

/** A gridworld maze (see the module doc). */
export class GridMaze implements Env<number> {
  /** Up, right, down, left. */
  readonly numActions = 4;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Cell index of the start. */
  readonly start: number;
  /** Cell index of the goal. */
  readonly goal: number;
  /** Steps before truncation. */
  readonly maxEpisodeSteps: number;
  /** Probability that a move is replaced by a random one. */
  readonly slip: number;
  readonly #walls: Uint8Array;
  #rng: Generator;
  #cell = -1;
  #steps = 0;
  #done = true;

  /** Parses `layout` (rows of equal length, one `S`, one `G`, `#` for walls). */
  constructor(layout: readonly string[] = SNARC_MAZE, options: GridMazeOptions = {}) {
    const height = layout.length;
    const width = height > 0 ? layout[0].length : 0;
    if (height === 0 || width === 0 || layout.some((r) => r.length !== width)) {
      throw new RangeError(
        `GridMaze: layout must be non-empty rows of equal length, got lengths [${layout.map((r) => r.length)}]`,
      );
    }
    const text = layout.join("");
    const count = (c: string) => text.split(c).length - 1;
    if (count("S") !== 1 || count("G") !== 1) {
      throw new RangeError(`GridMaze: layout must hold exactly one S and one G, got ${count("S")} and ${count("G")}`);
    }
    const max = options.maxEpisodeSteps ?? 1000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`GridMaze: maxEpisodeSteps must be a positive integer, got ${max}`);
    }
    const slip = options.slip ?? 0;
    if (!(slip >= 0 && slip <= 1)) throw new RangeError(`GridMaze: slip must be in [0, 1], got ${slip}`);
    checkSeed("GridMaze", options.seed);
    this.width = width;
    this.height = height;
    this.#walls = Uint8Array.from(text, (c) => (c === "#" ? 1 : 0));
    this.start = text.indexOf("S");
    this.goal = text.indexOf("G");
    this.maxEpisodeSteps = max;
    this.slip = slip;
    this.#rng = new Generator(options.seed ?? 0);
  }

  /** How many observations there are (cells, walls included): the rows of a Q-table. */
  get numStates(): number {
    return this.width * this.height;
  }

  /** Whether `cell` is a wall. */
  isWall(cell: number): boolean {
    return this.#walls[cell] === 1;
  }

  /** The cell a move from `cell` by `action` lands on (the same cell when a wall, or the border, is in the way). */
  move(cell: number, action: number): number {
    const row = Math.floor(cell / this.width) + MOVES[action][0];
    const col = (cell % this.width) + MOVES[action][1];
    if (row < 0 || row >= this.height || col < 0 || col >= this.width) return cell;
    const next = row * this.width + col;
    return this.#walls[next] ? cell : next;
  }

  /** Starts an episode at `S`; a `seed` restarts the random stream (used by `slip`). */
  reset(seed?: number): number {
    checkSeed("GridMaze", seed);
    if (seed !== undefined) this.#rng.manualSeed(seed);
    this.#cell = this.start;
    this.#steps = 0;
    this.#done = false;
    return this.#cell;
  }

  /** One move. */
  step(action: number): StepResult<number> {
    checkAction("GridMaze", action, this.numActions);
    if (this.#done) throw new Error("GridMaze.step: the episode has ended; call reset() first");
    let a = action;
    if (this.slip > 0 && this.#rng.random() < this.slip) a = this.#rng.randint(0, 4);
    this.#cell = this.move(this.#cell, a);
    this.#steps++;
    const terminated = this.#cell === this.goal;
    const truncated = !terminated && this.#steps >= this.maxEpisodeSteps;
    this.#done = terminated || truncated;
    return { observation: this.#cell, reward: terminated ? 1 : 0, terminated, truncated };
  }

  /** Steps of the shortest path from `S` to `G` (breadth-first search over {@link move}); Infinity if none. */
  shortestPathLength(): number {
    const dist = new Map<number, number>([[this.start, 0]]);
    const queue = [this.start];
    for (let head = 0; head < queue.length; head++) {
      const c = queue[head];
      for (let a = 0; a < this.numActions; a++) {
        const n = this.move(c, a);
        if (!dist.has(n)) {
          dist.set(n, dist.get(c)! + 1);
          queue.push(n);
        }
      }
    }
    return dist.get(this.goal) ?? Infinity;
  }

  /**
   * The maze as text with `marks` drawn over open cells (`cell → character`, e.g. a policy's arrows or a path),
   * `S` and `G` kept.
   */
  render(marks: ReadonlyMap<number, string> = new Map()): string {
    const rows: string[] = [];
    for (let r = 0; r < this.height; r++) {
      let row = "";
      for (let c = 0; c < this.width; c++) {
        const cell = r * this.width + c;
        if (this.#walls[cell]) row += "█";
        else if (cell === this.start) row += "S";
        else if (cell === this.goal) row += "G";
        else row += marks.get(cell) ?? " ";
      }
      rows.push(row);
    }
    return rows.join("\n");
  }
}
