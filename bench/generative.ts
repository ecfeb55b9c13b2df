/**
 * The cost of the generative examples' steps and of the kernels they added,
 * on the CPU backend: wall time and process CPU time per call (on a shared
 * machine the CPU time is the steadier number; on an idle two-core machine
 * the wall time is roughly the CPU time divided by 1.5–2), and from them an
 * estimate of each example's default run.
 *
 *   deno run -A bench/generative.ts [--quick]
 *
 * @module
 */

import { cpuUsage } from "node:process";
import {
  convTranspose2d,
  interpolate,
  manualSeed,
  nn,
  noGrad,
  ones,
  optim,
  randint,
  randn,
  tidy,
  zeros,
} from "../mod.ts";
import { conditionalInput, dcganInit, generator, ProjectionDiscriminator } from "../examples/gan.ts";
import { DEFAULTS, guided, sampleDdim, Schedule, UNet } from "../examples/diffusion.ts";
import { balancedLabels } from "../examples/generative.ts";
import { ConvAutoencoder, VAE, vaeLoss } from "../examples/autoencoder.ts";

const quick = Deno.args.includes("--quick");
const reps = quick ? 2 : 5;

/** Median wall and mean CPU milliseconds of `fn` over `n` runs after one warm-up. */
function measure(fn: () => void, n = reps): { wall: number; cpu: number } {
  fn();
  const walls: number[] = [];
  const c0 = cpuUsage();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    fn();
    walls.push(performance.now() - s);
  }
  const c = cpuUsage(c0);
  walls.sort((a, b) => a - b);
  return { wall: walls[Math.floor(n / 2)], cpu: (c.user + c.system) / 1000 / n };
}

const rows: [string, { wall: number; cpu: number }][] = [];
manualSeed(0);

// Kernels: a transposed convolution as in the DCGAN generator, interpolation and group norm as in the U-Net.
{
  const x = randn([64, 128, 7, 7]).requiresGrad_(), w = randn([128, 64, 4, 4]).requiresGrad_();
  rows.push([
    "convTranspose2d 64x128x7x7 -> 64x64x14x14, fwd+bwd",
    measure(() => tidy(() => convTranspose2d(x, w, null, { stride: 2, padding: 1 }).sum().backward())),
  ]);
  const u = randn([64, 32, 14, 14]).requiresGrad_();
  rows.push([
    "interpolate nearest x2 64x32x14x14, fwd+bwd",
    measure(() => tidy(() => interpolate(u, { scaleFactor: 2 }).sum().backward())),
  ]);
  rows.push([
    "interpolate bilinear x2 64x32x14x14, fwd+bwd",
    measure(() => tidy(() => interpolate(u, { scaleFactor: 2, mode: "bilinear" }).sum().backward())),
  ]);
  const gn = new nn.GroupNorm(8, 32), v = randn([64, 32, 28, 28]).requiresGrad_();
  rows.push(["GroupNorm(8, 32) 64x32x28x28, fwd+bwd", measure(() => tidy(() => gn.forward(v).sum().backward()))]);
  rows.push(["SiLU 64x32x28x28, fwd+bwd", measure(() => tidy(() => nn.F.silu(v).sum().backward()))]);
}

// The examples' training steps, batch 64.
const gan = (() => {
  // gan.ts's default: class-conditional (one-hot input, projection discriminator).
  const g = generator(64 + 10, 32), d = new ProjectionDiscriminator(32);
  dcganInit(g);
  dcganInit(d);
  const og = new optim.Adam(g.parameters(), { lr: 1e-3, betas: [0.5, 0.999] });
  const od = new optim.Adam(d.parameters(), { lr: 1e-3, betas: [0.5, 0.999] });
  const bce = new nn.BCEWithLogitsLoss(), x = randn([64, 1, 28, 28]), real = ones([64, 1]), fake = zeros([64, 1]);
  const y = balancedLabels(0, 64);
  return measure(() =>
    tidy(() => {
      const f = g.forward(conditionalInput(randn([64, 64]), y));
      od.zeroGrad();
      bce.forward(d.forward(x, y), real).add(bce.forward(d.forward(f.detach(), y), fake)).backward();
      od.step();
      og.zeroGrad();
      bce.forward(d.forward(f, y), real).backward();
      og.step();
    })
  );
})();
rows.push(["conditional DCGAN step (width 32), batch 64", gan]);

