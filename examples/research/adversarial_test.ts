import { ok } from "node:assert/strict";
import { Generator, manualSeed, nn, rand, randint } from "../../mod.ts";
import { fgsm, main, pgd } from "./adversarial.ts";

Deno.test("FGSM and PGD stay in the ε-ball and in [0, 1], and raise the loss; PGD raises it at least as much", () => {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(16, 12), new nn.Tanh(), new nn.Linear(12, 3)).eval();
  const x = rand([8, 1, 4, 4]), y = randint(0, 3, [8]);
  const loss = (input: typeof x) => nn.functional.crossEntropy(model.forward(input), y).dataSync()[0];
  const eps = 0.1;
  const f = fgsm(model, x, y, eps);
  const p = pgd(model, x, y, { eps, steps: 20, generator: new Generator(1) });
  for (const adv of [f, p]) {
    const d = adv.sub(x).abs().amax().dataSync()[0];
    ok(d <= eps + 1e-6, `perturbation ${d} exceeds ε`);
    ok(adv.amin().dataSync()[0] >= 0 && adv.amax().dataSync()[0] <= 1, "pixels left [0, 1]");
  }
  ok(loss(f) > loss(x), `FGSM: ${loss(f)} vs clean ${loss(x)}`);
  ok(loss(p) >= loss(f) - 1e-6, `PGD ${loss(p)} vs FGSM ${loss(f)}`);
  for (const param of model.parameters()) ok(param.grad === null, "attacks leave .grad untouched");
});

Deno.test("adversarial example, tiny run: PGD breaks the CNN; adversarial training makes it more robust", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { standard, hardened } = await main(["--quick", "--out", out]);
    ok(standard.clean > 0.3, `clean accuracy ${standard.clean}`);
    ok(standard["PGD-3 ε=0.3"] < standard.clean - 0.2, `PGD ε=0.3 ${standard["PGD-3 ε=0.3"]} vs ${standard.clean}`);
    ok(
      hardened["PGD-3 ε=0.1"] > standard["PGD-3 ε=0.1"] + 0.05,
      `robust accuracy at ε=0.1: ${hardened["PGD-3 ε=0.1"]} after adversarial training, ${
        standard["PGD-3 ε=0.1"]
      } before`,
    );
    ok((await Deno.stat(`${out}/clean_perturbation_adversarial.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
