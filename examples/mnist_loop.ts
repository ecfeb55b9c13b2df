/**
 * The seed's epoch loop, shared by the MNIST examples: train with a progress
 * bar, evaluate without a graph, and keep the record — a CSV of every epoch,
 * loss and accuracy curves as PNG, the test set's confusion matrix (printed
 * and drawn), a grid of the digits it gets wrong, and the weights as
 * safetensors.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, Generator, gpu, manualSeed, models, nn, noGrad, optim, type Tensor, tensor, utils } from "../mod.ts";

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
  /** Transforms each training batch on the CPU before it moves to the device (augmentation). */
  augment?: (x: Tensor) => Tensor;
  /** Called after every optimizer step (a per-batch scheduler such as OneCycleLR). */
  onStep?: () => void;
  /** Called after each epoch (a per-epoch scheduler's step, say). */
  onEpochEnd?: () => void;
  /** Where the model lives ("cpu" or "webgpu"); batches are moved there. Default "cpu". */
  device?: string;
  /** Classes, for the confusion matrix (default 10). */
  numClasses?: number;
  /** Each epoch's row goes here (and to its CSV file, if it has one). */
  history?: utils.History;
  /** Progress bar settings (where it writes, tty or lines); default: stderr, chosen by whether it is a terminal. */
  progress?: utils.ProgressOptions;
  /** Where each epoch's summary line goes (default console.log). */
  log?: (line: string) => void;
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

/** What {@link runEpochs} returns: one result per epoch and the last evaluation's details. */
export interface RunResults {
  /** One entry per epoch. */
  epochs: EpochResult[];
  /** The last test pass's confusion matrix. */
  confusion: utils.ConfusionMatrix;
  /** Up to 64 test images the model got wrong in the last pass, with true and predicted labels. */
  mistakes: { images: Tensor[]; labels: number[]; predictions: number[] };
}

/**
 * Translates a batch of images `[N, C, H, W]` by (dy, dx) pixels, filling with zeros.
 */
export function shiftImages(x: Tensor, dy: number, dx: number): Tensor {
  return affineImages(x, [{ angle: 0, scale: 1, dy, dx }]);
}

/** One image's affine warp about its centre: rotation, zoom, then translation. */
export interface Warp {
  /** Rotation in degrees. */
  angle: number;
  /** Zoom factor. */
  scale: number;
  /** Shift down, in pixels. */
  dy: number;
  /** Shift right, in pixels. */
  dx: number;
}

/**
 * Warps each image of `[N, C, H, W]` (on the CPU) about its centre by its
 * own {@link Warp} (one for all when given one), sampling bilinearly with
 * zeros outside — torchvision's `RandomAffine` without shear.
 */
export function affineImages(x: Tensor, warps: readonly Warp[]): Tensor {
  const [n, c, h, w] = x.shape;
  if (warps.length !== 1 && warps.length !== n) {
    throw new RangeError(`affineImages: ${warps.length} warps for ${n} images`);
  }
  const src = x.dataSync();
  const out = new Float32Array(n * c * h * w);
  const cy = (h - 1) / 2, cx = (w - 1) / 2;
  for (let k = 0; k < n; k++) {
    const { angle, scale, dy, dx } = warps.length === 1 ? warps[0] : warps[k];
    // Inverse map: output pixel p comes from R⁻¹ (p − centre − t) / s + centre.
    const a = (angle * Math.PI) / 180, cos = Math.cos(a) / scale, sin = Math.sin(a) / scale;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const u = j - cx - dx, v = i - cy - dy;
        const sx = cos * u - sin * v + cx, sy = sin * u + cos * v + cy;
        const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
        if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) continue; // wholly outside: stays 0
        // Bilinear weights of the four neighbours; a neighbour outside the image reads 0.
        const inX0 = x0 >= 0, inX1 = x0 + 1 < w, inY0 = y0 >= 0, inY1 = y0 + 1 < h;
        for (let ch = 0; ch < c; ch++) {
          const base = (k * c + ch) * h * w;
          const r0 = base + y0 * w + x0, r1 = r0 + w;
          const top = inY0 ? (inX0 ? src[r0] * (1 - fx) : 0) + (inX1 ? src[r0 + 1] * fx : 0) : 0;
          const bottom = inY1 ? (inX0 ? src[r1] * (1 - fx) : 0) + (inX1 ? src[r1 + 1] * fx : 0) : 0;
          out[base + i * w + j] = top * (1 - fy) + bottom * fy;
        }
      }
    }
  }
  return tensor(out, { shape: [n, c, h, w] });
}

