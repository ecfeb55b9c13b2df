/**
 * Domain adaptation: DANN (Ganin & Lempitsky, 2015) from the MNIST digits to a shifted domain — the same digits
 * blended with a random texture per image as MNIST-M does (`|digit − background|`) — whose labels are never used for
 * training.
 *
 * A feature extractor (two conv blocks) feeds a label classifier and, through a **gradient-reversal layer** (an
 * `autograd.Function`: identity forward, −λ·gradient backward), a domain classifier that tells source from target
 * images. The domain classifier learns to tell them apart while the reversed gradient pushes the features to make
 * them indistinguishable, so the label classifier trained on the source transfers. λ rises from 0 to `--lambda` as
 * `2/(1 + e^(−10p)) − 1` over training progress p, as in the paper.
 *
 * Source: the first half of the training digits with labels; target: the second half, textured, without labels;
 * tested on the textured test digits. Prints source and target accuracy of the source-only network and of DANN (same
 * initial weights, same batches), and the domain classifier's accuracy (0.5 means the features no longer tell the
 * domains apart); writes `curves.png` (target accuracy and domain accuracy during training) and the weights under
 * `--out` (default runs/research/dann).
 *
 *   deno run -A examples/research/dann.ts [--steps 500] [--lambda 1] [--lr 0.01] [--seed 0] [--device cpu|webgpu]
 *       [--quick]
 *
 * @module
 */

import {
  autograd,
  cat,
  data,
  Generator,
  manualSeed,
  models,
  nn,
  noGrad,
  optim,
  type Tensor,
  tensor,
  tidy,
  utils,
} from "../../mod.ts";
import { parseFlags, pct, table } from "./common.ts";
import { accuracyOf, type Digits, digitsOf, rows } from "./digit_tasks.ts";

/**
 * The gradient-reversal layer: the identity going forward, the gradient times −λ going back (PyTorch's custom
 * `torch.autograd.Function` pattern).
 */
export class GradientReversal extends autograd.Function {
  /** Returns `x`; remembers λ. */
  static override forward(ctx: autograd.FunctionCtx, x: Tensor, lambda: number): Tensor {
    ctx.lambda = lambda;
    return x;
  }
  /** −λ times the incoming gradient for `x`; none for λ. */
  static override backward(ctx: autograd.FunctionCtx, g: Tensor): (Tensor | null)[] {
    return [g.mul(-(ctx.lambda as number)), null];
  }
}

/** DANN's three parts. */
export class DannNet extends nn.Module {
  /** Images to 768 features. */
  readonly features: nn.Sequential;
  /** Features to ten digit logits. */
  readonly classifier: nn.Sequential;
  /** Features to two domain logits (source 0, target 1). */
  readonly discriminator: nn.Sequential;

  /** The network of the paper's MNIST experiments, a little narrower. */
  constructor() {
    super();
    this.features = new nn.Sequential(
      new nn.Conv2d(1, 32, 5),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(32, 48, 5),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
    );
    this.classifier = new nn.Sequential(new nn.Linear(768, 100), new nn.ReLU(), new nn.Linear(100, 10));
    this.discriminator = new nn.Sequential(new nn.Linear(768, 100), new nn.ReLU(), new nn.Linear(100, 2));
  }

  /** Digit logits. */
  override forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}

/** λ at training progress `p` ∈ [0, 1]: `2/(1 + e^(−10p)) − 1`, scaled to reach `max`. */
export function lambdaAt(p: number, max: number): number {
  return max * (2 / (1 + Math.exp(-10 * p)) - 1);
}

/**
 * `digits` as the target domain sees them, in the manner of MNIST-M: `|x − background|` with a random texture per
 * image (three random sinusoidal gratings summed, mapped to [0, 1]), so strokes are lighter or darker than what lies
 * around them, by varying amounts.
 */
