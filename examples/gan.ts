/**
 * A DCGAN (Radford, Metz & Chintala, 2015) that learns to draw MNIST digits:
 * a generator of transposed convolutions with batch norm and ReLU maps 64-d
 * noise to 28×28 images; a discriminator of strided convolutions with
 * LeakyReLU tells them from real digits; both train with Adam (lr 1e-3,
 * β1 = 0.5; DCGAN's 2e-4 learns half as fast in a run this short) on the
 * non-saturating loss. A grid of samples from fixed noise is
 * written after every epoch; at the end 1,000 samples are scored by the
 * digit classifier (`digit_score.ts`) — from an exponential moving average of
 * the generator's weights (its batch-norm statistics recomputed for those
 * weights) and from its last weights — and the weights saved as safetensors.
 *
 *   deno run -A examples/gan.ts                       # ~9 CPU-minutes (9.0 measured)
 *   deno run -A examples/gan.ts --epochs 30 --width 64  # longer and wider, better digits
 *   deno run -A examples/gan.ts --device webgpu
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  cat,
  data,
  manualSeed,
  models,
  nn,
  noGrad,
  ones,
  optim,
  randn,
  type Tensor,
  tidy,
  toDevice,
  utils,
  zeros,
} from "../mod.ts";
import { DigitScorer } from "./digit_score.ts";
import {
  Ema,
  intFlag,
  mnistMinusOneToOne,
  numberFlag,
  outputFolder,
  reportScores,
  saveDigits,
  seconds,
  toUnit,
  updateBatchNorm,
  useDevice,
} from "./generative.ts";

/**
 * The generator: noise `[N, nz]` → `[N, 1, 28, 28]` in (-1, 1). As in the
 * DCGAN paper, the first layer is a matrix product whose result is reshaped
 * to 7×7 feature maps; transposed convolutions (kernel 4, stride 2, padding 1)
 * then double them to 14×14 and 28×28.
 */
export function generator(nz = 64, width = 32): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(nz, 4 * width * 7 * 7, { bias: false }),
    new nn.Unflatten(1, [4 * width, 7, 7]),
    new nn.BatchNorm2d(4 * width),
    new nn.ReLU(),
    new nn.ConvTranspose2d(4 * width, 2 * width, 4, { stride: 2, padding: 1, bias: false }),
    new nn.BatchNorm2d(2 * width),
    new nn.ReLU(),
    new nn.ConvTranspose2d(2 * width, 1, 4, { stride: 2, padding: 1 }),
    new nn.Tanh(),
  );
}

/**
 * The discriminator: `[N, 1, 28, 28]` → one logit per image: strided
 * convolutions 28 → 14 → 7, then a matrix product of the 7×7 maps to a logit.
 */
export function discriminator(width = 32): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 2 * width, 4, { stride: 2, padding: 1 }),
    new nn.LeakyReLU(0.2),
    new nn.Conv2d(2 * width, 4 * width, 4, { stride: 2, padding: 1, bias: false }),
    new nn.BatchNorm2d(4 * width),
    new nn.LeakyReLU(0.2),
    new nn.Flatten(),
    new nn.Linear(4 * width * 7 * 7, 1),
  );
}

/** DCGAN's initialisation: convolution and linear weights N(0, 0.02), batch-norm scales N(1, 0.02), shifts 0. */
export function dcganInit(model: nn.Module): void {
  for (const m of model.modules()) {
    if (m instanceof nn.Conv2d || m instanceof nn.ConvTranspose2d || m instanceof nn.Linear) {
      nn.init.normal_(m.weight, 0, 0.02);
      if (m.bias) nn.init.zeros_(m.bias);
    } else if (m instanceof nn.BatchNorm2d) {
      nn.init.normal_(m.weight!, 1, 0.02);
      nn.init.zeros_(m.bias!);
    }
  }
}

/** A run's settings. */
export interface GanConfig {
  /** Epochs over the 8,000 training digits. */
  epochs: number;
  /** Images per step (default 64). */
  batchSize?: number;
  /** Adam's learning rate for both networks (default 1e-3). */
  lr?: number;
  /** Noise dimension (default 64). */
  nz?: number;
  /** Channel width (default 32: the generator has 128 and 64 channels). */
  width?: number;
  /** Device (default "cpu"). */
  device?: string;
  /** Stop each epoch after this many steps (quick runs). */
  maxBatches?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Decay of the generator's weight average, which the grids and samples come from (default 0.999; 0: none). */
  emaDecay?: number;
  /** Folder for the per-epoch sample grids (none when absent). */
  out?: (name: string) => string;
  /** Progress bar settings (default: stderr, redrawn on a terminal, plain lines when piped). */
  progress?: utils.ProgressOptions;
  /** Each epoch's means go here as a row (and to its CSV file, if it has one). */
  history?: utils.History;
}

