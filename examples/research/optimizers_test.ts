import { deepStrictEqual, ok } from "node:assert/strict";
import { main } from "./optimizers.ts";

Deno.test("optimizers example, tiny run: every run learns, the range test suggests a rate, L-BFGS wins full batch", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { runs, range, full } = await main(["--quick", "--out", out]);
    deepStrictEqual(runs.map((r) => r.name), ["SGD", "SGD + cosine", "Adam", "Adam + cosine"]);
    for (const r of runs) ok(r.losses.every(Number.isFinite), r.name);
    const adam = runs[2];
    ok(adam.losses.at(-1)! < adam.losses[0], `Adam's loss ${adam.losses[0]} → ${adam.losses.at(-1)}`);
    ok(range.suggestion > 1e-5 && range.suggestion < 0.1, `suggested lr ${range.suggestion}`);
    const [lbfgs, ...others] = full;
    for (const o of others) ok(lbfgs.loss < o.loss, `L-BFGS ${lbfgs.loss} vs ${o.name} ${o.loss}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