export function texturize(digits: Digits, gen: Generator): Digits {
  const [n, , h, w] = digits.x.shape;
  const bg = new Float32Array(n * h * w);
  for (let k = 0; k < n; k++) {
    const waves = Array.from({ length: 3 }, () => ({
      fx: (gen.random() - 0.5) * 1.2,
      fy: (gen.random() - 0.5) * 1.2,
      phase: 2 * Math.PI * gen.random(),
    }));
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let v = 0;
        for (const { fx, fy, phase } of waves) v += Math.sin(fx * j + fy * i + phase);
        bg[(k * h + i) * w + j] = 0.5 + v / 6;
      }
    }
  }
  const background = tensor(bg).reshape([n, 1, h, w]).to(digits.x.device);
  return { ...digits, x: noGrad(() => digits.x.add(background.mul(0.7)).clamp(0, 1)) };
}

/** Options of {@link trainDann}. */
export interface DannOptions {
  /** Training steps. */
  steps: number;
  /** Images per domain per step. */
  batchSize: number;
  /** The largest λ (0: source-only training, no domain loss). */
  lambda: number;
  /** SGD's learning rate (momentum 0.9), annealed as `lr/(1 + 10p)^0.75` as in the paper. */
  lr: number;
  /** The batch stream. */
  gen: Generator;
  /** Measure target accuracy (on up to 500 test images) this often, in steps. */
  evalEvery: number;
  /** Progress line label. */
  label: string;
}

/** One point of the training record. */
export interface DannRecord {
  /** The step. */
  step: number;
  /** Target test accuracy then. */
  targetAccuracy: number;
  /** The domain classifier's accuracy on the step's batch (NaN for source-only training). */
  domainAccuracy: number;
}

/**
 * Trains `net` on labelled `source` and unlabelled `target` images: cross-entropy on the source's digits plus, when
 * λ > 0, the domain classifier's cross-entropy on both domains through the gradient reversal.
 */
export async function trainDann(
  net: DannNet,
  source: Digits,
  target: Digits,
  targetTest: Digits,
  options: DannOptions,
): Promise<DannRecord[]> {
  const opt = new optim.SGD(net.parameters(), { lr: options.lr, momentum: 0.9 });
  const record: DannRecord[] = [];
  const b = options.batchSize;
  const domains = tensor([...new Array(b).fill(0), ...new Array(b).fill(1)], { dtype: "int32" }).to(source.x.device);
  const probe = { x: targetTest.x.narrow(0, 0, Math.min(500, targetTest.x.shape[0])), y: targetTest.y };
  probe.y = targetTest.y.narrow(0, 0, probe.x.shape[0]);
  const bar = utils.progress(Array.from({ length: options.steps }, (_, i) => i), { desc: options.label, unit: "step" });
  let domainAccuracy = NaN;
  for (const step of bar) {
    const p = step / options.steps;
    const lambda = lambdaAt(p, options.lambda);
    for (const group of opt.paramGroups) group.lr = options.lr / (1 + 10 * p) ** 0.75;
    const pickS = Array.from({ length: b }, () => options.gen.randint(0, source.x.shape[0]));
    const pickT = Array.from({ length: b }, () => options.gen.randint(0, target.x.shape[0]));
    net.train();
    const out = tidy(() => {
      opt.zeroGrad();
      const xs = rows(source.x, pickS), ys = rows(source.y, pickS);
      let loss: Tensor, correctDomain: Tensor | null = null;
      if (options.lambda > 0) {
        const f = net.features.forward(cat([xs, rows(target.x, pickT)]));
        const classLoss = nn.functional.crossEntropy(net.classifier.forward(f.narrow(0, 0, b)), ys);
        const domainLogits = net.discriminator.forward(GradientReversal.apply(f, lambda));
        loss = classLoss.add(nn.functional.crossEntropy(domainLogits, domains));
        correctDomain = noGrad(() => domainLogits.argmax(1).eq(domains).sum());
      } else {
        loss = nn.functional.crossEntropy(net.forward(xs), ys);
      }
      loss.backward();
      opt.step();
      return { loss, correctDomain };
    });
    if (out.correctDomain) domainAccuracy = (await out.correctDomain.item()) / (2 * b);
    bar.setPostfix({ loss: await out.loss.item(), lambda: lambda.toFixed(2) });
    if ((step + 1) % options.evalEvery === 0 || step + 1 === options.steps) {
      net.eval();
      const targetAccuracy = await accuracyOf((x) => net.forward(x), probe.x, probe.y);
      record.push({ step: step + 1, targetAccuracy, domainAccuracy });
    }
  }
  net.eval();
  return record;
}

