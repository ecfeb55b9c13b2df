/**
 * The seed's transfer-learning program, line for line: a ResNet-18 loaded
 * from a weights file, every parameter frozen, a new `fc` trained with SGD
 * (lr 0.001, momentum 0.9) on an `ImageFolder`, printing per epoch
 * `Epoch e/E, Train Loss: …, Train Acc: …, Val Loss: …, Val Acc: …`. A
 * progress bar follows every train and validation pass (a ResNet epoch on the
 * CPU takes a while), and `--out` (default `runs/finetune_resnet`) receives
 * the CSV log, loss and accuracy curves and the validation confusion matrix
 * as PNG.
 *
 *   deno run -A examples/finetune_resnet.ts --data path/to/imagenet --weights resnet18.safetensors
 *       [--epochs 10] [--batch-size 32] [--image-size 224] [--workers 4] [--lr 0.001] [--device cpu] [--out DIR]
 *
 * With no `--data` it runs an embedded demo (`deno task demo`): it writes an
 * ImageFolder of real MNIST digits (PNG and JPEG) to a temporary folder,
 * pre-trains a ResNet-18 from scratch on digits 0–4 and on which way up each
 * batch is turned (`finetune_pretrain.ts`), saves the weights as
 * safetensors, and then runs the seed's fine-tuning loop from those weights
 * on digits 5–9 — only the new `fc` learns — and ends with the confusion
 * matrix, a results table, and the fine-tuned weights in `--out`. `--keep`
 * keeps the temporary folder. Without `--weights` (and with `--data`) the
 * backbone is random, and the script says so loudly.
 *
 * @module
 */

import { Image as ScriptImage } from "imagescript";
import { parseArgs } from "node:util";
import { data, Generator, gpu, manualSeed, models, nn, noGrad, optim, utils } from "../mod.ts";
import { pretrainBackbone } from "./finetune_pretrain.ts";

/** The seed's normalisation (ImageNet statistics). */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * The seed's transforms for a given crop size: `Resize(size·256/224)`,
 * `CenterCrop(size)`, `ToTensor()`, `Normalize(ImageNet mean/std)` —
 * `Resize(256)`, `CenterCrop(224)` at the default 224.
 */
export function seedTransforms(imageSize: number): data.transforms.Compose {
  if (!Number.isInteger(imageSize) || imageSize < 1) {
    throw new RangeError(`finetune: --image-size must be a positive integer, got ${imageSize}`);
  }
  return new data.transforms.Compose([
    new data.transforms.Resize(Math.round(imageSize * 256 / 224)),
    new data.transforms.CenterCrop(imageSize),
    new data.transforms.ToTensor(),
    new data.transforms.Normalize({ mean: MEAN, std: STD }),
  ]);
}

/** How many digits {@link writeDigitFolder} writes per class and split. */
export interface DigitSplitSizes {
  /** Images per class in `train/`. */
  train: number;
  /** Images per class in `val/`. */
  val: number;
}

/** Options for {@link writeDigitFolder}. */
export interface DigitFolderOptions {
  /** Every `jpegEvery`-th image is written as JPEG instead of PNG (0: PNG only). Default 4. */
  jpegEvery?: number;
}

/**
 * Writes real MNIST digits as an ImageFolder: `root/train/<digit>/*.png|jpg`
 * and `root/val/<digit>/…`, `perClass.train` and `perClass.val` images per
 * digit. Train images come from the start of each digit's samples and val
 * images from its end, so the splits never share an image. Folders are named
 * by digit, so the sorted class indices follow the digits' order.
 *
 * @example
 * ```ts ignore
 * const root = await Deno.makeTempDir();
 * await writeDigitFolder(root, [5, 6, 7, 8, 9], { train: 20, val: 10 });
 * ```
 */
