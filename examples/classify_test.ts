import assert from "node:assert/strict";
import { Image as ScriptImage } from "imagescript";
import { manualSeed, models, noGrad, softmax, tensor } from "../mod.ts";
import { CLASSIFIERS } from "./serve/classifiers.ts";

/** A folder of 28×28 grey PNGs (two in a subfolder), one file that is not an image, and seeded MNIST-CNN weights. */
async function fixture(): Promise<{ dir: string; weights: string; expected: Map<string, number> }> {
  manualSeed(31);
  const model = CLASSIFIERS["mnist-cnn"].build(10);
  const weights = await Deno.makeTempFile({ suffix: ".safetensors" });
  await models.save(model, weights);
  model.eval();
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/more`);
  const expected = new Map<string, number>();
  for (const [k, name] of ["a.png", "b.png", "more/c.png", "more/d.png"].entries()) {
    const pixel = (x: number, y: number) => (x * (k + 3) + y * (2 * k + 1) + 17 * k) % 256;
    const img = new ScriptImage(28, 28);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        img.setPixelAt(x + 1, y + 1, ScriptImage.rgbaToColor(pixel(x, y), pixel(x, y), pixel(x, y), 255));
      }
    }
    await Deno.writeFile(`${dir}/${name}`, await img.encode());
    // The reference: the model on pixels / 255, computed here rather than through the CLI's preprocessing.
    const x = tensor(Float32Array.from({ length: 784 }, (_, i) => pixel(i % 28, Math.floor(i / 28)) / 255), {
      shape: [1, 1, 28, 28],
    });
    const p = noGrad(() => softmax(model.forward(x), 1).dataSync());
    expected.set(name, p.indexOf(Math.max(...p)));
  }
  await Deno.writeTextFile(`${dir}/broken.png`, "not a png");
  await Deno.writeTextFile(`${dir}/notes.txt`, "ignored: not an image extension");
  return { dir, weights, expected };
}

function checkCsv(csv: string, expected: Map<string, number>): void {
  const [header, ...rows] = csv.trim().split("\n");
  assert.equal(header, "path,class,label,probability,top,error");
  assert.deepEqual(rows.map((r) => r.split(",")[0]), ["a.png", "b.png", "broken.png", "more/c.png", "more/d.png"]);
  for (const row of rows) {
    const [path, cls, label, prob, top, error] = row.split(",");
    if (path === "broken.png") {
      assert.equal(cls, "");
      assert.match(error, /broken\.png/);
      continue;
    }
    assert.equal(Number(cls), expected.get(path), path);
    assert.equal(label, cls);
    assert.ok(Number(prob) > 0 && Number(prob) <= 1);
    assert.equal(top.split(";").length, 3);
    assert.equal(error, "");
  }
}

// imagescript decodes PNG and JPEG with a native codec, hence --allow-ffi.
const PERMS = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi"];

/** Where deno keeps the runtime it compiles onto (downloaded once from Deno's release server), unless DENORT_BIN. */
function denortAvailable(): boolean {
  if (Deno.env.get("DENORT_BIN") || Deno.env.get("DENDRITE_TRY_COMPILE") === "1") return true;
  const dir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  try {
    Deno.statSync(`${dir}/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("classify: the CLI labels a folder of images into a CSV, the unreadable file with its reason", async () => {
  const { dir, weights, expected } = await fixture();
  const out = `${dir}/results.csv`;
  const res = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PERMS,
      new URL("./classify.ts", import.meta.url).pathname,
      dir,
      "--weights",
      weights,
      "--out",
      out,
      "--batch-size",
      "3",
    ],
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(res.stderr);
  assert.equal(res.code, 1, `one file could not be read, so status 1: ${stderr}`);
  assert.match(stderr, /4 of 5 images classified/);
  checkCsv(await Deno.readTextFile(out), expected);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(weights);
});

Deno.test("classify: `deno task compile:classify`'s binary does the same (skipped where deno cannot get its runtime)", async (t) => {
  if (!denortAvailable()) {
    console.warn(
      "skipped: deno compile needs its runtime (denort), which it downloads from Deno's release server and this " +
        "machine cannot reach; set DENORT_BIN to a denort binary (or DENDRITE_TRY_COMPILE=1 to try anyway)",
    );
    await t.step({ name: "compile (skipped: no denort)", ignore: true, fn: () => {} });
    return;
  }
  const { dir, weights, expected } = await fixture();
  const bin = `${await Deno.makeTempDir()}/classify`;
  const started = performance.now();
  // The same command as the deno task, into a temporary file.
  const compile = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...PERMS, "--include", "tensor/cpu/wasm/worker.ts", "--output", bin, "examples/classify.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(compile.stderr);
  if (!compile.success && /denort|dl\.deno\.land|error sending request/.test(log)) {
    console.warn(
      "skipped: deno compile needs its runtime (denort), which it downloads from Deno's release server; this " +
        "machine cannot reach it. Set DENORT_BIN to a denort binary, or run where it is cached, to run this test.",
    );
    await t.step({ name: "compile (skipped: no denort)", ignore: true, fn: () => {} });
    await Deno.remove(dir, { recursive: true });
    return;
  }
  assert.ok(compile.success, `deno compile failed:\n${log}`);
  console.log(`deno compile took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const out = `${dir}/results.csv`;
  const res = await new Deno.Command(bin, { args: [dir, "--weights", weights, "--out", out], stderr: "piped" })
    .output();
  assert.equal(res.code, 1, new TextDecoder().decode(res.stderr));
  checkCsv(await Deno.readTextFile(out), expected);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(weights);
});
