/**
 * Optimisation techniques side by side on the MNIST CNN.
 *
 * 1. The same CNN (same initial weights, same batches) trained with SGD, SGD + momentum, Nesterov momentum, Adam,
 *    AdamW and RMSprop, each at a constant learning rate and with a per-step cosine schedule; every loss curve in
 *    `loss_curves.png`.
 * 2. A learning-rate range test (Smith, 2017): the learning rate grows exponentially each step while the loss is
 *    recorded; the suggestion is a tenth of the rate at the lowest smoothed loss (`lr_range_test.png`).
 * 3. L-BFGS (`optim.LBFGS`, strong-Wolfe line search) on a small full-batch problem — softmax regression of 1,000
 *    digits — against full-batch Adam and gradient descent given the same number of loss evaluations.
 *
 * Prints a table per part; `loss_curves.png` and `lr_range_test.png` (with the full-batch race) under `--out`
 * (default runs/research/optimizers).
 *
 *   deno run -A examples/research/optimizers.ts [--steps 60] [--batch-size 64] [--range-steps 60] [--seed 0]
 *       [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { Generator, manualSeed, nn, optim, type Tensor, tensor, tidy } from "../../mod.ts";
import { accuracy, digits, logitsOf, mnistCnn, parseFlags, pct, table } from "./common.ts";
import { Figure, Plot, ProgressBar, SERIES_COLORS } from "../../utils/mod.ts";

/** One optimizer to compare: its name and how to build it over some parameters. */
export interface OptimizerSpec {
  /** Printed name. */
  name: string;
  /** Builds the optimizer. */
  make: (params: Iterable<Tensor>) => optim.Optimizer;
}

/** The six optimizers of part 1, each at a learning rate that suits it on this CNN. */
export const OPTIMIZERS: OptimizerSpec[] = [
  { name: "SGD", make: (p) => new optim.SGD(p, { lr: 0.1 }) },
  { name: "SGD+momentum", make: (p) => new optim.SGD(p, { lr: 0.02, momentum: 0.9 }) },
  { name: "Nesterov", make: (p) => new optim.SGD(p, { lr: 0.02, momentum: 0.9, nesterov: true }) },
  { name: "Adam", make: (p) => new optim.Adam(p, { lr: 1e-3 }) },
  { name: "AdamW", make: (p) => new optim.AdamW(p, { lr: 1e-3, weightDecay: 0.05 }) },
  { name: "RMSprop", make: (p) => new optim.RMSprop(p, { lr: 5e-4 }) },
];

/** `steps` batches drawn once from a shuffled order (reshuffled each pass), so every run sees the same data. */
export function fixedBatches(x: Tensor, y: Tensor, steps: number, batchSize: number, seed: number): [Tensor, Tensor][] {
  const gen = new Generator(seed);
  const batches: [Tensor, Tensor][] = [];
  let order: number[] = [];
  for (let s = 0; s < steps; s++) {
    if (order.length < batchSize) order = order.concat(gen.randperm(x.shape[0]));
    const idx = tensor(order.splice(0, batchSize), { dtype: "int32" });
    batches.push([x.indexSelect(0, idx), y.indexSelect(0, idx)]);
  }
  return batches;
}

/** One training run's results. */
export interface RunResult {
  /** The optimizer's name and schedule. */
  name: string;
  /** The loss of every step. */
  losses: number[];
  /** Test accuracy at the end. */
  testAccuracy: number;
  /** Seconds the run took. */
  seconds: number;
}

/** Trains a fresh CNN from `init` on `batches` with `spec` (and a per-step cosine schedule when `cosine`). */
export async function trainRun(
  spec: OptimizerSpec,
  cosine: boolean,
  init: Record<string, Tensor>,
  batches: [Tensor, Tensor][],
  test: { x: Tensor; y: Tensor },
  device: string,
): Promise<RunResult> {
  const name = `${spec.name}${cosine ? " + cosine" : ""}`;
  manualSeed(0); // the same dropout masks for every run
  const model = mnistCnn().to(device);
  model.loadStateDict(init);
  const opt = spec.make(model.parameters());
  const schedule = cosine ? new optim.CosineAnnealingLR(opt, batches.length) : null;
  const bar = new ProgressBar(null, { total: batches.length, desc: name, unit: "step" });
  const losses: number[] = [];
  const start = performance.now();
  model.train();
  for (const [x, y] of batches) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = nn.functional.crossEntropy(model.forward(x.to(device)), y.to(device));
      l.backward();
      opt.step();
      return l;
    });
    schedule?.step();
    losses.push(await loss.item());
    bar.setPostfix({ loss: losses.at(-1)!.toFixed(4) });
    bar.update();
  }
  bar.close();
  const seconds = (performance.now() - start) / 1000;
  return { name, losses, testAccuracy: await accuracy(logitsOf(model, test.x), test.y), seconds };
}

/** A learning-rate range test's record: the rates tried and the smoothed losses, and the suggested rate. */
export interface RangeTest {
  /** Learning rate at each step. */
  lrs: number[];
  /** Exponentially smoothed loss at each step (bias-corrected, β = 0.9). */
  smoothed: number[];
  /** A tenth of the rate at the lowest smoothed loss. */
  suggestion: number;
}