export async function writeDigitFolder(
  root: string,
  digits: readonly number[],
  perClass: DigitSplitSizes,
  opts: DigitFolderOptions = {},
): Promise<void> {
  const jpegEvery = opts.jpegEvery ?? 4;
  const all = await data.loadMnistDigits();
  const side = data.MNIST_SIZE;
  const px = side * side;
  for (const d of digits) {
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`writeDigitFolder: digit must be 0..9, got ${d}`);
    const count = all[d].length / px;
    if (perClass.train + perClass.val > count) {
      throw new RangeError(
        `writeDigitFolder: digit ${d} has ${count} images, asked for ${perClass.train + perClass.val}`,
      );
    }
    for (const split of ["train", "val"] as const) {
      const dir = `${root}/${split}/${d}`;
      await Deno.mkdir(dir, { recursive: true });
      const n = perClass[split];
      const first = split === "train" ? 0 : count - n;
      for (let i = 0; i < n; i++) {
        const src = all[d].subarray((first + i) * px, (first + i + 1) * px);
        const im = new ScriptImage(side, side);
        for (let p = 0; p < px; p++) {
          // MNIST is white on black; write it as an RGB image like a photo folder would hold.
          const v = src[p];
          im.bitmap[4 * p] = v;
          im.bitmap[4 * p + 1] = v;
          im.bitmap[4 * p + 2] = v;
          im.bitmap[4 * p + 3] = 255;
        }
        const jpeg = jpegEvery > 0 && i % jpegEvery === jpegEvery - 1;
        const name = `${dir}/${String(i).padStart(4, "0")}.${jpeg ? "jpg" : "png"}`;
        await Deno.writeFile(name, jpeg ? await im.encodeJPEG(95) : await im.encode());
      }
    }
  }
}

/** One epoch's results, as the seed prints them. */
export interface EpochMetrics {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the training set. */
  trainLoss: number;
  /** Training accuracy (fraction correct). */
  trainAcc: number;
  /** Mean validation loss. */
  valLoss: number;
  /** Validation accuracy. */
  valAcc: number;
  /** The loss of every training step, in order. */
  stepLosses: number[];
  /** Seconds the epoch took (train and validation). */
  seconds: number;
}

/** Options shared by {@link pretrain} and {@link finetune}. */
export interface RunOptions {
  /** ImageFolder root holding `train/` and `val/`. */
  data: string;
  /** Number of epochs (seed: 10). */
  epochs?: number;
  /** Batch size (seed: 32). */
  batchSize?: number;
  /** Crop size (seed: 224). */
  imageSize?: number;
  /** DataLoader workers (seed: 4). */
  workers?: number;
  /** Learning rate (seed: 0.001). */
  lr?: number;
  /** Device: "cpu" (default) or "webgpu". */
  device?: string;
  /** Seed for `manualSeed` (seed: 0). */
  seed?: number;
  /** Where each epoch's line goes (default `console.log`). */
  log?: (line: string) => void;
  /** Progress bars during each epoch (default: on stderr, redrawn on a terminal, plain lines when piped). */
  progress?: utils.ProgressOptions;
  /** A folder for the record: `metrics.csv` (written as epochs end), `curves.png`, `confusion.png`. */
  out?: string;
  /** Log torchinfo's summary of the model (depth 1: frozen counts in parentheses) before training. */
  summary?: boolean;
}

/** Options for {@link finetune}. */
export interface FinetuneOptions extends RunOptions {
  /** Safetensors weights of a ResNet-18 (torchvision names); its `fc` may have any number of classes. */
  weights?: string;
}

/** What {@link finetune} and {@link pretrain} return. */
export interface RunResult {
  /** The trained model. */
  model: models.ResNet;
  /** One entry per epoch. */
  metrics: EpochMetrics[];
  /** The class names (sorted folder names). */
  classes: string[];
  /** The last validation pass's confusion matrix (rows: true class). */
  confusion: utils.ConfusionMatrix;
  /** One row per epoch (also in `out/metrics.csv` when `out` is given). */
  history: utils.History;
}

/** Checks `--device`: "cpu", or "webgpu" (which needs an adapter: `gpu.useWebGPU()` says why not). */
export function checkDevice(device: string): void {
  if (device !== "cpu" && device !== "webgpu") {
    throw new Error(`finetune: --device must be "cpu" or "webgpu", got "${device}"`);
  }
}

/** Makes `device` usable (registers the WebGPU backend when asked for). */
export async function prepareDevice(device: string): Promise<void> {
  checkDevice(device);
  if (device === "webgpu") await gpu.useWebGPU();
}

