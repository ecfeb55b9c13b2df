import { ok } from "node:assert/strict";
import { Generator, noGrad, tensor } from "../../mod.ts";
import { Ewc, main, ReplayBuffer, summarize } from "./continual.ts";
import { meanCi95 } from "./digit_tasks.ts";

Deno.test("summarize: average accuracy and forgetting against hand-worked values", () => {
  // Task 0: best 0.9 (after stage 1), final 0.5 → forgets 0.4; task 1: best 0.8, final 0.7 → 0.1; task 2 is the last.
  const { average, forgetting } = summarize([
    [0.8, 0.1, 0.1],
    [0.9, 0.8, 0.1],
    [0.5, 0.7, 0.6],
  ]);
  ok(Math.abs(average - 0.6) < 1e-12, `average ${average}`);
  ok(Math.abs(forgetting - 0.25) < 1e-12, `forgetting ${forgetting}`);
});

Deno.test("meanCi95: mean and 1.96·s/√n against hand-worked values", () => {
  // Values 1, 2, 3: mean 2, sample variance 1, half-width 1.96/√3.
  const { mean, ci95 } = meanCi95([1, 2, 3]);
  ok(Math.abs(mean - 2) < 1e-12 && Math.abs(ci95 - 1.96 / Math.sqrt(3)) < 1e-12);
});

Deno.test("Ewc: the empirical Fisher and the penalty against hand-worked values", async () => {
  // loss_i(w) = (w·a_i)² / 2 → gradient a_i (w·a_i); at w = [1, 2] with a = [1, 0] and [1, 1]: gradients [1, 0] and
  // [3, 3], so the Fisher (mean of squares) is [(1 + 9)/2, 9/2] = [5, 4.5].
  const w = tensor([1, 2], { requiresGrad: true });
  const a = [tensor([1, 0]), tensor([1, 1])];
  const ewc = new Ewc([w]);
  ok(ewc.penalty() === null);
  ewc.consolidate(2, (i) => w.mul(a[i]).sum().square().mul(0.5));
  ok(w.grad === null, "the Fisher pass leaves .grad cleared");
  noGrad(() => w.add_(tensor([1, -2])));
  // ½ · (5·1² + 4.5·(−2)²) = 11.5
  ok(Math.abs((await ewc.penalty()!.item()) - 11.5) < 1e-5);
});

Deno.test("ReplayBuffer keeps an equal share of each task within its capacity", () => {
  const gen = new Generator(0);
  const buffer = new ReplayBuffer(10);
  buffer.add(0, tensor(Array.from({ length: 20 }, (_, i) => [i])), tensor(new Int32Array(20)), gen);
  ok(buffer.size === 10);
  buffer.add(1, tensor(Array.from({ length: 20 }, (_, i) => [i])), tensor(new Int32Array(20).fill(1)), gen);
  ok(buffer.size === 10, `size ${buffer.size}`);
  const drawn = buffer.sample(40, gen);
  ok(drawn.reduce((s, b) => s + b.x.shape[0], 0) === 40);
  ok(drawn.every((b) => Array.from(b.y.dataSync()).every((label) => label === b.task)));
});

Deno.test("continual example, tiny run: replay forgets less than naive fine-tuning in the class-incremental case", async () => {
  const out = await Deno.makeTempDir();
  try {
    const results = await main(["--quick", "--out", out, "--scenarios", "class", "--learners", "naive,replay"]);
    const { naive, replay } = results.class!;
    ok(naive && replay);
    ok(naive.forgetting > 0.3, `naive forgetting ${naive.forgetting}`);
    ok(replay.average > naive.average + 0.2, `replay ${replay.average}, naive ${naive.average}`);
    ok(replay.forgetting < naive.forgetting - 0.1, `replay forgets ${replay.forgetting}, naive ${naive.forgetting}`);
    ok((await Deno.stat(`${out}/accuracy_matrix.png`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