/** Source and target test accuracy of each learner, and DANN's final domain-classifier accuracy. */
export interface DannResults {
  /** Trained on the source only. */
  sourceOnly: { source: number; target: number };
  /** DANN. */
  dann: { source: number; target: number; domain: number };
}

/** Trains both learners, prints the table, writes the curves and the weights. */
export async function main(args: string[] = Deno.args): Promise<DannResults> {
  const flags = await parseFlags("dann", { steps: "500", lambda: "1", lr: "0.01" }, args);
  const quick = flags.quick;
  const mnist = await data.loadMnist();
  const half = mnist.train.labelArray.length / 2;
  const all = digitsOf(mnist.train, { device: flags.device });
  const split = (from: number, n: number): Digits => {
    const index = Array.from({ length: n }, (_, i) => from + i);
    return { x: rows(all.x, index), y: rows(all.y, index), labels: all.labels.slice(from, from + n) };
  };
  const source = split(0, quick ? 1000 : half);
  const target = texturize(split(half, quick ? 1000 : half), new Generator(flags.seed + 2));
  const testLimit = quick ? 500 : undefined;
  const sourceTest = digitsOf(mnist.test, { limit: testLimit, device: flags.device });
  const targetTest = texturize(sourceTest, new Generator(flags.seed + 3));

  const steps = quick ? 150 : Number(flags.steps);
  const base = {
    steps,
    batchSize: quick ? 32 : 64,
    lr: Number(flags.lr),
    evalEvery: Math.max(1, Math.floor(steps / 15)),
  };
  manualSeed(flags.seed);
  const plain = new DannNet().to(flags.device);
  const dann = new DannNet().to(flags.device);
  dann.loadStateDict(plain.stateDict());
  const plainRecord = await trainDann(plain, source, target, targetTest, {
    ...base,
    lambda: 0,
    gen: new Generator(flags.seed + 1),
    label: "source only",
  });
  const dannRecord = await trainDann(dann, source, target, targetTest, {
    ...base,
    lambda: Number(flags.lambda),
    gen: new Generator(flags.seed + 1),
    label: "DANN",
  });
  const acc = (net: DannNet, d: Digits) => accuracyOf((x) => net.forward(x), d.x, d.y);
  const results: DannResults = {
    sourceOnly: { source: await acc(plain, sourceTest), target: await acc(plain, targetTest) },
    dann: {
      source: await acc(dann, sourceTest),
      target: await acc(dann, targetTest),
      domain: dannRecord[dannRecord.length - 1].domainAccuracy,
    },
  };
  console.log(`\nMNIST → textured MNIST (${steps} steps, target labels unused; ${sourceTest.x.shape[0]} test digits):`);
  console.log(table(["learner", "source accuracy", "target accuracy", "domain classifier (last batch)"], [
    ["source only", pct(results.sourceOnly.source), pct(results.sourceOnly.target), "-"],
    ["DANN", pct(results.dann.source), pct(results.dann.target), pct(results.dann.domain)],
  ]));

  const xs = (r: DannRecord[]) => r.map((p) => p.step);
  const curves = new utils.Plot({
    title: "accuracy on the textured test digits (first 500)",
    xLabel: "step",
    yLabel: "accuracy",
    yRange: [0, 1],
  })
    .line(xs(plainRecord), plainRecord.map((p) => p.targetAccuracy), { label: "source only", markers: true })
    .line(xs(dannRecord), dannRecord.map((p) => p.targetAccuracy), { label: "DANN", markers: true });
  const domain = new utils.Plot({
    title: "DANN's domain classifier (batch accuracy)",
    xLabel: "step",
    yLabel: "accuracy",
    yRange: [0, 1],
  }).line(xs(dannRecord), dannRecord.map((p) => p.domainAccuracy), { label: "domain classifier", markers: true });
  await new utils.Figure([curves, domain], { title: "DANN: MNIST to textured MNIST" }).savePng(
    `${flags.out}/curves.png`,
  );
  await models.saveSafetensors(plain.stateDict(), `${flags.out}/source_only.safetensors`);
  await models.saveSafetensors(dann.stateDict(), `${flags.out}/dann.safetensors`);
  return results;
}

if (import.meta.main) await main();
