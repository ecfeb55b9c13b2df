/**
 * How much should we trust a prediction? Four answers on the MNIST CNN:
 *
 * - the plain softmax of one trained CNN;
 * - temperature scaling (Guo et al., 2017): one scalar T fitted on held-out digits by `optim.LBFGS`;
 * - MC dropout (Gal & Ghahramani, 2016): the mean softmax of `--mc-samples` passes with dropout left on;
 * - a deep ensemble (Lakshminarayanan et al., 2017): the mean softmax of `--members` CNNs trained from different seeds.
 *
 * For each: accuracy, negative log-likelihood, expected calibration error (15 equal-width bins) on the test digits,
 * and how well predictive entropy tells digits from inputs no digit resembles — uniform noise and rendered letters —
 * as AUROC. Prints one table; writes `reliability.png` (per method, accuracy against confidence per bin) and
 * `ood_samples.png` under `--out` (default runs/research/uncertainty).
 *
 *   deno run -A examples/research/uncertainty.ts [--epochs 2] [--members 5] [--mc-samples 10] [--seed 0]
 *       [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { cat, manualSeed, models, nn, noGrad, optim, rand, type Tensor, tensor, toDevice } from "../../mod.ts";
import { batched, digits, fit, logitsOf, mnistCnn, type Net, parseFlags, pct, table } from "./common.ts";
import { captionedGrid, Figure, Plot } from "../../utils/mod.ts";
import { renderLetters } from "./letters.ts";

/** Calibration of predicted class probabilities `[N, C]` against labels, in `bins` equal-width confidence bins. */
export interface Calibration {
  /** Fraction of argmax predictions that are right. */
  accuracy: number;
  /** Mean −log p(label). */
  nll: number;
  /** Expected calibration error: Σ_b (n_b/N)·|accuracy_b − confidence_b|. */
  ece: number;
  /** Per bin: its count, mean confidence and accuracy (NaN when empty). */
  bins: { count: number; confidence: number; accuracy: number }[];
}

/** Accuracy, NLL, ECE and the reliability bins of `probs` against `labels`. */
export async function calibration(probs: Tensor, labels: Tensor, nBins = 15): Promise<Calibration> {
  const p = await probs.data(), y = await labels.data();
  const [n, c] = probs.shape;
  const bins = Array.from({ length: nBins }, () => ({ count: 0, confSum: 0, correct: 0 }));
  let correct = 0, nll = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (p[i * c + k] > p[i * c + best]) best = k;
    const conf = p[i * c + best], right = best === y[i] ? 1 : 0;
    correct += right;
    nll -= Math.log(Math.max(p[i * c + y[i]], 1e-12));
    // Bin b holds confidences in (b/B, (b+1)/B].
    const b = Math.min(nBins - 1, Math.max(0, Math.ceil(conf * nBins) - 1));
    bins[b].count++;
    bins[b].confSum += conf;
    bins[b].correct += right;
  }
  let ece = 0;
  for (const b of bins) if (b.count > 0) ece += (b.count / n) * Math.abs(b.correct / b.count - b.confSum / b.count);
  return {
    accuracy: correct / n,
    nll: nll / n,
    ece,
    bins: bins.map((b) => ({ count: b.count, confidence: b.confSum / b.count, accuracy: b.correct / b.count })),
  };
}

/** Entropy of each row of probabilities `[N, C]`: the uncertainty score used for out-of-distribution detection. */
export function entropy(probs: Tensor): Tensor {
  return noGrad(() => probs.mul(probs.clamp(1e-12, 1).log()).sum(1).neg());
}

/**
 * The area under the ROC curve of telling `outside` from `inside` by a score that should be higher outside: the
 * probability that a random outside score beats a random inside one (ties count half), by ranks (Mann–Whitney U).
 */
export function auroc(inside: ArrayLike<number>, outside: ArrayLike<number>): number {
  const all = [...Array.from(inside, (v) => [v, 0]), ...Array.from(outside, (v) => [v, 1])].sort((a, b) => a[0] - b[0]);
  let rankSumOutside = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const midRank = (i + 1 + j) / 2; // tied scores share the mean of their ranks
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSumOutside += midRank;
    i = j;
  }
  const nOut = outside.length, nIn = inside.length;
  return (rankSumOutside - (nOut * (nOut + 1)) / 2) / (nOut * nIn);
}

/**
 * The temperature T that minimises the NLL of `softmax(logits / T)` against `labels`, fitted by L-BFGS (on the CPU:
 * one scalar over a few thousand logits).
 */
export async function fitTemperature(deviceLogits: Tensor, deviceLabels: Tensor): Promise<number> {
  const logits = await toDevice(deviceLogits, "cpu"), labels = await toDevice(deviceLabels, "cpu");
  const logT = tensor([0]).requiresGrad_(); // T = e^{logT} stays positive
  const opt = new optim.LBFGS([logT], { lr: 0.1, maxIter: 100, lineSearchFn: "strong_wolfe" });
  opt.step(() => {
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(logits.div(logT.exp()), labels);
    loss.backward();
    return loss;
  });
  return Math.exp(logT.dataSync()[0]);
}

/** The mean softmax of `samples` forward passes with the dropout layers on (batch norm stays in eval mode). */
export function mcDropoutProbs(model: Net, x: Tensor, samples: number): Tensor {
  model.eval();
  for (const m of model.modules()) if (m instanceof nn.Dropout) m.train();
  let sum: Tensor | null = null;
  for (let s = 0; s < samples; s++) {
    const p = batched(x, 500, (xb) => model.forward(xb).softmax(1));
    sum = sum ? sum.add(p) : p;
  }
  model.eval();
  return sum!.div(samples);
}

