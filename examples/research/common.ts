/**
 * What the research examples share: flags, the MNIST digits and the MNIST
 * CNN of `examples/mnist_loop.ts`, a plain training loop with progress, batched
 * evaluation, a results table, and grey-image PNG grids.
 *
 * @module
 */

import { Image } from "imagescript";
import { parseArgs } from "node:util";
import { cat, data, gpu, manualSeed, nn, noGrad, optim, type Tensor, tidy } from "../../mod.ts";
import { ProgressBar } from "../../utils/mod.ts";
import { mnistCnn } from "../mnist_loop.ts";

export { mnistCnn };

/** A network of one tensor in, one tensor out (a classifier: images in, logits out). */
export type Net = Omit<nn.Module, "forward"> & { forward(x: Tensor): Tensor };

/** The flags every research example takes. */
export interface CommonFlags {
  /** A tiny run (seconds): what the tests use. */
  quick: boolean;
  /** "cpu" or "webgpu". */
  device: string;
  /** Seed of the global generator. */
  seed: number;
  /** Where pictures and weights go. */
  out: string;
}

/**
 * Parses `--quick`, `--device`, `--seed`, `--out` and the example's own string flags (their defaults given as
 * strings), sets the seed and the device.
 */
export async function parseFlags<K extends string>(
  name: string,
  extra: Record<K, string>,
  args: string[] = Deno.args,
): Promise<CommonFlags & Record<K, string>> {
  const options: Record<string, { type: "string" | "boolean"; default?: string | boolean }> = {
    quick: { type: "boolean", default: false },
    device: { type: "string", default: "cpu" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: `runs/research/${name}` },
  };
  for (const [k, v] of Object.entries(extra)) options[k] = { type: "string", default: v as string };
  const { values } = parseArgs({ args, options });
  const device = String(values.device);
  if (device === "webgpu") await gpu.useWebGPU();
  else if (device !== "cpu") throw new Error(`${name}: --device must be "cpu" or "webgpu", got "${device}"`);
  const seed = Number(values.seed);
  manualSeed(seed);
  await Deno.mkdir(String(values.out), { recursive: true });
  return { ...(values as Record<K, string>), quick: Boolean(values.quick), device, seed, out: String(values.out) };
}

/**
 * The MNIST digits (8,000 train, 2,000 test) on `device`, optionally cut to the first `nTrain` / `nTest` (nearly
 * balanced).
 */
export async function digits(nTrain?: number, nTest?: number, device = "cpu"): Promise<{
  trainX: Tensor;
  trainY: Tensor;
  testX: Tensor;
  testY: Tensor;
}> {
  const { train, test } = await data.loadMnist();
  const cut = (t: Tensor, n?: number) => (n === undefined || n >= t.shape[0] ? t : t.narrow(0, 0, n)).to(device);
  return {
    trainX: cut(train.images, nTrain),
    trainY: cut(train.labels, nTrain),
    testX: cut(test.images, nTest),
    testY: cut(test.labels, nTest),
  };
}

/** Options of {@link fit}. */
export interface FitOptions {
  /** Passes over the data. */
  epochs: number;
  /** Batch size (default 64). */
  batchSize?: number;
  /** The optimizer (default Adam, lr 1e-3). */
  optimizer?: optim.Optimizer;
  /** Turns a batch into the one to train on (an attack, an augmentation). */
  transform?: (x: Tensor, y: Tensor) => Tensor;
  /** Called after each step with the step's loss (a scheduler, a log). */
  onStep?: (loss: number, step: number) => void;
  /** Printed before the progress line. */
  label?: string;
  /** Stop after this many steps in all. */
  maxSteps?: number;
}

/**
 * Trains `model` with cross-entropy on shuffled batches under a progress bar (loss, images/s). Returns the loss of
 * every step.
 */
