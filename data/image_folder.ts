/**
 * `ImageFolder`: a labelled image data set read from `root/<class>/<file>`,
 * exactly as torchvision's `datasets.ImageFolder`, plus PNG/JPEG decoding
 * (with `npm:imagescript`).
 *
 * @module
 */

import { Image as ScriptImage } from "imagescript";
import type { Tensor } from "@dendrite/tensor";
import type { Dataset } from "./dataset.ts";
import { checkIndex } from "./dataset.ts";
import { specOf, type WorkerSendable, type WorkerSpec } from "./spec.ts";
import { applyTransform, type Image, type TransformLike } from "./transforms.ts";

/** The file extensions ImageFolder accepts by default (the formats we decode). */
export const IMG_EXTENSIONS: readonly string[] = [".png", ".jpg", ".jpeg"];

/** An image that could not be read or decoded; `path` names the file. */
export class ImageReadError extends Error {
  /** The file that failed. */
  readonly path: string;

  /** Creates the error. */
  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`cannot read image ${path}: ${reason}`, options);
    this.name = "ImageReadError";
    this.path = path;
  }
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && PNG_SIG.every((v, i) => b[i] === v);
}

function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/** Walks the PNG chunk list: every chunk complete and an IEND at the end (the decoder forgives truncation). */
function checkPngStructure(b: Uint8Array): string | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 8;
  while (pos + 8 <= b.length) {
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]);
    if (pos + 12 + len > b.length) return `truncated PNG: chunk ${type} needs ${len} bytes past the end of the file`;
    if (type === "IEND") return undefined;
    pos += 12 + len;
  }
  return "truncated PNG: no IEND chunk";
}

/**
 * Decodes PNG or JPEG bytes into an RGB {@link Image} (grey and RGBA become
 * RGB; alpha is dropped, like PIL's `convert("RGB")`). `name` is used in errors.
 */
export async function decodeImage(bytes: Uint8Array, name = "<bytes>"): Promise<Image> {
  const png = isPng(bytes);
  if (!png && !isJpeg(bytes)) {
    throw new ImageReadError(name, "not a PNG or JPEG file (unrecognised signature)");
  }
  if (png) {
    const problem = checkPngStructure(bytes);
    if (problem) throw new ImageReadError(name, problem);
  }
  let decoded: ScriptImage;
  try {
    decoded = await ScriptImage.decode(bytes);
  } catch (e) {
    throw new ImageReadError(name, `${png ? "PNG" : "JPEG"} decoding failed (${(e as Error).message})`, { cause: e });
  }
  const { width, height, bitmap } = decoded;
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    data[3 * p] = bitmap[4 * p];
    data[3 * p + 1] = bitmap[4 * p + 1];
    data[3 * p + 2] = bitmap[4 * p + 2];
  }
  return { width, height, channels: 3, data };
}

/** Reads and decodes an image file into RGB; errors name the path. */
export async function readImage(path: string): Promise<Image> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new ImageReadError(path, (e as Error).message, { cause: e });
  }
  return await decodeImage(bytes, path);
}

/** Options of {@link ImageFolder}. */
export interface ImageFolderOptions<X = Tensor, Y = number> {
  /** Applied to each decoded RGB {@link Image} (e.g. a `Compose` ending in `ToTensor`). */
  transform?: TransformLike<Image, X>;
  /** Applied to each class index. */
  targetTransform?: TransformLike<number, Y>;
  /** Accepted file extensions, case-insensitive (default {@link IMG_EXTENSIONS}); not with `isValidFile`. */
  extensions?: readonly string[];
  /** Decides which files are samples (instead of `extensions`). */
  isValidFile?: (path: string) => boolean;
  /** Allow class folders without any valid file (default false: an error naming them). */
  allowEmpty?: boolean;
  /**
   * What `get` does with a file that cannot be read or decoded: `"raise"`
   * (default) throws an {@link ImageReadError} naming the path; `"skip"` warns
   * once per file, records it in `badFiles` and returns `null`, which the
   * `DataLoader`'s default collate drops from the batch.
   */
  onError?: "raise" | "skip";
}