/** The seed's per-epoch line. */
export function formatEpoch(m: EpochMetrics, epochs: number): string {
  return `Epoch ${m.epoch}/${epochs}, Train Loss: ${m.trainLoss.toFixed(4)}, Train Acc: ${m.trainAcc.toFixed(4)}, ` +
    `Val Loss: ${m.valLoss.toFixed(4)}, Val Acc: ${m.valAcc.toFixed(4)}`;
}

function loaders(opts: RunOptions) {
  checkDevice(opts.device ?? "cpu");
  const transform = seedTransforms(opts.imageSize ?? 224);
  const root = opts.data.replace(/\/+$/, "");
  const trainDataset = new data.ImageFolder(`${root}/train`, { transform });
  const valDataset = new data.ImageFolder(`${root}/val`, { transform });
  const batchSize = opts.batchSize ?? 32;
  const numWorkers = opts.workers ?? 4;
  // The shuffle order comes from the seeded global generator unless we pin it: pin it so the
  // run is reproducible whatever else drew from the global generator before.
  const generator = new Generator(opts.seed ?? 0);
  const trainLoader = new data.DataLoader(trainDataset, { batchSize, shuffle: true, numWorkers, generator });
  const valLoader = new data.DataLoader(valDataset, { batchSize, shuffle: false, numWorkers });
  return { trainDataset, valDataset, trainLoader, valLoader };
}

/** What {@link runLoop} hands back. */
interface LoopResult {
  metrics: EpochMetrics[];
  confusion: utils.ConfusionMatrix;
  history: utils.History;
}

/**
 * The seed's epoch loop: train, then evaluate without a graph; returns and
 * logs each epoch. A progress bar follows each half (the seed had none; a
 * ResNet epoch on the CPU takes a while), and the record goes to `opts.out`.
 */
async function runLoop(
  model: models.ResNet,
  optimizer: optim.Optimizer,
  opts: RunOptions,
  l: ReturnType<typeof loaders>,
): Promise<LoopResult> {
  const criterion = new nn.CrossEntropyLoss();
  const device = opts.device ?? "cpu";
  const numEpochs = opts.epochs ?? 10;
  const log = opts.log ?? console.log;
  const metrics: EpochMetrics[] = [];
  const classes = l.trainDataset.classes;
  if (opts.out) await Deno.mkdir(opts.out, { recursive: true });
  const history = new utils.History(opts.out ? { csv: `${opts.out}/metrics.csv` } : {});
  let confusion = new utils.ConfusionMatrix(classes.length, { labels: classes });
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    const start = performance.now();
    let trainLoss = 0, trainAcc = 0, valLoss = 0;
    const stepLosses: number[] = [];

    // Train on training set
    model.train();
    const correct = new utils.Accuracy();
    const trainBar = utils.progress(l.trainLoader, {
      desc: `epoch ${epoch + 1}/${numEpochs} train`,
      unit: "batch",
      ...opts.progress,
    });
    for await (const [cpuImages, cpuLabels] of trainBar) {
      const [images, labels] = [cpuImages.to(device), cpuLabels.to(device)];
      optimizer.zeroGrad();
      const outputs = model.forward(images);
      const loss = criterion.forward(outputs, labels);
      loss.backward();
      optimizer.step();

      // Compute training accuracy
      await correct.update(outputs.detach(), labels);
      const lossValue = await loss.item();
      stepLosses.push(lossValue);
      trainLoss += lossValue * images.shape[0];
      trainBar.setPostfix({ loss: trainLoss / correct.count, acc: correct.compute() });
    }
    trainLoss /= l.trainDataset.length;
    trainAcc = correct.compute();

    // Evaluate on validation set
    model.eval();
    confusion = new utils.ConfusionMatrix(classes.length, { labels: classes });
    const valBar = utils.progress(l.valLoader, {
      desc: `epoch ${epoch + 1}/${numEpochs} val`,
      unit: "batch",
      leave: false,
      ...opts.progress,
    });
    for await (const [cpuImages, cpuLabels] of valBar) {
      const [images, labels] = [cpuImages.to(device), cpuLabels.to(device)];
      const [outputs, loss] = noGrad(() => {
        const outputs = model.forward(images);
        return [outputs, criterion.forward(outputs, labels)];
      });

      // Compute validation accuracy
      await confusion.update(outputs, labels);
      valLoss += (await loss.item()) * images.shape[0];
    }
    valLoss /= l.valDataset.length;
    const valAcc = confusion.accuracy();

    // Print epoch results
    const m = { epoch: epoch + 1, trainLoss, trainAcc, valLoss, valAcc, stepLosses };
    const seconds = (performance.now() - start) / 1000;
    metrics.push({ ...m, seconds });
    history.push({ epoch: epoch + 1, trainLoss, trainAcc, valLoss, valAcc, seconds });
    log(formatEpoch(metrics[metrics.length - 1], numEpochs));
  }
  if (opts.out && metrics.length > 0) {
    await history.savePng(`${opts.out}/curves.png`, { title: "loss and accuracy per epoch" });
    await confusion.savePng(`${opts.out}/confusion.png`, { title: "validation: true vs predicted class" });
  }
  return { metrics, confusion, history };
}

