/**
 * Meta-learning: MAML (Finn et al., 2017) on sinusoid regression, against plain pre-training plus fine-tuning.
 *
 * A task is a sine `y = A·sin(x − φ)` with amplitude `A ∈ [0.1, 5]` and phase `φ ∈ [0, π]`, seen through `K` points
 * drawn from `x ∈ [−5, 5]`. Both learners train the same MLP (1-40-40-1, ReLU) for the same number of iterations
 * on the same tasks:
 *
 * - **MAML** learns an initialisation from which one SGD step (learning rate α) on a task's `K` points fits the task:
 *   the inner step is taken with `autograd.grad(…, {createGraph: true})`, so the meta-gradient flows through it —
 *   second order, the Hessian-vector term included;
 * - **pre-training** fits the network to all tasks' points at once (it learns their average, about zero).
 *
 * Each is then fine-tuned on `K` points of unseen test tasks with plain SGD (learning rate α) and tested on 100 points
 * across the range after 0, 1, 5 and 10 steps. Prints the mean squared error with its 95% confidence interval over
 * the test tasks; writes `maml.png` (one test task's fits, and the error against the number of steps) and both
 * networks' weights as safetensors under `--out` (default runs/research/maml).
 *
 *   deno run -A examples/research/maml.ts [--iterations 2000] [--meta-batch 10] [--k 10] [--inner-lr 0.01]
 *       [--meta-lr 0.001] [--test-tasks 100] [--seed 0] [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { autograd, cat, Generator, models, nn, noGrad, optim, type Tensor, tensor, tidy, utils } from "../../mod.ts";
import { parseFlags, table } from "./common.ts";
import { meanCi95 } from "./digit_tasks.ts";

/** One sinusoid task: its amplitude and phase. */
export interface Sinusoid {
  /** Amplitude, in [0.1, 5]. */
  amplitude: number;
  /** Phase, in [0, π]. */
  phase: number;
}

/** A task drawn from MAML's distribution. */
export function sampleSinusoid(gen: Generator): Sinusoid {
  return { amplitude: 0.1 + 4.9 * gen.random(), phase: Math.PI * gen.random() };
}

/** `k` points of `task` at x drawn uniformly from [−5, 5] (or at the given `xs`), as `[k, 1]` tensors on `device`. */
export function pointsOf(
  task: Sinusoid,
  k: number,
  gen: Generator,
  device = "cpu",
  xs?: number[],
): { x: Tensor; y: Tensor } {
  const xv = xs ?? Array.from({ length: k }, () => -5 + 10 * gen.random());
  const yv = xv.map((x) => task.amplitude * Math.sin(x - task.phase));
  return { x: tensor(xv).reshape([xv.length, 1]).to(device), y: tensor(yv).reshape([yv.length, 1]).to(device) };
}

/** The MLP's output for `x` with the weights `params` (`[w₀, b₀, w₁, b₁, …]`, ReLU between layers) instead of its own. */
export function forwardWith(params: readonly Tensor[], x: Tensor): Tensor {
  let h = x;
  for (let i = 0; i < params.length; i += 2) {
    h = nn.functional.linear(h, params[i], params[i + 1]);
    if (i + 2 < params.length) h = h.relu();
  }
  return h;
}

/**
 * One SGD step on the task's points from `params`: `θ' = θ − α∇L(θ)`. With `createGraph` the step stays in the graph
 * (θ' is a function of θ, so a loss at θ' differentiates back through the step, second order); without it θ' is a set
 * of fresh leaves.
 */
export function innerStep(
  params: readonly Tensor[],
  x: Tensor,
  y: Tensor,
  lr: number,
  createGraph: boolean,
): Tensor[] {
  const loss = nn.functional.mseLoss(forwardWith(params, x), y);
  const grads = autograd.grad(loss, [...params], { createGraph });
  if (createGraph) return params.map((p, i) => p.sub(grads[i].mul(lr)));
  return params.map((p, i) => noGrad(() => p.sub(grads[i].mul(lr))).requiresGrad_());
}

/** The test error after each number of SGD steps in `0..maxSteps` from `params`, on the task's query points. */
export async function fineTuneCurve(
  params: readonly Tensor[],
  support: { x: Tensor; y: Tensor },
  query: { x: Tensor; y: Tensor },
  lr: number,
  maxSteps: number,
): Promise<{ mse: number[]; predictions: Tensor[] }> {
  const mse: number[] = [];
  const predictions: Tensor[] = [];
  let fast = params.map((p) => noGrad(() => p.clone()).requiresGrad_());
  for (let step = 0; step <= maxSteps; step++) {
    const prediction = noGrad(() => forwardWith(fast, query.x));
    predictions.push(prediction);
    mse.push(await noGrad(() => nn.functional.mseLoss(prediction, query.y)).item());
    if (step < maxSteps) fast = tidy(() => innerStep(fast, support.x, support.y, lr, false));
  }
  return { mse, predictions };
}

