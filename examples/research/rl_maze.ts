/**
 * Reinforcement learning, the SNARC's task: tabular Q-learning finds its way
 * through a gridworld maze from reward alone (1 at the goal, 0 elsewhere).
 * Prints the episodes' lengths as it learns, the greedy path drawn on the
 * maze against the shortest one (breadth-first search), and writes two PNGs:
 * the steps per episode, and the maze coloured by the learned state values
 * with the greedy path.
 *
 *   deno run -A examples/research/rl_maze.ts [--episodes 300] [--slip 0] [--seed 0] [--out DIR] [--quick]
 *
 * @module
 */

import { Image } from "imagescript";
import { parseArgs } from "node:util";
import { utils } from "../../mod.ts";
import { ARROWS, GridMaze, SNARC_MAZE } from "./rl/maze.ts";
import { greedyAction, greedyRollout, type QEpisode, qLearning } from "./rl/q_learning.ts";

/** What {@link runMaze} returns. */
export interface MazeResult {
  /** Every episode's record. */
  episodes: QEpisode[];
  /** The greedy policy's path (cells, start included) and whether it reaches the goal. */
  greedy: { path: number[]; terminated: boolean };
  /** The shortest path's length by breadth-first search. */
  shortest: number;
  /** The first episode after which the greedy policy follows a shortest path (null: never). */
  optimalFrom: number | null;
  /** The Q-table. */
  q: Float64Array;
  /** The maze. */
  maze: GridMaze;
}

/** Options of {@link runMaze}. */
export interface MazeOptions {
  /** Episodes (default 300). */
  episodes?: number;
  /** Probability that a move slips to a random one (default 0). */
  slip?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Called after each episode. */
  onEpisode?: (e: QEpisode) => void;
}

/** Learns the SNARC maze with Q-learning and checks the greedy policy after every episode. */
export function runMaze(options: MazeOptions = {}): MazeResult {
  const maze = new GridMaze(SNARC_MAZE, { slip: options.slip ?? 0, seed: options.seed ?? 0 });
  const probe = new GridMaze(SNARC_MAZE); // deterministic copy for greedy rollouts
  const shortest = maze.shortestPathLength();
  let optimalFrom: number | null = null;
  let qRef: Float64Array | null = null;
  const { q, episodes } = qLearning(maze, {
    numStates: maze.numStates,
    episodes: options.episodes ?? 300,
    seed: options.seed ?? 0,
    onEpisode: (e) => {
      options.onEpisode?.(e);
      if (qRef) {
        const r = greedyRollout(probe, qRef, 4 * shortest);
        if (r.terminated && r.path.length - 1 === shortest) optimalFrom ??= e.episode;
        else optimalFrom = null;
      }
    },
    onTable: (table) => (qRef = table),
  });
  return { episodes, greedy: greedyRollout(probe, q, 4 * shortest), shortest, optimalFrom, q, maze };
}

/** Draws the maze, each open cell coloured by its value `max_a Q(s, a)` (white 0 → blue 1), the path in orange. */
export async function saveMazePng(path: string, res: MazeResult, cell = 24): Promise<void> {
  const { maze, q } = res;
  const img = new Image(maze.width * cell, maze.height * cell);
  const onPath = new Set(res.greedy.path);
  for (let s = 0; s < maze.numStates; s++) {
    const r = Math.floor(s / maze.width), c = s % maze.width;
    let color: number;
    if (maze.isWall(s)) color = Image.rgbaToColor(40, 40, 40, 255);
    else if (s === maze.start) color = Image.rgbaToColor(44, 160, 44, 255);
    else if (s === maze.goal) color = Image.rgbaToColor(214, 39, 40, 255);
    else {
      const v = Math.max(0, Math.min(1, q[s * 4 + greedyAction(q, s, 4)]));
      color = Image.rgbaToColor(Math.round(255 - 224 * v), Math.round(255 - 136 * v), Math.round(255 - 75 * v), 255);
    }
    img.drawBox(c * cell + 1, r * cell + 1, cell, cell, color);
    if (onPath.has(s) && s !== maze.start && s !== maze.goal) {
      const d = Math.floor(cell / 3);
      img.drawBox(c * cell + d + 1, r * cell + d + 1, cell - 2 * d, cell - 2 * d, Image.rgbaToColor(255, 127, 14, 255));
    }
  }
  await Deno.writeFile(path, await img.encode());
}

/** Parses the flags, learns, prints and draws. */
export async function main(args: string[]): Promise<MazeResult> {
  const { values } = parseArgs({
    args,
    options: {
      episodes: { type: "string" },
      slip: { type: "string", default: "0" },
      seed: { type: "string", default: "0" },
      out: { type: "string", default: "runs/research/rl_maze" },
      quick: { type: "boolean", default: false },
    },
  });
  const episodes = Number(values.episodes ?? (values.quick ? 150 : 300));
  console.log(
    `Q-learning on the SNARC maze (${SNARC_MAZE.length}×${SNARC_MAZE[0].length}), α 0.5, γ 0.95, ε 1 → 0.05 over ${
      Math.floor(episodes / 2)
    } episodes`,
  );
  const res = runMaze({
    episodes,
    slip: Number(values.slip),
    seed: Number(values.seed),
    onEpisode: (e) => {
      if (e.episode % 50 === 0) {
        console.log(`  episode ${e.episode}/${episodes}: ${e.steps} steps, ε ${e.epsilon.toFixed(2)}`);
      }
    },
  });
  const arrows = new Map<number, string>();
  for (let i = 0; i + 1 < res.greedy.path.length; i++) {
    const s = res.greedy.path[i];
    if (s !== res.maze.start) arrows.set(s, ARROWS[greedyAction(res.q, s, 4)]);
  }
  console.log(`\nThe greedy policy's path:\n${res.maze.render(arrows)}\n`);
  const mean = (xs: QEpisode[]) => (xs.reduce((a, e) => a + e.steps, 0) / Math.max(1, xs.length)).toFixed(1);
  const ranges: [number, number][] = [[1, 10], [11, 50], [51, 100], [101, 200], [201, episodes]];
  console.log("episodes   mean steps   reached goal");
  for (const [a, b] of ranges.filter(([a]) => a <= episodes)) {
    const xs = res.episodes.slice(a - 1, b);
    console.log(
      `${`${a}-${Math.min(b, episodes)}`.padEnd(9)}  ${mean(xs).padStart(10)}   ${
        xs.filter((e) => e.terminated).length
      }/${xs.length}`,
    );
  }
  console.log(
    `\ngreedy path: ${res.greedy.terminated ? `${res.greedy.path.length - 1} steps` : "does not reach the goal"}; ` +
      `shortest (breadth-first search): ${res.shortest} steps; greedy policy optimal from episode ${
        res.optimalFrom ?? "—"
      } on`,
  );
  await Deno.mkdir(values.out, { recursive: true });
  await new utils.Plot({ title: "Q-learning on the SNARC maze", xLabel: "episode", yLabel: "steps to the goal" })
    .line(res.episodes.map((e) => e.episode), res.episodes.map((e) => e.steps), { label: "steps per episode" })
    .line([1, episodes], [res.shortest, res.shortest], { label: "shortest path", dash: [6, 4] })
    .savePng(`${values.out}/maze_steps.png`);
  console.log(`${values.out}/maze_steps.png: steps per episode against the shortest path`);
  await saveMazePng(`${values.out}/maze_values.png`, res);
  console.log(
    `${values.out}/maze_values.png: open cells shaded by the learned value max_a Q (white 0 → blue 1), path orange`,
  );
  return res;
}

if (import.meta.main) await main(Deno.args);
