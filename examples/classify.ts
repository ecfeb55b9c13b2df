/**
 * `classify`: an inference CLI that labels every image under a folder with a
 * trained classifier and writes a CSV. Run it as a script or compile it to a
 * single binary with `deno task compile:classify` (writes `bin/classify`).
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi examples/classify.ts IMAGES_DIR \
 *       --model mnist-cnn --weights runs/mnist_cnn/model.safetensors [--labels labels.txt] [--out results.csv] \
 *       [--batch-size 32] [--top 3]
 *   bin/classify IMAGES_DIR --model mnist-cnn --weights runs/mnist_cnn/model.safetensors --out results.csv
 *
 * Every `.png`, `.jpg` and `.jpeg` under the folder (recursively, in sorted
 * order) becomes one row: `path,class,label,probability,top,error` (`top`
 * lists the best `--top` classes as `label:probability`; a file that cannot
 * be read gets its reason in `error` and the run exits with status 1). The
 * CSV goes to `--out`, or to standard output.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data } from "../mod.ts";
import { CLASSIFIERS, classifyBatch, imageToSample, loadClassifier, topK } from "./serve/classifiers.ts";

/** The image files under `dir`, relative paths, sorted. */
export async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && data.IMG_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) out.push(path);
    }
  };
  await walk("");
  return out.sort();
}

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const USAGE = "usage: classify IMAGES_DIR --model NAME --weights FILE.safetensors [--labels FILE] [--out FILE.csv]\n" +
  "                [--batch-size 32] [--top 3]\n\nmodels:\n" +
  Object.entries(CLASSIFIERS).map(([n, s]) => `  ${n.padEnd(10)} ${s.description}`).join("\n");

/** The CLI; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      model: { type: "string", default: "mnist-cnn" },
      weights: { type: "string" },
      labels: { type: "string" },
      out: { type: "string" },
      "batch-size": { type: "string", default: "32" },
      top: { type: "string", default: "3" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || !values.weights) {
    console.error(USAGE);
    return 2;
  }
  const dir = positionals[0];
  const batchSize = Number(values["batch-size"]), top = Number(values.top);
  if (!(Number.isInteger(batchSize) && batchSize >= 1) || !(Number.isInteger(top) && top >= 1)) {
    console.error(`classify: --batch-size and --top must be positive integers`);
    return 2;
  }
  let files: string[];
  try {
    files = await listImages(dir);
  } catch (e) {
    console.error(`classify: cannot read the folder "${dir}": ${(e as Error).message}`);
    return 2;
  }
  if (files.length === 0) {
    console.error(`classify: no ${data.IMG_EXTENSIONS.join("/")} files under "${dir}"`);
    return 2;
  }
  const clf = await loadClassifier(values.model, values.weights, values.labels);
  const started = performance.now();
  const rows: string[] = ["path,class,label,probability,top,error"];
  let failed = 0;
  for (let i = 0; i < files.length; i += batchSize) {
    const chunk = files.slice(i, i + batchSize);
    const samples: Float32Array[] = [];
    const errors = new Map<string, string>();
    const ok: string[] = [];
    for (const f of chunk) {
      try {
        samples.push(imageToSample(await data.readImage(`${dir}/${f}`), clf.spec));
        ok.push(f);
      } catch (e) {
        errors.set(f, (e as Error).message);
      }
    }
    const probs = samples.length ? classifyBatch(clf, samples) : [];
    const byFile = new Map(ok.map((f, k) => [f, probs[k]]));
    for (const f of chunk) {
      const p = byFile.get(f);
      if (!p) {
        failed++;
        rows.push([f, "", "", "", "", errors.get(f)!].map(csvField).join(","));
        continue;
      }
      const best = topK(p, clf.labels, top);
      const list = best.map((b) => `${b.label}:${b.probability.toFixed(4)}`).join(";");
      rows.push([f, best[0].class, best[0].label, best[0].probability.toFixed(6), list, ""].map(csvField).join(","));
    }
  }
  const csv = rows.join("\n") + "\n";
  if (values.out) await Deno.writeTextFile(values.out, csv);
  else await Deno.stdout.write(new TextEncoder().encode(csv));
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  console.error(
    `classify: ${files.length - failed} of ${files.length} images classified with ${clf.name} in ${seconds} s` +
      (failed ? ` (${failed} could not be read)` : "") + (values.out ? ` → ${values.out}` : ""),
  );
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