/** Runs the example; returns the table's numbers per method. */
export async function main(args: string[] = Deno.args) {
  const flags = await parseFlags("uncertainty", { epochs: "2", members: "5", "mc-samples": "10" }, args);
  const quick = flags.quick;
  const nVal = quick ? 128 : 1000;
  const all = await digits(quick ? 640 + nVal : undefined, quick ? 200 : undefined, flags.device);
  // The last nVal training digits are held out to fit the temperature.
  const nTrain = all.trainX.shape[0] - nVal;
  const trainX = all.trainX.narrow(0, 0, nTrain), trainY = all.trainY.narrow(0, 0, nTrain);
  const valX = all.trainX.narrow(0, nTrain, nVal), valY = all.trainY.narrow(0, nTrain, nVal);
  const nOod = quick ? 100 : 1000;
  const noise = rand([nOod, 1, 28, 28], { device: flags.device });
  const letters = renderLetters(nOod, flags.seed).to(flags.device);
  const members = quick ? 2 : Number(flags.members), epochs = quick ? 1 : Number(flags.epochs);

  const nets: Net[] = [];
  for (let k = 0; k < members; k++) {
    manualSeed(flags.seed + 100 * k); // a different initialisation and data order per member
    const net = mnistCnn().to(flags.device);
    await fit(net, trainX, trainY, { epochs, label: `member ${k + 1}/${members}`, maxSteps: quick ? 8 : undefined });
    nets.push(net);
  }

  const softmaxOf = (net: Net, x: Tensor, temperature = 1) => logitsOf(net, x).div(temperature).softmax(1);
  const temperature = await fitTemperature(logitsOf(nets[0], valX), valY);
  const mcSamples = quick ? 3 : Number(flags["mc-samples"]);
  const methods: [string, (x: Tensor) => Tensor][] = [
    ["softmax (one CNN)", (x) => softmaxOf(nets[0], x)],
    [`temperature scaling (T=${temperature.toFixed(2)})`, (x) => softmaxOf(nets[0], x, temperature)],
    [`MC dropout (${mcSamples} samples)`, (x) => mcDropoutProbs(nets[0], x, mcSamples)],
    [`deep ensemble (${members})`, (x) => nets.map((n) => softmaxOf(n, x)).reduce((a, b) => a.add(b)).div(members)],
  ];

  const results = [];
  for (const [name, probsOf] of methods) {
    const probs = probsOf(all.testX);
    const cal = await calibration(probs, all.testY);
    const hIn = await entropy(probs).data();
    const aurocNoise = auroc(hIn, await entropy(probsOf(noise)).data());
    const aurocLetters = auroc(hIn, await entropy(probsOf(letters)).data());
    results.push({ name, ...cal, aurocNoise, aurocLetters });
    console.log(`  ${name}: done`);
  }

  console.log();
  console.log(table(
    ["method", "accuracy", "NLL", "ECE", "AUROC noise", "AUROC letters"],
    results.map((r) => [
      r.name,
      pct(r.accuracy),
      r.nll.toFixed(4),
      pct(r.ece),
      r.aurocNoise.toFixed(3),
      r.aurocLetters.toFixed(3),
    ]),
  ));
  // What the model was shown: digits, noise and letters, each captioned with the ensemble's entropy (nats).
  const samples = cat([all.testX.narrow(0, 0, 8), noise.narrow(0, 0, 8), letters.narrow(0, 0, 8)]);
  const ensembleEntropy = await entropy(methods[3][1](samples)).data();
  const captions = Array.from(
    ensembleEntropy,
    (h, i) => `${["digit", "noise", "letter"][Math.floor(i / 8)]} H=${h.toFixed(2)}`,
  );
  await (await captionedGrid(samples, captions, { nrow: 8, scale: 3 })).savePng(`${flags.out}/ood_samples.png`);
  await saveReliability(`${flags.out}/reliability.png`, results);
  await models.saveSafetensors(nets[0].stateDict(), `${flags.out}/cnn.safetensors`);
  console.log(`\npictures and weights in ${flags.out}/`);
  return results;
}

/** Reliability diagrams, one panel per method: each bin's accuracy as a bar against the diagonal of perfect calibration. */
async function saveReliability(path: string, results: ({ name: string } & Calibration)[]): Promise<void> {
  const nBins = results[0].bins.length;
  const centres = results[0].bins.map((_, b) => (b + 0.5) / nBins);
  const panels = results.map((r) =>
    new Plot({
      title: `${r.name}: ECE ${pct(r.ece)}`,
      xLabel: "confidence",
      yLabel: "accuracy",
      xRange: [0, 1],
      yRange: [0, 1],
      legend: "upper left",
    })
      .bar(centres, r.bins.map((b) => (b.count > 0 ? b.accuracy : 0)), { label: "accuracy per bin", width: 1 / nBins })
      .line(centres, r.bins.map((b) => (b.count > 0 ? b.confidence : NaN)), { label: "mean confidence", markers: true })
      .line([0, 1], [0, 1], { label: "perfectly calibrated", dash: [5, 4], color: "#555555" })
  );
  await new Figure(panels, { columns: 2, panelWidth: 460, panelHeight: 340 }).savePng(path);
}

if (import.meta.main) await main();
