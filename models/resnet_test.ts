import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { manualSeed, noGrad, randn } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { resnet18, resnet34, resnet50 } from "./resnet.ts";
import { lenet5, mlp } from "./small.ts";
import { save } from "./weights.ts";
import { saveSafetensors } from "./safetensors.ts";

// ---- an independent reference: ResNet-18 eval forward from the definitions, in float64 loops ----

type Img = { c: number; h: number; w: number; d: Float64Array };

function conv(x: Img, w: Float64Array, cOut: number, k: number, stride: number, pad: number): Img {
  const oh = Math.floor((x.h + 2 * pad - k) / stride) + 1, ow = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(cOut * oh * ow);
  for (let o = 0; o < cOut; o++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let s = 0;
        for (let c = 0; c < x.c; c++) {
          for (let u = 0; u < k; u++) {
            for (let v = 0; v < k; v++) {
              const y = i * stride - pad + u, z = j * stride - pad + v;
              if (y < 0 || y >= x.h || z < 0 || z >= x.w) continue;
              s += x.d[(c * x.h + y) * x.w + z] * w[((o * x.c + c) * k + u) * k + v];
            }
          }
        }
        out[(o * oh + i) * ow + j] = s;
      }
    }
  }
  return { c: cOut, h: oh, w: ow, d: out };
}

function bn(x: Img, p: Record<string, Float64Array>, name: string, eps = 1e-5): Img {
  const g = p[`${name}.weight`], b = p[`${name}.bias`], m = p[`${name}.running_mean`], v = p[`${name}.running_var`];
  const out = new Float64Array(x.d.length);
  const hw = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    for (let i = 0; i < hw; i++) out[c * hw + i] = (x.d[c * hw + i] - m[c]) / Math.sqrt(v[c] + eps) * g[c] + b[c];
  }
  return { ...x, d: out };
}

const relu = (x: Img): Img => ({ ...x, d: x.d.map((v) => Math.max(v, 0)) });
const addImg = (a: Img, b: Img): Img => ({ ...a, d: a.d.map((v, i) => v + b.d[i]) });

function maxpool(x: Img): Img {
  const oh = Math.floor((x.h + 2 - 3) / 2) + 1, ow = Math.floor((x.w + 2 - 3) / 2) + 1;
  const out = new Float64Array(x.c * oh * ow);
  for (let c = 0; c < x.c; c++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let m = -Infinity;
        for (let u = 0; u < 3; u++) {
          for (let v = 0; v < 3; v++) {
            const y = i * 2 - 1 + u, z = j * 2 - 1 + v;
            if (y >= 0 && y < x.h && z >= 0 && z < x.w) m = Math.max(m, x.d[(c * x.h + y) * x.w + z]);
          }
        }
        out[(c * oh + i) * ow + j] = m;
      }
    }
  }
  return { c: x.c, h: oh, w: ow, d: out };
}

function referenceResnet18(p: Record<string, Float64Array>, x: Img, numClasses: number): Float64Array {
  let h = maxpool(relu(bn(conv(x, p["conv1.weight"], 64, 7, 2, 3), p, "bn1")));
  const planes = [64, 128, 256, 512];
  for (let layer = 0; layer < 4; layer++) {
    for (let blk = 0; blk < 2; blk++) {
      const pre = `layer${layer + 1}.${blk}`;
      const stride = layer > 0 && blk === 0 ? 2 : 1;
      const out1 = relu(bn(conv(h, p[`${pre}.conv1.weight`], planes[layer], 3, stride, 1), p, `${pre}.bn1`));
      const out2 = bn(conv(out1, p[`${pre}.conv2.weight`], planes[layer], 3, 1, 1), p, `${pre}.bn2`);
      const shortcut = p[`${pre}.downsample.0.weight`]
        ? bn(conv(h, p[`${pre}.downsample.0.weight`], planes[layer], 1, stride, 0), p, `${pre}.downsample.1`)
        : h;
      h = relu(addImg(out2, shortcut));
    }
  }
  const pooled = new Float64Array(h.c);
  for (let c = 0; c < h.c; c++) {
    let s = 0;
    for (let i = 0; i < h.h * h.w; i++) s += h.d[c * h.h * h.w + i];
    pooled[c] = s / (h.h * h.w);
  }
  const fcW = p["fc.weight"], fcB = p["fc.bias"];
  const logits = new Float64Array(numClasses);
  for (let o = 0; o < numClasses; o++) {
    let s = fcB[o];
    for (let c = 0; c < h.c; c++) s += fcW[o * h.c + c] * pooled[c];
    logits[o] = s;
  }
  return logits;
}

Deno.test("resnet18 eval forward agrees with a loop-by-loop reference on fixed random weights", async () => {
  manualSeed(7);
  const model = resnet18({ numClasses: 5 });
  // Non-trivial batch-norm statistics, so eval mode really uses them.
  noGrad(() => {
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (name.endsWith("running_mean")) t.copy_(randn(t.shape).mul(0.1));
      if (name.endsWith("running_var")) t.copy_(randn(t.shape).abs().add(0.5));
      if (name.endsWith("bn1.bias") || name.endsWith("bn2.bias")) t.copy_(randn(t.shape).mul(0.1));
    }
  });
  model.eval();
  const x = randn([1, 3, 32, 32]);
  const got = await noGrad(() => model.forward(x)).data();
  const params: Record<string, Float64Array> = {};
  for (const [name, t] of Object.entries(model.stateDict())) params[name] = Float64Array.from(await t.data());
  const want = referenceResnet18(params, { c: 3, h: 32, w: 32, d: Float64Array.from(await x.data()) }, 5);
  for (let i = 0; i < 5; i++) {
    ok(Math.abs(got[i] - want[i]) <= 1e-3 * Math.max(1, Math.abs(want[i])), `logit ${i}: ${got[i]} vs ${want[i]}`);
  }
});

