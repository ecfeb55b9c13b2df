/**
 * Continual learning on Split-MNIST: five tasks learned one after another — digits 0/1, 2/3, 4/5, 6/7, 8/9 — by one
 * MLP (784-256-256-10), with no access to a finished task's data, in the two classic scenarios (van de Ven & Tolias,
 * 2019):
 *
 * - **task-incremental**: the task is known at test time, so each task reads its own two outputs (a multi-head net);
 * - **class-incremental**: one ten-way head, the task unknown at test time.
 *
 * Three learners each: **naive** fine-tuning; **EWC** (Kirkpatrick et al., 2017) — after each task, the diagonal
 * (empirical) Fisher information of its loss at the weights reached, and from then on a penalty
 * `λ/2 · Σ F (θ − θ*)²` per finished task that holds the weights that mattered; **replay** — a small buffer of past
 * examples (`--buffer`, shared equally among the tasks seen) mixed into every batch.
 *
 * Prints, per scenario and learner, the average accuracy over the five tasks after the last one and the forgetting
 * (Chaudhry et al., 2018: for each task but the last, its best accuracy during the sequence minus its final one,
 * averaged); writes `accuracy_matrix.png` (each task's test accuracy after each stage of training) and the final
 * weights of every learner as safetensors under `--out` (default runs/research/continual).
 *
 *   deno run -A examples/research/continual.ts [--epochs 3] [--lambda 10000] [--buffer 200] [--fisher-samples 200]
 *       [--lr 0.001] [--scenarios task,class] [--learners naive,ewc,replay] [--seed 0] [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import {
  data,
  Generator,
  manualSeed,
  models,
  nn,
  noGrad,
  optim,
  type Tensor,
  tidy,
  utils,
  zerosLike,
} from "../../mod.ts";
import { parseFlags, pct, table } from "./common.ts";
import { accuracyOf, type Digits, digitsOf, drawIndices, rows } from "./digit_tasks.ts";

/** One task of the sequence: its two digits and their train and test samples (flattened images). */
export interface SplitTask {
  /** The two digits. */
  classes: [number, number];
  /** Training samples. */
  train: Digits;
  /** Test samples. */
  test: Digits;
}

/** The five Split-MNIST tasks (digits 2t and 2t+1), at most `limit` training and `testLimit` test samples each. */
export function splitMnist(
  mnist: data.Mnist,
  options: { limit?: number; testLimit?: number; device?: string } = {},
): SplitTask[] {
  return [0, 1, 2, 3, 4].map((t) => {
    const classes: [number, number] = [2 * t, 2 * t + 1];
    return {
      classes,
      train: digitsOf(mnist.train, { classes, limit: options.limit, device: options.device, flat: true }),
      test: digitsOf(mnist.test, { classes, limit: options.testLimit, device: options.device, flat: true }),
    };
  });
}

/** How the network is read: one head per task (its two outputs), or one ten-way head. */
export type Scenario = "task" | "class";
/** The three learners. */
export type Method = "naive" | "ewc" | "replay";

/** The network's logits for task `t`'s samples as the scenario reads it: the task's two outputs, or all ten. */
export function logitsFor(scenario: Scenario, net: { forward(x: Tensor): Tensor }, x: Tensor, t: number): Tensor {
  const z = net.forward(x);
  return scenario === "task" ? z.narrow(1, 2 * t, 2) : z;
}

/** Task `t`'s labels in the index space of {@link logitsFor}: 0 or 1 within the task, or the digit itself. */
export function targetFor(scenario: Scenario, y: Tensor, t: number): Tensor {
  return scenario === "task" ? y.sub(2 * t) : y;
}

/** The cross-entropy of task `t`'s samples. */
function taskLoss(scenario: Scenario, net: { forward(x: Tensor): Tensor }, x: Tensor, y: Tensor, t: number): Tensor {
  return nn.functional.crossEntropy(logitsFor(scenario, net, x, t), targetFor(scenario, y, t));
}

