/**
 * Autoencoders on MNIST digits: a convolutional autoencoder (strided
 * convolutions down to a 16-d code, transposed convolutions back up) and a
 * variational autoencoder (Kingma & Welling, 2013) with the same body, whose
 * encoder gives a Gaussian `N(μ, σ²)` per image, sampled by the
 * reparameterisation `z = μ + σ·ε` and pulled towards `N(0, I)` by a KL term.
 *
 * Prints the test reconstruction error of both (and of the mean image, the
 * baseline); writes a grid of test digits beside their reconstructions,
 * samples of the VAE decoded from `N(0, I)` (scored by the digit classifier),
 * the decoded 2-D latent manifold, and the 2-D latent map of the test digits
 * coloured by digit; saves both models as safetensors.
 *
 *   deno run -A examples/autoencoder.ts              # ~2 CPU-minutes
 *   deno run -A examples/autoencoder.ts --latent 8   # VAE code of 8 (the map then shows its first two principal axes)
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  cat,
  data,
  linspace,
  manualSeed,
  models,
  nn,
  noGrad,
  optim,
  randn,
  type Tensor,
  tensor,
  tidy,
  toDevice,
  utils,
} from "../mod.ts";
import { DigitScorer } from "./digit_score.ts";
import {
  intFlag,
  numberFlag,
  outputFolder,
  reportScores,
  saveDigits,
  saveLatentMap,
  seconds,
  useDevice,
} from "./generative.ts";

/** The encoder body: `[N, 1, 28, 28]` → `[N, 64·7·7]` (28 → 14 → 7). */
function encoderBody(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 4, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.Conv2d(32, 64, 4, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.Flatten(),
  );
}

/** The decoder: a code `[N, latent]` → pixel logits `[N, 1, 28, 28]` (7 → 14 → 28 by transposed convolutions). */
function decoder(latent: number): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(latent, 64 * 7 * 7),
    new nn.ReLU(),
    new nn.Unflatten(1, [64, 7, 7]),
    new nn.ConvTranspose2d(64, 32, 4, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.ConvTranspose2d(32, 1, 4, { stride: 2, padding: 1 }),
  );
}

/** A convolutional autoencoder with a `latent`-d code; `forward` gives pixel logits. */
export class ConvAutoencoder extends nn.Module {
  encoder: nn.Sequential;
  decoder: nn.Sequential;

  /** An autoencoder with a `latent`-d code (default 16). */
  constructor(readonly latent = 16) {
    super();
    this.encoder = new nn.Sequential(encoderBody(), new nn.Linear(64 * 7 * 7, latent));
    this.decoder = decoder(latent);
  }

  /** Pixel logits of the reconstruction of `x` `[N, 1, 28, 28]` in [0, 1]. */
  override forward(x: Tensor): Tensor {
    return this.decoder.forward(this.encoder.forward(x));
  }
}

/** A variational autoencoder with a `latent`-d Gaussian code. */
export class VAE extends nn.Module {
  body: nn.Sequential;
  mu: nn.Linear;
  logVar: nn.Linear;
  decoder: nn.Sequential;

  /** A VAE with a `latent`-d code (default 2, so the code itself is a map). */
  constructor(readonly latent = 2) {
    super();
    this.body = encoderBody();
    this.mu = new nn.Linear(64 * 7 * 7, latent);
    this.logVar = new nn.Linear(64 * 7 * 7, latent);
    this.decoder = decoder(latent);
  }

  /** The Gaussian code of `x`: mean and log-variance `[N, latent]`. */
  encode(x: Tensor): { mu: Tensor; logVar: Tensor } {
    const h = this.body.forward(x);
    return { mu: this.mu.forward(h), logVar: this.logVar.forward(h) };
  }

  /** Pixel logits of a reconstruction through a sampled code, with that code's mean and log-variance. */
  reconstruct(x: Tensor): { logits: Tensor; mu: Tensor; logVar: Tensor } {
    const { mu, logVar } = this.encode(x);
    // The reparameterisation trick: z = μ + σ·ε, so gradients reach μ and σ through a fixed ε.
    const z = this.training ? mu.add(logVar.mul(0.5).exp().mul(randn(mu.shape, { device: mu.device }))) : mu;
    return { logits: this.decoder.forward(z), mu, logVar };
  }

