/**
 * Multi-task learning: one trunk (an MLP, 784-256-128), three heads read from it — the **digit** (ten-way
 * cross-entropy), its **parity** (two-way cross-entropy) and its **ink**, the number of pixels above ½ (a regression
 * in tens of pixels, its squared error ~100 times the other losses at the start) — trained three ways on the same
 * batches from the same initial weights:
 *
 * - **digit only**: the digit head alone (the single-task reference);
 * - **fixed weights**: the plain sum of the three losses;
 * - **uncertainty weighting** (Kendall, Gal & Cipolla, 2018): a learned log-variance `s_i` per task and the loss
 *   `Σ exp(−s_i)·L_i + s_i` (½ on the regression term's factor, as for a Gaussian), so each task's weight settles
 *   where its loss is — the ink loss no longer swamps the others.
 *
 * Prints test digit and parity accuracy, ink RMSE and the learned weights; writes `curves.png` (digit test accuracy
 * per epoch) and the weights under `--out` (default runs/research/multitask).
 *
 *   deno run -A examples/research/multitask.ts [--epochs 4] [--lr 0.001] [--log-var-lr 0.05] [--seed 0] [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { data, Generator, manualSeed, models, nn, noGrad, optim, type Tensor, tidy, utils, zeros } from "../../mod.ts";
import { parseFlags, pct, table } from "./common.ts";
import { type Digits, digitsOf, rows } from "./digit_tasks.ts";

/** How the task losses are combined. */
export type Weighting = "digit-only" | "fixed" | "uncertainty";

/** A shared trunk and three heads. */
export class MultiTaskNet extends nn.Module {
  /** Images (flattened) to 128 features. */
  readonly trunk: nn.Sequential;
  /** Features to ten digit logits. */
  readonly digit: nn.Linear;
  /** Features to two parity logits. */
  readonly parity: nn.Linear;
  /** Features to the ink count. */
  readonly ink: nn.Linear;
  /** Learned log-variances `s` of the three tasks (used by uncertainty weighting only). */
  readonly logVars: nn.Parameter;

  /** A fresh network. */
  constructor() {
    super();
    this.trunk = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU());
    this.digit = new nn.Linear(128, 10);
    this.parity = new nn.Linear(128, 2);
    this.ink = new nn.Linear(128, 1);
    this.logVars = new nn.Parameter(zeros([3]));
  }

  /** Digit logits. */
  override forward(x: Tensor): Tensor {
    return this.digit.forward(this.trunk.forward(x));
  }

  /** The three heads' outputs. */
  heads(x: Tensor): { digit: Tensor; parity: Tensor; ink: Tensor } {
    const f = this.trunk.forward(x);
    return { digit: this.digit.forward(f), parity: this.parity.forward(f), ink: this.ink.forward(f).reshape([-1]) };
  }
}

/** The ink count is regressed in units of this many pixels (a digit has ~100–200 pixels above ½). */
export const INK_UNIT = 10;

/** The labels of the three tasks for `digits` (flattened images): digit, parity, and ink (pixels above ½). */
export function taskTargets(digits: Digits): { digit: Tensor; parity: Tensor; ink: Tensor } {
  return noGrad(() => ({
    digit: digits.y,
    parity: digits.y.remainder(2),
    ink: digits.x.gt(0.5).to("float32").sum(1).div(INK_UNIT),
  }));
}

/**
 * The combined loss for `weighting`: the digit loss alone, the sum of the three, or Kendall et al.'s
 * `Σ exp(−s_i)·L_i·c_i + s_i` with `c = [1, 1, ½]` (classification, classification, Gaussian regression).
 */
export function combinedLoss(
  weighting: Weighting,
  losses: { digit: Tensor; parity: Tensor; ink: Tensor },
  logVars: Tensor,
): Tensor {
  if (weighting === "digit-only") return losses.digit;
  if (weighting === "fixed") return losses.digit.add(losses.parity).add(losses.ink);
  const parts = [losses.digit, losses.parity, losses.ink.mul(0.5)];
  let total: Tensor | null = null;
  parts.forEach((l, i) => {
    const s = logVars.narrow(0, i, 1).reshape([]);
    const term = l.mul(s.neg().exp()).add(s);
    total = total === null ? term : total.add(term);
  });
  return total!;
}

/** Test metrics of a trained network. */
export interface TaskScores {
  /** Digit accuracy. */
  digit: number;
  /** Parity accuracy. */
  parity: number;
  /** Root mean squared error of the ink count, in pixels. */
  inkRmse: number;
}

