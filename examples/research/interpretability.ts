/**
 * Which pixels made the model decide? Four attribution methods on two models, and a number to compare them by.
 *
 * - Models: the MNIST CNN of `examples/mnist_loop.ts`, and the ResNet-18 of the fine-tuning demo
 *   (`examples/finetune_resnet.ts`: pre-trained on digits 0–4 as image files, ImageNet normalisation), trained here
 *   at `--resnet-size` pixels or loaded from `--resnet-weights`.
 * - Methods: vanilla gradient saliency, SmoothGrad, integrated gradients (from a black image) and Grad-CAM,
 *   which reads the last convolution's activations and output gradient through a forward hook and a full backward
 *   hook (`registerForwardHook`, `registerFullBackwardHook`). On the ResNet the last block (`layer4`) has a
 *   (size/32)² map — 4 × 4 at the default 128 px (at 64 px its 2 × 2 map ranked pixels no better than chance) — and
 *   the block before it (`layer3`, twice as fine) is measured too.
 * - Images: correctly classified ones, taken from each class in turn.
 * - The number: a deletion curve per method (Petsiuk et al., 2018) — the most-attributed pixels are set to the
 *   baseline first, in steps, and the probability of the explained class is measured — against deleting pixels in a
 *   random order. The baseline is black, the digits' background: in the ResNet's ImageNet-normalized input that is
 *   −mean/std per channel (normalized 0 would be a grey that changes the background as much as the strokes). The
 *   table gives the areas under both (lower is better: the method found what matters).
 *
 * Writes `mnist_heatmaps.png` and `resnet_heatmaps.png` (per image: the input, then each method's map over it),
 * `deletion_curves.png`, and the CNN's weights, under `--out` (default runs/research/interpretability).
 *
 *   deno run -A examples/research/interpretability.ts [--epochs 2] [--images 100] [--resnet-size 128]
 *       [--resnet-epochs 2] [--resnet-images 20] [--resnet-weights FILE] [--seed 0] [--device cpu|webgpu] [--quick]
 *
 * @module
 */

import { data, Generator, models, nn, type Tensor, tensor } from "../../mod.ts";
import { captionedGrid, Figure, overlayHeatmap, Plot, ProgressBar, resizeBilinear } from "../../utils/mod.ts";
import {
  type DeletionCurve,
  deletionCurve,
  gradCam,
  integratedGradients,
  randomRanking,
  saliency,
  smoothGrad,
} from "./attribution.ts";
import { digits, fit, logitsOf, mnistCnn, type Net, parseFlags, table } from "./common.ts";
import { pretrain, seedTransforms, writeDigitFolder } from "../finetune_resnet.ts";

/** The ImageNet statistics the fine-tuning demo's transforms normalize by. */
const IMAGENET_MEAN = [0.485, 0.456, 0.406], IMAGENET_STD = [0.229, 0.224, 0.225];

/** One model's maps (`[N, H, W]` at the input's resolution) and deletion curves, by method. */
export interface Explained {
  /** Attribution maps by method name. */
  maps: Record<string, Tensor>;
  /** Deletion curves by method name, and "random". */
  curves: Record<string, DeletionCurve>;
}

/** Options of {@link explain}. */
export interface ExplainOptions {
  /** The layers Grad-CAM hooks, by the name its map gets (the last convolution, and any others to compare). */
  camLayers: Record<string, nn.Module>;
  /** SmoothGrad's noisy copies. */
  smoothSamples: number;
  /** Integrated gradients' path points. */
  igSteps: number;
  /** Deletion steps. */
  deletionSteps: number;
  /**
   * The "nothing here" pixel, per channel, in the model's input space: what deletion writes and where integrated
   * gradients' path starts (default 0, black for inputs in [0, 1]; `−mean/std` for a normalized input).
   */
  baseline?: readonly number[];
  /** Draws SmoothGrad's noise and the random ranking. */
  generator: Generator;
  /** A label for progress. */
  label: string;
}

/** Grad-CAM's `[N, h, w]` maps resized to the input's `H × W` (bilinear, as utils' overlays draw them). */
async function upsample(cam: Tensor, h: number, w: number): Promise<Tensor> {
  const [n, ch, cw] = cam.shape;
  const src = await cam.data(), out = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) {
    out.set(resizeBilinear(src.subarray(i * ch * cw, (i + 1) * ch * cw), ch, cw, h, w), i * h * w);
  }
  return tensor(out, { shape: [n, h, w], device: cam.device });
}

