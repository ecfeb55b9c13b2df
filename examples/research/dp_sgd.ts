/**
 * Differential privacy: DP-SGD (per-sample clipping and Gaussian noise) on
 * the MNIST digits against the same training without privacy, with an RDP
 * accountant reporting the ε spent for the chosen δ as training goes.
 * Batches are drawn by Poisson sampling (each digit joins with probability
 * q = batch / N), which is what the accountant's bound assumes. The model is
 * a two-layer perceptron: its per-sample gradients come from one backward
 * pass (see `privacy/dp_sgd.ts`).
 *
 *   deno run -A examples/research/dp_sgd.ts [--steps 500] [--batch-size 256] [--noise 1.0] [--clip 1.0]
 *       [--lr 0.5] [--delta 1e-5] [--seed 0] [--out DIR] [--quick]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, Generator, manualSeed, models, nn, noGrad, optim, type Tensor, tensor, tidy, utils } from "../../mod.ts";
import { DPSGD, poissonBatch } from "./privacy/dp_sgd.ts";
import { RDPAccountant } from "./privacy/rdp_accountant.ts";

/** Options of {@link runDpSgd}. */
export interface DpSgdRunOptions {
  /** Optimisation steps (default 500). */
  steps?: number;
  /** Expected batch size L; the sampling rate is L / N (default 256). */
  batchSize?: number;
  /** Noise multiplier σ (default 1.0). */
  noise?: number;
  /** Per-sample clipping bound C (default 1.0). */
  clip?: number;
  /** SGD learning rate, private and non-private alike (default 0.5). */
  lr?: number;
  /** δ of the (ε, δ) guarantee (default 1e-5, below 1 / N). */
  delta?: number;
  /** Hidden units (default 256). */
  hidden?: number;
  /** Training digits used (default all 8,000). */
  trainSamples?: number;
  /** Test digits used (default all 2,000). */
  testSamples?: number;
  /** Evaluate every this many steps (default steps / 10). */
  evalEvery?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Progress bars (default on stderr). */
  progress?: utils.ProgressOptions;
}

/** One evaluation point. */
export interface DpPoint {
  /** Steps taken. */
  step: number;
  /** ε spent so far (for the run's δ). */
  epsilon: number;
  /** Test accuracy of the private model. */
  privateAcc: number;
  /** Test accuracy of the non-private model after the same steps. */
  plainAcc: number;
}

/** What {@link runDpSgd} returns. */
export interface DpSgdRunResult {
  /** The evaluation points (the first at step 0). */
  points: DpPoint[];
  /** The final ε and the RDP order that gave it. */
  spent: { epsilon: number; order: number };
  /** Fraction of per-sample gradients clipped over the run. */
  clippedFraction: number;
  /** The private and the non-private model. */
  models: { private: nn.Sequential; plain: nn.Sequential };
  /** Sampling rate q. */
  q: number;
}

function mlp(hidden: number): nn.Sequential {
  return new nn.Sequential(new nn.Flatten(), new nn.Linear(784, hidden), new nn.ReLU(), new nn.Linear(hidden, 10));
}

async function accuracy(model: nn.Sequential, x: Tensor, y: Tensor): Promise<number> {
  model.eval();
  const hits = tidy(() => noGrad(() => model.forward(x).argmax(1).eq(y).sum()));
  const n = await hits.item();
  hits.dispose();
  return n / x.shape[0];
}

/** Trains the private and the non-private model from the same weights on the same Poisson batches. */
export async function runDpSgd(options: DpSgdRunOptions = {}): Promise<DpSgdRunResult> {
  const steps = options.steps ?? 500;
  const batchSize = options.batchSize ?? 256;
  const sigma = options.noise ?? 1.0;
  const clip = options.clip ?? 1.0;
  const lr = options.lr ?? 0.5;
  const delta = options.delta ?? 1e-5;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`dp_sgd: steps must be a positive integer, got ${steps}`);
  }
  if (!(delta > 0 && delta < 1)) throw new RangeError(`dp_sgd: delta must be in (0, 1), got ${delta}`);
  const mnist = await data.loadMnist();
  const n = Math.min(options.trainSamples ?? mnist.train.length, mnist.train.length);
  if (!(batchSize >= 1 && batchSize <= n)) {
    throw new RangeError(`dp_sgd: batch size must be in [1, ${n}] (the training digits), got ${batchSize}`);
  }
  const nTest = Math.min(options.testSamples ?? mnist.test.length, mnist.test.length);
  const trainX = mnist.train.images.narrow(0, 0, n), trainY = mnist.train.labels.narrow(0, 0, n);
  const testX = mnist.test.images.narrow(0, 0, nTest), testY = mnist.test.labels.narrow(0, 0, nTest);
  const q = batchSize / n;
  const evalEvery = options.evalEvery ?? Math.max(1, Math.round(steps / 10));

  manualSeed(seed);
  const priv = mlp(options.hidden ?? 256), plain = mlp(options.hidden ?? 256);
  plain.loadStateDict(priv.stateDict());
  const dp = new DPSGD(priv, new optim.SGD(priv.parameters(), { lr }), {
    maxGradNorm: clip,
    noiseMultiplier: sigma,
    expectedBatchSize: batchSize,
    generator: new Generator(seed + 1),
  });
  const plainOpt = new optim.SGD(plain.parameters(), { lr });
  const accountant = new RDPAccountant();
  const sampler = new Generator(seed + 2);
  const sumLoss = (out: Tensor, y: Tensor) => nn.functional.crossEntropy(out, y, { reduction: "sum" });

  const points: DpPoint[] = [{ step: 0, epsilon: 0, privateAcc: await accuracy(priv, testX, testY), plainAcc: 0 }];
  points[0].plainAcc = points[0].privateAcc;
  let clipped = 0, seen = 0;
  const bar = utils.progress(Array.from({ length: steps }, (_, i) => i + 1), {
    desc: "DP-SGD",
    unit: "step",
    ...options.progress,
  });
  for (const step of bar) {
    const idx = poissonBatch(n, q, sampler);
    const index = tensor(idx, { dtype: "int32" });
    const xb = trainX.indexSelect(0, index), yb = trainY.indexSelect(0, index);
    priv.train();
    const info = await dp.step(xb, yb, sumLoss);
    accountant.step(sigma, q);
    clipped += info.clipped;
    seen += info.batchSize;
    // The same batch, plainly: the mean loss's gradient (the summed one over the expected batch size L, as DP-SGD).
    plain.train();
    if (idx.length > 0) {
      tidy(() => {
        plainOpt.zeroGrad();
        sumLoss(plain.forward(xb), yb).div(batchSize).backward();
        plainOpt.step();
      });
    }
    for (const t of [index, xb, yb]) t.dispose();
    if (step % evalEvery === 0 || step === steps) {
      const point = {
        step,
        epsilon: accountant.getEpsilon(delta),
        privateAcc: await accuracy(priv, testX, testY),
        plainAcc: await accuracy(plain, testX, testY),
      };
      points.push(point);
      bar.setPostfix({ eps: point.epsilon, dp: point.privateAcc, plain: point.plainAcc });
    }
  }
  return {
    points,
    spent: accountant.getPrivacySpent(delta),
    clippedFraction: seen ? clipped / seen : 0,
    models: { private: priv, plain },
    q,
  };
}