Deno.test("resnet state dicts use torchvision's names and counts", () => {
  const keys = Object.keys(resnet18().stateDict());
  deepStrictEqual(keys.length, 122);
  deepStrictEqual(keys.slice(0, 7), [
    "conv1.weight",
    "bn1.weight",
    "bn1.bias",
    "bn1.running_mean",
    "bn1.running_var",
    "bn1.num_batches_tracked",
    "layer1.0.conv1.weight",
  ]);
  ok(keys.includes("layer2.0.downsample.0.weight"));
  ok(keys.includes("layer2.0.downsample.1.running_var"));
  ok(!keys.includes("layer1.0.downsample.0.weight"));
  deepStrictEqual(keys.slice(-2), ["fc.weight", "fc.bias"]);
  deepStrictEqual(resnet18().fc.weight.shape, [1000, 512]);
  const r50 = resnet50({ numClasses: 3 });
  deepStrictEqual(r50.fc.weight.shape, [3, 2048]);
  deepStrictEqual(r50.stateDict()["layer1.0.conv3.weight"].shape, [256, 64, 1, 1]);
  deepStrictEqual(Object.keys(r50.stateDict()).length, 320);
  deepStrictEqual(Object.keys(resnet34().stateDict()).length, 218);
});

Deno.test("resnet18 loads weights from a local safetensors file, and refuses ones that do not fit", async () => {
  manualSeed(1);
  const a = resnet18({ numClasses: 4 });
  const dir = await Deno.makeTempDir();
  const path = `${dir}/r18.safetensors`;
  await save(a, path);
  const b = resnet18({ numClasses: 4, weights: path });
  deepStrictEqual(await b.conv1.weight.tolist(), await a.conv1.weight.tolist());
  deepStrictEqual(await b.fc.bias!.tolist(), await a.fc.bias!.tolist());
  throws(() => resnet18({ numClasses: 10, weights: path }), /fc\.weight/);
  throws(() => resnet18({ weights: `${dir}/missing.safetensors` }), /missing\.safetensors/);
  const partial = a.stateDict();
  delete partial["layer3.1.bn2.running_var"];
  await saveSafetensors(partial, `${dir}/partial.safetensors`);
  throws(() => resnet18({ numClasses: 4, weights: `${dir}/partial.safetensors` }), /layer3\.1\.bn2\.running_var/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resnet rejects inputs that are not [N, 3, H, W]", () => {
  const m = resnet18({ numClasses: 2 });
  throws(() => m.forward(randn([1, 1, 32, 32])), /expected input \[N, 3, H, W\], got \[1, 1, 32, 32\]/);
});

Deno.test("a frozen backbone keeps its weights bit-identical while fc learns and BN statistics update", async () => {
  manualSeed(3);
  const model = resnet18({ numClasses: 3 });
  model.requiresGrad_(false);
  model.fc = new nn.Linear(512, 2);
  model.train();
  const before: Record<string, number[]> = {};
  for (const [n, p] of model.namedParameters()) before[n] = Array.from(await p.data());
  const meanBefore = Array.from(await model.bn1.runningMean!.data());
  const x = randn([4, 3, 32, 32]);
  const out = model.forward(x);
  // No graph is recorded through the frozen backbone: only fc's op records.
  ok(model.features(x).gradFn === null);
  const loss = new nn.CrossEntropyLoss().forward(out, randn([4]).gt(0).int());
  loss.backward();
  noGrad(() => {
    for (const p of model.fc.parameters()) p.sub_(p.grad!.mul(0.1));
  });
  for (const [n, p] of model.namedParameters()) {
    const now = Array.from(await p.data());
    if (n.startsWith("fc.")) ok(now.some((v, i) => v !== before[n][i]), `${n} should change`);
    else deepStrictEqual(now, before[n], `${n} must stay bit-identical`);
    if (!n.startsWith("fc.")) ok(p.grad === null, `${n} must get no gradient`);
  }
  const meanAfter = Array.from(await model.bn1.runningMean!.data());
  ok(meanAfter.some((v, i) => v !== meanBefore[i]), "batch-norm running statistics update in train mode");
});

Deno.test("mlp and lenet5 have the expected layers and shapes", () => {
  const m = mlp([784, 256, 10]);
  deepStrictEqual(Object.keys(m.stateDict()), ["0.weight", "0.bias", "2.weight", "2.bias"]);
  deepStrictEqual(m.forward(randn([3, 784])).shape, [3, 10]);
  throws(() => mlp([4]), /at least \[in, out\]/);
  const l = lenet5();
  deepStrictEqual(l.forward(randn([2, 1, 28, 28])).shape, [2, 10]);
  deepStrictEqual(l.numParameters(), 61706);
});