  /** Pixel logits (evaluation: decoded from the mean). */
  override forward(x: Tensor): Tensor {
    return this.reconstruct(x).logits;
  }
}

/**
 * The VAE's loss per image (the negative ELBO): Bernoulli reconstruction
 * `Σ_pixels BCE(logits, x)` plus `KL(N(μ, σ²) ‖ N(0, I)) = −½·Σ(1 + log σ² − μ² − σ²)`,
 * averaged over the batch. Returns both terms.
 */
export function vaeLoss(logits: Tensor, x: Tensor, mu: Tensor, logVar: Tensor): { recon: Tensor; kl: Tensor } {
  const n = x.shape[0];
  const recon = nn.F.binaryCrossEntropyWithLogits(logits, x, { reduction: "sum" }).div(n);
  const kl = logVar.add(1).sub(mu.square()).sub(logVar.exp()).sum().mul(-0.5 / n);
  return { recon, kl };
}

/** Mean squared error per pixel of the reconstructions of `images` (in batches, no graph). */
export async function reconstructionError(model: nn.Module, images: Tensor, device = "cpu"): Promise<number> {
  model.eval();
  let sum = 0;
  for (let i = 0; i < images.shape[0]; i += 500) {
    const x = images.narrow(0, i, Math.min(500, images.shape[0] - i)).to(device);
    sum += await noGrad(() => (model.forward(x) as Tensor).sigmoid().sub(x).square().sum()).item();
  }
  return sum / images.numel();
}

/** A run's settings. */
export interface AutoencoderConfig {
  /** Epochs for each model. */
  epochs: number;
  /** Images per step (default 64). */
  batchSize?: number;
  /** Adam's learning rate (default 1e-3). */
  lr?: number;
  /** Code size of the plain autoencoder (default 16). */
  aeLatent?: number;
  /** Code size of the VAE (default 2). */
  vaeLatent?: number;
  /** Device (default "cpu"). */
  device?: string;
  /** Stop each epoch after this many steps (quick runs). */
  maxBatches?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Progress bar settings (default: stderr, redrawn on a terminal, plain lines when piped). */
  progress?: utils.ProgressOptions;
  /** Each epoch's mean losses go here as a row (and to its CSV file, if it has one). */
  history?: utils.History;
}

/** Per-epoch mean losses of both models: the autoencoder's BCE per image, the VAE's reconstruction and KL terms. */
export interface AutoencoderHistory {
  /** The autoencoder's summed BCE per image, per epoch. */
  ae: number[];
  /** The VAE's reconstruction term per image, per epoch. */
  vaeRecon: number[];
  /** The VAE's KL term per image, per epoch. */
  vaeKl: number[];
}

