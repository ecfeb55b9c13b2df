/**
 * The seed's epoch loop, shared by the MNIST examples: train with progress,
 * then evaluate without a graph, printing loss and accuracy per epoch.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  cat,
  data,
  type Generator,
  Generator as GeneratorClass,
  gpu,
  manualSeed,
  nn,
  noGrad,
  type optim,
  optim as optimizers,
  type Tensor,
  zeros,
} from "../mod.ts";

/** What one run needs. */
export interface EpochsConfig {
  /** The network. */
  model: Pick<nn.Module, "train" | "eval"> & { forward(x: Tensor): Tensor };
  /** The optimizer over its parameters. */
  optimizer: optim.Optimizer;
  /** The loss. */
  criterion: { forward(logits: Tensor, target: Tensor): Tensor };
  /** Training batches. */
  train: AsyncIterable<Tensor[]> & { length: number };
  /** Evaluation batches. */
  test: AsyncIterable<Tensor[]>;
  /** Number of epochs. */
  epochs: number;
  /** Stop each training epoch after this many batches (for quick checks). */
  maxBatches?: number;
  /** Shift training images by up to this many pixels (a random translation per batch; default 0). */
  maxShift?: number;
  /** Draws the shifts (default: a generator seeded 0). */
  generator?: Generator;
  /** Called after each epoch (a learning-rate scheduler's step, say). */
  onEpochEnd?: () => void;
  /** Where the model lives ("cpu" or "webgpu"); batches are moved there. Default "cpu". */
  device?: string;
}

/**
 * Translates a batch of images `[N, C, H, W]` by (dy, dx) pixels, filling with
 * zeros: the augmentation that keeps a small training set from being memorised.
 */
export function shiftImages(x: Tensor, dy: number, dx: number): Tensor {
  const [n, c, h, w] = x.shape;
  const m = Math.max(Math.abs(dy), Math.abs(dx));
  if (m === 0) return x;
  const rows = cat([zeros([n, c, m, w]), x, zeros([n, c, m, w])], 2);
  const padded = cat([zeros([n, c, h + 2 * m, m]), rows, zeros([n, c, h + 2 * m, m])], 3);
  return padded.narrow(2, m - dy, h).narrow(3, m - dx, w);
}

/** Per-epoch results. */
export interface EpochResult {
  /** Mean training loss. */
  trainLoss: number;
  /** Training accuracy. */
  trainAcc: number;
  /** Mean test loss. */
  testLoss: number;
  /** Test accuracy. */
  testAcc: number;
  /** Seconds the training half took. */
  seconds: number;
}

/** Runs the loop; returns one result per epoch. */
export async function runEpochs(cfg: EpochsConfig): Promise<EpochResult[]> {
  const results: EpochResult[] = [];
  const encoder = new TextEncoder();
  const total = Math.min(cfg.train.length, cfg.maxBatches ?? Infinity);
  const device = cfg.device ?? "cpu";
  const gen = cfg.maxShift ? (cfg.generator ?? new GeneratorClass(0)) : null;
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    cfg.model.train();
    let lossSum = 0, correct = 0, seen = 0, batches = 0;
    const start = performance.now();
    for await (const [batch, cpuY] of cfg.train) {
      const shift = cfg.maxShift ?? 0;
      const shifted = shift > 0 && gen
        ? shiftImages(batch, gen.randint(-shift, shift + 1), gen.randint(-shift, shift + 1))
        : batch;
      const x = shifted.to(device);
      const y = cpuY.to(device);
      cfg.optimizer.zeroGrad();
      const logits = cfg.model.forward(x);
      const loss = cfg.criterion.forward(logits, y);
      loss.backward();
      cfg.optimizer.step();
      const n = x.shape[0];
      lossSum += (await loss.item()) * n;
      correct += await countCorrect(logits, y);
      seen += n;
      batches++;
      if (batches % 10 === 0 || batches === total) {
        const rate = seen / ((performance.now() - start) / 1000);
        await Deno.stdout.write(
          encoder.encode(
            `\r  epoch ${epoch} [${batches}/${total}] loss ${(lossSum / seen).toFixed(4)} (${rate.toFixed(0)} img/s)`,
          ),
        );
      }
      if (batches >= total) break;
    }
    const seconds = (performance.now() - start) / 1000;
    await Deno.stdout.write(encoder.encode("\n"));
    cfg.model.eval();
    let testLoss = 0, testCorrect = 0, testSeen = 0;
    for await (const [cpuX, cpuY] of cfg.test) {
      const [x, y] = [cpuX.to(device), cpuY.to(device)];
      const logits = noGrad(() => cfg.model.forward(x));
      testLoss += (await noGrad(() => cfg.criterion.forward(logits, y)).item()) * x.shape[0];
      testCorrect += await countCorrect(logits, y);
      testSeen += x.shape[0];
    }
    const r = {
      trainLoss: lossSum / seen,
      trainAcc: correct / seen,
      testLoss: testLoss / testSeen,
      testAcc: testCorrect / testSeen,
      seconds,
    };
    results.push(r);
    cfg.onEpochEnd?.();
    console.log(
      `Epoch ${epoch}/${cfg.epochs}, Train Loss: ${r.trainLoss.toFixed(4)}, Train Acc: ${r.trainAcc.toFixed(4)}, ` +
        `Test Loss: ${r.testLoss.toFixed(4)}, Test Acc: ${r.testAcc.toFixed(4)} (${seconds.toFixed(1)} s)`,
    );
  }
  return results;
}

