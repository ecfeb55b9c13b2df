import assert from "node:assert/strict";
import { Generator, type Tensor, tensor } from "@dendrite/tensor";
import { captureWarnings, withDir, writeImage } from "./_test_utils.ts";
import { activeWorkerCount, DataLoader, defaultCollate } from "./dataloader.ts";
import { randomSplit, TensorDataset } from "./dataset.ts";
import { ImageFolder } from "./image_folder.ts";
import { CenterCrop, Compose, Lambda, Normalize, RandomHorizontalFlip, Resize, ToTensor } from "./transforms.ts";

async function collect<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

const xs = tensor(Array.from({ length: 10 }, (_, i) => [i, -i]));
const ys = tensor(Array.from({ length: 10 }, (_, i) => i % 3), { dtype: "int32" });

Deno.test("DataLoader: batches in order, length, dropLast", async () => {
  const ds = new TensorDataset(xs, ys);
  const loader = new DataLoader(ds, { batchSize: 4 });
  assert.equal(loader.length, 3);
  const batches = await collect(loader);
  assert.deepEqual(batches.map(([x]) => x.shape), [[4, 2], [4, 2], [2, 2]]);
  assert.deepEqual(await batches[2][0].tolist(), [[8, -8], [9, -9]]);
  assert.equal(batches[0][1].dtype, "int32");
  assert.deepEqual(await batches[0][1].tolist(), [0, 1, 2, 0]);
  const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropped.length, 2);
  assert.equal((await collect(dropped)).length, 2);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer/);
});

Deno.test("DataLoader: shuffle is a permutation from the generator, reproducible, new each epoch", async () => {
  const ds = { length: 10, get: (i: number) => i };
  const firstCol = async (seed: number) => {
    const loader = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(seed) });
    const e1 = (await collect(loader)).flatMap((b) => Array.from(b.dataSync()));
    const e2 = (await collect(loader)).flatMap((b) => Array.from(b.dataSync()));
    return [e1, e2];
  };
  const [a1, a2] = await firstCol(4);
  const [b1, b2] = await firstCol(4);
  assert.deepEqual(a1, b1);
  assert.deepEqual(a2, b2);
  assert.notDeepEqual(a1, a2);
  assert.deepEqual([...a1].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Epoch 1 = the generator's randperm after the epoch's base-seed draw.
  const ref = new Generator(4);
  ref.random();
  assert.deepEqual(a1, ref.randperm(10));
});

Deno.test("defaultCollate: numbers, floats, booleans, strings, objects, nulls dropped, shape mismatch", async () => {
  const b = defaultCollate([{ a: 1, b: 0.5, c: true, d: "x" }, null, { a: 2, b: 1, c: false, d: "y" }]);
  assert.equal(b.a.dtype, "int32");
  assert.equal(b.b.dtype, "float32");
  assert.equal(b.c.dtype, "bool");
  assert.deepEqual(b.d, ["x", "y"]);
  assert.deepEqual(await b.b.tolist(), [0.5, 1]);
  assert.throws(
    () => defaultCollate([tensor([1, 2]), tensor([1, 2, 3])]),
    /cannot stack batch: sample 1 has shape \[3\] but sample 0 has \[2\]/,
  );
});

async function makeFolder(root: string, n: number, size = 20): Promise<void> {
  for (const cls of ["a", "b", "c"]) await Deno.mkdir(`${root}/${cls}`);
  for (let i = 0; i < n; i++) {
    const cls = ["a", "b", "c"][i % 3];
    const format = i % 2 ? "png" : "jpeg";
    await writeImage(
      `${root}/${cls}/${String(i).padStart(3, "0")}.${format === "png" ? "png" : "jpg"}`,
      size,
      size + (i % 4),
      (x, y) => [
        (x * 7 + i) & 255,
        (y * 5 + 2 * i) & 255,
        (x * y) & 255,
      ],
      format,
    );
  }
}

const pipeline = () =>
  new Compose([new Resize(12), new CenterCrop(10), new ToTensor(), new Normalize({ mean: [0.5], std: [0.25] })]);

