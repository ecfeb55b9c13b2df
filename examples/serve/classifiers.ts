/**
 * The classifiers the inference server and the `classify` CLI load: each an
 * architecture, the input it takes (channels × height × width) and how an
 * image becomes that input (resize, grey or RGB, scale to [0, 1], normalise),
 * with weights from a safetensors file in PyTorch's key names.
 *
 * @module
 */

import { data, loadSafetensors, models, nn, noGrad, softmax, stack, type Tensor, tensor } from "../../mod.ts";
import { mnistCnn } from "../mnist_loop.ts";

/** An architecture the server knows how to build. */
export interface ClassifierSpec {
  /** What it is, for `--help` and `GET /`. */
  readonly description: string;
  /** The input one sample takes: `[channels, height, width]`. */
  readonly inputShape: readonly [number, number, number];
  /** Per-channel mean and std applied after scaling pixels to [0, 1]. */
  readonly mean: readonly number[];
  /** See {@link ClassifierSpec.mean}. */
  readonly std: readonly number[];
  /** The state-dict key of the last layer's weight, whose rows are the classes. */
  readonly headKey: string;
  /** Builds the network for `numClasses` classes. */
  build(numClasses: number): { forward(x: Tensor): Tensor } & nn.Module;
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** The architectures by name (`--model`). */
export const CLASSIFIERS: Readonly<Record<string, ClassifierSpec>> = {
  "mnist-cnn": {
    description: "the MNIST CNN of examples/mnist_cnn.ts (conv-BN-ReLU-pool ×2, fc 3136→128→10), 1×28×28 grey",
    inputShape: [1, 28, 28],
    mean: [0],
    std: [1],
    headKey: "12.weight",
    build: () => mnistCnn(),
  },
  "mnist-mlp": {
    description: "the MNIST MLP of examples/mnist_mlp.ts (784-512-256-10), 1×28×28 grey",
    inputShape: [1, 28, 28],
    mean: [0],
    std: [1],
    headKey: "1.6.weight",
    build: (n) => new nn.Sequential(new nn.Flatten(), models.mlp([784, 512, 256, n], { dropout: 0.1 })),
  },
  "lenet5": {
    description: "LeNet-5 (models.lenet5), 1×28×28 grey",
    inputShape: [1, 28, 28],
    mean: [0],
    std: [1],
    headKey: "11.weight",
    build: (n) => models.lenet5(n),
  },
  "resnet18": {
    description: "ResNet-18 with torchvision's names (models.resnet18), 3×224×224 RGB, ImageNet normalisation",
    inputShape: [3, 224, 224],
    ...IMAGENET,
    headKey: "fc.weight",
    build: (n) => models.resnet18({ numClasses: n }),
  },
};

/** A classifier with its weights loaded, ready for batches. */
export interface LoadedClassifier {
  /** The architecture's name. */
  readonly name: string;
  /** Its spec. */
  readonly spec: ClassifierSpec;
  /** The network, in eval mode. */
  readonly model: { forward(x: Tensor): Tensor } & nn.Module;
  /** The class names (from a labels file, else "0", "1", …). */
  readonly labels: readonly string[];
  /** Elements of one input sample. */
  readonly sampleSize: number;
}

/**
 * Builds `name` and loads `weightsPath` (safetensors, PyTorch's keys) into
 * it; the number of classes is read from the weights. `labels` (one per line)
 * must have one name per class.
 */
export async function loadClassifier(
  name: string,
  weightsPath: string,
  labelsPath?: string,
): Promise<LoadedClassifier> {
  const spec = CLASSIFIERS[name];
  if (!spec) throw new Error(`unknown model "${name}": expected one of ${Object.keys(CLASSIFIERS).join(", ")}`);
  let state: Record<string, Tensor>;
  try {
    state = await loadSafetensors(weightsPath);
  } catch (e) {
    throw new Error(`cannot load weights "${weightsPath}": ${(e as Error).message}`);
  }
  const head = state[spec.headKey];
  if (!head || head.ndim !== 2) {
    throw new Error(`weights "${weightsPath}" have no 2-D "${spec.headKey}": they are not a ${name}`);
  }
  const numClasses = head.shape[0];
  const model = spec.build(numClasses);
  try {
    model.loadStateDict(state);
  } catch (e) {
    throw new Error(`weights "${weightsPath}" do not fit ${name}: ${(e as Error).message}`);
  }
  model.eval();
  let labels = Array.from({ length: numClasses }, (_, i) => String(i));
  if (labelsPath) {
    labels = (await Deno.readTextFile(labelsPath)).split(/\r?\n/).map((l) => l.trim()).filter((l) => l);
    if (labels.length !== numClasses) {
      throw new Error(`labels "${labelsPath}" name ${labels.length} classes, the weights have ${numClasses}`);
    }
  }
  const sampleSize = spec.inputShape.reduce((a, b) => a * b, 1);
  return { name, spec, model, labels, sampleSize };
}

/**
 * Decoded image → one input sample: resized to the model's size (bilinear,
 * antialiased), grey (ITU-R 601 luma) for one-channel models, scaled to
 * [0, 1] and normalised, in CHW order.
 */
export function imageToSample(img: data.Image, spec: ClassifierSpec): Float32Array {
  const [c, h, w] = spec.inputShape;
  const resized = img.width === w && img.height === h ? img : data.transforms.resizeImage(img, h, w, true);
  const out = new Float32Array(c * h * w);
  const src = resized.data, k = resized.channels;
  for (let p = 0; p < h * w; p++) {
    const r = src[p * k], g = src[p * k + Math.min(1, k - 1)], b = src[p * k + Math.min(2, k - 1)];
    if (c === 1) out[p] = ((0.299 * r + 0.587 * g + 0.114 * b) / 255 - spec.mean[0]) / spec.std[0];
    else {
      out[p] = (r / 255 - spec.mean[0]) / spec.std[0];
      out[h * w + p] = (g / 255 - spec.mean[1]) / spec.std[1];
      out[2 * h * w + p] = (b / 255 - spec.mean[2]) / spec.std[2];
    }
  }
  return out;
}

/** Class probabilities for a batch of samples: one forward pass, softmax over the classes. */
export function classifyBatch(clf: LoadedClassifier, samples: readonly Float32Array[]): Float32Array[] {
  return noGrad(() => {
    const x = stack(samples.map((s) => tensor(s, { shape: [...clf.spec.inputShape] })), 0);
    const probs = softmax(clf.model.forward(x), 1);
    const flat = probs.dataSync() as Float32Array;
    const n = clf.labels.length;
    const out = samples.map((_, i) => flat.slice(i * n, (i + 1) * n));
    for (const t of [x, probs]) t.dispose();
    return out;
  });
}

/** The `k` most probable classes of `probs`, best first. */
export function topK(
  probs: Float32Array,
  labels: readonly string[],
  k: number,
): { class: number; label: string; probability: number }[] {
  return Array.from(probs, (p, i) => ({ class: i, label: labels[i], probability: p }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}