/**
 * A ResNet-18 with the weights in `path` (random init without one). The file's own `fc` decides the shape it is
 * loaded into (1000 classes when it names no `fc.weight`).
 */
async function pretrainedResnet18(path: string | undefined): Promise<models.ResNet> {
  if (!path) return models.resnet18({ numClasses: 1000 });
  // One read of the file; its errors name the file.
  const state = await models.loadSafetensors(path);
  const fc = state["fc.weight"];
  const model = models.resnet18({ numClasses: fc && fc.shape.length === 2 ? fc.shape[0] : 1000 });
  try {
    model.loadStateDict(state);
  } catch (e) {
    throw new Error(`finetune: weights "${path}" do not fit ResNet-18: ${(e as Error).message}`);
  } finally {
    // loadStateDict copied the values; the file's tensors are no longer needed.
    for (const t of Object.values(state)) t.dispose();
  }
  return model;
}

/** What {@link finetune} says when no weights are given: the seed's script always starts from pretrained weights. */
export const RANDOM_BACKBONE_WARNING: string = [
  "!".repeat(100),
  "!! WARNING: no --weights given, so the ResNet-18 backbone is RANDOM (untrained) and frozen: only the new fc learns,",
  "!! from random features, and accuracy will be poor. The seed's script starts from pretrained weights: pass",
  "!! --weights resnet18.safetensors (torchvision names), or run without --data for the demo, which pre-trains its own.",
  "!".repeat(100),
].join("\n");

/**
 * The seed's fine-tuning: a ResNet-18 with `weights`, every parameter frozen,
 * a new `fc` (`Linear(512, classes)`) trained with SGD (momentum 0.9) on
 * `data/train`, evaluated on `data/val` each epoch.
 *
 * @example
 * ```ts ignore
 * const { metrics } = await finetune({ data: "digits", weights: "resnet18.safetensors", epochs: 3, imageSize: 32 });
 * console.log(metrics.at(-1)!.valAcc);
 * ```
 */
export async function finetune(opts: FinetuneOptions): Promise<RunResult> {
  // Set random seed for reproducibility
  manualSeed(opts.seed ?? 0);
  // Load the dataset (the folders are checked before any weights are read)
  const l = loaders(opts);
  const numClasses = l.trainDataset.classes.length;
  // Load the pre-trained ResNet-18 (one read of the weights file)
  if (!opts.weights) (opts.log ?? console.log)(RANDOM_BACKBONE_WARNING);
  const model = await pretrainedResnet18(opts.weights);
  // Freeze all layers except the final classifier
  model.requiresGrad_(false);
  // Replace final classifier with our own
  model.fc = new nn.Linear(512, numClasses);
  await prepareDevice(opts.device ?? "cpu");
  model.to(opts.device ?? "cpu");
  if (opts.summary) {
    const size = opts.imageSize ?? 224;
    (opts.log ?? console.log)(utils.summary(model, [1, 3, size, size], { depth: 1 }).toString());
  }
  // Define loss function and optimizer
  const optimizer = new optim.SGD(model.fc.parameters(), { lr: opts.lr ?? 0.001, momentum: 0.9 });
  // Train model
  const run = await runLoop(model, optimizer, opts, l);
  return { model, classes: l.trainDataset.classes, ...run };
}