/** Every method's map for `x` (explaining class `target`) and its deletion curve, plus the random curve. */
export async function explain(model: Net, x: Tensor, target: Tensor, options: ExplainOptions): Promise<Explained> {
  model.eval();
  const [n, , h, w] = x.shape;
  const camLayers = Object.entries(options.camLayers);
  const bar = new ProgressBar(null, { total: 4 + camLayers.length, desc: options.label, unit: "step" });
  const done = (what: string) => {
    bar.setPostfix({ done: what });
    bar.update();
  };
  const maps: Record<string, Tensor> = {};
  maps["saliency"] = saliency(model, x, target);
  done("saliency");
  maps["SmoothGrad"] = smoothGrad(model, x, target, {
    samples: options.smoothSamples,
    generator: options.generator,
  });
  done("SmoothGrad");
  // Integrated gradients summed over channels: positive where a pixel raised the class's logit.
  const igBaseline = options.baseline
    ? tensor(Float32Array.from(options.baseline), { shape: [1, x.shape[1], 1, 1] }).to(x.device)
    : undefined;
  maps["integrated gradients"] = integratedGradients(model, x, target, { steps: options.igSteps, baseline: igBaseline })
    .sum(1);
  done("integrated gradients");
  for (const [name, layer] of camLayers) {
    maps[name] = await upsample(gradCam(model, layer, x, target), h, w);
    done(name);
  }
  const curves: Record<string, DeletionCurve> = {};
  for (const [name, map] of Object.entries(maps)) {
    curves[name] = await deletionCurve(model, x, target, map, {
      steps: options.deletionSteps,
      baseline: options.baseline,
    });
  }
  curves["random"] = await deletionCurve(model, x, target, randomRanking(n, h, w, options.generator), {
    steps: options.deletionSteps,
    baseline: options.baseline,
  });
  done("deletion curves");
  bar.close();
  return { maps, curves };
}

/**
 * Up to `count` rows of `x` the model classifies right, taken from each class in turn (a folder of images is sorted by
 * class): the images to explain, and their labels.
 */
async function correctlyClassified(model: Net, x: Tensor, y: Tensor, count: number): Promise<[Tensor, Tensor]> {
  const [right, labels] = [await logitsOf(model, x).argmax(1).eq(y).data(), await y.data()];
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < right.length; i++) {
    if (right[i]) byClass.set(labels[i], [...(byClass.get(labels[i]) ?? []), i]);
  }
  const queues = [...byClass.values()], keep: number[] = [];
  for (let round = 0; keep.length < count && queues.some((q) => round < q.length); round++) {
    for (const q of queues) if (round < q.length && keep.length < count) keep.push(q[round]);
  }
  const idx = tensor(keep, { dtype: "int32", device: x.device });
  return [x.indexSelect(0, idx), y.indexSelect(0, idx)];
}

/**
 * Per image, the input then each method's map over it, `scale`× enlarged, captioned: a grid of `rows` images ×
 * (1 + methods) columns.
 */
async function saveOverlays(
  path: string,
  images: Tensor,
  maps: Record<string, Tensor>,
  rows: number,
  scale: number,
): Promise<void> {
  const shown = images.narrow(0, 0, rows);
  const rgb = shown.shape[1] === 1 ? shown.expand([rows, 3, shown.shape[2], shown.shape[3]]) : shown;
  const columns: [string, Tensor][] = [["input", rgb]];
  for (const [name, map] of Object.entries(maps)) {
    // Each map coloured by its own range (jet); integrated gradients' negative part shows as the cold end.
    columns.push([name, await overlayHeatmap(shown, map.narrow(0, 0, rows), { alpha: 0.55 })]);
  }
  const cells: Tensor[] = [], captions: string[] = [];
  for (let i = 0; i < rows; i++) {
    for (const [name, pictures] of columns) {
      cells.push(pictures.select(0, i));
      captions.push(i === 0 ? name : "");
    }
  }
  await (await captionedGrid(cells, captions, { nrow: columns.length, scale })).savePng(path);
}

