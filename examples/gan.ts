/**
 * A class-conditional DCGAN (Radford, Metz & Chintala, 2015; conditioning as
 * Mirza & Osindero, 2014) that learns to draw MNIST digits: the generator
 * (transposed convolutions, batch norm, ReLU) maps 64-d noise and a one-hot
 * class to a 28×28 image; the discriminator (strided convolutions, batch
 * norm, LeakyReLU) scores an image and its class with a projection head
 * (Miyato & Koyama, 2018: `linear(h) + ⟨embed(y), h⟩`); both train with Adam
 * (lr 1e-3, β1 = 0.5) on the non-saturating loss, 12 epochs of the 8,000
 * training digits in batches of 64. A grid from fixed noise (one class per
 * column) is written after every epoch; at the end 1,000 samples — each
 * class drawn uniformly, z ~ N(0, I), no truncation or rejection — are scored
 * by the digit classifier (`digit_score.ts`), from an exponential moving
 * average of the generator's weights (batch-norm statistics recomputed for
 * them) and from its last weights, and the weights are saved as safetensors.
 *
 * The default run measured 93.6% of its 1,000 samples confident (real digits:
 * 92.4%), smallest class 7.9%, Fréchet 12.4 (real digits: 6.2; the last
 * weights: 91.9%, 7.8%, 7.6; reruns give the same figures), in 223 s wall
 * and 334 CPU-s on a quiet 2-core machine (393 s wall, 351 CPU-s on one
 * shared with another training run).
 * `--unconditional` is the plain DCGAN (noise only, one logit): its 18-epoch
 * run measured 48.2% confident, smallest class 4.7%, Fréchet 36.7 in 9.0
 * CPU-minutes (`--width 16 --epochs 36`, 6.8 CPU-minutes: 49.0%, 2.8%, 43.9).
 * Told the class, the generator no longer has to pick one from the noise, and
 * the discriminator checks each digit against its class: in a 6-epoch run the
 * conditional model scored 91.4% confident (Fréchet 10.6, its samples' classes
 * 0–9 in turn; with `--seed 1` and the classes drawn at random as now: 91.5%,
 * 14.7) where the unconditional scored 37.2% (62.5). Other options, each tried
 * at about the same CPU cost as the 6-epoch unconditional run (37.2%, Fréchet
 * 62.5) and not adopted: hinge loss with a spectrally normalised discriminator
 * (`--loss hinge --spectral`, SNGAN) 21.2% (93.5); DiffAugment (`--augment`)
 * 39.1% (90.2, classes less even); width 16 for 12 epochs 41.3% (59.0), with
 * `--augment` 41.6% (77.7); discriminator width 16 for 8 epochs 37.1% (66.5).
 *
 *   deno run -A examples/gan.ts                  # the default run (figures above)
 *   deno run -A examples/gan.ts --unconditional --epochs 18
 *   deno run -A examples/gan.ts --device webgpu
 *   deno run -A examples/gan.ts --help           # every option
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  cat,
  data,
  Generator,
  manualSeed,
  models,
  nn,
  noGrad,
  oneHot,
  ones,
  optim,
  randint,
  randn,
  type Tensor,
  tensor,
  tidy,
  toDevice,
  utils,
  zeros,
} from "../mod.ts";
import { DigitScorer } from "./digit_score.ts";
import {
  balancedLabels,
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
 * With `spectral` (SNGAN), every weight is spectrally normalised
 * (`nn.utils.spectralNorm`) and there is no batch norm.
 */