/**
 * Trains a ResNet-18 from scratch (every layer, Adam) on `data/train`, so the
 * demo has weights of its own to transfer from.
 */
export async function pretrain(opts: RunOptions): Promise<RunResult> {
  manualSeed(opts.seed ?? 0);
  const l = loaders(opts);
  const model = models.resnet18({ numClasses: l.trainDataset.classes.length });
  await prepareDevice(opts.device ?? "cpu");
  model.to(opts.device ?? "cpu");
  const optimizer = new optim.Adam(model.parameters(), { lr: opts.lr ?? 0.001 });
  const run = await runLoop(model, optimizer, opts, l);
  return { model, classes: l.trainDataset.classes, ...run };
}

/** Options for {@link demo}. */
export interface DemoOptions {
  /** Device: "cpu" (default) or "webgpu". */
  device?: string;
  /** Fine-tuning epochs. Default 8. */
  epochs?: number;
  /** Pre-training epochs. Default 4. */
  pretrainEpochs?: number;
  /** Batch size. Default 32. */
  batchSize?: number;
  /** Crop size. Default 32. */
  imageSize?: number;
  /** DataLoader workers. Default 0. */
  workers?: number;
  /** Fine-tuning learning rate. Default 0.001 (the seed's). */
  lr?: number;
  /** Images per class (train, val) for pre-training. */
  pretrainPerClass?: DigitSplitSizes;
  /** Images per class (train, val) for fine-tuning. */
  finetunePerClass?: DigitSplitSizes;
  /** Keep the temporary folder. */
  keep?: boolean;
  /** Where lines go (default `console.log`). */
  log?: (line: string) => void;
  /** Progress bars (default: on stderr). */
  progress?: utils.ProgressOptions;
  /** Where the record goes: `pretrain/` and `finetune/` (CSV, curves, confusion matrix), the weights. Default `runs/finetune_resnet`. */
  out?: string;
}

/**
 * The embedded demo: digits 0–4 pre-train a ResNet-18, its weights go to a
 * safetensors file, and the seed's fine-tuning learns digits 5–9 from them.
 */
