import { deepStrictEqual, ok } from "node:assert/strict";
import { tensor } from "../mod.ts";
import { pretrainBackbone, rot90 } from "./finetune_pretrain.ts";
import { finetune, RANDOM_BACKBONE_WARNING, writeDigitFolder } from "./finetune_resnet.ts";

Deno.test("rot90: quarter turns counter-clockwise, as numpy.rot90 on the last two axes", async () => {
  const x = tensor([[[[1, 2], [3, 4]]]]);
  deepStrictEqual(Array.from(await rot90(x, 1).contiguous().data() as Float32Array), [2, 4, 1, 3]);
  deepStrictEqual(Array.from(await rot90(x, 2).contiguous().data() as Float32Array), [4, 3, 2, 1]);
  deepStrictEqual(Array.from(await rot90(x, -1).contiguous().data() as Float32Array), [3, 1, 4, 2]);
  deepStrictEqual(Array.from(await rot90(x, 4).contiguous().data() as Float32Array), [1, 2, 3, 4]);
});

Deno.test("pretrainBackbone trains on digit × turn (4 outputs per class) and records its epochs; finetune warns without weights", async () => {
  const root = await Deno.makeTempDir({ prefix: "finetune_pretrain_test_" });
  try {
    await writeDigitFolder(`${root}/digits`, [0, 1], { train: 8, val: 4 });
    const lines: string[] = [];
    const { model, metrics, classes } = await pretrainBackbone({
      data: `${root}/digits`,
      epochs: 1,
      batchSize: 8,
      imageSize: 32,
      log: (s) => lines.push(s),
      progress: { disable: true },
      out: `${root}/record`,
    });
    deepStrictEqual(classes, ["0", "1"]);
    deepStrictEqual(model.fc.weight.shape, [8, 512]);
    deepStrictEqual(metrics.length, 1);
    ok(Number.isFinite(metrics[0].trainLoss) && metrics[0].valAcc >= 0 && metrics[0].valAcc <= 1);
    ok(lines[0].includes("(8 classes: digit × turn)"), lines[0]);
    ok((await Deno.readTextFile(`${root}/record/metrics.csv`)).startsWith("epoch,"));
    await Deno.stat(`${root}/record/curves.png`);

    const logged: string[] = [];
    await finetune({ data: `${root}/digits`, epochs: 0, imageSize: 32, workers: 0, log: (s) => logged.push(s) });
    deepStrictEqual(logged[0], RANDOM_BACKBONE_WARNING);
    ok(RANDOM_BACKBONE_WARNING.includes("backbone is RANDOM"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