/**
 * Elastic weight consolidation's memory: per finished task, the weights reached and the diagonal of the Fisher
 * information there (the mean squared per-sample gradient of the task's loss — the empirical Fisher).
 */
export class Ewc {
  #params: Tensor[];
  #anchors: { star: Tensor[]; fisher: Tensor[] }[] = [];

  /** Remembers nothing yet; `params` are the weights to hold. */
  constructor(params: Iterable<Tensor>) {
    this.#params = [...params];
  }

  /** The diagonal Fisher of `loss` over the given samples, one backward pass per sample (`.grad` left cleared). */
  static fisher(params: Tensor[], samples: number, loss: (i: number) => Tensor): Tensor[] {
    const fisher = params.map((p) => noGrad(() => zerosLike(p)));
    for (let i = 0; i < samples; i++) {
      tidy(() => {
        for (const p of params) p.grad = null;
        loss(i).backward();
        noGrad(() => params.forEach((p, k) => fisher[k].add_(p.grad!.square(), 1 / samples)));
      });
    }
    for (const p of params) p.grad = null;
    return fisher;
  }

  /** Stores the current weights and the Fisher computed on `samples` per-sample losses. */
  consolidate(samples: number, loss: (i: number) => Tensor): void {
    const fisher = Ewc.fisher(this.#params, samples, loss);
    this.#anchors.push({ star: this.#params.map((p) => noGrad(() => p.clone())), fisher });
  }

  /** `½ Σ_tasks Σ F (θ − θ*)²` (times λ by the caller), or null before the first task is consolidated. */
  penalty(): Tensor | null {
    let total: Tensor | null = null;
    for (const { star, fisher } of this.#anchors) {
      this.#params.forEach((p, k) => {
        const term = fisher[k].mul(p.sub(star[k]).square()).sum();
        total = total === null ? term : total.add(term);
      });
    }
    return total === null ? null : (total as Tensor).mul(0.5);
  }
}

/** A fixed-size memory of past examples, shared equally among the tasks seen so far. */
export class ReplayBuffer {
  #capacity: number;
  #perTask: { x: Tensor; y: Tensor; task: number }[] = [];

  /** An empty buffer of `capacity` examples. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Number of examples held. */
  get size(): number {
    return this.#perTask.reduce((s, b) => s + b.x.shape[0], 0);
  }

  /** Adds task `task`'s share (`capacity / tasks seen`, drawn at random) and cuts earlier tasks to the same share. */
  add(task: number, x: Tensor, y: Tensor, gen: Generator): void {
    const share = Math.floor(this.#capacity / (this.#perTask.length + 1));
    this.#perTask = this.#perTask.map((b) => ({ ...b, x: b.x.narrow(0, 0, share), y: b.y.narrow(0, 0, share) }));
    const pick = gen.randperm(x.shape[0]).slice(0, share);
    this.#perTask.push({ x: rows(x, pick), y: rows(y, pick), task });
  }

  /** `size` examples drawn with replacement, grouped by task (tasks with none drawn are left out). */
  sample(size: number, gen: Generator): { x: Tensor; y: Tensor; task: number }[] {
    const counts = this.#perTask.map(() => 0);
    for (let i = 0; i < size; i++) counts[gen.randint(0, counts.length)]++;
    return this.#perTask.flatMap((b, k) => {
      if (counts[k] === 0) return [];
      const pick = drawIndices(b.x.shape[0], counts[k], gen);
      return [{ x: rows(b.x, pick), y: rows(b.y, pick), task: b.task }];
    });
  }
}