export async function demo(opts: DemoOptions = {}): Promise<{ pretrain: EpochMetrics[]; finetune: EpochMetrics[] }> {
  const log = opts.log ?? console.log;
  const out = opts.out ?? "runs/finetune_resnet";
  const indented = (s: string) => log(s.split("\n").map((line) => `      ${line}`).join("\n"));
  const imageSize = opts.imageSize ?? 32;
  const batchSize = opts.batchSize ?? 32;
  // Decoding a 28×28 PNG is cheap next to a ResNet step; on a 2-core machine workers would only compete with the
  // math for the cores, so the demo loads on the main thread unless told otherwise.
  const workers = opts.workers ?? 0;
  const pre = opts.pretrainPerClass ?? { train: 150, val: 30 };
  const fine = opts.finetunePerClass ?? { train: 100, val: 40 };
  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1);
  const root = await Deno.makeTempDir({ prefix: "dendrite_finetune_" });
  try {
    log(`[1/3] Writing MNIST digits as PNG/JPEG files to ${root}`);
    await writeDigitFolder(`${root}/pretrain`, [0, 1, 2, 3, 4], pre);
    await writeDigitFolder(`${root}/finetune`, [5, 6, 7, 8, 9], fine);
    log(
      `      pretrain/{train,val}/<0-4>: ${pre.train}+${pre.val} per digit; ` +
        `finetune/{train,val}/<5-9>: ${fine.train}+${fine.val} per digit (${secs()} s)`,
    );

    const pretrainEpochs = opts.pretrainEpochs ?? 4;
    log(
      `[2/3] Pre-training ResNet-18 (all layers) on digits 0-4 at ${imageSize}x${imageSize}: digit and quarter turn ` +
        `(20 classes), random shifts, Adam on a one-cycle schedule (examples/finetune_pretrain.ts)`,
    );
    await prepareDevice(opts.device ?? "cpu");
    const p = await pretrainBackbone({
      data: `${root}/pretrain`,
      epochs: pretrainEpochs,
      batchSize,
      imageSize,
      device: opts.device,
      lr: 0.001,
      log: indented,
      progress: opts.progress,
      out: `${out}/pretrain`,
    });
    const weights = `${root}/resnet18_digits0-4.safetensors`;
    await models.save(p.model, weights);
    log(`      saved weights to ${weights} (${secs()} s)`);

    const epochs = opts.epochs ?? 8;
    log(`[3/3] Fine-tuning: frozen backbone from those weights, new fc (Linear(512, 5)) for digits 5-9`);
    const f = await finetune({
      data: `${root}/finetune`,
      weights,
      epochs,
      batchSize,
      imageSize,
      workers,
      device: opts.device,
      lr: opts.lr ?? 0.001,
      log: indented,
      progress: opts.progress,
      out: `${out}/finetune`,
      summary: true,
    });
    const model = opts.device === "webgpu" ? await f.model.toDevice("cpu") : f.model;
    await models.save(model, `${out}/finetune/model.safetensors`);
    const last = f.metrics[f.metrics.length - 1];
    log(`\nDigits 5-9, validation confusion matrix after fine-tuning (rows: true digit):\n${f.confusion}`);
    const seconds = (ms: EpochMetrics[]) => ms.reduce((a, m) => a + m.seconds, 0).toFixed(1);
    log(
      "\n" + resultsTable([
        ["phase", "data", "epochs", "trainable", "final val acc", "seconds"],
        [
          "pre-train",
          "digits 0-4",
          String(p.metrics.length),
          p.model.numParameters(true).toLocaleString("en-US"),
          p.metrics.length ? `${(100 * p.metrics.at(-1)!.valAcc).toFixed(1)}%` : "-",
          seconds(p.metrics),
        ],
        [
          "fine-tune",
          "digits 5-9",
          String(f.metrics.length),
          f.model.numParameters(true).toLocaleString("en-US"),
          last ? `${(100 * last.valAcc).toFixed(1)}%` : "-",
          seconds(f.metrics),
        ],
      ]),
    );
    log(
      `wrote ${out}/{pretrain,finetune}/{metrics.csv, curves.png, confusion.png} and ${out}/finetune/model.safetensors`,
    );
    log(
      `Done in ${secs()} s: digits 5-9 val accuracy ${(100 * (last?.valAcc ?? 0)).toFixed(1)}% (chance 20%) ` +
        `from a backbone that never saw them`,
    );
    return { pretrain: p.metrics, finetune: f.metrics };
  } finally {
    if (opts.keep) log(`kept ${root}`);
    else await Deno.remove(root, { recursive: true });
  }
}

/** A table with a header row, columns padded to fit, rules above and below the header and at the end. */
export function resultsTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const fmt = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ");
  const rule = "-".repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [rule, fmt(rows[0]), rule, ...rows.slice(1).map(fmt), rule].join("\n");
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || (n === 0 && name !== "workers")) {
    throw new RangeError(
      `finetune: --${name} must be a ${name === "workers" ? "non-negative" : "positive"} integer, got "${value}"`,
    );
  }
  return n;
}

/** Parses the command line and runs the seed's program (or the demo when `--data` is missing). */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: "string" },
      weights: { type: "string" },
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      "image-size": { type: "string" },
      device: { type: "string", default: "cpu" },
      workers: { type: "string" },
      lr: { type: "string" },
      keep: { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  checkDevice(values.device);
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0)) {
    throw new RangeError(`finetune: --lr must be a positive number, got "${values.lr}"`);
  }
  const num = (name: "epochs" | "batch-size" | "image-size" | "workers") =>
    values[name] === undefined ? undefined : positiveInt(name, values[name]);
  if (values.data === undefined) {
    await demo({
      epochs: num("epochs"),
      batchSize: num("batch-size"),
      imageSize: num("image-size"),
      workers: num("workers"),
      lr,
      keep: values.keep,
      device: values.device,
      out: values.out,
    });
    return;
  }
  await finetune({
    data: values.data,
    weights: values.weights,
    epochs: num("epochs") ?? 10,
    batchSize: num("batch-size") ?? 32,
    imageSize: num("image-size") ?? 224,
    workers: num("workers") ?? 4,
    lr: lr ?? 0.001,
    device: values.device,
    out: values.out ?? "runs/finetune_resnet",
  });
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
