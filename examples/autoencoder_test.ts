import { deepStrictEqual, ok } from "node:assert/strict";
import { manualSeed, noGrad, randn, tensor } from "../mod.ts";
import { ConvAutoencoder, reconstructionError, trainAutoencoders, VAE, vaeLoss } from "./autoencoder.ts";

Deno.test("vaeLoss: the KL term is −½·Σ(1 + log σ² − μ² − σ²) per image, 0 for N(0, I)", async () => {
  const mu = tensor([[0.5, -1], [0, 0]]), logVar = tensor([[Math.log(2), 0], [0, 0]]);
  const x = tensor([[[[1]]], [[[0]]]]), logits = tensor([[[[0]]], [[[0]]]]);
  const { recon, kl } = vaeLoss(logits, x, mu, logVar);
  // Image 0: −½·((1 + ln 2 − 0.25 − 2) + (1 + 0 − 1 − 1)); image 1: 0. Averaged over the 2 images.
  const expected = -0.5 * ((1 + Math.log(2) - 0.25 - 2) + (1 - 1 - 1)) / 2;
  ok(Math.abs(await kl.item() - expected) < 1e-6, `${await kl.item()} vs ${expected}`);
  ok(Math.abs(await recon.item() - Math.log(2)) < 1e-6); // BCE of logit 0 is ln 2 per pixel
});

Deno.test("autoencoders: shapes; a short run lowers both losses and the reconstruction error", async () => {
  manualSeed(0);
  deepStrictEqual(noGrad(() => new ConvAutoencoder(16).forward(randn([2, 1, 28, 28]))).shape, [2, 1, 28, 28]);
  const vae = new VAE(2);
  const { mu, logVar } = noGrad(() => vae.encode(randn([3, 1, 28, 28])));
  deepStrictEqual([mu.shape, logVar.shape], [[3, 2], [3, 2]]);
  const { ae, vae: v, mnist, history } = await trainAutoencoders({
    epochs: 2,
    maxBatches: 15,
    progress: { disable: true },
  });
  ok(history.ae[1] < 0.9 * history.ae[0], `autoencoder BCE per epoch ${history.ae}`);
  ok(history.vaeRecon[1] < history.vaeRecon[0], `VAE BCE per epoch ${history.vaeRecon}`);
  const test = mnist.test.images.narrow(0, 500, 500);
  manualSeed(0);
  const untrained = await reconstructionError(new ConvAutoencoder(16), test);
  const trained = await reconstructionError(ae, test);
  ok(trained < 0.6 * untrained, `reconstruction error ${untrained} → ${trained}`);
  ok(await reconstructionError(v, test) < untrained);
});