// diffusion.ts's default: a class-conditional U-Net, batches of DEFAULTS.batchSize, sampled with guidance (a doubled
// batch per step) and once more unguided.
const B = DEFAULTS.batchSize;
const unet = (width: number) => {
  const model = new UNet(width, { numClasses: 10 }), s = new Schedule(400);
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = randn([B, 1, 28, 28]), y = balancedLabels(0, B), labels = balancedLabels(0, 64);
  const step = measure(() =>
    tidy(() => {
      const t = randint(0, 400, [B]), e = randn(x.shape);
      opt.zeroGrad();
      model.forward(s.noisy(x, t, e), t, y).sub(e).square().mean().backward();
      opt.step();
    })
  );
  model.eval();
  const sampleStep = (w: number) =>
    measure(() => tidy(() => noGrad(() => sampleDdim(guided(model, labels, w), s, 64, 1))), quick ? 1 : 3);
  return { step, guided: sampleStep(DEFAULTS.guidance), plain: sampleStep(1) };
};
// Width 24 is diffusion.ts's default; width 32 (--width 32) for comparison.
const u24 = unet(24);
rows.push(
  [`conditional U-Net (width 24) step, batch ${B}`, u24.step],
  ["U-Net (width 24) one guided sampling step, 64 images", u24.guided],
  ["U-Net (width 24) one unguided sampling step, 64 images", u24.plain],
);
if (!quick) {
  const u32 = unet(32);
  rows.push([`conditional U-Net (width 32) step, batch ${B}`, u32.step], [
    "U-Net (width 32) one guided sampling step, 64 images",
    u32.guided,
  ]);
}

const ae = (() => {
  const a = new ConvAutoencoder(16), v = new VAE(2);
  const oa = new optim.Adam(a.parameters()), ov = new optim.Adam(v.parameters());
  const bce = new nn.BCEWithLogitsLoss({ reduction: "sum" }), x = randn([64, 1, 28, 28]).sigmoid();
  return measure(() =>
    tidy(() => {
      oa.zeroGrad();
      bce.forward(a.forward(x), x).div(64).backward();
      oa.step();
      ov.zeroGrad();
      const r = v.reconstruct(x), l = vaeLoss(r.logits, x, r.mu, r.logVar);
      l.recon.add(l.kl).backward();
      ov.step();
    })
  );
})();
rows.push(["autoencoder + VAE step, batch 64", ae]);

console.log("| workload (CPU backend) | wall ms | CPU ms |");
console.log("|---|---:|---:|");
for (const [name, m] of rows) console.log(`| ${name} | ${m.wall.toFixed(1)} | ${m.cpu.toFixed(1)} |`);
// The default runs go over the 8,000 training digits each epoch (125 steps of 64 for the GAN).
const minutes = (cpuMs: number) => (cpuMs / 1000 / 60).toFixed(1);
console.log(`\nCPU minutes of the default runs' training (wall on an idle 2-core machine: roughly ÷1.5):`);
console.log(`  gan.ts (12 epochs):                     ${minutes(12 * 125 * gan.cpu)}`);
// Sampling: guided DDIM and DDPM, then the same DDPM unguided (the cost scales with the images).
const D = DEFAULTS;
console.log(
  `  diffusion.ts (${D.epochs} epochs, width ${D.width}):      ${
    minutes(D.epochs * (8000 / B) * u24.step.cpu)
  } + sampling ${
    minutes(
      ((D.samples / 64) * D.ddimSteps + (D.ddpmSamples / 64) * D.ddpmSteps) * u24.guided.cpu +
        (D.ddpmSamples / 64) * D.ddpmSteps * u24.plain.cpu,
    )
  }`,
);
console.log(`  autoencoder.ts (10 epochs):             ${minutes(10 * 125 * ae.cpu)}`);