/**
 * Smith's learning-rate range test with SGD + momentum: the rate grows from `minLr` to `maxLr` geometrically over
 * the batches; stops early once the smoothed loss exceeds 4× its best.
 */
export async function lrRangeTest(
  init: Record<string, Tensor>,
  batches: [Tensor, Tensor][],
  device: string,
  minLr = 1e-4,
  maxLr = 1,
): Promise<RangeTest> {
  manualSeed(0);
  const model = mnistCnn().to(device);
  model.loadStateDict(init);
  model.train();
  const opt = new optim.SGD(model.parameters(), { lr: minLr, momentum: 0.9 });
  const factor = Math.pow(maxLr / minLr, 1 / Math.max(1, batches.length - 1));
  const lrs: number[] = [], smoothed: number[] = [];
  let avg = 0, best = Infinity;
  const bar = new ProgressBar(null, { total: batches.length, desc: "lr range test", unit: "step" });
  for (const [k, [x, y]] of batches.entries()) {
    const lr = minLr * Math.pow(factor, k);
    opt.paramGroups[0].lr = lr;
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = nn.functional.crossEntropy(model.forward(x.to(device)), y.to(device));
      l.backward();
      opt.step();
      return l;
    });
    avg = 0.9 * avg + 0.1 * (await loss.item());
    const s = avg / (1 - Math.pow(0.9, k + 1));
    lrs.push(lr);
    smoothed.push(s);
    bar.setPostfix({ lr: lr.toExponential(1), loss: s.toFixed(4) });
    bar.update();
    best = Math.min(best, s);
    if (k > 5 && s > 4 * best) break;
  }
  bar.close();
  const at = smoothed.indexOf(Math.min(...smoothed));
  return { lrs, smoothed, suggestion: lrs[at] / 10 };
}

/** One full-batch optimizer's result on the softmax-regression problem. */
export interface FullBatchResult {
  /** The optimizer. */
  name: string;
  /** Loss evaluations (closure calls, or steps). */
  evaluations: number;
  /** Training loss at the end. */
  loss: number;
  /** Test accuracy at the end. */
  testAccuracy: number;
  /** The loss at each evaluation. */
  history: number[];
}

/**
 * Softmax regression (a linear layer 784 → 10, cross-entropy plus 1e-4·‖W‖²) on the whole of `train` as one batch:
 * L-BFGS with strong-Wolfe line search for `lbfgsIters` iterations, then Adam and gradient descent given as many
 * steps as L-BFGS used evaluations.
 */
export async function fullBatchComparison(
  train: { x: Tensor; y: Tensor },
  test: { x: Tensor; y: Tensor },
  lbfgsIters: number,
): Promise<FullBatchResult[]> {
  const x = train.x.reshape([train.x.shape[0], -1]), xt = test.x.reshape([test.x.shape[0], -1]);
  const fresh = () => {
    const m = new nn.Linear(784, 10);
    m.weight.detach().zero_();
    m.bias!.detach().zero_();
    return m;
  };
  const lossOf = (m: nn.Linear) =>
    nn.functional.crossEntropy(m.forward(x), train.y).add(m.weight.square().sum().mul(1e-4));
  const finish = async (name: string, m: nn.Linear, evaluations: number, seen: Tensor[]): Promise<FullBatchResult> => ({
    name,
    evaluations,
    history: await Promise.all(seen.map((t) => t.item())),
    loss: await lossOf(m).item(),
    testAccuracy: await accuracy(m.forward(xt), test.y),
  });
  const results: FullBatchResult[] = [];

  const lbfgsModel = fresh();
  const lbfgs = new optim.LBFGS(lbfgsModel.parameters(), {
    lineSearchFn: "strong_wolfe",
    maxIter: lbfgsIters,
    historySize: 10,
  });
  const lbfgsLosses: Tensor[] = [];
  lbfgs.step(() => {
    lbfgs.zeroGrad();
    const loss = lossOf(lbfgsModel);
    loss.backward();
    lbfgsLosses.push(loss);
    return loss;
  });
  const evaluations = lbfgsLosses.length;
  results.push(await finish(`L-BFGS (${lbfgsIters} iterations)`, lbfgsModel, evaluations, lbfgsLosses));

  for (
    const [name, make] of [
      ["Adam lr 0.01", (p: Iterable<Tensor>) => new optim.Adam(p, { lr: 0.01 })],
      ["gradient descent lr 0.5", (p: Iterable<Tensor>) => new optim.SGD(p, { lr: 0.5 })],
    ] as const
  ) {
    const m = fresh();
    const opt = make(m.parameters());
    const losses: Tensor[] = [];
    for (let s = 0; s < evaluations; s++) {
      losses.push(tidy(() => {
        opt.zeroGrad();
        const loss = lossOf(m);
        loss.backward();
        opt.step();
        return loss;
      }));
    }
    results.push(await finish(name, m, evaluations, losses));
  }
  return results;
}