async function countCorrect(logits: Tensor, y: Tensor): Promise<number> {
  const [, preds] = logits.max(1);
  return await preds.eq(y).sum().item();
}

/**
 * The examples' small CNN: two conv–batch-norm–ReLU–pool blocks (1→32, 32→64)
 * and a classifier (3136→128→10) with dropout.
 */
export function mnistCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(32),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(64),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(64 * 7 * 7, 128),
    new nn.ReLU(),
    new nn.Dropout(0.3),
    new nn.Linear(128, 10),
  );
}

/** The defaults one MNIST example differs in. */
export interface MnistRunDefaults {
  /** Epochs (flag --epochs). */
  epochs: number;
  /** Largest random shift in pixels (flag --shift). */
  shift: number;
}

/**
 * The MNIST examples' whole program: flags (--epochs, --batch-size, --lr,
 * --seed, --device cpu|webgpu, --shift, --max-batches), the embedded digits,
 * Adam with a cosine schedule, cross-entropy, and {@link runEpochs}.
 */
export async function trainMnist(
  makeModel: () => nn.Module & { forward(x: Tensor): Tensor },
  defaults: MnistRunDefaults,
  args: string[] = Deno.args,
): Promise<EpochResult[]> {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: "string", default: String(defaults.epochs) },
      "batch-size": { type: "string", default: "64" },
      lr: { type: "string", default: "0.001" },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      shift: { type: "string", default: String(defaults.shift) },
      "max-batches": { type: "string" },
    },
  });
  if (values.device === "webgpu") await gpu.useWebGPU();
  else if (values.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${values.device}"`);
  manualSeed(Number(values.seed));
  const mnist = await data.loadMnist();
  const train = new data.TensorDataset(mnist.train.images, mnist.train.labels);
  const test = new data.TensorDataset(mnist.test.images, mnist.test.labels);

  const model = makeModel();
  console.log(model.toString());
  console.log(`parameters: ${model.numParameters()}`);
  model.to(values.device);
  const optimizer = new optimizers.Adam(model.parameters(), { lr: Number(values.lr) });
  const epochs = Number(values.epochs);
  const scheduler = new optimizers.CosineAnnealingLR(optimizer, epochs);
  return await runEpochs({
    model,
    optimizer,
    criterion: new nn.CrossEntropyLoss(),
    train: new data.DataLoader(train, { batchSize: Number(values["batch-size"]), shuffle: true }),
    test: new data.DataLoader(test, { batchSize: 500 }),
    epochs,
    device: values.device,
    maxShift: Number(values.shift),
    onEpochEnd: () => scheduler.step(),
    maxBatches: values["max-batches"] ? Number(values["max-batches"]) : undefined,
  });
}