/** Runs the example; returns the deletion areas per model and method. */
export async function main(args: string[] = Deno.args) {
  const flags = await parseFlags("interpretability", {
    epochs: "2",
    images: "100",
    "resnet-size": "128",
    "resnet-epochs": "2",
    "resnet-images": "20",
    "resnet-weights": "",
  }, args);
  const quick = flags.quick;
  const gen = new Generator(flags.seed + 7);

  console.log("1. the MNIST CNN");
  const mnist = await digits(quick ? 320 : undefined, quick ? 64 : 1000, flags.device);
  const cnn = mnistCnn().to(flags.device);
  await fit(cnn, mnist.trainX, mnist.trainY, { epochs: quick ? 1 : Number(flags.epochs), batchSize: quick ? 32 : 64 });
  const [x, y] = await correctlyClassified(cnn, mnist.testX, mnist.testY, quick ? 8 : Number(flags.images));
  const lastConv = [...cnn.modules()].filter((m) => m instanceof nn.Conv2d).at(-1)!;
  const mnistResult = await explain(cnn, x, y, {
    camLayers: { "Grad-CAM": lastConv },
    smoothSamples: quick ? 4 : 25,
    igSteps: quick ? 8 : 32,
    deletionSteps: quick ? 8 : 20,
    generator: gen,
    label: "attributions",
  });
  await saveOverlays(`${flags.out}/mnist_heatmaps.png`, x, mnistResult.maps, Math.min(6, x.shape[0]), 4);

  const size = quick ? 32 : Number(flags["resnet-size"]);
  console.log(`2. the fine-tuning demo's ResNet-18 (digits 0-4 as image files, ${size}×${size})`);
  const root = await Deno.makeTempDir({ prefix: "dendrite_interpretability_" });
  let resnetResult: Explained;
  try {
    await writeDigitFolder(root, [0, 1, 2, 3, 4], quick ? { train: 8, val: 4 } : { train: 60, val: 20 });
    let resnet: models.ResNet;
    if (flags["resnet-weights"]) {
      resnet = models.resnet18({ numClasses: 5 });
      resnet.loadStateDict(await models.loadSafetensors(flags["resnet-weights"]));
      resnet.to(flags.device);
    } else {
      resnet = (await pretrain({
        data: root,
        epochs: quick ? 1 : Number(flags["resnet-epochs"]),
        batchSize: 16,
        imageSize: size,
        device: flags.device,
        log: (line) => console.log(`  ${line}`),
      })).model as models.ResNet;
    }
    const val = new data.ImageFolder(`${root}/val`, { transform: seedTransforms(size) });
    const [images, labels] = (await new data.DataLoader(val, { batchSize: val.length })[Symbol.asyncIterator]().next())
      .value as Tensor[];
    const [rx, ry] = await correctlyClassified(
      resnet,
      images.to(flags.device),
      labels.to(flags.device),
      quick ? 4 : Number(flags["resnet-images"]),
    );
    resnetResult = await explain(resnet, rx, ry, {
      // The last block's map is (size/32)² cells: 4 × 4 at 128 px (2 × 2 at 64 px ranked pixels no better than
      // chance); the block before it has twice the resolution. Both are measured.
      camLayers: {
        [`Grad-CAM layer4 ${size / 32}x${size / 32}`]: resnet.layer4,
        [`Grad-CAM layer3 ${size / 16}x${size / 16}`]: resnet.layer3,
      },
      smoothSamples: quick ? 2 : 10,
      igSteps: quick ? 4 : 16,
      deletionSteps: quick ? 5 : 10,
      // Black in the ImageNet-normalized space the ResNet reads: the digits' background. Normalized 0 would be the
      // mean colour, a grey that replaces background and strokes alike.
      baseline: IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]),
      generator: gen,
      label: "attributions",
    });
    // Shown un-normalised: the ImageNet statistics undone, clamped to [0, 1].
    const mean = tensor(IMAGENET_MEAN, { device: rx.device }).reshape([1, 3, 1, 1]),
      std = tensor(IMAGENET_STD, { device: rx.device }).reshape([1, 3, 1, 1]);
    await saveOverlays(
      `${flags.out}/resnet_heatmaps.png`,
      rx.mul(std).add(mean).clamp(0, 1),
      resnetResult.maps,
      Math.min(5, rx.shape[0]),
      size <= 32 ? 4 : 2,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }

  const rows = (r: Explained) =>
    Object.keys(r.maps).map((m) => [m, r.curves[m].area.toFixed(3), r.curves.random.area.toFixed(3)]);
  console.log();
  console.log(table(["MNIST CNN", "deletion AUC", "random AUC"], rows(mnistResult)));
  console.log();
  console.log(table(["ResNet-18", "deletion AUC", "random AUC"], rows(resnetResult)));

  const plots = ([["MNIST CNN", mnistResult], ["ResNet-18", resnetResult]] as const).map(([title, r]) => {
    const plot = new Plot({
      title: `deletion curves, ${title}`,
      xLabel: "fraction of pixels deleted",
      yLabel: "p(class)",
      yRange: [0, 1],
    });
    for (const [name, c] of Object.entries(r.curves)) {
      plot.line(c.fractions, c.probs, {
        label: `${name} (${c.area.toFixed(2)})`,
        dash: name === "random" ? [6, 4] : undefined,
      });
    }
    return plot;
  });
  await new Figure(plots, { columns: 2, panelWidth: 480, panelHeight: 340 }).savePng(
    `${flags.out}/deletion_curves.png`,
  );
  await models.saveSafetensors(cnn.stateDict(), `${flags.out}/cnn.safetensors`);
  console.log(`\npictures and weights in ${flags.out}/`);
  return { mnist: mnistResult.curves, resnet: resnetResult.curves };
}

if (import.meta.main) await main();
