/**
 * A small Vision Transformer on the MNIST digits (8,000 to train, the fixed
 * 2,000 to test): a strided convolution embeds each 28×28 digit as a 7×7 grid
 * of patch tokens (stride 4; by default each token sees the 7×7 window around
 * its 4×4 patch: on 8,000 digits that overlap is worth two points, 95.8% test
 * accuracy with disjoint patches against 97.75% with it, both 20 epochs), a
 * learned class token and position embeddings are added, three pre-norm
 * `nn.TransformerEncoderLayer`s encode, and a linear head classifies the class
 * token. AdamW with warm-up and cosine decay, random shifts of up to 2 pixels,
 * label smoothing.
 *
 *   deno run -A examples/vit_mnist.ts [--epochs 20] [--batch-size 64] [--lr 0.002] [--width 64] [--depth 3]
 *       [--heads 4] [--patch 4] [--kernel 7] [--dropout 0] [--activation relu|gelu] [--shift 2] [--seed 0] [--device cpu|webgpu]
 *       [--out vit_mnist.safetensors] [--quick]
 *
 * ReLU by default: the GELU layers run the same but their erf is a TypeScript loop (several times slower here).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cat, data, Generator, gpu, manualSeed, models, nn, noGrad, optim, type Tensor, tidy, zeros } from "../mod.ts";
import { shiftImages } from "./mnist_loop.ts";

/** The model's sizes. */
export interface VitConfig {
  /** Side of a square patch: the patch embedding's stride (28 must be a multiple). */
  patch: number;
  /**
   * The patch embedding's kernel (default `patch`: disjoint patches, as ViT); larger kernels overlap their
   * neighbours (padded by `⌊(kernel - patch + 1)/2⌋`, so the token grid stays `28/patch` square).
   */
  kernel?: number;
  /** Token width. */
  width: number;
  /** Encoder layers. */
  depth: number;
  /** Attention heads. */
  heads: number;
  /** Dropout in the encoder layers. */
  dropout: number;
  /** The feed-forward activation. */
  activation: "relu" | "gelu";
}

/**
 * The ViT: `conv_proj` (patch embedding), `class_token`, `pos_embedding`,
 * `encoder` (`layers.i` and a final `norm`), `head` — torchvision's names
 * where it has them.
 */
export class VisionTransformer extends nn.Module {
  conv_proj: nn.Conv2d;
  class_token: nn.Parameter;
  pos_embedding: nn.Parameter;
  encoder: nn.TransformerEncoder;
  head: nn.Linear;

  /** A ViT for 28×28 single-channel images and 10 classes. */
  constructor(readonly cfg: VitConfig) {
    super();
    if (28 % cfg.patch !== 0) throw new RangeError(`VisionTransformer: patch ${cfg.patch} must divide 28`);
    const tokens = (28 / cfg.patch) ** 2 + 1;
    const kernel = cfg.kernel ?? cfg.patch;
    if (kernel < cfg.patch) {
      throw new RangeError(`VisionTransformer: kernel ${kernel} is smaller than patch ${cfg.patch}`);
    }
    const padding = Math.floor((kernel - cfg.patch + 1) / 2);
    this.conv_proj = new nn.Conv2d(1, cfg.width, kernel, { stride: cfg.patch, padding });
    this.class_token = new nn.Parameter(zeros([1, 1, cfg.width]));
    this.pos_embedding = new nn.Parameter(zeros([1, tokens, cfg.width]));
    nn.init.normal_(this.pos_embedding, 0, 0.02);
    const layer = new nn.TransformerEncoderLayer(cfg.width, cfg.heads, {
      dimFeedforward: 2 * cfg.width,
      dropout: cfg.dropout,
      activation: cfg.activation,
      batchFirst: true,
      normFirst: true,
    });
    this.encoder = new nn.TransformerEncoder(layer, cfg.depth, new nn.LayerNorm(cfg.width));
    this.head = new nn.Linear(cfg.width, 10);
  }

  /** Logits `[N, 10]` for images `[N, 1, 28, 28]`. */
  override forward(x: Tensor): Tensor {
    const n = x.shape[0];
    const patches = this.conv_proj.forward(x).flatten(2).transpose(1, 2); // [N, P, width]
    const tokens = cat([this.class_token.expand([n, 1, this.cfg.width]), patches], 1).add(this.pos_embedding);
    return this.head.forward(this.encoder.forward(tokens).select(1, 0));
  }
}