/** Trains the autoencoder and the VAE on the real training digits; returns both and their losses per epoch. */
export async function trainAutoencoders(
  cfg: AutoencoderConfig,
): Promise<{ ae: ConvAutoencoder; vae: VAE; mnist: data.Mnist; history: AutoencoderHistory }> {
  const device = cfg.device ?? "cpu", lr = cfg.lr ?? 1e-3;
  manualSeed(cfg.seed ?? 0);
  const mnist = await data.loadMnist();
  const loader = new data.DataLoader(new data.TensorDataset(mnist.train.images, mnist.train.labels), {
    batchSize: cfg.batchSize ?? 64,
    shuffle: true,
  });
  const perEpoch = Math.min(loader.length, cfg.maxBatches ?? Infinity);
  const ae = new ConvAutoencoder(cfg.aeLatent ?? 16), vae = new VAE(cfg.vaeLatent ?? 2);
  ae.to(device);
  vae.to(device);
  const history: AutoencoderHistory = { ae: [], vaeRecon: [], vaeKl: [] };
  const optAe = new optim.Adam(ae.parameters(), { lr }), optVae = new optim.Adam(vae.parameters(), { lr });
  const bce = new nn.BCEWithLogitsLoss({ reduction: "sum" });
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const start = performance.now();
    ae.train();
    vae.train();
    let aeSum = 0, reconSum = 0, klSum = 0, seen = 0, step = 0;
    const bar = utils.progress(loader, { desc: `epoch ${epoch}/${cfg.epochs}`, total: perEpoch, ...cfg.progress });
    for await (const [cpuX] of bar) {
      const x = cpuX.to(device), n = x.shape[0];
      const [aeLoss, recon, kl] = tidy(() => {
        optAe.zeroGrad();
        const l = bce.forward(ae.forward(x), x).div(n);
        l.backward();
        optAe.step();
        optVae.zeroGrad();
        const r = vae.reconstruct(x);
        const v = vaeLoss(r.logits, x, r.mu, r.logVar);
        v.recon.add(v.kl).backward();
        optVae.step();
        return [l, v.recon, v.kl];
      });
      const [a, b, c] = await Promise.all([aeLoss.item(), recon.item(), kl.item()]);
      aeSum += a * n, reconSum += b * n, klSum += c * n, seen += n;
      bar.setPostfix({
        "AE BCE": (aeSum / seen).toFixed(1),
        "VAE BCE": (reconSum / seen).toFixed(1),
        KL: (klSum / seen).toFixed(2),
      });
      if (++step >= perEpoch) break;
    }
    history.ae.push(aeSum / seen);
    history.vaeRecon.push(reconSum / seen);
    history.vaeKl.push(klSum / seen);
    cfg.history?.push({
      epoch,
      aeLoss: aeSum / seen,
      vaeReconLoss: reconSum / seen,
      vaeKl: klSum / seen,
      seconds: (performance.now() - start) / 1000,
    });
  }
  ae.eval();
  vae.eval();
  return { ae, vae, mnist, history };
}

/** Rows `[n, d]` projected on their first two principal axes (power iteration on the covariance), as pairs. */
function firstTwoAxes(rows: Float32Array, n: number, d: number): Float32Array {
  if (d === 2) return rows;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) cov[a * d + b] += (rows[i * d + a] - mean[a]) * (rows[i * d + b] - mean[b]);
    }
  }
  const axes: Float64Array[] = [];
  for (let k = 0; k < 2; k++) {
    let v: Float64Array = Float64Array.from({ length: d }, (_, j) => Math.sin(j + k + 1));
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a] += cov[a * d + b] * v[b];
      for (const u of axes) {
        const dot = w.reduce((s, x, j) => s + x * u[j], 0);
        for (let j = 0; j < d; j++) w[j] -= dot * u[j];
      }
      const norm = Math.hypot(...w) || 1;
      v = w.map((x) => x / norm);
    }
    axes.push(v);
  }
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 2; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (rows[i * d + j] - mean[j]) * axes[k][j];
      out[2 * i + k] = s;
    }
  }
  return out;
}