export function discriminator(width = 32, options: { spectral?: boolean } = {}): nn.Sequential {
  if (options.spectral) {
    const sn = <M extends nn.Module>(m: M) => nn.utils.spectralNorm(m);
    return new nn.Sequential(
      sn(new nn.Conv2d(1, 2 * width, 4, { stride: 2, padding: 1 })),
      new nn.LeakyReLU(0.2),
      sn(new nn.Conv2d(2 * width, 4 * width, 4, { stride: 2, padding: 1 })),
      new nn.LeakyReLU(0.2),
      new nn.Flatten(),
      sn(new nn.Linear(4 * width * 7 * 7, 1)),
    );
  }
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

/**
 * A class-conditional discriminator with a projection head (Miyato & Koyama,
 * 2018): the unconditional one's features `h` (its layers up to the last
 * matrix product) give `linear(h) + ⟨embed(y), h⟩`, so the score says both
 * "a real digit" and "a real digit of class y".
 */
export class ProjectionDiscriminator extends nn.Module {
  /** Convolutions and flattening: `[N, 1, 28, 28]` → `[N, F]`. */
  features: nn.Sequential;
  /** The class-blind score. */
  head: nn.Linear;
  /** One F-vector per class, dotted with the features. */
  embed: nn.Embedding;

  /** The same layers as {@link discriminator}`(width, options)`, and a class embedding. */
  constructor(width = 32, options: { spectral?: boolean; classes?: number } = {}) {
    super();
    const layers = [...discriminator(width, options).children()];
    this.head = layers.pop() as nn.Linear;
    this.features = new nn.Sequential(...layers);
    this.embed = new nn.Embedding(options.classes ?? 10, this.head.inFeatures);
    if (options.spectral) nn.utils.spectralNorm(this.embed);
  }

  /** Scores `[N, 1]` for images `x` `[N, 1, 28, 28]` of classes `y` `[N]` (int32). */
  override forward(x: Tensor, y: Tensor): Tensor {
    const h = this.features.forward(x);
    return this.head.forward(h).add(this.embed.forward(y).mul(h).sum(1, { keepdim: true }));
  }
}

/** The generator's input for noise `z` `[N, nz]` and classes `y` `[N]`: `[z, one-hot(y)]`, `[N, nz + classes]`. */
export function conditionalInput(z: Tensor, y: Tensor, classes = 10): Tensor {
  return cat([z, oneHot(y, classes).to(z.dtype)], 1);
}

/**
 * DiffAugment (Zhao et al., 2020) for `[N, 1, 28, 28]` images in [-1, 1]:
 * each image shifted by up to `shift` pixels each way (background, -1, fills
 * in) and, with `cutout`, a square of half the side set to background at a
 * random place. Differentiable in the images (a gather and a mask), so the
 * generator learns through it; applied to real and generated batches alike.
 */
export function diffAugment(
  x: Tensor,
  options: { shift?: number; cutout?: boolean; random?: () => number } = {},
): Tensor {
  const random = options.random ?? Math.random;
  const shift = options.shift ?? 3, [n, c, h, w] = x.shape, plane = h * w;
  const index = new Int32Array(n * c * plane), keep = new Float32Array(n * c * plane);
  const half = Math.floor(h / 2);
  for (let i = 0; i < n; i++) {
    const dy = Math.floor(random() * (2 * shift + 1)) - shift, dx = Math.floor(random() * (2 * shift + 1)) - shift;
    const cy = Math.floor(random() * (h + half)) - half, cx = Math.floor(random() * (w + half)) - half;
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const sy = y + dy, sx = xx + dx, k = base + y * w + xx;
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          const cut = options.cutout && y >= cy && y < cy + half && xx >= cx && xx < cx + half;
          index[k] = inside ? sy * w + sx : 0;
          keep[k] = inside && !cut ? 1 : 0;
        }
      }
    }
  }
  const device = x.device;
  const mask = tensor(keep, { device }).reshape([n, c, h, w]);
  const moved = x.reshape([n, c, plane]).gather(2, tensor(index, { dtype: "int32", device }).reshape([n, c, plane]));
  return moved.reshape([n, c, h, w]).mul(mask).add(mask).sub(1);
}