/** Options of {@link learnSequence}. */
export interface SequenceOptions {
  /** How the network is read. */
  scenario: Scenario;
  /** The learner. */
  method: Method;
  /** Passes over each task's data. */
  epochs: number;
  /** EWC's λ. */
  lambda: number;
  /** Replay buffer capacity. */
  buffer: number;
  /** Samples per task for EWC's Fisher. */
  fisherSamples: number;
  /** Adam's learning rate. */
  lr: number;
  /** Batch size (default 64; replay adds as many buffer examples). */
  batchSize?: number;
  /** Seed of the weights and the batches. */
  seed: number;
  /** Progress line label (none when omitted). */
  label?: string;
}

/** What one learner did: `acc[i][j]` is task j's test accuracy after training on tasks 0..i. */
export interface SequenceResult {
  /** The accuracy matrix. */
  acc: number[][];
  /** The trained network. */
  net: nn.Sequential;
}

/** Trains one MLP on the tasks in order with the chosen learner, testing every task after each stage. */
export async function learnSequence(tasks: SplitTask[], options: SequenceOptions): Promise<SequenceResult> {
  const { scenario, method } = options;
  const batchSize = options.batchSize ?? 64;
  manualSeed(options.seed);
  const gen = new Generator(options.seed + 1);
  const device = tasks[0].train.x.device;
  const net = models.mlp([784, 256, 256, 10]).to(device);
  const params = [...net.parameters()];
  // Adam rather than SGD: its steps stay bounded when EWC's penalty is steep (a large λ·F would make SGD diverge).
  const opt = new optim.Adam(params, { lr: options.lr });
  const ewc = new Ewc(params);
  const buffer = new ReplayBuffer(options.buffer);
  const steps = tasks.map((t) => options.epochs * Math.floor(t.train.x.shape[0] / batchSize));
  const bar = new utils.ProgressBar(null, {
    total: steps.reduce((a, b) => a + b, 0),
    desc: options.label,
    unit: "step",
    disable: !options.label,
  });
  const acc: number[][] = [];
  for (const [t, task] of tasks.entries()) {
    const { x, y } = task.train;
    const n = x.shape[0];
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = gen.randperm(n);
      for (let i = 0; i + batchSize <= n; i += batchSize) {
        const loss = tidy(() => {
          opt.zeroGrad();
          const pick = order.slice(i, i + batchSize);
          let total = taskLoss(scenario, net, rows(x, pick), rows(y, pick), t);
          if (method === "ewc") {
            const penalty = ewc.penalty();
            if (penalty) total = total.add(penalty.mul(options.lambda));
          } else if (method === "replay" && buffer.size > 0) {
            // As many old examples as new ones, each read through its own task's head; weighted as one batch.
            for (const old of buffer.sample(batchSize, gen)) {
              const weight = old.x.shape[0] / batchSize;
              total = total.add(taskLoss(scenario, net, old.x, old.y, old.task).mul(weight));
            }
          }
          total.backward();
          opt.step();
          return total;
        });
        bar.setPostfix({ task: `${t + 1}/${tasks.length}`, loss: await loss.item() });
        bar.update();
      }
    }
    if (method === "ewc") {
      const pick = gen.randperm(n).slice(0, Math.min(options.fisherSamples, n));
      ewc.consolidate(
        pick.length,
        (k) => taskLoss(scenario, net, x.narrow(0, pick[k], 1), y.narrow(0, pick[k], 1), t),
      );
    } else if (method === "replay") buffer.add(t, x, y, gen);
    const row: number[] = [];
    for (const [j, other] of tasks.entries()) {
      const target = targetFor(scenario, other.test.y, j);
      row.push(await accuracyOf((xb) => logitsFor(scenario, net, xb, j), other.test.x, target));
    }
    acc.push(row);
  }
  bar.close();
  return { acc, net };
}

/** Average accuracy over all tasks after the last one, and the mean forgetting of the earlier tasks. */
export function summarize(acc: number[][]): { average: number; forgetting: number } {
  const last = acc[acc.length - 1];
  const average = last.reduce((a, b) => a + b, 0) / last.length;
  let forgetting = 0;
  for (let j = 0; j < last.length - 1; j++) {
    const best = Math.max(...acc.slice(j, acc.length - 1).map((r) => r[j]));
    forgetting += best - last[j];
  }
  return { average, forgetting: forgetting / (last.length - 1) };
}

