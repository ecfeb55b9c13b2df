/**
 * Adversarial examples and adversarial training on the MNIST CNN.
 *
 * 1. Train the CNN of `examples/mnist_loop.ts` on the digits.
 * 2. Attack it on test digits with FGSM and PGD (L∞, random start) at ε = 0.05, 0.1, 0.2, 0.3 (pixels in [0, 1]):
 *    the input gradient comes from `autograd.grad`, so no parameter's `.grad` is touched.
 * 3. Fine-tune a copy with PGD adversarial training (Madry et al., 2018) at ε = 0.1 and attack it again.
 *
 * Prints one table (accuracy of both models under each attack), writes `clean_perturbation_adversarial.png`
 * (rows: clean digits, the PGD perturbation at ε = 0.1 with grey as 0, the adversarial digits) and both models'
 * weights as safetensors under `--out` (default runs/research/adversarial).
 *
 *   deno run -A examples/research/adversarial.ts [--clean-epochs 3] [--adv-epochs 1] [--train-pgd-steps 3]
 *       [--eval-images 500] [--pgd-steps 10] [--seed 0] [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { autograd, cat, Generator, models, nn, noGrad, rand, type Tensor } from "../../mod.ts";
import { batched, digits, fit, mnistCnn, type Net, parseFlags, pct, table } from "./common.ts";
import { captionedGrid, ProgressBar } from "../../utils/mod.ts";

/** A classifier: images in, logits out. */
export type Classifier = Net;

/** The gradient of the mean cross-entropy with respect to the input images (the model's parameters untouched). */
export function inputGradient(model: Classifier, x: Tensor, y: Tensor): Tensor {
  const xg = x.detach().requiresGrad_();
  const [g] = autograd.grad(nn.functional.crossEntropy(model.forward(xg), y), xg);
  return g;
}

/** FGSM (Goodfellow et al., 2015): one step of size ε along the sign of the input gradient, kept in [0, 1]. */
export function fgsm(model: Classifier, x: Tensor, y: Tensor, eps: number): Tensor {
  return x.add(inputGradient(model, x, y).sign().mul(eps)).clamp(0, 1).detach();
}

/** Options of {@link pgd}. */
export interface PgdOptions {
  /** The L∞ radius. */
  eps: number;
  /** Step size (default ε/4). */
  alpha?: number;
  /** Steps (default 10). */
  steps?: number;
  /** Start from a uniform point of the ε-ball (default true). */
  randomStart?: boolean;
  /** Draws the random start. */
  generator?: Generator;
}

/**
 * PGD under L∞ (Madry et al., 2018): from a random point of the ε-ball, `steps` signed-gradient steps of size α,
 * each projected back onto the ball and onto valid pixels [0, 1].
 */
export function pgd(model: Classifier, x: Tensor, y: Tensor, options: PgdOptions): Tensor {
  const { eps, steps = 10, randomStart = true } = options;
  const alpha = options.alpha ?? eps / 4;
  const lo = x.sub(eps).clamp(0, 1), hi = x.add(eps).clamp(0, 1);
  let adv = x;
  if (randomStart) {
    const noise = rand(x.shape, { generator: options.generator, device: x.device }).mul(2 * eps).sub(eps);
    adv = x.add(noise).clamp(0, 1);
  }
  for (let s = 0; s < steps; s++) {
    adv = adv.add(inputGradient(model, adv, y).sign().mul(alpha)).maximum(lo).minimum(hi).detach();
  }
  return adv;
}

/** Accuracy of `model` (eval mode) on `attack(x, y)`, computed in batches. */
export async function attackedAccuracy(
  model: Classifier,
  x: Tensor,
  y: Tensor,
  attack: ((m: Classifier, xb: Tensor, yb: Tensor) => Tensor) | null,
  batchSize = 250,
): Promise<number> {
  model.eval();
  let correct = 0;
  for (let i = 0; i < x.shape[0]; i += batchSize) {
    const n = Math.min(batchSize, x.shape[0] - i);
    const [xb, yb] = [x.narrow(0, i, n), y.narrow(0, i, n)];
    const adv = attack ? attack(model, xb, yb) : xb;
    correct += await batched(adv, batchSize, (a) => model.forward(a)).argmax(1).eq(yb).sum().item();
  }
  return correct / x.shape[0];
}

/** The radii the example attacks with. */
export const EPSILONS = [0.05, 0.1, 0.2, 0.3];