/** Options of {@link randomAffine}. */
export interface RandomAffineOptions {
  /** Rotations drawn from [−degrees, degrees] (default 0). */
  degrees?: number;
  /** Shifts drawn from [−translate, translate] pixels, each axis (default 0). */
  translate?: number;
  /** Zoom drawn from [1 − scale, 1 + scale] (default 0). */
  scale?: number;
}

/** An augmentation: every image of a batch gets its own random rotation, shift and zoom. */
export function randomAffine(options: RandomAffineOptions, generator: Generator): (x: Tensor) => Tensor {
  const { degrees = 0, translate = 0, scale = 0 } = options;
  const uniform = (r: number) => (2 * generator.random() - 1) * r;
  return (x) =>
    degrees === 0 && translate === 0 && scale === 0 ? x : affineImages(
      x,
      Array.from({ length: x.shape[0] }, () => ({
        angle: uniform(degrees),
        scale: 1 + uniform(scale),
        dy: uniform(translate),
        dx: uniform(translate),
      })),
    );
}

/** Runs the loop; returns one result per epoch and the last test pass's confusion matrix and mistakes. */
export async function runEpochs(cfg: EpochsConfig): Promise<RunResults> {
  const results: EpochResult[] = [];
  const total = Math.min(cfg.train.length, cfg.maxBatches ?? Infinity);
  const device = cfg.device ?? "cpu";
  const log = cfg.log ?? console.log;
  const numClasses = cfg.numClasses ?? 10;
  let confusion = new utils.ConfusionMatrix(numClasses);
  let mistakes: RunResults["mistakes"] = { images: [], labels: [], predictions: [] };
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    cfg.model.train();
    const trainLoss = new utils.MeanMetric(), trainAcc = new utils.Accuracy();
    const start = performance.now();
    const bar = utils.progress(cfg.train, { desc: `epoch ${epoch}/${cfg.epochs}`, total, ...cfg.progress });
    for await (const [batch, cpuY] of bar) {
      const x = (cfg.augment ? cfg.augment(batch) : batch).to(device);
      const y = cpuY.to(device);
      cfg.optimizer.zeroGrad();
      const logits = cfg.model.forward(x);
      const loss = cfg.criterion.forward(logits, y);
      loss.backward();
      cfg.optimizer.step();
      cfg.onStep?.();
      trainLoss.update(await loss.item(), x.shape[0]);
      await trainAcc.update(logits.detach(), y);
      bar.setPostfix({ loss: trainLoss.compute(), acc: trainAcc.compute() });
      if (bar.n + 1 >= total) break;
    }
    const seconds = (performance.now() - start) / 1000;

    cfg.model.eval();
    const testLoss = new utils.MeanMetric();
    confusion = new utils.ConfusionMatrix(numClasses);
    mistakes = { images: [], labels: [], predictions: [] };
    for await (const [cpuX, cpuY] of cfg.test) {
      const [x, y] = [cpuX.to(device), cpuY.to(device)];
      const logits = noGrad(() => cfg.model.forward(x));
      testLoss.update(await noGrad(() => cfg.criterion.forward(logits, y)).item(), x.shape[0]);
      await confusion.update(logits, y);
      if (mistakes.images.length < 64) collectMistakes(await logits.data(), numClasses, cpuX, cpuY, mistakes);
    }
    const r = {
      trainLoss: trainLoss.compute(),
      trainAcc: trainAcc.compute(),
      testLoss: testLoss.compute(),
      testAcc: confusion.accuracy(),
      seconds,
    };
    results.push(r);
    const lr = cfg.optimizer.paramGroups[0].lr as number;
    cfg.history?.push({ epoch, ...r, lr });
    cfg.onEpochEnd?.();
    log(
      `Epoch ${epoch}/${cfg.epochs}, Train Loss: ${r.trainLoss.toFixed(4)}, Train Acc: ${r.trainAcc.toFixed(4)}, ` +
        `Test Loss: ${r.testLoss.toFixed(4)}, Test Acc: ${r.testAcc.toFixed(4)} (${seconds.toFixed(1)} s)`,
    );
  }
  return { epochs: results, confusion, mistakes };
}

