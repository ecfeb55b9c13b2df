import { deepStrictEqual } from "node:assert/strict";
import { autograd, loadSafetensors, models, nn, optim, saveSafetensors, tensor } from "./mod.ts";

Deno.test("the root module exports tensor functions at top level, members as namespaces, and safetensors I/O", async () => {
  deepStrictEqual(typeof nn.Linear, "function");
  deepStrictEqual(typeof optim.SGD, "function");
  deepStrictEqual(typeof models.resnet18, "function");
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await saveSafetensors({ w: tensor([[1, 2], [3, 4]]) }, path);
  const back = await loadSafetensors(path);
  deepStrictEqual(await back.w.tolist(), [[1, 2], [3, 4]]);
  await Deno.remove(path);
});

Deno.test("the root autograd namespace is torch.autograd: the engine, grad modes, grad and the derivative checks", async () => {
  const x = tensor([1, 2]).requiresGrad_();
  const [dx] = autograd.grad(x.square().sum(), x);
  deepStrictEqual(await dx.tolist(), [2, 4]);
  deepStrictEqual(x.grad, null);
  deepStrictEqual(typeof autograd.noGrad, "function");
  deepStrictEqual(typeof autograd.gradcheck, "function");
  deepStrictEqual(typeof autograd.gradgradcheck, "function");
});
