import { ok } from "node:assert/strict";
import { Image } from "imagescript";

Deno.test("the perceptron story runs end to end: its results table and its pictures", async () => {
  const out = await Deno.makeTempDir({ prefix: "perceptron_" });
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./perceptron.ts", import.meta.url).pathname, `--out=${out}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout), err = new TextDecoder().decode(stderr);
    ok(code === 0, err);
    // The table's verdicts: the perceptron separates the 2-D set but not XOR; backprop solves XOR.
    ok(/perceptron 2-D set\s+converged=true after \d+ epochs; 100\/100 right/.test(text), text);
    ok(/perceptron XOR\s+converged=false after 100 epochs/.test(text), text);
    ok(/2-4-1 network, backprop\s+loss 0\.\d+ after 500 steps; 4\/4 right/.test(text), text);
    // The progress bar went to stderr, piped: plain lines, no carriage returns.
    ok(/backprop: 500\/500 \(100%\)/.test(err) && !err.includes("\r"), err);
    for (const png of ["boundary", "learning"]) {
      const img = await Image.decode(await Deno.readFile(`${out}/${png}.png`));
      ok(img.width >= 480, png);
    }
    ok((await Deno.readTextFile(`${out}/xor_loss.csv`)).startsWith("step,loss\n1,"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