/** DCGAN's initialisation: convolution, linear and embedding weights N(0, 0.02), batch-norm scales N(1, 0.02), shifts 0. */
export function dcganInit(model: nn.Module): void {
  for (const m of model.modules()) {
    if (m instanceof nn.Embedding) nn.init.normal_(m.weight, 0, 0.02);
    else if (m instanceof nn.Conv2d || m instanceof nn.ConvTranspose2d || m instanceof nn.Linear) {
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
  /** The discriminator's learning rate (default `lr`). */
  lrD?: number;
  /** Adam's β1 and β2 (default [0.5, 0.999]). */
  betas?: [number, number];
  /** "bce": the non-saturating BCE loss (default); "hinge": SNGAN's hinge loss. */
  loss?: "bce" | "hinge";
  /** Spectral normalisation in the discriminator instead of batch norm (default false). */
  spectral?: boolean;
  /** Discriminator steps per generator step (default 1). */
  dSteps?: number;
  /** DiffAugment (shifts and cutout) on every batch the discriminator sees (default false). */
  augment?: boolean;
  /** The discriminator's channel width (default `width`). */
  dWidth?: number;
  /** Class-conditional: the generator also takes a one-hot class, the discriminator is a {@link ProjectionDiscriminator} (default true). */
  conditional?: boolean;
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
  /** Generator loss (non-saturating: BCE of D(G(z)) against "real"; hinge: −D(G(z))), over the generator's steps. */
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
  d: nn.Module;
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
  const batchSize = cfg.batchSize ?? 64, lr = cfg.lr ?? 1e-3, lrD = cfg.lrD ?? lr, betas = cfg.betas ?? [0.5, 0.999];
  const hinge = cfg.loss === "hinge", dSteps = cfg.dSteps ?? 1, draws = new Generator(cfg.seed ?? 0);
  const random = () => draws.random();
  const augment = cfg.augment ? (x: Tensor) => diffAugment(x, { cutout: true, random }) : (x: Tensor) => x;
  const { mnist, train } = await mnistMinusOneToOne(cfg.seed ?? 0);
  const cond = cfg.conditional ?? true, gIn = nz + (cond ? 10 : 0);
  const g = generator(gIn, width);
  const dOptions = { spectral: cfg.spectral };
  const d = cond
    ? new ProjectionDiscriminator(cfg.dWidth ?? width, dOptions)
    : discriminator(cfg.dWidth ?? width, dOptions);
  const score = (x: Tensor, y: Tensor) => d.forward(augment(x), y) as Tensor;
  dcganInit(g);
  dcganInit(d);
  g.to(device);
  d.to(device);
  const emaDecay = cfg.emaDecay ?? 0.999;
  const ema = emaDecay > 0 ? new Ema(g, generator(gIn, width), emaDecay) : null;
  const optG = new optim.Adam(g.parameters(), { lr, betas });
  const optD = new optim.Adam(d.parameters(), { lr: lrD, betas });
  const bce = new nn.BCEWithLogitsLoss();
  const loader = new data.DataLoader(new data.TensorDataset(train, mnist.train.labels), {
    batchSize,
    shuffle: true,
    dropLast: true,
  });
  const fixed = noiseInput(cond ? 100 : 64, nz, cond, device, true);
  const realLabel = ones([batchSize, 1], { device }), fakeLabel = zeros([batchSize, 1], { device });
  const steps = Math.min(loader.length, cfg.maxBatches ?? Infinity);
  const history: GanEpoch[] = [];
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const start = performance.now();
    const sums = { lossD: 0, lossG: 0, dReal: 0, dFake: 0 };
    let gSteps = 0;
    let step = 0;
    g.train();
    d.train();
    const bar = utils.progress(loader, { desc: `epoch ${epoch}/${cfg.epochs}`, total: steps, ...cfg.progress });
    for await (const [cpuX, cpuY] of bar) {
      const stepG = (step + 1) % dSteps === 0;
      const stats = tidy(() => {
        const x = cpuX.to(device), y = cpuY.to(device);
        // Classes of the generated batch (drawn only when conditional, so the unconditional run's noise is as before).
        const yFake = cond ? randint(0, 10, [batchSize], { dtype: "int32", device }) : y;
        const z = randn([batchSize, nz], { device });
        const fake = g.forward(cond ? conditionalInput(z, yFake) : z);
        // Discriminator: real digits → 1, generated → 0 (the generator is not updated here).
        optD.zeroGrad();
        const outReal = score(x, y), outFake = score(fake.detach(), yFake);
        const lossD = hinge
          ? outReal.neg().add(1).relu().mean().add(outFake.add(1).relu().mean())
          : bce.forward(outReal, realLabel).add(bce.forward(outFake, fakeLabel));
        lossD.backward();
        optD.step();
        // Generator (every dSteps-th batch): make the updated discriminator call its images real.
        let lossG = zeros([]);
        if (stepG) {
          optG.zeroGrad();
          const outG = score(fake, yFake);
          lossG = hinge ? outG.mean().neg() : bce.forward(outG, realLabel);
          lossG.backward();
          optG.step();
          ema?.update(g);
        }
        return [lossD, lossG, outReal.sigmoid().mean(), outFake.sigmoid().mean()];
      });
      const [lD, lG, dR, dF] = await Promise.all(stats.map((t) => t.item()));
      sums.lossD += lD, sums.dReal += dR, sums.dFake += dF;
      if (stepG) sums.lossG += lG, gSteps++;
      step++;
      bar.setPostfix({
        lossD: (sums.lossD / step).toFixed(3),
        lossG: (sums.lossG / Math.max(gSteps, 1)).toFixed(3),
        "D(x)": (sums.dReal / step).toFixed(2),
        "D(G(z))": (sums.dFake / step).toFixed(2),
      });
      if (step >= steps) break;
    }
    const e: GanEpoch = {
      lossD: sums.lossD / step,
      lossG: sums.lossG / Math.max(gSteps, 1),
      dReal: sums.dReal / step,
      dFake: sums.dFake / step,
      seconds: (performance.now() - start) / 1000,
    };
    history.push(e);
    cfg.history?.push({ epoch, ...e });
    // The average's batch-norm statistics, gathered with its own weights (those it copied came from `g`'s).
    if (ema) updateBatchNorm(ema.model, noiseBatches(nz, cond, device));
    if (cfg.out) {
      const shown = ema?.model ?? g;
      shown.eval();
      const grid = noGrad(() => toUnit(shown.forward(fixed)));
      await saveDigits(grid, cfg.out(`gan_epoch_${String(epoch).padStart(2, "0")}.png`), { nrow: cond ? 10 : 8 });
    }
  }
  g.eval();
  d.eval();
  return { g, gEma: ema?.model ?? g, d, history };
}

/**
 * The generator's input for `n` samples: noise z ~ N(0, I) `[n, nz]`, and
 * for a conditional generator the one-hot classes beside it — classes
 * 0, 1, …, 9 in turn when `cycle` (sample grids, one digit per column; the
 * real digits' classes are about equally common), else drawn uniformly.
 */
export function noiseInput(n: number, nz: number, conditional: boolean, device = "cpu", cycle = false): Tensor {
  const z = randn([n, nz], { device });
  if (!conditional) return z;
  const y = cycle ? balancedLabels(0, n, device) : randint(0, 10, [n], { dtype: "int32", device });
  return conditionalInput(z, y);
}

/** Four batches of 500 generator inputs, what {@link updateBatchNorm} runs a generator on. */
function* noiseBatches(nz: number, conditional: boolean, device: string): Iterable<Tensor> {
  for (let i = 0; i < 4; i++) yield noiseInput(500, nz, conditional, device);
}

/**
 * `n` samples of the generator (eval mode), in [0, 1], read back to the CPU;
 * a conditional generator draws each sample's class uniformly from 0–9
 * (ancestral sampling: class, noise, image).
 */
export async function sample(g: nn.Module, n: number, nz = 64, device = "cpu", conditional = false): Promise<Tensor> {
  const parts: Tensor[] = [];
  for (let i = 0; i < n; i += 500) {
    const input = noiseInput(Math.min(500, n - i), nz, conditional, device);
    parts.push(await toDevice(noGrad(() => toUnit(g.forward(input) as Tensor)), "cpu"));
  }
  return cat(parts, 0);
}

/** The options `--help` prints. */
export const USAGE = `deno run -A examples/gan.ts [options]
  --epochs N         epochs over the 8,000 training digits (default 12)
  --batch-size N     images per step (default 64)
  --lr X             Adam's learning rate (default 1e-3; the discriminator's too unless --lr-d)
  --lr-d X           the discriminator's learning rate (default --lr)
  --beta1 X          Adam's β1 (default 0.5)
  --beta2 X          Adam's β2 (default 0.999)
  --loss bce|hinge   non-saturating BCE (default) or SNGAN's hinge loss
  --spectral         spectral norm on every discriminator weight, no batch norm there
  --d-steps N        discriminator steps per generator step (default 1)
  --augment          DiffAugment (shifts, cutout) on every batch the discriminator sees
  --width N          channel width (default 32: the generator has 128 and 64 channels)
  --d-width N        the discriminator's width (default --width)
  --unconditional    the plain DCGAN: noise only, no class
  --ema X            decay of the generator's weight average (default 0.999; 0: none)
  --samples N        samples scored at the end (default 1000)
  --seed N           seed (default 0)
  --device cpu|webgpu
  --out DIR          output folder (default runs/gan)
  --max-batches N    stop each epoch after N steps (quick runs)
  --help             this text`;

/** A β flag in [0, 1), or a clear error naming it. */
function betaFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const b = Number(value);
  if (!(b >= 0 && b < 1)) throw new RangeError(`--${name} must be in [0, 1), got "${value}"`);
  return b;
}