/** Options of {@link metaTrain} and {@link preTrain}. */
export interface TrainOptions {
  /** Meta-iterations (MAML) or steps (pre-training). */
  iterations: number;
  /** Tasks per iteration. */
  metaBatch: number;
  /** Points per task (support and query each). */
  k: number;
  /** The inner SGD learning rate α. */
  innerLr: number;
  /** Adam's learning rate for the outer update. */
  metaLr: number;
  /** The task stream. */
  gen: Generator;
  /** Where the tensors live. */
  device: string;
  /** Progress line label. */
  label?: string;
}

/**
 * MAML: per iteration, for each task one inner step on `K` support points (kept in the graph), the loss of the
 * adapted weights on `K` query points; the mean over tasks is the meta-loss that Adam minimises. Returns the losses.
 */
export async function metaTrain(net: nn.Sequential, options: TrainOptions): Promise<number[]> {
  const params = [...net.parameters()];
  const opt = new optim.Adam(params, { lr: options.metaLr });
  const losses: number[] = [];
  const bar = utils.progress(Array.from({ length: options.iterations }, (_, i) => i), {
    desc: options.label,
    unit: "it",
    disable: !options.label,
  });
  for (const _ of bar) {
    const loss = tidy(() => {
      opt.zeroGrad();
      let total: Tensor | null = null;
      for (let t = 0; t < options.metaBatch; t++) {
        const task = sampleSinusoid(options.gen);
        const support = pointsOf(task, options.k, options.gen, options.device);
        const query = pointsOf(task, options.k, options.gen, options.device);
        const fast = innerStep(params, support.x, support.y, options.innerLr, true);
        const l = nn.functional.mseLoss(forwardWith(fast, query.x), query.y);
        total = total === null ? l : total.add(l);
      }
      const meta = total!.div(options.metaBatch);
      meta.backward();
      opt.step();
      return meta;
    });
    losses.push(await loss.item());
    bar.setPostfix({ loss: losses[losses.length - 1] });
  }
  return losses;
}

/** Pre-training: the network fitted by Adam to the points of `metaBatch` fresh tasks per step (2K points each). */
export async function preTrain(net: nn.Sequential, options: TrainOptions): Promise<number[]> {
  const opt = new optim.Adam(net.parameters(), { lr: options.metaLr });
  const losses: number[] = [];
  const bar = utils.progress(Array.from({ length: options.iterations }, (_, i) => i), {
    desc: options.label,
    unit: "it",
    disable: !options.label,
  });
  for (const _ of bar) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const xs: Tensor[] = [], ys: Tensor[] = [];
      for (let t = 0; t < options.metaBatch; t++) {
        const { x, y } = pointsOf(sampleSinusoid(options.gen), 2 * options.k, options.gen, options.device);
        xs.push(x);
        ys.push(y);
      }
      const l = nn.functional.mseLoss(net.forward(cat(xs)), cat(ys));
      l.backward();
      opt.step();
      return l;
    });
    losses.push(await loss.item());
    bar.setPostfix({ loss: losses[losses.length - 1] });
  }
  return losses;
}

/** Steps at which the results table reads the test error. */
export const REPORTED_STEPS = [0, 1, 5, 10] as const;

/** Per learner, the test error (mean and 95% CI half-width over the test tasks) after each of 0..10 steps. */
export interface MamlResults {
  /** MAML's initialisation. */
  maml: { mean: number; ci95: number }[];
  /** The pre-trained network. */
  pretrained: { mean: number; ci95: number }[];
}

