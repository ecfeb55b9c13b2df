import assert from "node:assert/strict";
import { captureWarnings, greyPng, withDir, writeImage } from "./_test_utils.ts";
import { decodeImage, ImageFolder, ImageReadError } from "./image_folder.ts";
import { Compose, ToTensor } from "./transforms.ts";

Deno.test("ImageFolder: sorted classes, classToIdx, samples in walk order, nested folders, extensions", async () => {
  await withDir(async (root) => {
    for (const d of ["dog", "cat", "cat/sub", "bird"]) await Deno.mkdir(`${root}/${d}`, { recursive: true });
    const px = () => [1, 2, 3];
    await writeImage(`${root}/dog/b.png`, 2, 2, px);
    await writeImage(`${root}/dog/a.JPG`, 2, 2, px, "jpeg");
    await writeImage(`${root}/cat/z.png`, 2, 2, px);
    await writeImage(`${root}/cat/sub/y.jpeg`, 2, 2, px, "jpeg");
    await writeImage(`${root}/bird/x.png`, 2, 2, px);
    await Deno.writeTextFile(`${root}/bird/notes.txt`, "not an image");
    await Deno.writeTextFile(`${root}/README`, "a file at the root is not a class");
    const ds = new ImageFolder(root);
    assert.deepEqual(ds.classes, ["bird", "cat", "dog"]);
    assert.deepEqual(ds.classToIdx, { bird: 0, cat: 1, dog: 2 });
    assert.deepEqual(ds.samples, [
      [`${root}/bird/x.png`, 0],
      [`${root}/cat/z.png`, 1],
      [`${root}/cat/sub/y.jpeg`, 1],
      [`${root}/dog/a.JPG`, 2],
      [`${root}/dog/b.png`, 2],
    ]);
    assert.deepEqual(ds.targets, [0, 1, 1, 2, 2]);
    assert.equal(ds.length, 5);
    const only = new ImageFolder(root, { isValidFile: (p) => p.endsWith(".png") });
    assert.equal(only.length, 3);
    const withTxt = new ImageFolder(root, { extensions: [".txt", ".png"] });
    assert.ok(withTxt.samples.some(([p]) => p.endsWith("notes.txt")));
    assert.throws(() => new ImageFolder(root, { extensions: [".png"], isValidFile: () => true }), /not both/);
  });
});

Deno.test("ImageFolder.get: RGB image and class; RGBA and grey become RGB; transform and targetTransform", async () => {
  await withDir(async (root) => {
    await Deno.mkdir(`${root}/a`);
    await Deno.mkdir(`${root}/b`);
    await writeImage(`${root}/a/rgba.png`, 3, 2, (x, y) => [10 * x, 20 * y, 30, 77]);
    await Deno.writeFile(`${root}/b/grey.png`, await greyPng(2, 2, (x, y) => 50 + 100 * x + y));
    const ds = new ImageFolder(root);
    const [img, label] = await ds.get(0);
    assert.equal(label, 0);
    const raw = img as unknown as { width: number; height: number; channels: number; data: Uint8Array };
    assert.deepEqual([raw.width, raw.height, raw.channels], [3, 2, 3]);
    assert.deepEqual(Array.from(raw.data), [0, 0, 30, 10, 0, 30, 20, 0, 30, 0, 20, 30, 10, 20, 30, 20, 20, 30]);
    const [gimg, glabel] = await ds.get(1);
    assert.equal(glabel, 1);
    const g = gimg as unknown as { data: Uint8Array; channels: number };
    assert.equal(g.channels, 3);
    assert.deepEqual(Array.from(g.data), [50, 50, 50, 150, 150, 150, 51, 51, 51, 151, 151, 151]);
    const t = new ImageFolder(root, { transform: new Compose([new ToTensor()]), targetTransform: (c) => c * 10 });
    const [x, y] = await t.get(1);
    assert.deepEqual(x.shape, [3, 2, 2]);
    assert.equal(y, 10);
    assert.deepEqual(Array.from(await x.data()).slice(0, 4).map((v) => Math.round(v * 255)), [50, 150, 51, 151]);
    await assert.rejects(async () => await t.get(2), /ImageFolder.get: index 2 is out of range/);
  });
});

Deno.test("ImageFolder: errors name the path (missing root, no classes, empty class, allowEmpty)", async () => {
  await withDir(async (root) => {
    assert.throws(() => new ImageFolder(`${root}/nope`), new RegExp(`root folder ${root}/nope not found`));
    assert.throws(() => new ImageFolder(root), /couldn't find any class folder in/);
    await Deno.mkdir(`${root}/full`);
    await Deno.mkdir(`${root}/empty`);
    await writeImage(`${root}/full/a.png`, 1, 1, () => [1, 1, 1]);
    await Deno.writeTextFile(`${root}/empty/x.txt`, "x");
    assert.throws(() => new ImageFolder(root), new RegExp(`no valid file .* class folder\\(s\\) ${root}/empty`));
    const ds = new ImageFolder(root, { allowEmpty: true });
    assert.deepEqual(ds.classes, ["empty", "full"]);
    assert.deepEqual(ds.samples, [[`${root}/full/a.png`, 1]]);
  });
});

Deno.test("ImageFolder: truncated PNG/JPEG and a non-image file fail naming the path, or are skipped", async () => {
  await withDir(async (root) => {
    await Deno.mkdir(`${root}/c`);
    await writeImage(`${root}/c/0good.png`, 4, 4, () => [9, 9, 9]);
    await writeImage(`${root}/c/1trunc.png`, 16, 16, (x, y) => [x * 9, y * 9, 3]);
    await writeImage(`${root}/c/2trunc.jpg`, 16, 16, (x, y) => [x * 9, y * 9, 3], "jpeg");
    for (const f of ["1trunc.png", "2trunc.jpg"]) {
      const b = await Deno.readFile(`${root}/c/${f}`);
      await Deno.writeFile(`${root}/c/${f}`, b.slice(0, Math.floor(b.length * 0.9)));
    }
    await Deno.writeTextFile(`${root}/c/3fake.png`, "this is text, not a PNG");
    const ds = new ImageFolder(root);
    await ds.get(0);
    await assert.rejects(
      () => ds.get(1),
      (e: Error) => e instanceof ImageReadError && e.path === `${root}/c/1trunc.png` && /truncated PNG/.test(e.message),
    );
    await assert.rejects(() => ds.get(2), new RegExp(`cannot read image ${root}/c/2trunc.jpg: JPEG decoding failed`));
    await assert.rejects(() => ds.get(3), new RegExp(`cannot read image ${root}/c/3fake.png: not a PNG or JPEG`));
    await Deno.remove(`${root}/c/0good.png`);
    await assert.rejects(() => ds.get(0), new RegExp(`cannot read image ${root}/c/0good.png`));
    const skip = new ImageFolder(root, { onError: "skip" });
    const warnings = await captureWarnings(async () => {
      assert.equal(await skip.get(0), null);
      assert.equal(await skip.get(0), null);
    });
    assert.equal(warnings.length, 1, "one warning per file");
    assert.ok(warnings[0].includes("1trunc.png"));
    assert.deepEqual([...skip.badFiles], [`${root}/c/1trunc.png`]);
  });
  await assert.rejects(() => decodeImage(new Uint8Array([1, 2, 3]), "mem"), /cannot read image mem: not a PNG or JPEG/);
});
