import { ok } from "node:assert/strict";
import { tensor } from "../../mod.ts";
import { combinedLoss, INK_UNIT, main, taskTargets } from "./multitask.ts";

Deno.test("combinedLoss: Kendall et al.'s weighting against hand-worked values", async () => {
  const losses = { digit: tensor(2), parity: tensor(0.5), ink: tensor(8) };
  const s = tensor([0, Math.log(2), -1]);
  // exp(0)·2 + 0 + exp(−ln 2)·0.5 + ln 2 + exp(1)·½·8 − 1
  const expected = 2 + 0.25 + Math.log(2) + 4 * Math.E - 1;
  ok(Math.abs((await combinedLoss("uncertainty", losses, s).item()) - expected) < 1e-5);
  ok(Math.abs((await combinedLoss("fixed", losses, s).item()) - 10.5) < 1e-6);
  ok((await combinedLoss("digit-only", losses, s).item()) === 2);
});

Deno.test("taskTargets: parity and ink counted by hand", async () => {
  const x = tensor([[0.9, 0.2, 0.6, 0.51], [0, 0, 0, 1]]);
  const t = taskTargets({ x, y: tensor(new Int32Array([7, 4])), labels: new Int32Array([7, 4]) });
  ok(JSON.stringify(await t.parity.tolist()) === "[1,0]");
  const ink = await t.ink.tolist() as number[];
  ok(Math.abs(ink[0] * INK_UNIT - 3) < 1e-6 && Math.abs(ink[1] * INK_UNIT - 1) < 1e-6);
});

Deno.test("multitask example, tiny run: learned uncertainty weighting beats the fixed sum on the digit and parity", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await main(["--quick", "--out", out]);
    ok(r.uncertainty.digit > r.fixed.digit + 0.04, `digit: uncertainty ${r.uncertainty.digit}, fixed ${r.fixed.digit}`);
    ok(r.uncertainty.parity > r.fixed.parity + 0.03, `parity: ${r.uncertainty.parity} vs ${r.fixed.parity}`);
    ok(r["digit-only"].digit > 0.8, `digit-only ${r["digit-only"].digit}`);
    ok((await Deno.stat(`${out}/curves.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
