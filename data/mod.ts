/**
 * The `data` member of dendrite: datasets, the `DataLoader`, `ImageFolder`,
 * torchvision-style `transforms`, and the embedded MNIST digits.
 *
 * @example
 * ```ts ignore
 * import { DataLoader, ImageFolder, transforms } from "./mod.ts";
 * const transform = new transforms.Compose([
 *   new transforms.Resize(256),
 *   new transforms.CenterCrop(224),
 *   new transforms.ToTensor(),
 *   new transforms.Normalize({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }),
 * ]);
 * const train = new ImageFolder("data/train", { transform });
 * const loader = new DataLoader(train, { batchSize: 32, shuffle: true, numWorkers: 2 });
 * for await (const [images, labels] of loader) {
 *   // images: [32, 3, 224, 224] float32, labels: [32] int32
 * }
 * ```
 *
 * @module
 */

export { checkIndex, ConcatDataset, type Dataset, randomSplit, Subset, TensorDataset } from "./dataset.ts";
export {
  activeWorkerCount,
  type Collated,
  DataLoader,
  type DataLoaderOptions,
  DataLoaderWorkerError,
  defaultCollate,
} from "./dataloader.ts";
export {
  decodeImage,
  ImageFolder,
  type ImageFolderInit,
  type ImageFolderOptions,
  ImageReadError,
  IMG_EXTENSIONS,
  readImage,
} from "./image_folder.ts";
export {
  CharVocabulary,
  loadMobyDick,
  type MobyDickOptions,
  randomBatch,
  splitTrainVal,
  type SplitTrainValOptions,
  streamBatches,
  type TokenBatch,
  unigramBits,
} from "./text.ts";
export { type TokenizeOptions, tokenizeWords, WordVocabulary, type WordVocabularyOptions } from "./words.ts";
export {
  hasWordNet,
  hypernymPairs,
  loadWordNet,
  parseWordNetData,
  synonymPairs,
  type Synset,
  WORDNET_DIR,
  type WordNetPos,
} from "./wordnet.ts";
export { loadMnist, loadMnistDigits, type Mnist, MNIST_SIZE, type MnistOptions, type MnistSplit } from "./mnist.ts";
export { isWorkerSendable, NotSendableError, revive, specOf, type WorkerSendable, type WorkerSpec } from "./spec.ts";
export type { Image, TransformLike } from "./transforms.ts";
export * as transforms from "./transforms.ts";
