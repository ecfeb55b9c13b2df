import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { GridMaze, SNARC_MAZE } from "./maze.ts";
import { greedyRollout, qLearning } from "./q_learning.ts";

/** Shortest path length from S to G by breadth-first search over the maze's moves (the independent check). */
function bfs(m: GridMaze): number {
  const dist = new Map([[m.start, 0]]);
  const queue = [m.start];
  while (queue.length > 0) {
    const c = queue.shift()!;
    for (let a = 0; a < 4; a++) {
      const n = m.move(c, a);
      if (!dist.has(n)) {
        dist.set(n, dist.get(c)! + 1);
        queue.push(n);
      }
    }
  }
  return dist.get(m.goal)!;
}

Deno.test("Q-learning finds the shortest path through the SNARC maze (checked by breadth-first search)", () => {
  const maze = new GridMaze(SNARC_MAZE);
  deepStrictEqual(bfs(maze), 24);
  const { q, episodes } = qLearning(maze, { numStates: maze.numStates, episodes: 200, seed: 1 });
  const { path, terminated } = greedyRollout(maze, q, 200);
  ok(terminated, "the greedy policy reaches the goal");
  deepStrictEqual(path.length - 1, 24);
  // Learning shortened the episodes: the first ten wander (ε = 1), the last ten are near the shortest path.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(episodes.slice(0, 10).map((e) => e.steps));
  const last = mean(episodes.slice(-10).map((e) => e.steps));
  ok(first > 200 && last < 40, `first ${first}, last ${last}`);
  // The value of the start is the discounted reward along the shortest path: γ^23 for the 24th step's reward.
  const vStart = Math.max(...[0, 1, 2, 3].map((a) => q[maze.start * 4 + a]));
  ok(Math.abs(vStart - 0.95 ** 23) < 0.02, `V(S) = ${vStart}, γ^23 = ${0.95 ** 23}`);
});

Deno.test("qLearning refuses bad options", () => {
  const maze = new GridMaze(SNARC_MAZE);
  throws(() => qLearning(maze, { numStates: 0, episodes: 1 }), /numStates must be a positive integer/);
  throws(() => qLearning(maze, { numStates: 10, episodes: 1, alpha: 0 }), /alpha must be in \(0, 1\]/);
  throws(() => qLearning(maze, { numStates: 10, episodes: 1, gamma: 1.5 }), /gamma must be in \[0, 1\]/);
});