/** The program: flags, training, pictures, scores, weights. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      "lr-d": { type: "string" },
      beta1: { type: "string" },
      beta2: { type: "string" },
      loss: { type: "string", default: "bce" },
      spectral: { type: "boolean", default: false },
      "d-steps": { type: "string" },
      augment: { type: "boolean", default: false },
      unconditional: { type: "boolean", default: false },
      width: { type: "string" },
      "d-width": { type: "string" },
      samples: { type: "string" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "runs/gan" },
      "max-batches": { type: "string" },
      ema: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  await useDevice(values.device);
  const loss = values.loss;
  if (loss !== "bce" && loss !== "hinge") throw new RangeError(`--loss must be "bce" or "hinge", got "${loss}"`);
  const epochs = intFlag("epochs", values.epochs, 12), width = intFlag("width", values.width, 32);
  const emaDecay = values.ema === "0" ? 0 : numberFlag("ema", values.ema, 0.999);
  const samples = intFlag("samples", values.samples, 1000);
  const out = await outputFolder(values.out);
  const record = new utils.History({ csv: out("metrics.csv") });
  const start = performance.now();
  // The judge first: trained once on the real digits (about a minute), then loaded from its cache.
  const scorer = await DigitScorer.load({ device: values.device });
  const kind = values.unconditional ? "DCGAN" : "class-conditional DCGAN";
  console.log(`${kind}, width ${width}, ${epochs} epochs on ${values.device}; sample grids in ${values.out}/`);
  const { g, gEma, d, history } = await trainGan({
    epochs,
    width,
    emaDecay,
    batchSize: intFlag("batch-size", values["batch-size"], 64),
    lr: numberFlag("lr", values.lr, 1e-3),
    lrD: values["lr-d"] ? numberFlag("lr-d", values["lr-d"], 1e-3) : undefined,
    betas: [betaFlag("beta1", values.beta1, 0.5), betaFlag("beta2", values.beta2, 0.999)],
    loss,
    spectral: values.spectral,
    dSteps: intFlag("d-steps", values["d-steps"], 1),
    augment: values.augment,
    conditional: !values.unconditional,
    dWidth: values["d-width"] ? intFlag("d-width", values["d-width"], 32) : undefined,
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
  const images = await sample(gEma, samples, 64, values.device, !values.unconditional);
  await saveDigits(images.narrow(0, 0, Math.min(100, samples)), out("gan_samples.png"), { nrow: 10 });
  // Short names for the score table's 22-character column: "cDCGAN" is the class-conditional model.
  const short = values.unconditional ? "DCGAN" : "cDCGAN";
  const averageName = values.unconditional ? "DCGAN (weight average)" : "cDCGAN (weight avg.)";
  const sets: [string, Tensor][] = [[emaDecay > 0 ? averageName : `${short} samples`, images]];
  if (emaDecay > 0) {
    manualSeed(2024);
    sets.push([`${short} (last weights)`, await sample(g, samples, 64, values.device, !values.unconditional)]);
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