/** The program: flags, training, errors, pictures, scores, weights. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      latent: { type: "string" },
      samples: { type: "string" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "runs/autoencoder" },
      "max-batches": { type: "string" },
    },
  });
  await useDevice(values.device);
  const device = values.device;
  const epochs = intFlag("epochs", values.epochs, 10), latent = intFlag("latent", values.latent, 2);
  const samples = intFlag("samples", values.samples, 1000);
  const out = await outputFolder(values.out);
  const record = new utils.History({ csv: out("metrics.csv") });
  const start = performance.now();
  const scorer = await DigitScorer.load({ device });
  console.log(
    `A convolutional autoencoder (16-d code) and a VAE (${latent}-d code), ${epochs} epochs each on ${device}`,
  );
  const { ae, vae, mnist, history } = await trainAutoencoders({
    epochs,
    vaeLatent: latent,
    batchSize: intFlag("batch-size", values["batch-size"], 64),
    lr: numberFlag("lr", values.lr, 1e-3),
    device,
    seed: Number(values.seed),
    maxBatches: values["max-batches"] ? intFlag("max-batches", values["max-batches"], 1) : undefined,
    history: record,
  });
  await record.savePng(out("curves.png"), {
    panels: { "BCE per image": ["aeLoss", "vaeReconLoss"], "VAE KL per image": ["vaeKl"] },
  });
  const test = mnist.test.images;
  // The baseline: every test digit "reconstructed" as the mean training digit.
  const meanImage = mnist.train.images.mean(0, { keepdim: true });
  const baseline = await noGrad(() => test.sub(meanImage).square().mean()).item();
  const aeErr = await reconstructionError(ae, test, device), vaeErr = await reconstructionError(vae, test, device);
  console.log(`\nTest reconstruction error (mean squared error per pixel, ${mnist.test.length} test digits):`);
  console.log(`  the mean training digit (baseline)  ${baseline.toFixed(4)}`);
  console.log(`  convolutional autoencoder, 16-d     ${aeErr.toFixed(4)}`);
  console.log(
    `  VAE, ${latent}-d (decoded from μ)${" ".repeat(Math.max(0, 10 - String(latent).length))}${vaeErr.toFixed(4)}`,
  );
  console.log(
    `final training losses per image: autoencoder BCE ${history.ae.at(-1)!.toFixed(1)}; VAE BCE ${
      history.vaeRecon.at(-1)!.toFixed(1)
    } + KL ${history.vaeKl.at(-1)!.toFixed(2)}`,
  );

  // Reconstructions: 8 rows of test digits, each above its AE and VAE reconstructions.
  const shown = test.narrow(0, 0, 32).to(device);
  const [recAe, recVae] = noGrad(() => [ae.forward(shown).sigmoid(), vae.forward(shown).sigmoid()]);
  const rows: Tensor[] = [];
  for (let r = 0; r < 4; r++) {
    for (const t of [shown, recAe, recVae]) rows.push(await toDevice(t.narrow(0, 8 * r, 8), "cpu"));
  }
  await saveDigits(cat(rows, 0), out("reconstructions.png"), { nrow: 8 });

  // VAE samples from the prior, scored like the GAN's and the diffusion model's.
  manualSeed(11);
  const z = randn([samples, latent], { device });
  const vaeSamples = await toDevice(noGrad(() => vae.decoder.forward(z).sigmoid()), "cpu");
  await saveDigits(vaeSamples.narrow(0, 0, Math.min(100, samples)), out("vae_samples.png"), { nrow: 10 });
  console.log(
    `\nScores of ${samples} VAE samples from N(0, I) (digit classifier; real digits and noise give the scale):`,
  );
  await reportScores(scorer, [["VAE samples", vaeSamples]]);

  // The latent map: each test digit's μ (first two principal axes when the code is wider), coloured by its digit.
  const mus = await noGrad(() => vae.encode(test.to(device)).mu).data() as Float32Array;
  const points = firstTwoAxes(mus, mnist.test.length, latent);
  await saveLatentMap(points, mnist.test.labelArray, out("vae_latent_map.png"), {
    title: `VAE latent means of the ${mnist.test.length} test digits`,
    xLabel: latent === 2 ? "z1" : "first principal axis",
    yLabel: latent === 2 ? "z2" : "second principal axis",
  });
  if (latent === 2) {
    // The decoded manifold: a 15×15 grid of codes spanning ±2 standard deviations.
    const g = await linspace(-2, 2, 15).tolist() as number[];
    const codes = tensor(g.flatMap((y) => g.map((x) => [x, -y])), { device });
    const manifold = await toDevice(noGrad(() => vae.decoder.forward(codes).sigmoid()), "cpu");
    await saveDigits(manifold, out("vae_manifold.png"), { nrow: 15, padding: 0 });
  }
  await models.save(ae, out("autoencoder.safetensors"));
  await models.save(vae, out("vae.safetensors"));
  console.log(`\nweights: ${out("autoencoder.safetensors")}, ${out("vae.safetensors")}`);
  console.log(
    `pictures: ${out("reconstructions.png")} (test digits / autoencoder / VAE, row by row), ${
      out("vae_samples.png")
    }, ${out("vae_latent_map.png")}${latent === 2 ? `, ${out("vae_manifold.png")}` : ""}, ${out("curves.png")}; log: ${
      out("metrics.csv")
    }`,
  );
  console.log(`total ${seconds(start)} s`);
}

if (import.meta.main) await main(Deno.args);