/** Per-epoch means: the discriminator's loss and its mean output probability on real and generated batches. */
export interface GanEpoch {
  /** Discriminator loss (BCE on real + BCE on fake). */
  lossD: number;
  /** Generator loss (non-saturating: BCE of D(G(z)) against "real"). */
  lossG: number;
  /** Mean D(x) on real digits. */
  dReal: number;
  /** Mean D(G(z)) before the generator's step. */
  dFake: number;
  /** Seconds the epoch took. */
  seconds: number;
}

/** What {@link trainGan} returns. */
export interface GanResult {
  /** The generator as trained (eval mode). */
  g: nn.Sequential;
  /** The average of its weights over the last ~1/(1 − emaDecay) steps (eval mode); `g` itself without an average. */
  gEma: nn.Sequential;
  /** The discriminator (eval mode). */
  d: nn.Sequential;
  /** Per-epoch means. */
  history: GanEpoch[];
}

/**
 * Trains a DCGAN on the real training digits; returns both networks, the
 * generator's weight average (an exponential moving average: GANs' weights
 * oscillate as the two players chase each other, and the average draws
 * cleaner digits) and the per-epoch history.
 */
export async function trainGan(cfg: GanConfig): Promise<GanResult> {
  const device = cfg.device ?? "cpu", nz = cfg.nz ?? 64, width = cfg.width ?? 32;
  const batchSize = cfg.batchSize ?? 64, lr = cfg.lr ?? 1e-3;
  const { mnist, train } = await mnistMinusOneToOne(cfg.seed ?? 0);
  const g = generator(nz, width), d = discriminator(width);
  dcganInit(g);
  dcganInit(d);
  g.to(device);
  d.to(device);
  const emaDecay = cfg.emaDecay ?? 0.999;
  const ema = emaDecay > 0 ? new Ema(g, generator(nz, width), emaDecay) : null;
  const optG = new optim.Adam(g.parameters(), { lr, betas: [0.5, 0.999] });
  const optD = new optim.Adam(d.parameters(), { lr, betas: [0.5, 0.999] });
  const bce = new nn.BCEWithLogitsLoss();
  const loader = new data.DataLoader(new data.TensorDataset(train, mnist.train.labels), {
    batchSize,
    shuffle: true,
    dropLast: true,
  });
  const fixed = randn([64, nz]).to(device);
  const realLabel = ones([batchSize, 1], { device }), fakeLabel = zeros([batchSize, 1], { device });
  const steps = Math.min(loader.length, cfg.maxBatches ?? Infinity);
  const history: GanEpoch[] = [];
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const start = performance.now();
    const sums = { lossD: 0, lossG: 0, dReal: 0, dFake: 0 };
    let step = 0;
    g.train();
    d.train();
    const bar = utils.progress(loader, { desc: `epoch ${epoch}/${cfg.epochs}`, total: steps, ...cfg.progress });
    for await (const [cpuX] of bar) {
      const stats = tidy(() => {
        const x = cpuX.to(device);
        const z = randn([batchSize, nz], { device });
        const fake = g.forward(z);
        // Discriminator: real digits → 1, generated → 0 (the generator is not updated here).
        optD.zeroGrad();
        const outReal = d.forward(x), outFake = d.forward(fake.detach());
        const lossD = bce.forward(outReal, realLabel).add(bce.forward(outFake, fakeLabel));
        lossD.backward();
        optD.step();
        // Generator: make the updated discriminator call its images real.
        optG.zeroGrad();
        const lossG = bce.forward(d.forward(fake), realLabel);
        lossG.backward();
        optG.step();
        ema?.update(g);
        return [lossD, lossG, outReal.sigmoid().mean(), outFake.sigmoid().mean()];
      });
      const [lD, lG, dR, dF] = await Promise.all(stats.map((t) => t.item()));
      sums.lossD += lD, sums.lossG += lG, sums.dReal += dR, sums.dFake += dF;
      step++;
      bar.setPostfix({
        lossD: (sums.lossD / step).toFixed(3),
        lossG: (sums.lossG / step).toFixed(3),
        "D(x)": (sums.dReal / step).toFixed(2),
        "D(G(z))": (sums.dFake / step).toFixed(2),
      });
      if (step >= steps) break;
    }
    const e: GanEpoch = {
      lossD: sums.lossD / step,
      lossG: sums.lossG / step,
      dReal: sums.dReal / step,
      dFake: sums.dFake / step,
      seconds: (performance.now() - start) / 1000,
    };
    history.push(e);
    cfg.history?.push({ epoch, ...e });
    // The average's batch-norm statistics, gathered with its own weights (those it copied came from `g`'s).
    if (ema) updateBatchNorm(ema.model, noiseBatches(nz, device));
    if (cfg.out) {
      const shown = ema?.model ?? g;
      shown.eval();
      const grid = noGrad(() => toUnit(shown.forward(fixed)));
      await saveDigits(grid, cfg.out(`gan_epoch_${String(epoch).padStart(2, "0")}.png`));
    }
  }
  g.eval();
  d.eval();
  return { g, gEma: ema?.model ?? g, d, history };
}

