import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { main } from "./dp_sgd.ts";

Deno.test("dp_sgd: the quick run learns under privacy, reports the accountant's ε, writes the curve and weights", async () => {
  const out = await Deno.makeTempDir({ prefix: "dp_sgd_test_" });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    const res = await main(["--quick", "--steps", "20", "--out", out]);
    const last = res.points.at(-1)!;
    // Chance is 10%; twenty noisy, clipped steps on 1,000 digits already read a third of the test digits.
    ok(last.privateAcc > 0.3, `DP-SGD accuracy ${last.privateAcc}`);
    ok(last.plainAcc > 0.5, `non-private accuracy ${last.plainAcc}`);
    // q = 64 / 1000, σ 1, δ 1e-3: ε grows with the steps (30 steps give 2.0875 by mpmath; see privacy/testdata).
    ok(res.spent.epsilon > 1 && res.spent.epsilon < 2.0875, `ε ${res.spent.epsilon}`);
    ok(res.points.every((p, i) => i === 0 || p.epsilon >= res.points[i - 1].epsilon));
    ok(lines.some((l) => l.includes("Final: ε = ")), lines.join("\n"));
    const png = await Deno.readFile(`${out}/accuracy.png`);
    deepStrictEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    await Deno.stat(`${out}/dp_mlp.safetensors`);
  } finally {
    console.log = log;
    await Deno.remove(out, { recursive: true });
  }
  await rejects(() => main(["--quick", "--delta", "2"]), /delta must be in \(0, 1\), got 2/);
});
