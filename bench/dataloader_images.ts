/**
 * DataLoader throughput over a folder of 224×224 JPEGs (ImageFolder +
 * ToTensor + Normalize, batch 32) with 0, 1 and 2 workers, printed as a
 * table of images/s. The images are written to a temporary folder first
 * (MNIST digits scaled up and tinted, so JPEG decoding does real work).
 *
 *   deno run -A bench/dataloader_images.ts [--images 256]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Image } from "imagescript";
import { data } from "../mod.ts";

const { values } = parseArgs({ options: { images: { type: "string", default: "256" } } });
const total = Number(values.images);
const root = await Deno.makeTempDir({ prefix: "dendrite_loader_bench_" });
const digits = await data.loadMnistDigits();

let written = 0;
for (let cls = 0; cls < 4; cls++) {
  await Deno.mkdir(`${root}/class${cls}`);
  for (let i = 0; i < total / 4; i++) {
    const src = digits[(written * 7) % digits.length];
    const img = new Image(224, 224);
    for (let y = 0; y < 224; y++) {
      for (let x = 0; x < 224; x++) {
        const v = src[Math.floor(y / 8) * 28 + Math.floor(x / 8)];
        // RGBA: tint per class so the three channels differ.
        img.bitmap.set([v, (v + 60 * cls) & 255, 255 - v, 255], (y * 224 + x) * 4);
      }
    }
    await Deno.writeFile(`${root}/class${cls}/${i}.jpg`, await img.encodeJPEG(90));
    written++;
  }
}

const transform = new data.transforms.Compose([
  new data.transforms.ToTensor(),
  new data.transforms.Normalize({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }),
]);
const rows: string[] = [];
for (const numWorkers of [0, 1, 2]) {
  const loader = new data.DataLoader(new data.ImageFolder(root, { transform }), { batchSize: 32, numWorkers });
  const start = performance.now();
  let n = 0;
  for await (const [images] of loader) n += images.shape[0];
  const seconds = (performance.now() - start) / 1000;
  rows.push(`| ${numWorkers} | ${n} | ${seconds.toFixed(2)} s | ${(n / seconds).toFixed(0)} |`);
}
await Deno.remove(root, { recursive: true });

console.log(`| workers | images (224x224 JPEG) | time | images/s |`);
console.log(`|---:|---:|---:|---:|`);
for (const r of rows) console.log(r);
console.log(`(${navigator.hardwareConcurrency} cores; worker start-up included)`);