/** Meta-trains and pre-trains, tests both on the same unseen tasks, prints the table, writes the picture and weights. */
export async function main(args: string[] = Deno.args): Promise<MamlResults> {
  const flags = await parseFlags("maml", {
    iterations: "2000",
    "meta-batch": "10",
    k: "10",
    "inner-lr": "0.01",
    "meta-lr": "0.001",
    "test-tasks": "100",
  }, args);
  const iterations = flags.quick ? 150 : Number(flags.iterations);
  const testTasks = flags.quick ? 20 : Number(flags["test-tasks"]);
  const common = {
    iterations,
    metaBatch: flags.quick ? 5 : Number(flags["meta-batch"]),
    k: Number(flags.k),
    innerLr: Number(flags["inner-lr"]),
    metaLr: flags.quick ? 0.005 : Number(flags["meta-lr"]),
    device: flags.device,
  };
  // Both networks start from the same weights and see the same task stream.
  const mamlNet = models.mlp([1, 40, 40, 1]).to(flags.device);
  const preNet = models.mlp([1, 40, 40, 1]).to(flags.device);
  preNet.loadStateDict(mamlNet.stateDict());
  await metaTrain(mamlNet, { ...common, gen: new Generator(flags.seed + 1), label: "MAML" });
  await preTrain(preNet, { ...common, gen: new Generator(flags.seed + 1), label: "pre-training" });

  const maxSteps = 10;
  const gen = new Generator(flags.seed + 1000);
  const grid = Array.from({ length: 100 }, (_, i) => -5 + (10 * i) / 99);
  const curves = { maml: [] as number[][], pretrained: [] as number[][] };
  let example: { task: Sinusoid; support: { x: Tensor; y: Tensor }; maml: Tensor[]; pretrained: Tensor[] } | null =
    null;
  for (let t = 0; t < testTasks; t++) {
    const task = sampleSinusoid(gen);
    const support = pointsOf(task, common.k, gen, flags.device);
    const query = pointsOf(task, grid.length, gen, flags.device, grid);
    const m = await fineTuneCurve([...mamlNet.parameters()], support, query, common.innerLr, maxSteps);
    const p = await fineTuneCurve([...preNet.parameters()], support, query, common.innerLr, maxSteps);
    curves.maml.push(m.mse);
    curves.pretrained.push(p.mse);
    if (t === 0) example = { task, support, maml: m.predictions, pretrained: p.predictions };
  }
  const stats = (rows: number[][]) => Array.from({ length: maxSteps + 1 }, (_, s) => meanCi95(rows.map((r) => r[s])));
  const results: MamlResults = { maml: stats(curves.maml), pretrained: stats(curves.pretrained) };

  const cell = (v: { mean: number; ci95: number }) => `${v.mean.toFixed(3)} ± ${v.ci95.toFixed(3)}`;
  console.log(
    `\nSinusoid regression, K = ${common.k}, SGD lr ${common.innerLr}, test MSE over ${testTasks} unseen tasks ` +
      `(mean ± 95% CI; ${iterations} training iterations each):`,
  );
  console.log(table(
    ["learner", ...REPORTED_STEPS.map((s) => `${s} step${s === 1 ? "" : "s"}`)],
    [
      ["MAML (second order)", ...REPORTED_STEPS.map((s) => cell(results.maml[s]))],
      ["pre-trained + fine-tuning", ...REPORTED_STEPS.map((s) => cell(results.pretrained[s]))],
    ],
  ));

  const ex = example!;
  const fits = new utils.Plot({
    title: `one test task: A ${ex.task.amplitude.toFixed(2)}, phase ${ex.task.phase.toFixed(2)}`,
    xLabel: "x",
    yLabel: "y",
  })
    .line(grid, grid.map((x) => ex.task.amplitude * Math.sin(x - ex.task.phase)), { label: "true", color: "#000000" })
    .scatter(
      await ex.support.x.reshape([-1]).tolist() as number[],
      await ex.support.y.reshape([-1]).tolist() as number[],
      {
        label: `${common.k} points`,
        color: "#000000",
      },
    )
    .line(grid, await ex.maml[1].reshape([-1]).tolist() as number[], { label: "MAML, 1 step" })
    .line(grid, await ex.maml[10].reshape([-1]).tolist() as number[], { label: "MAML, 10 steps" })
    .line(grid, await ex.pretrained[10].reshape([-1]).tolist() as number[], { label: "pre-trained, 10 steps" });
  const steps = Array.from({ length: maxSteps + 1 }, (_, s) => s);
  const errors = new utils.Plot({ title: "test MSE after fine-tuning", xLabel: "SGD steps", yLabel: "MSE" })
    .line(steps, results.maml.map((r) => r.mean), { label: "MAML", markers: true })
    .line(steps, results.pretrained.map((r) => r.mean), { label: "pre-trained", markers: true });
  await new utils.Figure([fits, errors], { title: "MAML on sinusoids" }).savePng(`${flags.out}/maml.png`);
  await models.saveSafetensors(mamlNet.stateDict(), `${flags.out}/maml.safetensors`);
  await models.saveSafetensors(preNet.stateDict(), `${flags.out}/pretrained.safetensors`);
  return results;
}

if (import.meta.main) await main();