/** Four batches of 500 noise vectors, what {@link updateBatchNorm} runs a generator on. */
function* noiseBatches(nz: number, device: string): Generator<Tensor> {
  for (let i = 0; i < 4; i++) yield randn([500, nz], { device });
}

/** `n` samples of the generator (eval mode), in [0, 1], read back to the CPU. */
export async function sample(g: nn.Module, n: number, nz = 64, device = "cpu"): Promise<Tensor> {
  const parts: Tensor[] = [];
  for (let i = 0; i < n; i += 500) {
    const z = randn([Math.min(500, n - i), nz], { device });
    parts.push(await toDevice(noGrad(() => toUnit(g.forward(z) as Tensor)), "cpu"));
  }
  return cat(parts, 0);
}

/** The program: flags, training, pictures, scores, weights. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      width: { type: "string" },
      samples: { type: "string" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "runs/gan" },
      "max-batches": { type: "string" },
      ema: { type: "string" },
    },
  });
  await useDevice(values.device);
  const epochs = intFlag("epochs", values.epochs, 18), width = intFlag("width", values.width, 32);
  const emaDecay = values.ema === "0" ? 0 : numberFlag("ema", values.ema, 0.999);
  const samples = intFlag("samples", values.samples, 1000);
  const out = await outputFolder(values.out);
  const record = new utils.History({ csv: out("metrics.csv") });
  const start = performance.now();
  // The judge first: trained once on the real digits (about a minute), then loaded from its cache.
  const scorer = await DigitScorer.load({ device: values.device });
  console.log(`DCGAN, width ${width}, ${epochs} epochs on ${values.device}; sample grids in ${values.out}/`);
  const { g, gEma, d, history } = await trainGan({
    epochs,
    width,
    emaDecay,
    batchSize: intFlag("batch-size", values["batch-size"], 64),
    lr: numberFlag("lr", values.lr, 1e-3),
    device: values.device,
    seed: Number(values.seed),
    maxBatches: values["max-batches"] ? intFlag("max-batches", values["max-batches"], 1) : undefined,
    out,
    history: record,
  });
  await record.savePng(out("curves.png"), {
    panels: { "loss (BCE)": ["lossD", "lossG"], "discriminator's mean output": ["dReal", "dFake"] },
  });
  console.log(`\nepoch  lossD  lossG  D(x)  D(G(z))  seconds`);
  history.forEach((e, i) =>
    console.log(
      `${String(i + 1).padStart(5)} ${e.lossD.toFixed(3).padStart(6)} ${e.lossG.toFixed(3).padStart(6)} ${
        e.dReal.toFixed(2).padStart(5)
      } ${e.dFake.toFixed(2).padStart(8)} ${e.seconds.toFixed(0).padStart(8)}`,
    )
  );
  manualSeed(2024);
  const images = await sample(gEma, samples, 64, values.device);
  await saveDigits(images.narrow(0, 0, Math.min(100, samples)), out("gan_samples.png"), { nrow: 10 });
  const sets: [string, Tensor][] = [[emaDecay > 0 ? "DCGAN (weight average)" : "DCGAN samples", images]];
  if (emaDecay > 0) {
    manualSeed(2024);
    sets.push(["DCGAN (last weights)", await sample(g, samples, 64, values.device)]);
  }
  console.log(`\nScores of ${samples} samples (digit classifier; the real digits and noise give the scale):`);
  await reportScores(scorer, sets);
  await models.save(gEma, out("gan_generator.safetensors"));
  await models.save(d, out("gan_discriminator.safetensors"));
  if (emaDecay > 0) await models.save(g, out("gan_generator_last.safetensors"));
  console.log(
    `\nweights: ${out("gan_generator.safetensors")} (the weight average), ${out("gan_discriminator.safetensors")}${
      emaDecay > 0 ? `, ${out("gan_generator_last.safetensors")}` : ""
    }`,
  );
  console.log(
    `pictures: ${out("gan_epoch_NN.png")} (fixed noise, per epoch), ${out("gan_samples.png")}, ${
      out("curves.png")
    }; log: ${out("metrics.csv")}`,
  );
  console.log(`total ${seconds(start)} s`);
}

if (import.meta.main) await main(Deno.args);