/** Fraction of `labels` the model gets right on `images` (evaluation mode, no graph). */
export async function accuracy(model: VisionTransformer, images: Tensor, labels: Tensor, batch = 500): Promise<number> {
  model.eval();
  const device = model.head.weight.device;
  let correct = 0;
  for (let i = 0; i < images.shape[0]; i += batch) {
    const n = Math.min(batch, images.shape[0] - i);
    const hits = tidy(() =>
      noGrad(() =>
        model.forward(images.narrow(0, i, n).to(device)).argmax(1).eq(labels.narrow(0, i, n).to(device)).sum()
      )
    );
    correct += await hits.item();
    hits.dispose();
  }
  model.train();
  return correct / images.shape[0];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      epochs: { type: "string", default: "20" },
      "batch-size": { type: "string", default: "64" },
      lr: { type: "string", default: "0.002" },
      width: { type: "string", default: "64" },
      depth: { type: "string", default: "3" },
      heads: { type: "string", default: "4" },
      patch: { type: "string", default: "4" },
      kernel: { type: "string", default: "7" },
      dropout: { type: "string", default: "0" },
      activation: { type: "string", default: "relu" },
      shift: { type: "string", default: "2" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      out: { type: "string", default: "vit_mnist.safetensors" },
      quick: { type: "boolean", default: false },
    },
  });
  if (values.device === "webgpu") await gpu.useWebGPU();
  else if (values.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${values.device}"`);
  const device = values.device, quick = values.quick;
  manualSeed(Number(values.seed));
  const mnist = await data.loadMnist();
  const cfg: VitConfig = {
    patch: Number(values.patch),
    kernel: Number(values.kernel),
    width: quick ? 32 : Number(values.width),
    depth: quick ? 1 : Number(values.depth),
    heads: Number(values.heads),
    dropout: Number(values.dropout),
    activation: values.activation === "gelu" ? "gelu" : "relu",
  };
  const model = new VisionTransformer(cfg).to(device);
  const epochs = quick ? 1 : Number(values.epochs), B = Number(values["batch-size"]), maxShift = Number(values.shift);
  const loader = new data.DataLoader(new data.TensorDataset(mnist.train.images, mnist.train.labels), {
    batchSize: B,
    shuffle: true,
    generator: new Generator(Number(values.seed)),
  });
  const perEpoch = quick ? 20 : loader.length, total = epochs * perEpoch, warmup = Math.max(1, Math.round(total / 20));
  const lr = Number(values.lr);
  const params = [...model.parameters()];
  const opt = new optim.AdamW([
    { params: params.filter((p) => p.ndim >= 2 && p !== model.pos_embedding && p !== model.class_token) },
    {
      params: params.filter((p) => p.ndim < 2 || p === model.pos_embedding || p === model.class_token),
      weightDecay: 0,
    },
  ], { lr, weightDecay: 0.05 });
  const criterion = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
  console.log(model.toString());
  console.log(`parameters: ${model.numParameters()}, ${epochs} epochs of ${perEpoch} batches of ${B}`);
  const shifts = new Generator(Number(values.seed) + 1);
  const start = performance.now();
  let step = 0, testAcc = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let lossSum = 0, seen = 0, batches = 0;
    const t0 = performance.now();
    for await (const [images, labels] of loader) {
      const t = Math.min(1, Math.max(0, (step - warmup) / Math.max(1, total - warmup)));
      const rate = step < warmup ? (lr * (step + 1)) / warmup : 0.5 * lr * (1 + Math.cos(Math.PI * t));
      for (const g of opt.paramGroups) g.lr = rate;
      const dy = shifts.randint(-maxShift, maxShift + 1), dx = shifts.randint(-maxShift, maxShift + 1);
      const loss = tidy(() => {
        opt.zeroGrad();
        const l = criterion.forward(model.forward(shiftImages(images, dy, dx).to(device)), labels.to(device));
        l.backward();
        optim.clipGradNorm(model.parameters(), 1);
        opt.step();
        return l;
      });
      lossSum += (await loss.item()) * images.shape[0];
      loss.dispose();
      seen += images.shape[0];
      step++;
      batches++;
      if (batches % 25 === 0) {
        const rate = seen / ((performance.now() - t0) / 1000);
        console.log(
          `  epoch ${epoch} [${batches}/${perEpoch}] loss ${(lossSum / seen).toFixed(4)} (${rate.toFixed(0)} img/s)`,
        );
      }
      if (batches >= perEpoch) break;
    }
    testAcc = await accuracy(model, mnist.test.images, mnist.test.labels);
    console.log(
      `Epoch ${epoch}/${epochs}, Train Loss: ${(lossSum / seen).toFixed(4)}, Test Acc: ${testAcc.toFixed(4)} (${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s)`,
    );
  }
  console.table({
    "epochs": epochs,
    "parameters": model.numParameters(),
    "training time (s)": Number(((performance.now() - start) / 1000).toFixed(1)),
    "test accuracy (2,000 digits)": Number(testAcc.toFixed(4)),
  });
  if (!quick) {
    await models.save(model, values.out);
    console.log(`weights saved to ${values.out}`);
  }
}

if (import.meta.main) await main();