function collectMistakes(
  scores: ArrayLike<number>,
  classes: number,
  images: Tensor,
  labels: Tensor,
  into: RunResults["mistakes"],
): void {
  const truth = labels.dataSync();
  for (let i = 0; i < truth.length && into.images.length < 64; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
    if (best !== truth[i]) {
      into.images.push(images.select(0, i));
      into.labels.push(truth[i]);
      into.predictions.push(best);
    }
  }
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
  /** Example name: the output folder is `runs/<name>` unless --out says otherwise. */
  name: string;
  /** Epochs (flag --epochs). */
  epochs: number;
  /** Peak learning rate of the 1cycle schedule (flag --lr). */
  lr: number;
  /** Largest random shift in pixels (flag --shift). */
  shift: number;
  /** Largest random rotation in degrees (flag --rotate). */
  rotate: number;
  /** Largest random zoom, as a fraction (flag --zoom). */
  zoom: number;
  /** Label smoothing of the cross-entropy (flag --label-smoothing; default 0). */
  labelSmoothing?: number;
}

/** The whole program's outcome. */
export interface MnistRun extends RunResults {
  /** Where the CSV, pictures and weights went. */
  out: string;
}

/**
 * The MNIST examples' whole program: flags (--epochs, --batch-size, --lr,
 * --seed, --device cpu|webgpu, --shift, --rotate, --zoom, --label-smoothing,
 * --max-batches, --quick, --out), the embedded digits, Adam on a 1cycle schedule,
 * cross-entropy, {@link runEpochs}, and the record (CSV, curves, confusion
 * matrix, mistakes, weights) in the output folder.
 */