/** The three tasks' test metrics. */
export async function evaluate(net: MultiTaskNet, test: Digits): Promise<TaskScores> {
  const t = taskTargets(test);
  const h = noGrad(() => net.heads(test.x));
  return {
    digit: await h.digit.argmax(1).eq(t.digit).to("float32").mean().item(),
    parity: await h.parity.argmax(1).eq(t.parity).to("float32").mean().item(),
    inkRmse: INK_UNIT * Math.sqrt(await noGrad(() => h.ink.sub(t.ink).square().mean()).item()),
  };
}

/** Trains one network with `weighting`; returns it and the digit test accuracy after each epoch. */
export async function trainMultiTask(
  weighting: Weighting,
  train: Digits,
  test: Digits,
  options: { epochs: number; lr: number; logVarLr: number; seed: number; batchSize?: number },
): Promise<{ net: MultiTaskNet; digitCurve: number[] }> {
  manualSeed(options.seed);
  const net = new MultiTaskNet().to(train.x.device);
  // The log-variances get a larger step than the weights: they must travel to about ln(loss) (≈ 9 for the ink loss at
  // the start), which Adam at the weights' 1e-3 would take thousands of steps to do.
  const opt = new optim.Adam([
    { params: [...net.parameters()].filter((p) => p !== net.logVars) },
    { params: [net.logVars], lr: options.logVarLr },
  ], { lr: options.lr });
  const targets = taskTargets(train);
  const gen = new Generator(options.seed + 1);
  const b = options.batchSize ?? 64, n = train.x.shape[0];
  const digitCurve: number[] = [];
  const bar = new utils.ProgressBar(null, { total: options.epochs * Math.floor(n / b), desc: weighting, unit: "step" });
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = gen.randperm(n);
    for (let i = 0; i + b <= n; i += b) {
      const pick = order.slice(i, i + b);
      const loss = tidy(() => {
        opt.zeroGrad();
        const h = net.heads(rows(train.x, pick));
        const losses = {
          digit: nn.functional.crossEntropy(h.digit, rows(targets.digit, pick)),
          parity: nn.functional.crossEntropy(h.parity, rows(targets.parity, pick)),
          ink: nn.functional.mseLoss(h.ink, rows(targets.ink, pick)),
        };
        const total = combinedLoss(weighting, losses, net.logVars);
        total.backward();
        opt.step();
        return total;
      });
      bar.setPostfix({ epoch: epoch + 1, loss: await loss.item() });
      bar.update();
    }
    digitCurve.push((await evaluate(net, test)).digit);
  }
  bar.close();
  return { net, digitCurve };
}

/** Per weighting, the test metrics and (uncertainty weighting) the learned task weights `exp(−s)`. */
export type MultiTaskResults = Record<Weighting, TaskScores & { weights: number[] }>;

/** Trains the three ways, prints the table, writes the curves and the weights. */
export async function main(args: string[] = Deno.args): Promise<MultiTaskResults> {
  const flags = await parseFlags("multitask", { epochs: "4", lr: "0.001", "log-var-lr": "0.05" }, args);
  const mnist = await data.loadMnist();
  const train = digitsOf(mnist.train, { flat: true, device: flags.device, limit: flags.quick ? 1500 : undefined });
  const test = digitsOf(mnist.test, { flat: true, device: flags.device, limit: flags.quick ? 500 : undefined });
  const epochs = flags.quick ? 3 : Number(flags.epochs);
  const weightings: Weighting[] = ["digit-only", "fixed", "uncertainty"];
  const results = {} as MultiTaskResults;
  const curves = new utils.Plot({ title: "digit test accuracy", xLabel: "epoch", yLabel: "accuracy" });
  for (const weighting of weightings) {
    const { net, digitCurve } = await trainMultiTask(weighting, train, test, {
      epochs,
      lr: Number(flags.lr),
      logVarLr: Number(flags["log-var-lr"]),
      batchSize: flags.quick ? 32 : 64,
      seed: flags.seed,
    });
    const weights = (await net.logVars.tolist() as number[]).map((s) => Math.exp(-s));
    results[weighting] = { ...(await evaluate(net, test)), weights };
    curves.line(digitCurve.map((_, i) => i + 1), digitCurve, { label: weighting, markers: true });
    await models.saveSafetensors(net.stateDict(), `${flags.out}/${weighting}.safetensors`);
  }
  console.log(`\nOne trunk, three heads (${epochs} epochs, ${train.x.shape[0]} training digits):`);
  console.log(table(
    ["weighting", "digit accuracy", "parity accuracy", "ink RMSE (pixels)", "task weights exp(-s)"],
    weightings.map((w) => [
      w,
      pct(results[w].digit),
      w === "digit-only" ? "-" : pct(results[w].parity),
      w === "digit-only" ? "-" : results[w].inkRmse.toFixed(1),
      w === "uncertainty" ? results[w].weights.map((v) => v.toPrecision(2)).join(" / ") : "-",
    ]),
  ));
  await curves.savePng(`${flags.out}/curves.png`);
  return results;
}

if (import.meta.main) await main();