export async function fit(
  model: Net,
  x: Tensor,
  y: Tensor,
  options: FitOptions,
) {
  const batchSize = options.batchSize ?? 64;
  const opt = options.optimizer ?? new optim.Adam(model.parameters(), { lr: 1e-3 });
  const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize, shuffle: true });
  const total = Math.min(options.epochs * loader.length, options.maxSteps ?? Infinity);
  const losses: number[] = [];
  const bar = new ProgressBar(null, { total, desc: options.label ?? "train", unit: "batch" });
  const device = model.parameters().next().value?.device ?? "cpu";
  for (let epoch = 0; epoch < options.epochs && losses.length < total; epoch++) {
    for await (const [xb, yb] of loader) {
      const [xd, yd] = [xb.to(device), yb.to(device)];
      const input = options.transform ? options.transform(xd, yd) : xd;
      model.train();
      const loss = tidy(() => {
        opt.zeroGrad();
        const l = nn.functional.crossEntropy(model.forward(input), yd);
        l.backward();
        opt.step();
        return l;
      });
      const value = await loss.item();
      losses.push(value);
      options.onStep?.(value, losses.length);
      bar.setPostfix({ loss: value.toFixed(4), "img/s": (losses.length * batchSize / bar.elapsed).toFixed(0) });
      bar.update();
      if (losses.length >= total) break;
    }
  }
  bar.close();
  return losses;
}

/** `fn` over `x` in batches (no graph), the results joined along dim 0. */
export function batched(x: Tensor, batchSize: number, fn: (xb: Tensor) => Tensor): Tensor {
  const parts: Tensor[] = [];
  for (let i = 0; i < x.shape[0]; i += batchSize) {
    parts.push(noGrad(() => fn(x.narrow(0, i, Math.min(batchSize, x.shape[0] - i)))));
  }
  return cat(parts);
}

/** The model's logits for `x` in eval mode, batched. */
export function logitsOf(model: Net, x: Tensor, batchSize = 500): Tensor {
  model.eval();
  return batched(x, batchSize, (xb) => model.forward(xb));
}

/** The fraction of rows whose largest logit is the label. */
export async function accuracy(logits: Tensor, y: Tensor): Promise<number> {
  return (await logits.argmax(1).eq(y).to("float32").mean().item());
}

/** A plain-text table: a header row, a rule, and right-aligned cells. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ");
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** `v` as a percentage with one decimal. */
export const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/**
 * Writes grey images `[N, 1, H, W]` (or `[N, H, W]`) as a PNG grid of `cols` columns, each pixel `scale`×`scale`,
 * values mapped from `[lo, hi]` to black..white (or through `colormap` when given).
 */
export async function saveGrid(
  path: string,
  images: Tensor,
  options: {
    cols: number;
    scale?: number;
    lo?: number;
    hi?: number;
    colormap?: (v: number) => [number, number, number];
  },
): Promise<void> {
  const x = images.ndim === 4 ? images.reshape([images.shape[0], images.shape[2], images.shape[3]]) : images;
  const [n, h, w] = x.shape;
  const values = await x.to("float32").data();
  const scale = options.scale ?? 3, cols = Math.min(options.cols, n), rows = Math.ceil(n / cols), gap = 2;
  const lo = options.lo ?? 0, hi = options.hi ?? 1;
  const img = new Image(cols * (w * scale + gap) + gap, rows * (h * scale + gap) + gap);
  img.fill(Image.rgbToColor(40, 40, 40));
  for (let k = 0; k < n; k++) {
    const ox = gap + (k % cols) * (w * scale + gap), oy = gap + Math.floor(k / cols) * (h * scale + gap);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const v = Math.min(1, Math.max(0, (values[(k * h + i) * w + j] - lo) / (hi - lo)));
        const [r, g, b] = options.colormap ? options.colormap(v) : [v * 255, v * 255, v * 255];
        const color = Image.rgbToColor(Math.round(r), Math.round(g), Math.round(b));
        for (let a = 0; a < scale; a++) {
          for (let c = 0; c < scale; c++) img.setPixelAt(ox + j * scale + c + 1, oy + i * scale + a + 1, color);
        }
      }
    }
  }
  await Deno.writeFile(path, await img.encode());
}

/** Blue (−1) through white (0) to red (+1), for signed images such as perturbations, mapped from [0, 1]. */
export function diverging(v: number): [number, number, number] {
  const t = 2 * v - 1;
  return t < 0 ? [255 * (1 + t), 255 * (1 + t), 255] : [255, 255 * (1 - t), 255 * (1 - t)];
}
