/**
 * What the benchmark scripts share: the peer workloads (the small
 * CNN and MLP), a median timer and a best-of-trials timer for queued (GPU)
 * work, so every table measures the same thing.
 *
 * @module
 */

import { nn, optim, type Tensor, tidy } from "../mod.ts";
import type { Conv2dGeometry } from "../tensor/backend.ts";

/** The small CNN the peers were measured on: conv 1→32, pool, conv 32→64, pool, fc (for 1×28×28 input). */
export function smallCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(64 * 7 * 7, 10),
  );
}

/** The MLP the peers were measured on: 784-256-10. */
export function mlp784(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
}

/**
 * One SGD train step (cross-entropy) of `model` on `(x, y)`, written as a
 * `tidy` scope: the recommended loop, in which every intermediate tensor goes
 * back to the heap when the step ends (`opt` defaults to SGD with lr 0.01).
 */
export function trainStep(
  model: nn.Module,
  x: Tensor,
  y: Tensor,
  opt: optim.Optimizer = new optim.SGD(model.parameters(), { lr: 0.01 }),
): () => void {
  const criterion = new nn.CrossEntropyLoss();
  return () =>
    tidy(() => {
      opt.zeroGrad();
      criterion.forward(model.forward(x) as Tensor, y).backward();
      opt.step();
    });
}

/** The geometry of a 3×3, stride-1, padding-1 convolution (the conv workload and its kin), square images. */
export function conv3x3Geometry(n: number, cIn: number, size: number, cOut: number): Conv2dGeometry {
  return {
    n,
    cIn,
    h: size,
    w: size,
    cOut,
    kh: 3,
    kw: 3,
    strideH: 1,
    strideW: 1,
    padH: 1,
    padW: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    outH: size,
    outW: size,
  };
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median milliseconds of `reps` runs of `fn` after `warmup` runs. */
export function timeMs(fn: () => void, reps: number, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  return median(t);
}

/**
 * The best time per call (ms) of `fn` over `trials` trials, after one warm-up
 * call (pipelines, buffer pools, worker start-up). Each trial repeats `fn`,
 * doubling the count up to `maxReps`, until it lasts `trialMs`; `sync` waits
 * for the work `fn` queued (a GPU's) before each clock read.
 */
export async function bestMs(
  fn: () => void,
  sync: () => Promise<void>,
  trialMs: number,
  trials: number,
  maxReps: number,
): Promise<number> {
  fn();
  await sync();
  let reps = 1, best = Infinity;
  for (let t = 0; t < trials;) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    await sync();
    const ms = performance.now() - t0;
    if (ms < trialMs && reps < maxReps) {
      reps *= 2;
      continue;
    }
    best = Math.min(best, ms / reps);
    t++;
  }
  return best;
}