/** Parses the flags, trains both models, prints the table, writes the curves and the weights. */
export async function main(args: string[]): Promise<DpSgdRunResult> {
  const { values } = parseArgs({
    args,
    options: {
      steps: { type: "string" },
      "batch-size": { type: "string" },
      noise: { type: "string" },
      clip: { type: "string" },
      lr: { type: "string" },
      delta: { type: "string" },
      seed: { type: "string", default: "0" },
      out: { type: "string", default: "runs/research/dp_sgd" },
      quick: { type: "boolean", default: false },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const quick = values.quick;
  const opts: DpSgdRunOptions = {
    steps: num(values.steps) ?? (quick ? 30 : 500),
    batchSize: num(values["batch-size"]) ?? (quick ? 64 : 256),
    noise: num(values.noise),
    clip: num(values.clip),
    lr: num(values.lr),
    delta: num(values.delta) ?? (quick ? 1e-3 : 1e-5),
    seed: Number(values.seed),
    trainSamples: quick ? 1000 : undefined,
    testSamples: quick ? 500 : undefined,
  };
  console.log(
    `DP-SGD on MNIST digits: MLP 784-256-10, ${opts.steps} steps, Poisson batches of ${opts.batchSize} expected, ` +
      `clip C ${opts.clip ?? 1}, noise σ ${opts.noise ?? 1}, SGD lr ${opts.lr ?? 0.5}, δ ${opts.delta}`,
  );
  const start = performance.now();
  const res = await runDpSgd(opts);
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `\nsampling rate q ${res.q.toFixed(4)}; ${(100 * res.clippedFraction).toFixed(1)}% of per-sample gradients clipped`,
  );
  console.log(`\nTest accuracy and privacy spent (ε for δ ${opts.delta}, RDP accountant)`);
  const rows = res.points.map((p) => [
    String(p.step),
    p.step === 0 ? "0" : p.epsilon.toFixed(2),
    `${(100 * p.privateAcc).toFixed(2)}%`,
    `${(100 * p.plainAcc).toFixed(2)}%`,
    `${(100 * (p.plainAcc - p.privateAcc)).toFixed(2)}`,
  ]);
  const headers = ["step", "ε", "DP-SGD", "non-private", "cost (points)"];
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => v.padStart(widths[c])).join("  ");
  console.log([line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n"));
  console.log(
    `\nFinal: ε = ${res.spent.epsilon.toFixed(2)} (order ${res.spent.order}) at δ = ${opts.delta}; DP-SGD ` +
      `${(100 * res.points.at(-1)!.privateAcc).toFixed(2)}% against ${
        (100 * res.points.at(-1)!.plainAcc).toFixed(2)
      }% ` +
      `without privacy (${seconds.toFixed(1)} s)`,
  );
  await Deno.mkdir(values.out, { recursive: true });
  const steps = res.points.map((p) => p.step);
  await new utils.Plot({
    title: "DP-SGD against non-private SGD",
    xLabel: "step",
    yLabel: "test accuracy (%)",
    yRange: [0, 100],
  })
    .line(steps, res.points.map((p) => 100 * p.privateAcc), {
      label: `DP-SGD (final eps ${res.spent.epsilon.toFixed(2)})`,
    })
    .line(steps, res.points.map((p) => 100 * p.plainAcc), { label: "non-private" })
    .savePng(`${values.out}/accuracy.png`);
  await models.save(res.models.private, `${values.out}/dp_mlp.safetensors`);
  await models.save(res.models.plain, `${values.out}/plain_mlp.safetensors`);
  console.log(`wrote ${values.out}/accuracy.png and {dp,plain}_mlp.safetensors`);
  return res;
}

if (import.meta.main) await main(Deno.args);