/** Runs the example; returns its tables' numbers. */
export async function main(args: string[] = Deno.args) {
  const flags = await parseFlags("optimizers", { steps: "60", "batch-size": "64", "range-steps": "60" }, args);
  const quick = flags.quick;
  const steps = quick ? 4 : Number(flags.steps), batchSize = quick ? 16 : Number(flags["batch-size"]);
  const data = await digits(undefined, quick ? 100 : 1000); // on the CPU; batches move to --device as they are used
  const test = { x: data.testX, y: data.testY };
  const batches = fixedBatches(data.trainX, data.trainY, steps, batchSize, flags.seed);
  const init = mnistCnn().stateDict(); // every run starts from these weights

  console.log(`1. six optimizers, constant and cosine schedules, ${steps} steps of ${batchSize} digits each`);
  const specs = quick ? OPTIMIZERS.filter((s) => s.name === "SGD" || s.name === "Adam") : OPTIMIZERS;
  const runs: RunResult[] = [];
  for (const spec of specs) {
    for (const cosine of [false, true]) runs.push(await trainRun(spec, cosine, init, batches, test, flags.device));
  }

  console.log("2. learning-rate range test");
  const rangeBatches = fixedBatches(
    data.trainX,
    data.trainY,
    quick ? 8 : Number(flags["range-steps"]),
    batchSize,
    flags.seed + 1,
  );
  const range = await lrRangeTest(init, rangeBatches, flags.device);

  console.log("3. L-BFGS on full-batch softmax regression");
  const n = quick ? 200 : 1000;
  const full = await fullBatchComparison(
    { x: data.trainX.narrow(0, 0, n), y: data.trainY.narrow(0, 0, n) },
    test,
    quick ? 5 : 40,
  );

  const tail = (xs: number[]) => xs.slice(-Math.max(1, Math.floor(xs.length / 5)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log();
  console.log(table(
    ["optimizer", "first loss", `mean loss, last ${tail(runs[0].losses).length} steps`, "test accuracy", "seconds"],
    runs.map((r) => [
      r.name,
      r.losses[0].toFixed(3),
      mean(tail(r.losses)).toFixed(3),
      pct(r.testAccuracy),
      r.seconds.toFixed(1),
    ]),
  ));
  console.log(
    `\nlearning-rate range test: lowest smoothed loss at lr ${(range.suggestion * 10).toExponential(2)}, ` +
      `suggested lr ${range.suggestion.toExponential(2)}`,
  );
  console.log();
  console.log(table(
    ["full batch", "loss evaluations", "training loss", "test accuracy"],
    full.map((r) => [r.name, r.evaluations, r.loss.toFixed(4), pct(r.testAccuracy)]),
  ));
  await savePictures(flags.out, runs, range, full);
  console.log(`\npictures in ${flags.out}/`);
  return { runs, range, full };
}

/** `loss_curves.png` (every run, smoothed) and `lr_range_test.png` (the range test and the full-batch race). */
async function savePictures(out: string, runs: RunResult[], range: RangeTest, full: FullBatchResult[]): Promise<void> {
  // Exponentially smoothed (β = 0.8, bias-corrected), so the curves can be told apart at a glance.
  const smooth = (xs: number[]) => {
    let avg = 0;
    return xs.map((v, i) => (avg = 0.8 * avg + 0.2 * v) / (1 - Math.pow(0.8, i + 1)));
  };
  const curves = new Plot({ title: "MNIST CNN, same batches: loss (smoothed)", xLabel: "step", yLabel: "loss" });
  runs.forEach((r, i) => {
    const steps = r.losses.map((_, k) => k + 1);
    // One colour per optimizer; the cosine schedule dashed.
    curves.line(steps, smooth(r.losses), {
      label: r.name,
      color: SERIES_COLORS[Math.floor(i / 2) % SERIES_COLORS.length],
      dash: r.name.endsWith("cosine") ? [6, 4] : undefined,
      width: 2,
    });
  });
  await new Figure([curves], { panelWidth: 900, panelHeight: 520 }).savePng(`${out}/loss_curves.png`);

  const rangePlot = new Plot({
    title: `LR range test (SGD momentum): suggested ${range.suggestion.toExponential(1)}`,
    xLabel: "log10 learning rate",
    yLabel: "loss (smoothed)",
  }).line(range.lrs.map(Math.log10), range.smoothed, { label: "loss" })
    .line([Math.log10(range.suggestion), Math.log10(range.suggestion)], [
      Math.min(...range.smoothed),
      Math.max(...range.smoothed),
    ], {
      label: "suggestion",
      dash: [5, 4],
    });
  const race = new Plot({
    title: "softmax regression, full batch",
    xLabel: "loss evaluations",
    yLabel: "log10 training loss",
  });
  for (const r of full) race.line(r.history.map((_, k) => k + 1), r.history.map(Math.log10), { label: r.name });
  await new Figure([rangePlot, race], { columns: 2, panelWidth: 480, panelHeight: 340 }).savePng(
    `${out}/lr_range_test.png`,
  );
}

if (import.meta.main) await main();