/** Runs the example; returns the accuracies it printed. */
export async function main(args: string[] = Deno.args) {
  const flags = await parseFlags("adversarial", {
    "clean-epochs": "3",
    "adv-epochs": "1",
    "train-pgd-steps": "3",
    "eval-images": "500",
    "pgd-steps": "10",
  }, args);
  const quick = flags.quick;
  const data = await digits(quick ? 320 : undefined, quick ? 64 : Number(flags["eval-images"]), flags.device);
  const batchSize = quick ? 32 : 64;
  const pgdSteps = quick ? 3 : Number(flags["pgd-steps"]);
  const radii = quick ? [0.1, 0.3] : EPSILONS; // a tiny run measures what its test asserts
  const gen = new Generator(flags.seed + 1);

  console.log("1. training the MNIST CNN");
  const model = mnistCnn().to(flags.device);
  await fit(model, data.trainX, data.trainY, {
    epochs: quick ? 1 : Number(flags["clean-epochs"]),
    batchSize,
    label: "clean",
  });

  console.log("2. attacking it");
  const evaluate = async (m: Classifier, label: string) => {
    const bar = new ProgressBar(null, { total: 2 * radii.length, desc: label, unit: "attack" });
    const row: Record<string, number> = { clean: await attackedAccuracy(m, data.testX, data.testY, null) };
    for (const eps of radii) {
      row[`FGSM ε=${eps}`] = await attackedAccuracy(m, data.testX, data.testY, (mm, x, y) => fgsm(mm, x, y, eps));
      bar.update();
      row[`PGD-${pgdSteps} ε=${eps}`] = await attackedAccuracy(
        m,
        data.testX,
        data.testY,
        (mm, x, y) => pgd(mm, x, y, { eps, steps: pgdSteps, generator: gen }),
      );
      bar.setPostfix({ ε: eps, FGSM: pct(row[`FGSM ε=${eps}`]), PGD: pct(row[`PGD-${pgdSteps} ε=${eps}`]) });
      bar.update();
    }
    bar.close();
    return row;
  };
  const standard = await evaluate(model, "attacks on the standard CNN");

  // Clean digits, the PGD perturbation at ε = 0.1 (grey is 0, white +ε, black −ε) and the adversarial digits, each
  // captioned with what the model reads.
  const show = data.testX.narrow(0, 0, 8), showY = data.testY.narrow(0, 0, 8);
  model.eval();
  const adv = pgd(model, show, showY, { eps: 0.1, steps: pgdSteps, generator: gen });
  const perturbation = adv.sub(show).div(0.2).add(0.5);
  const read = async (x: Tensor) => Array.from(await noGrad(() => model.forward(x).argmax(1)).data());
  const [clean, fooled, truth] = [await read(show), await read(adv), Array.from(await showY.data())];
  const captions = [
    ...clean.map((c, i) => `${truth[i]}→${c}`), // label → what the model reads
    ...clean.map(() => "eps 0.1"),
    ...fooled.map((f, i) => `${truth[i]}→${f}${f !== truth[i] ? " ×" : ""}`),
  ];
  await (await captionedGrid(cat([show, perturbation, adv]), captions, { nrow: 8, scale: 3 })).savePng(
    `${flags.out}/clean_perturbation_adversarial.png`,
  );

  console.log("3. adversarial training (PGD, ε = 0.1)");
  const robust = mnistCnn().to(flags.device);
  robust.loadStateDict(model.stateDict());
  const trainSteps = quick ? 2 : Number(flags["train-pgd-steps"]);
  await fit(robust, data.trainX, data.trainY, {
    epochs: quick ? 1 : Number(flags["adv-epochs"]),
    batchSize,
    label: "adversarial",
    transform: (x, y) => {
      robust.eval(); // attack the model as it will be evaluated (batch-norm statistics, no dropout)
      return pgd(robust, x, y, { eps: 0.1, alpha: 0.1 / 2, steps: trainSteps, generator: gen });
    },
  });
  const hardened = await evaluate(robust, "attacks on the adversarially trained CNN");

  console.log();
  console.log(table(
    ["attack", "standard CNN", "adversarially trained"],
    Object.keys(standard).map((k) => [k, pct(standard[k]), pct(hardened[k])]),
  ));
  await models.saveSafetensors(model.stateDict(), `${flags.out}/cnn.safetensors`);
  await models.saveSafetensors(robust.stateDict(), `${flags.out}/cnn_adversarial.safetensors`);
  console.log(`\npictures and weights in ${flags.out}/`);
  return { standard, hardened };
}

if (import.meta.main) await main();