/** What {@link ImageFolder.fromSamples} takes: a finished scan (used to rebuild on workers). */
export interface ImageFolderInit<X = Tensor, Y = number> {
  /** The root folder. */
  root: string;
  /** Sorted class names. */
  classes: string[];
  /** `[path, classIndex]` pairs. */
  samples: [string, number][];
  /** See {@link ImageFolderOptions.transform}. */
  transform?: TransformLike<Image, X>;
  /** See {@link ImageFolderOptions.targetTransform}. */
  targetTransform?: TransformLike<number, Y>;
  /** See {@link ImageFolderOptions.onError}. */
  onError?: "raise" | "skip";
}

function joinPath(a: string, b: string): string {
  return a.endsWith("/") ? a + b : `${a}/${b}`;
}

/** Every file under `dir` (following links), ordered like Python's `sorted(os.walk(dir))`. */
function walkFiles(dir: string): string[] {
  const groups: [string, string[]][] = [];
  const visit = (d: string): void => {
    const files: string[] = [];
    for (const e of Deno.readDirSync(d)) {
      const p = joinPath(d, e.name);
      let isDir = e.isDirectory, isFile = e.isFile;
      if (e.isSymlink) {
        try {
          const st = Deno.statSync(p);
          isDir = st.isDirectory;
          isFile = st.isFile;
        } catch {
          continue; // a dangling link is not a sample
        }
      }
      if (isDir) visit(p);
      else if (isFile) files.push(e.name);
    }
    groups.push([d, files.sort()]);
  };
  visit(dir);
  groups.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return groups.flatMap(([d, files]) => files.map((f) => joinPath(d, f)));
}

/**
 * A data set of images in `root/<class>/**\/<file>`: classes are the sorted
 * sub-folder names, sample `i` is `[transform(image), targetTransform(classIndex)]`
 * with the image decoded to RGB (torchvision's `ImageFolder`).
 *
 * Errors, each naming the path: a missing root or a root without class
 * folders, a class folder with no valid file (unless `allowEmpty`), and, on
 * `get`, an unreadable, truncated or non-image file (unless `onError: "skip"`).
 *
 * @example
 * ```ts ignore
 * import { DataLoader, ImageFolder, transforms } from "./mod.ts";
 * const ds = new ImageFolder("data/train", {
 *   transform: new transforms.Compose([new transforms.Resize(256), new transforms.CenterCrop(224), new transforms.ToTensor()]),
 * });
 * console.log(ds.classes, ds.length);
 * const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, numWorkers: 2 });
 * for await (const [images, labels] of loader) {
 *   // images: [32, 3, 224, 224], labels: [32] int32
 * }
 * ```
 */
export class ImageFolder<X = Tensor, Y = number> implements Dataset<[X, Y]>, WorkerSendable {
  /** The root folder. */
  readonly root!: string;
  /** The class names, sorted. */
  readonly classes!: string[];
  /** Class name → index. */
  readonly classToIdx!: Record<string, number>;
  /** `[path, classIndex]` for every sample, class by class, files sorted. */
  readonly samples!: [string, number][];
  /** The class index of every sample. */
  readonly targets!: number[];
  /** The image transform. */
  readonly transform?: TransformLike<Image, X>;
  /** The target transform. */
  readonly targetTransform?: TransformLike<number, Y>;
  /** What `get` does with unreadable files. */
  readonly onError!: "raise" | "skip";
  /** Paths that failed with `onError: "skip"` so far. */
  readonly badFiles!: Set<string>;

