import assert from "node:assert/strict";
import { loadMnist } from "./mnist.ts";

Deno.test("loadMnist: shapes, dtypes, fixed 8000/2000 split, class counts", async () => {
  const { train, test } = await loadMnist();
  assert.deepEqual(train.images.shape, [8000, 1, 28, 28]);
  assert.deepEqual(train.images.dtype, "float32");
  assert.deepEqual(train.labels.shape, [8000]);
  assert.deepEqual(train.labels.dtype, "int32");
  assert.deepEqual(test.images.shape, [2000, 1, 28, 28]);
  assert.deepEqual(test.length, 2000);
  // The package's per-digit counts (src/digits/*.json), minus 200 each for test.
  const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
  const trainCounts = new Array(10).fill(0), testCounts = new Array(10).fill(0);
  for (const l of train.labelArray) trainCounts[l]++;
  for (const l of test.labelArray) testCounts[l]++;
  assert.deepEqual(trainCounts, perDigit.map((c) => c - 200));
  assert.deepEqual(testCounts, new Array(10).fill(200));
  // Round-robin interleaving: the first 10 labels are 0..9, and labels tensor equals labelArray.
  assert.deepEqual(Array.from(train.labelArray.slice(0, 20)), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  assert.deepEqual(Array.from(await train.labels.data()), Array.from(train.labelArray));
});

Deno.test("loadMnist: pixels in [0, 1], equal to bytes / 255, digits look like digits", async () => {
  const { train, test } = await loadMnist();
  const px = await test.images.data();
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < px.length; i++) {
    min = Math.min(min, px[i]);
    max = Math.max(max, px[i]);
    if (i % 997 === 0) assert.deepEqual(px[i], Math.fround(test.pixels[i] / 255));
  }
  assert.deepEqual(min, 0);
  assert.deepEqual(max, 1);
  // A digit has ink but mostly background: mean intensity between 5% and 30%.
  const first = train.pixels.subarray(0, 784);
  const mean = first.reduce((s, v) => s + v, 0) / 784 / 255;
  assert.ok(mean > 0.05 && mean < 0.3, `mean intensity ${mean}`);
});

Deno.test("loadMnist: deterministic, train and test disjoint, testPerClass option", async () => {
  const a = await loadMnist();
  const b = await loadMnist();
  assert.deepEqual(a.train.pixels, b.train.pixels);
  assert.deepEqual(a.test.labelArray, b.test.labelArray);
  // No test image appears in train (compare exact byte rows via a set of strings for a sample).
  const trainSet = new Set<string>();
  for (let i = 0; i < a.train.length; i++) trainSet.add(a.train.pixels.subarray(i * 784, (i + 1) * 784).join(","));
  let dup = 0;
  for (let i = 0; i < a.test.length; i += 7) {
    if (trainSet.has(a.test.pixels.subarray(i * 784, (i + 1) * 784).join(","))) dup++;
  }
  assert.ok(dup <= 1, `${dup} test images also in train`); // MNIST itself may hold the odd exact duplicate
  const c = await loadMnist({ testPerClass: 100 });
  assert.deepEqual(c.test.length, 1000);
  assert.deepEqual(c.train.length, 9000);
  await loadMnist({ testPerClass: 2000 }).then(
    () => assert.fail("expected an error"),
    (e) => assert.ok(/testPerClass/.test(e.message)),
  );
});
