import assert from "node:assert/strict";
import { data, manualSeed, nn, optim, tidy } from "../mod.ts";
import { accuracy, VisionTransformer } from "./vit_mnist.ts";

Deno.test("vit_mnist example: a tiny ViT learns digits (loss falls, test accuracy far above chance)", async () => {
  manualSeed(0);
  const mnist = await data.loadMnist();
  const model = new VisionTransformer({ patch: 7, width: 32, depth: 1, heads: 2, dropout: 0, activation: "relu" });
  assert.deepEqual(
    Object.keys(model.stateDict()).slice(0, 5),
    // Own parameters first, then the children's, as PyTorch's state_dict orders them.
    ["class_token", "pos_embedding", "conv_proj.weight", "conv_proj.bias", "encoder.layers.0.self_attn.in_proj_weight"],
  );
  const opt = new optim.AdamW(model.parameters(), { lr: 3e-3 });
  const criterion = new nn.CrossEntropyLoss();
  const losses: number[] = [];
  for (let step = 0; step < 80; step++) {
    const at = (step * 64) % 7936;
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = criterion.forward(
        model.forward(mnist.train.images.narrow(0, at, 64)),
        mnist.train.labels.narrow(0, at, 64),
      );
      l.backward();
      opt.step();
      return l;
    });
    losses.push(await loss.item());
    loss.dispose();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(
    mean(losses.slice(-10)) < 0.6 * mean(losses.slice(0, 10)),
    `loss ${losses.slice(0, 3)} -> ${losses.slice(-3)}`,
  );
  // Every fourth test digit: 500 across all ten classes (the split is grouped by digit).
  const acc = await accuracy(model, mnist.test.images.slice(0, 0, 2000, 4), mnist.test.labels.slice(0, 0, 2000, 4));
  assert.ok(acc > 0.5, `test accuracy ${acc} (chance 0.1)`);
});
