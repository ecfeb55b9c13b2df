import { ok } from "node:assert/strict";
import { manualSeed, nn, rand, tensor } from "../../mod.ts";
import { gradCam } from "./attribution.ts";
import { main } from "./interpretability.ts";

Deno.test("gradCam reads the layer through hooks, removes them, and refuses a layer the model does not call", () => {
  manualSeed(2);
  const conv = new nn.Conv2d(1, 4, 3, { padding: 1 });
  const model = new nn.Sequential(conv, new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 3)).eval();
  const x = rand([2, 1, 6, 6]), target = tensor([0, 2], { dtype: "int32" });
  const cam = gradCam(model, conv, x, target);
  ok(cam.shape.join() === "2,6,6", `shape ${cam.shape}`);
  ok(cam.amin().dataSync()[0] >= 0, "Grad-CAM is ReLU'd");
  // The hooks are gone: the layer runs as before, its forward no longer wrapped.
  ok(!Object.hasOwn(conv, "forward"));
  const unused = new nn.Conv2d(1, 1, 1);
  let threw = false;
  try {
    gradCam(model, unused, x, target);
  } catch (e) {
    threw = /gradCam: the layer Conv2d was not called/.test((e as Error).message);
  }
  ok(threw);
});

Deno.test("interpretability example, tiny run: every method's deletion curve falls faster than random's", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { mnist, resnet } = await main(["--quick", "--out", out]);
    ok(Object.keys(resnet).some((name) => name.startsWith("Grad-CAM layer3")), Object.keys(resnet).join());
    for (const [model, curves] of [["MNIST CNN", mnist], ["ResNet-18", resnet]] as const) {
      for (const [name, c] of Object.entries(curves)) {
        // The ResNet's last block is one cell at the tiny run's 32 px (2 × 2 at 64 px): a map with nothing to rank
        // by, which the example reports beside layer3's; only the methods it presents as working are held to it.
        if (name === "random" || name.startsWith("Grad-CAM layer4")) continue;
        ok(c.area < curves.random.area, `${model} ${name}: area ${c.area}, random ${curves.random.area}`);
      }
    }
    for (const f of ["mnist_heatmaps.png", "resnet_heatmaps.png", "deletion_curves.png"]) {
      ok((await Deno.stat(`${out}/${f}`)).size > 0, f);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
