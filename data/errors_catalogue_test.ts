// The bad-input catalogue of data/: loaders, datasets, image folders, transforms and vocabularies given bad input.
// Each call must throw the error listed and leave the data (tensors, images, files on disk) and the random stream it
// could have touched bit-identical.
import { badInput, catalogueSuite, fileAt } from "@dendrite/tensor/testing";
import { defaultGenerator, Generator, randn, type Tensor, tensor } from "@dendrite/tensor";
import {
  CharVocabulary,
  DataLoader,
  ImageFolder,
  ImageReadError,
  randomSplit,
  TensorDataset,
  transforms,
} from "./mod.ts";
import type { Image } from "./mod.ts";

/** A small tensor data set and the tensors behind it. */
function tensors(): { x: Tensor; y: Tensor; ds: TensorDataset } {
  const x = randn([6, 2]), y = tensor([0, 1, 0, 1, 1, 0], { dtype: "int32" });
  return { x, y, ds: new TensorDataset(x, y) };
}

/** A folder with one class holding a file that claims to be a PNG but is not; removed by the caller. */
async function brokenFolder(): Promise<{ root: string; bad: string }> {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/cats`);
  const bad = `${root}/cats/broken.png`;
  await Deno.writeFile(bad, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 1, 2, 3]));
  return { root, bad };
}

const image = (): Image => ({ width: 2, height: 2, channels: 3, data: new Uint8Array(12).fill(100) });

catalogueSuite("catalogue[data]", [
  badInput({
    name: "DataLoader with batchSize 0",
    setup: tensors,
    act: ({ ds }) => new DataLoader(ds, { batchSize: 0 }),
    error: RangeError,
    words: ["DataLoader: batchSize must be a positive integer, got 0"],
    state: ({ x, y }) => [x, y, defaultGenerator],
  }),
  badInput({
    name: "DataLoader with numWorkers -1",
    setup: tensors,
    act: ({ ds }) => new DataLoader(ds, { numWorkers: -1 }),
    error: RangeError,
    words: ["numWorkers must be a non-negative integer"],
    state: ({ x, y }) => [x, y, defaultGenerator],
  }),
  badInput({
    name: "DataLoader over an array instead of a dataset",
    setup: () => [1, 2, 3],
    act: (a) => new DataLoader(a as never),
    error: TypeError,
    words: ["DataLoader: the dataset must have a length and a get(index) method"],
    state: (a) => [a, defaultGenerator],
  }),
  badInput({
    name: "a DataLoader batch of samples of different shapes",
    setup: () => {
      const parts = [randn([2]), randn([3])];
      const ds = { length: 2, get: (i: number) => parts[i] };
      return { parts, loader: new DataLoader(ds, { batchSize: 2 }) };
    },
    act: async ({ loader }) => {
      for await (const _ of loader) { /* the first batch fails */ }
    },
    error: RangeError,
    words: ["DataLoader collate"],
    // Not the random stream: an epoch draws its seed when it starts, before any batch (as PyTorch's does).
    state: ({ parts }) => parts,
  }),
  badInput({
    name: "TensorDataset of tensors with different first dims",
    setup: () => [randn([4, 2]), randn([5])],
    act: ([a, b]) => new TensorDataset(a, b),
    error: RangeError,
    words: ["TensorDataset"],
    state: (ts) => ts,
  }),
  badInput({
    name: "TensorDataset.get past the end",
    setup: tensors,
    act: ({ ds }) => ds.get(6),
    error: RangeError,
    words: ["index 6 is out of range for a dataset of length 6"],
    state: ({ x, y }) => [x, y],
  }),
  badInput({
    name: "randomSplit whose lengths do not add up leaves the generator alone",
    setup: () => ({ ...tensors(), g: new Generator(5) }),
    act: ({ ds, g }) => randomSplit(ds, [3, 2], g),
    error: RangeError,
    words: ["randomSplit: lengths [3,2] sum to 5, but the dataset has 6 samples"],
    state: ({ x, y, g }) => [x, y, g],
  }),
  badInput({
    name: "randomSplit with a negative length",
    setup: () => ({ ...tensors(), g: new Generator(5) }),
    act: ({ ds, g }) => randomSplit(ds, [7, -1], g),
    error: RangeError,
    words: ["lengths must be non-negative numbers"],
    state: ({ x, y, g }) => [x, y, g],
  }),
  badInput({
    name: "ImageFolder of a missing root",
    setup: () => "/nonexistent/dendrite-images",
    act: (root) => new ImageFolder(root),
    error: Error,
    words: ["ImageFolder: root folder /nonexistent/dendrite-images not found"],
    state: (root) => fileAt(root),
  }),
  badInput({
    name: "ImageFolder.get of a corrupt PNG names the file and leaves it as it was",
    setup: brokenFolder,
    act: ({ root }) => new ImageFolder(root).get(0),
    error: ImageReadError,
    words: ["broken.png"],
    state: ({ bad }) => fileAt(bad),
    cleanup: ({ root }) => Deno.remove(root, { recursive: true }),
  }),
  badInput({
    name: "ImageFolder with onError 'ignore'",
    setup: brokenFolder,
    act: ({ root }) => new ImageFolder(root, { onError: "ignore" as never }),
    error: TypeError,
    words: ['ImageFolder: onError must be "raise" or "skip", got "ignore"'],
    state: ({ bad }) => fileAt(bad),
    cleanup: ({ root }) => Deno.remove(root, { recursive: true }),
  }),
  badInput({
    name: "transforms.Normalize with a zero std",
    setup: () => null,
    act: () => new transforms.Normalize({ mean: [0.5], std: [0] }),
    error: RangeError,
    words: ["Normalize: std has a zero"],
    state: () => null,
  }),
  badInput({
    name: "transforms.Normalize of an image not yet a tensor",
    setup: image,
    act: (img) => new transforms.Normalize({ mean: [0.5], std: [0.2] }).forward(img as never),
    error: TypeError,
    words: ["Normalize: expected a tensor (apply ToTensor first)"],
    state: (img) => img.data,
  }),
  badInput({
    name: "transforms.Normalize with 2 channels for a 3-channel tensor",
    setup: () => randn([3, 4, 4]),
    act: (x) => new transforms.Normalize({ mean: [0.5, 0.5], std: [0.2, 0.2] }).forward(x),
    error: RangeError,
    words: ["mean/std have 2 channels", "has 3"],
    state: (x) => x,
  }),
  badInput({
    name: "transforms.Resize to size 0",
    setup: image,
    act: (img) => new transforms.Resize(0).forward(img),
    error: RangeError,
    words: ["Resize", "size must be a positive integer"],
    state: (img) => img.data,
  }),
  badInput({
    name: "transforms.RandomHorizontalFlip with p = 2",
    setup: () => null,
    act: () => new transforms.RandomHorizontalFlip(2),
    error: RangeError,
    words: ["RandomHorizontalFlip: p must be in [0, 1], got 2"],
    state: () => defaultGenerator,
  }),
  badInput({
    name: "CharVocabulary.encode of a character it does not have",
    setup: () => CharVocabulary.fromText("hello"),
    act: (v) => v.encode("help!"),
    error: Error,
    words: ['CharVocabulary.encode: character "p" at position 3 is not in the vocabulary'],
    state: (v) => v.chars,
  }),
  badInput({
    name: "CharVocabulary.decode of an id past the end",
    setup: () => CharVocabulary.fromText("abc"),
    act: (v) => v.decode([0, 3]),
    error: Error,
    words: ["id 3 at position 1 is outside [0, 3)"],
    state: (v) => v.chars,
  }),
  badInput({
    name: "CharVocabulary with a repeated character",
    setup: () => null,
    act: () => new CharVocabulary(["a", "b", "a"]),
    error: Error,
    words: ['character "a" appears twice (entries 0 and 2)'],
    state: () => null,
  }),
]);