Deno.test("DataLoader workers: numWorkers 2 gives the same batches as 0, shuffled, with a Subset", async () => {
  await withDir(async (root) => {
    await makeFolder(root, 14);
    const ds = new ImageFolder(root, { transform: pipeline() });
    const opts = { batchSize: 4, shuffle: true };
    const main = await collect(new DataLoader(ds, { ...opts, generator: new Generator(9) }));
    const work = await collect(
      new DataLoader(ds, { ...opts, generator: new Generator(9), numWorkers: 2, prefetch: 1 }),
    );
    assert.equal(work.length, 4);
    for (let b = 0; b < main.length; b++) {
      assert.deepEqual(work[b][0].shape, main[b][0].shape);
      assert.deepEqual(Array.from(work[b][0].dataSync()), Array.from(main[b][0].dataSync()));
      assert.deepEqual(Array.from(work[b][1].dataSync()), Array.from(main[b][1].dataSync()));
    }
    // A Subset from randomSplit travels too.
    const [train] = randomSplit(ds, [10, 4], new Generator(0));
    const sub0 = await collect(new DataLoader(train, { batchSize: 5 }));
    const sub2 = await collect(new DataLoader(train, { batchSize: 5, numWorkers: 2 }));
    assert.deepEqual(Array.from(sub2[1][0].dataSync()), Array.from(sub0[1][0].dataSync()));
    // Random transforms on workers: reproducible for the same loader seed.
    const aug = new ImageFolder(root, {
      transform: new Compose([new CenterCrop(10), new RandomHorizontalFlip(), new ToTensor()]),
    });
    const r1 = await collect(new DataLoader(aug, { batchSize: 14, numWorkers: 2, generator: new Generator(1) }));
    const r2 = await collect(new DataLoader(aug, { batchSize: 14, numWorkers: 2, generator: new Generator(1) }));
    assert.deepEqual(Array.from(r1[0][0].dataSync()), Array.from(r2[0][0].dataSync()));
  });
});

Deno.test("DataLoader workers: break stops the workers; a corrupt image mid-epoch names its path", async () => {
  await withDir(async (root) => {
    await makeFolder(root, 12);
    const ds = new ImageFolder(root, { transform: pipeline() });
    let seen = 0;
    for await (const [x] of new DataLoader(ds, { batchSize: 2, numWorkers: 2 })) {
      assert.deepEqual((x as Tensor).shape, [2, 3, 10, 10]);
      assert.equal(activeWorkerCount(), 2);
      if (++seen === 2) break;
    }
    assert.equal(seen, 2);
    assert.equal(activeWorkerCount(), 0, "break terminated the workers");
    const bad = ds.samples[7][0];
    await Deno.writeFile(bad, (await Deno.readFile(bad)).slice(0, 40));
    for (const numWorkers of [0, 2]) {
      const loader = new DataLoader(new ImageFolder(root, { transform: pipeline() }), { batchSize: 3, numWorkers });
      let batches = 0;
      await assert.rejects(async () => {
        for await (const _ of loader) batches++;
      }, (e: Error) => e.message.includes(bad) && (numWorkers === 0 || (e as Error & { path?: string }).path === bad));
      assert.equal(batches, 2, `numWorkers ${numWorkers}: the two batches before the bad file arrive`);
      assert.equal(activeWorkerCount(), 0, "an error terminated the workers");
    }
    // onError: "skip" drops the file from its batch.
    const skip = new ImageFolder(root, { transform: pipeline(), onError: "skip" });
    await captureWarnings(async () => {
      for (const numWorkers of [0, 2]) {
        const sizes = (await collect(new DataLoader(skip, { batchSize: 3, numWorkers }))).map((b) => b[0].shape[0]);
        assert.deepEqual(sizes, [3, 3, 2, 3]);
      }
    });
  });
});

Deno.test("DataLoader workers: a dataset that cannot be sent falls back to the main thread with one warning", async () => {
  await withDir(async (root) => {
    await makeFolder(root, 3);
    const ds = new ImageFolder(root, { transform: new Compose([new Lambda((x) => x), new ToTensor()]) });
    const warnings = await captureWarnings(async () => {
      const loader = new DataLoader(ds, { batchSize: 1, numWorkers: 2 });
      assert.equal((await collect(loader)).length, 3);
      await collect(loader);
      const plain = new DataLoader(new TensorDataset(xs, ys), { batchSize: 5, numWorkers: 2 });
      assert.equal((await collect(plain)).length, 2);
    });
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(warnings[0], /numWorkers=2 ignored.*Lambda transforms hold a closure/);
    assert.match(warnings[1], /TensorDataset, which cannot be rebuilt in a worker/);
  });
});