export async function trainMnist(
  makeModel: () => nn.Module & { forward(x: Tensor): Tensor },
  defaults: MnistRunDefaults,
  args: string[] = Deno.args,
  io: { progress?: utils.ProgressOptions; log?: (line: string) => void } = {},
): Promise<MnistRun> {
  const log = io.log ?? console.log;
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: "string", default: String(defaults.epochs) },
      "batch-size": { type: "string", default: "64" },
      lr: { type: "string", default: String(defaults.lr) },
      seed: { type: "string", default: "0" },
      device: { type: "string", default: "cpu" },
      shift: { type: "string", default: String(defaults.shift) },
      rotate: { type: "string", default: String(defaults.rotate) },
      zoom: { type: "string", default: String(defaults.zoom) },
      "label-smoothing": { type: "string", default: String(defaults.labelSmoothing ?? 0) },
      "max-batches": { type: "string" },
      quick: { type: "boolean", default: false },
      out: { type: "string", default: `runs/${defaults.name}` },
    },
  });
  if (values.device === "webgpu") await gpu.useWebGPU();
  else if (values.device !== "cpu") throw new Error(`--device must be "cpu" or "webgpu", got "${values.device}"`);
  const seed = Number(values.seed);
  manualSeed(seed);
  const mnist = await data.loadMnist();
  const train = new data.TensorDataset(mnist.train.images, mnist.train.labels);
  // --quick: a few batches and a quarter of the test set, to see the whole program run in seconds.
  const testImages = values.quick ? mnist.test.images.narrow(0, 0, 500) : mnist.test.images;
  const testLabels = values.quick ? mnist.test.labels.narrow(0, 0, 500) : mnist.test.labels;
  const test = new data.TensorDataset(testImages, testLabels);

  const model = makeModel();
  log(utils.summary(model as nn.Module, [1, 1, 28, 28]).toString());
  model.to(values.device);
  const epochs = Number(values.epochs);
  const batchSize = Number(values["batch-size"]);
  const maxBatches = values["max-batches"] ? Number(values["max-batches"]) : values.quick ? 20 : undefined;
  const trainLoader = new data.DataLoader(train, { batchSize, shuffle: true, generator: new Generator(seed) });
  const stepsPerEpoch = Math.min(trainLoader.length, maxBatches ?? Infinity);
  const lr = Number(values.lr);
  const smoothing = Number(values["label-smoothing"]);
  const optimizer = new optim.Adam(model.parameters(), { lr });
  // 1cycle: warm up to the peak lr over the first 30% of the steps, then anneal to almost nothing.
  const scheduler = new optim.OneCycleLR(optimizer, lr, { epochs, stepsPerEpoch });
  const out = values.out;
  await Deno.mkdir(out, { recursive: true });
  const history = new utils.History({ csv: `${out}/metrics.csv` });
  const t0 = performance.now();
  const run = await runEpochs({
    model,
    optimizer,
    criterion: new nn.CrossEntropyLoss({ labelSmoothing: smoothing }),
    train: trainLoader,
    test: new data.DataLoader(test, { batchSize: 500 }),
    epochs,
    device: values.device,
    augment: randomAffine(
      { degrees: Number(values.rotate), translate: Number(values.shift), scale: Number(values.zoom) },
      new Generator(seed + 1),
    ),
    onStep: () => scheduler.step(),
    maxBatches,
    history,
    progress: io.progress,
    log,
  });
  const wall = (performance.now() - t0) / 1000;

  await history.savePng(`${out}/curves.png`, { title: `${defaults.name}: loss and accuracy per epoch` });
  await run.confusion.savePng(`${out}/confusion.png`, { title: "test set: true vs predicted digit" });
  if (run.mistakes.images.length > 0) {
    // Each misread digit with "true→predicted" under it.
    const captions = run.mistakes.labels.map((t, i) => `${t}→${run.mistakes.predictions[i]}`);
    await (await utils.captionedGrid(run.mistakes.images, captions, { nrow: 8 })).savePng(`${out}/mistakes.png`);
  }
  if (values.device === "cpu") await models.save(model as nn.Module, `${out}/model.safetensors`);
  else await models.save(await (model as nn.Module).toDevice("cpu"), `${out}/model.safetensors`);

  const last = run.epochs[run.epochs.length - 1];
  const best = Math.max(...run.epochs.map((e) => e.testAcc));
  log(`\nTest-set confusion matrix (rows: true digit, columns: predicted):\n${run.confusion}`);
  log(`\n${run.confusion.report()}`);
  log(
    "\n" + resultsTable([
      ["model", `${defaults.name} (${(model as nn.Module).numParameters().toLocaleString("en-US")} parameters)`],
      ["epochs", `${epochs} × ${stepsPerEpoch} steps of ${batchSize}`],
      ["final test accuracy", `${(100 * last.testAcc).toFixed(2)}% (best ${(100 * best).toFixed(2)}%)`],
      [
        `final test loss${smoothing ? ` (cross-entropy with label smoothing ${smoothing})` : ""}`,
        last.testLoss.toFixed(4),
      ],
      ["final train loss", last.trainLoss.toFixed(4)],
      ["wall time", `${wall.toFixed(1)} s on ${values.device}`],
      ["wrote", `${out}/{metrics.csv, curves.png, confusion.png, mistakes.png, model.safetensors}`],
    ]),
  );
  return { ...run, out };
}

/** A two-column table with a rule above and below. */
export function resultsTable(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  const rule = "-".repeat(Math.max(...lines.map((l) => l.length)));
  return [rule, ...lines, rule].join("\n");
}