  /** Scans `root` (synchronously). */
  constructor(root: string, options: ImageFolderOptions<X, Y> = {}) {
    const { extensions, isValidFile, allowEmpty = false } = options;
    if (extensions !== undefined && isValidFile !== undefined) {
      throw new TypeError("ImageFolder: give extensions or isValidFile, not both");
    }
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(root);
    } catch (e) {
      throw new Error(`ImageFolder: root folder ${root} not found (${(e as Error).message})`, { cause: e });
    }
    if (!st.isDirectory) throw new Error(`ImageFolder: root ${root} is not a folder`);
    const classes: string[] = [];
    for (const e of Deno.readDirSync(root)) {
      let isDir = e.isDirectory;
      if (e.isSymlink) {
        try {
          isDir = Deno.statSync(joinPath(root, e.name)).isDirectory;
        } catch {
          isDir = false;
        }
      }
      if (isDir) classes.push(e.name);
    }
    classes.sort();
    if (classes.length === 0) throw new Error(`ImageFolder: couldn't find any class folder in ${root}`);
    const exts = (extensions ?? IMG_EXTENSIONS).map((x) => x.toLowerCase());
    const valid = isValidFile ?? ((p: string) => exts.some((x) => p.toLowerCase().endsWith(x)));
    const samples: [string, number][] = [];
    const empty: string[] = [];
    classes.forEach((cls, idx) => {
      const dir = joinPath(root, cls);
      const files = walkFiles(dir).filter((p) => valid(p));
      if (files.length === 0) empty.push(dir);
      for (const f of files) samples.push([f, idx]);
    });
    if (empty.length > 0 && !allowEmpty) {
      const what = isValidFile ? "accepted by isValidFile" : `with extension ${exts.join(", ")}`;
      throw new Error(`ImageFolder: found no valid file (${what}) in the class folder(s) ${empty.join(", ")}`);
    }
    ImageFolder.#init(this, { root, classes, samples, ...options });
  }

  static #init<X, Y>(self: ImageFolder<X, Y>, init: ImageFolderInit<X, Y>): void {
    const w = self as unknown as Record<string, unknown>;
    w.root = init.root;
    w.classes = init.classes.slice();
    w.classToIdx = Object.fromEntries(init.classes.map((c, i) => [c, i]));
    w.samples = init.samples.map(([p, c]) => [p, c]);
    w.targets = init.samples.map(([, c]) => c);
    w.transform = init.transform;
    w.targetTransform = init.targetTransform;
    w.onError = init.onError ?? "raise";
    if (w.onError !== "raise" && w.onError !== "skip") {
      throw new TypeError(`ImageFolder: onError must be "raise" or "skip", got ${JSON.stringify(init.onError)}`);
    }
    w.badFiles = new Set<string>();
  }

  /** An ImageFolder from a finished scan, without touching the disk (how workers rebuild one). */
  static fromSamples<X = Tensor, Y = number>(init: ImageFolderInit<X, Y>): ImageFolder<X, Y> {
    const self = Object.create(ImageFolder.prototype) as ImageFolder<X, Y>;
    ImageFolder.#init(self, init);
    return self;
  }

  /** The number of samples. */
  get length(): number {
    return this.samples.length;
  }

  /**
   * Sample `index`: `[transform(rgbImage), targetTransform(classIndex)]`; with
   * `onError: "skip"` a file that cannot be read gives `null` instead.
   */
  async get(index: number): Promise<[X, Y]> {
    checkIndex("ImageFolder.get", index, this.samples.length);
    const [path, target] = this.samples[index];
    let img: Image;
    try {
      img = await readImage(path);
    } catch (e) {
      if (this.onError === "skip" && e instanceof ImageReadError) {
        if (!this.badFiles.has(path)) console.warn(`ImageFolder: skipping ${e.message}`);
        this.badFiles.add(path);
        return null as unknown as [X, Y];
      }
      throw e;
    }
    const x = this.transform ? applyTransform(this.transform, img) : img as unknown as X;
    const y = this.targetTransform ? applyTransform(this.targetTransform, target) : target as unknown as Y;
    return [x, y];
  }

  /** A spec rebuilding this data set (without rescanning) on a worker. */
  toWorkerSpec(): WorkerSpec {
    return {
      $module: import.meta.url,
      $export: "ImageFolder",
      $method: "fromSamples",
      $args: [{
        root: this.root,
        classes: this.classes,
        samples: this.samples,
        transform: specOf(this.transform, "ImageFolder's transform"),
        targetTransform: specOf(this.targetTransform, "ImageFolder's targetTransform"),
        onError: this.onError,
      }],
    };
  }
}