/** The results of {@link main}: per scenario and learner, the accuracy matrix and its summary. */
export type ContinualResults = Partial<
  Record<Scenario, Partial<Record<Method, { acc: number[][]; average: number; forgetting: number }>>>
>;

/** The comma-separated `value` of a flag, each item checked against `allowed`. */
function listFlag<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(",").map((v) => v.trim());
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      throw new Error(`continual: ${flag} takes a comma-separated list of ${allowed.join(", ")}; got "${item}"`);
    }
  }
  return items as T[];
}

/** Runs both scenarios with the three learners, prints the table and writes the pictures and weights. */
export async function main(args: string[] = Deno.args): Promise<ContinualResults> {
  const flags = await parseFlags("continual", {
    epochs: "3",
    lambda: "10000",
    buffer: "200",
    "fisher-samples": "200",
    lr: "0.001",
    scenarios: "task,class",
    learners: "naive,ewc,replay",
  }, args);
  const quick = flags.quick;
  const mnist = await data.loadMnist();
  const tasks = splitMnist(mnist, {
    limit: quick ? 300 : undefined,
    testLimit: quick ? 200 : undefined,
    device: flags.device,
  });
  const results = {} as ContinualResults;
  const tableRows: (string | number)[][] = [];
  const scenarios = listFlag("--scenarios", flags.scenarios, ["task", "class"] as const);
  const methods = listFlag("--learners", flags.learners, ["naive", "ewc", "replay"] as const);
  for (const scenario of scenarios) {
    const byMethod: NonNullable<ContinualResults[Scenario]> = {};
    results[scenario] = byMethod;
    for (const method of methods) {
      const { acc, net } = await learnSequence(tasks, {
        scenario,
        method,
        epochs: quick ? 4 : Number(flags.epochs),
        batchSize: quick ? 32 : 64,
        lambda: Number(flags.lambda),
        buffer: Number(flags.buffer),
        fisherSamples: quick ? 50 : Number(flags["fisher-samples"]),
        lr: Number(flags.lr),
        seed: flags.seed,
        label: `${scenario}-incremental, ${method}`,
      });
      const summary = summarize(acc);
      byMethod[method] = { acc, ...summary };
      tableRows.push([
        `${scenario}-incremental`,
        method,
        pct(summary.average),
        pct(summary.forgetting),
        acc[acc.length - 1].map((a) => (100 * a).toFixed(0)).join(" "),
      ]);
      await models.saveSafetensors(net.stateDict(), `${flags.out}/${scenario}_${method}.safetensors`);
    }
  }
  const maps = scenarios.flatMap((scenario) =>
    methods.map((method) =>
      new utils.Heatmap(results[scenario]![method]!.acc.map((r) => r.map((a) => 100 * a)), {
        title: `${scenario}-incremental, ${method}`,
        xLabel: "task tested",
        yLabel: "after training on task",
        xTickLabels: tasks.map((t) => t.classes.join("/")),
        yTickLabels: tasks.map((t) => t.classes.join("/")),
        valueRange: [0, 100],
        annotate: (v) => v.toFixed(0),
        colorbar: false,
      })
    )
  );
  await new utils.Figure(maps, {
    columns: 3,
    panelWidth: 360,
    panelHeight: 340,
    title: "Split-MNIST: test accuracy (%)",
  })
    .savePng(`${flags.out}/accuracy_matrix.png`);
  console.log(`\nSplit-MNIST, five tasks (${quick ? "quick run" : `${flags.epochs} epochs each`}):`);
  console.log(table(["scenario", "learner", "avg accuracy", "forgetting", "final accuracy per task (%)"], tableRows));
  return results;
}

if (import.meta.main) await main();
