/**
 * The layers generative models add, as a device-parametrized suite like
 * `layers_suite.ts`: `ConvTranspose2d`, `Upsample`, `GroupNorm`, `SiLU`,
 * `Mish`, `ELU`, `Dropout2d` and the `KLDivLoss`, `SmoothL1Loss` and
 * `HuberLoss` losses, each built on the CPU, moved with `Module.to(device)`,
 * and run forward and backward against direct loops or hand formulas in
 * float32. `nn/generative_test.ts` runs it on the CPU, `gpu/nn_test.ts` on
 * WebGPU.
 *
 * @example
 * ```ts ignore
 * import { nnGenerativeSuite } from "@dendrite/nn/testing";
 * nnGenerativeSuite("webgpu");
 * ```
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { type Device, Generator, manualSeed, randn, type Tensor, tensor } from "@dendrite/tensor";
import * as nn from "./mod.ts";
import { assertMoved, Checks } from "./layers_suite.ts";

type Host = Float32Array;

/** The interpolation weights of one axis by the formulas of PyTorch's documentation: row o weighs the input cells o reads. */
function axisWeights(inSize: number, outSize: number, mode: "nearest" | "bilinear", align: boolean): number[][] {
  const m = Array.from({ length: outSize }, () => new Array<number>(inSize).fill(0));
  for (let o = 0; o < outSize; o++) {
    if (mode === "nearest") {
      m[o][Math.min(Math.floor(o * inSize / outSize), inSize - 1)] = 1;
      continue;
    }
    const src = align
      ? (outSize > 1 ? o * (inSize - 1) / (outSize - 1) : 0)
      : Math.max((o + 0.5) * inSize / outSize - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1), f = src - lo;
    m[o][lo] += 1 - f;
    m[o][Math.min(lo + 1, inSize - 1)] += f;
  }
  return m;
}

/**
 * Registers the generative-layer tests (`Deno.test`) for modules moved to
 * `device`, each named `${prefix}: <case>`.
 */
export function nnGenerativeSuite(device: Device, prefix: string = `nn-generative[${device}]`): void {
  const test = (name: string, fn: () => Promise<void>) => Deno.test(`${prefix}: ${name}`, fn);
  const input = (g: Generator, shape: number[], grad = false): [Host, Tensor] => {
    const t = randn(shape, { generator: g });
    const h = t.dataSync() as Host;
    const d = t.to(device);
    return [h, grad ? d.requiresGrad_() : d];
  };
  const host = (t: Tensor): Host => t.dataSync() as Host;
  const moved = <M extends nn.Module>(m: M, what: string): M => {
    m.to(device);
    assertMoved(m, device, what);
    return m;
  };
  const backprop = (y: Tensor, gy: Tensor) => y.mul(gy).sum().backward();

  test("ConvTranspose2d (stride, padding, outputPadding, dilation, groups, bias; outputSize): against the definition", async () => {
    manualSeed(31);
    const c = new Checks();
    const cases: [number, number, number, number, number, nn.ConvTranspose2dLayerOptions, number[] | null][] = [
      [4, 6, 3, 3, 4, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }, null],
      [3, 2, 4, 5, 3, { stride: [1, 2], dilation: [2, 1], padding: [0, 1] }, null],
      [2, 3, 3, 4, 4, { stride: 2, padding: 1 }, [7, 8]], // outputSize: 6×8 by default, 7 rows asked
    ];
    for (const [cIn, cOut, h, w, k, o, outputSize] of cases) {
      const name = `ConvTranspose2d(${cIn}, ${cOut}, ${k}, ${JSON.stringify(o)})`;
      const layer = new nn.ConvTranspose2d(cIn, cOut, k, o);
      const Wt = host(layer.weight), Bs = host(layer.bias!);
      moved(layer, name);
      const [sh, sw] = layer.stride, [ph, pw] = layer.padding, [dh, dw] = layer.dilation;
      let [oph, opw] = layer.outputPadding;
      const minH = (h - 1) * sh - 2 * ph + dh * (k - 1) + 1, minW = (w - 1) * sw - 2 * pw + dw * (k - 1) + 1;
      if (outputSize) [oph, opw] = [outputSize[0] - minH, outputSize[1] - minW];
      const outH = minH + oph, outW = minW + opw, n = 2, groups = layer.groups;
      const g = new Generator(3);
      const [X, x] = input(g, [n, cIn, h, w], true), [GY, gy] = input(g, [n, cOut, outH, outW]);
      const y = layer.forward(x, outputSize);
      deepStrictEqual(y.shape, [n, cOut, outH, outW], name);
      backprop(y, gy);
      const cInG = cIn / groups, cOutG = cOut / groups;
      const Y = new Float64Array(n * cOut * outH * outW), dX = new Float64Array(X.length);
      const dW = new Float64Array(Wt.length), dB = new Float64Array(cOut);
      for (let b = 0; b < n; b++) {
        for (let co = 0; co < cOut; co++) {
          for (let q = 0; q < outH * outW; q++) {
            const at = (b * cOut + co) * outH * outW + q;
            Y[at] = Bs[co];
            dB[co] += GY[at];
          }
        }
        // Every input cell adds x·w into the output cells its window covers.
        for (let ci = 0; ci < cIn; ci++) {
          const grp = Math.floor(ci / cInG);
          for (let ih = 0; ih < h; ih++) {
            for (let iw = 0; iw < w; iw++) {
              const xi = ((b * cIn + ci) * h + ih) * w + iw;
              for (let cog = 0; cog < cOutG; cog++) {
                const co = grp * cOutG + cog;
                for (let ki = 0; ki < k; ki++) {
                  const oh = ih * sh - ph + ki * dh;
                  if (oh < 0 || oh >= outH) continue;
                  for (let kj = 0; kj < k; kj++) {
                    const ow = iw * sw - pw + kj * dw;
                    if (ow < 0 || ow >= outW) continue;
                    const wi = ((ci * cOutG + cog) * k + ki) * k + kj, yi = ((b * cOut + co) * outH + oh) * outW + ow;
                    Y[yi] += X[xi] * Wt[wi];
                    dX[xi] += GY[yi] * Wt[wi];
                    dW[wi] += GY[yi] * X[xi];
                  }
                }
              }
            }
          }
        }
      }
      c.close(`${name} y`, y, Y, 1e-4);
      c.close(`${name} dx`, x.grad, dX, 1e-4);
      c.close(`${name} dW`, layer.weight.grad, dW, 1e-4);
      c.close(`${name} db`, layer.bias!.grad, dB, 1e-4);
    }
    await c.run();
  });

  test("Upsample (nearest; bilinear with and without alignCorners; size or scaleFactor): the separable weights", async () => {
    const g = new Generator(4);
    const c = new Checks();
    const cases: [nn.Upsample, number, number, number, number, "nearest" | "bilinear", boolean][] = [
      [new nn.Upsample({ scaleFactor: 2 }), 3, 4, 6, 8, "nearest", false],
      [new nn.Upsample({ size: [5, 3] }), 3, 4, 5, 3, "nearest", false],
      [new nn.Upsample({ scaleFactor: 2, mode: "bilinear" }), 3, 4, 6, 8, "bilinear", false],
      [new nn.Upsample({ size: [7, 2], mode: "bilinear" }), 4, 5, 7, 2, "bilinear", false],
      [new nn.Upsample({ size: [6, 9], mode: "bilinear", alignCorners: true }), 3, 4, 6, 9, "bilinear", true],
    ];
    for (const [layer, h, w, oh, ow, mode, align] of cases) {
      const name = `Upsample(${layer.extraRepr()})`;
      moved(layer, name);
      const planes = 2 * 3;
      const [X, x] = input(g, [2, 3, h, w], true), [GY, gy] = input(g, [2, 3, oh, ow]);
      const y = layer.forward(x);
      backprop(y, gy);
      const ah = axisWeights(h, oh, mode, align), aw = axisWeights(w, ow, mode, align);
      const Y = new Float64Array(planes * oh * ow), dX = new Float64Array(X.length);
      for (let p = 0; p < planes; p++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            for (let a = 0; a < h; a++) {
              for (let b = 0; b < w; b++) {
                const k = ah[i][a] * aw[j][b];
                if (k === 0) continue;
                Y[(p * oh + i) * ow + j] += k * X[(p * h + a) * w + b];
                dX[(p * h + a) * w + b] += k * GY[(p * oh + i) * ow + j];
              }
            }
          }
        }
      }
      c.close(`${name} y`, y, Y, 1e-5);
      c.close(`${name} dx`, x.grad, dX, 1e-5);
    }
    await c.run();
  });

  test("GroupNorm (affine): forward and backward by the group formulas", async () => {
    const [n, ch, groups, hw] = [3, 6, 3, 5];
    const layer = new nn.GroupNorm(groups, ch, { eps: 1e-4 });
    const g = new Generator(5);
    const wt = randn([ch], { generator: g }), bs = randn([ch], { generator: g });
    const Wt = host(wt), Bs = host(bs);
    layer.loadStateDict({ weight: wt, bias: bs });
    moved(layer, "GroupNorm");
    const [X, x] = input(g, [n, ch, hw], true), [GY, gy] = input(g, [n, ch, hw]);
    const y = layer.forward(x);
    backprop(y, gy);
    const per = ch / groups;
    const Y = new Float64Array(X.length), dX = new Float64Array(X.length);
    const dW = new Float64Array(ch), dB = new Float64Array(ch);
    for (let b = 0; b < n; b++) {
      for (let gr = 0; gr < groups; gr++) {
        const cells: number[] = [];
        for (let c0 = gr * per; c0 < (gr + 1) * per; c0++) {
          for (let s = 0; s < hw; s++) cells.push((b * ch + c0) * hw + s);
        }
        const m = cells.length;
        const mean = cells.reduce((a, i) => a + X[i], 0) / m;
        const inv = 1 / Math.sqrt(cells.reduce((a, i) => a + (X[i] - mean) ** 2, 0) / m + 1e-4);
        const xhat = (i: number) => (X[i] - mean) * inv;
        const chOf = (i: number) => Math.floor(i / hw) % ch;
        // With ĝ = gy·γ: dx = inv·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)).
        const gh = (i: number) => GY[i] * Wt[chOf(i)];
        const mg = cells.reduce((a, i) => a + gh(i), 0) / m, mgx = cells.reduce((a, i) => a + gh(i) * xhat(i), 0) / m;
        for (const i of cells) {
          Y[i] = xhat(i) * Wt[chOf(i)] + Bs[chOf(i)];
          dX[i] = inv * (gh(i) - mg - xhat(i) * mgx);
          dW[chOf(i)] += GY[i] * xhat(i);
          dB[chOf(i)] += GY[i];
        }
      }
    }
    const c = new Checks();
    c.close("y", y, Y, 1e-4);
    c.close("dx", x.grad, dX, 1e-4);
    c.close("dW", layer.weight!.grad, dW, 1e-4);
    c.close("db", layer.bias!.grad, dB, 1e-4);
    await c.run();
  });

  test("SiLU, Mish, ELU: values and derivatives by hand", async () => {
    const g = new Generator(6);
    const c = new Checks();
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const sp = (v: number) => Math.log1p(Math.exp(v));
    const cases: [string, nn.Module, (v: number) => number, (v: number) => number][] = [
      ["SiLU", new nn.SiLU(), (v) => v * sig(v), (v) => sig(v) * (1 + v * (1 - sig(v)))],
      ["Mish", new nn.Mish(), (v) => v * Math.tanh(sp(v)), (v) => {
        const t = Math.tanh(sp(v));
        return t + v * (1 - t * t) * sig(v);
      }],
      ["ELU(0.5)", new nn.ELU(0.5), (v) => v > 0 ? v : 0.5 * Math.expm1(v), (v) => v > 0 ? 1 : 0.5 * Math.exp(v)],
    ];
    for (const [name, layer, f, df] of cases) {
      moved(layer, name);
      const [X, x] = input(g, [3, 5], true), [GY, gy] = input(g, [3, 5]);
      const y = layer.forward(x) as Tensor;
      backprop(y, gy);
      c.close(`${name} y`, y, Array.from(X, f), 1e-5);
      c.close(`${name} dx`, x.grad, Array.from(X, (v, i) => GY[i] * df(v)), 1e-5);
    }
    await c.run();
  });

  test("Dropout2d: whole maps kept (×2) or zeroed in training, gradient the same mask; identity in eval", async () => {
    const g = new Generator(7);
    const layer = moved(new nn.Dropout2d(0.5), "Dropout2d");
    const [X, x] = input(g, [4, 6, 3, 3], true), [GY, gy] = input(g, [4, 6, 3, 3]);
    const y = layer.forward(x);
    backprop(y, gy);
    layer.eval();
    const c = new Checks();
    c.close("eval y", layer.forward(x), X, 0);
    c.read(y, (Y) => {
      let kept = 0;
      for (let m = 0; m < 24; m++) {
        const keep = Y[m * 9] !== 0;
        if (keep) kept++;
        for (let i = m * 9; i < m * 9 + 9; i++) ok(Math.abs(Y[i] - (keep ? 2 * X[i] : 0)) < 1e-5, `y[${i}]`);
      }
      ok(kept > 0 && kept < 24, `kept ${kept} of 24 maps`);
    });
    c.read(x.grad!, (dX) => {
      for (let m = 0; m < 24; m++) {
        for (let i = m * 9; i < m * 9 + 9; i++) ok(Math.abs(dX[i] - (dX[m * 9] === 0 ? 0 : 2 * GY[i])) < 1e-5);
      }
    });
    await c.run();
  });

  test("KLDivLoss (batchmean, logTarget), SmoothL1Loss, HuberLoss: values and gradients by hand", async () => {
    const g = new Generator(8);
    const c = new Checks();
    const [n, k] = [3, 4];
    // log-probabilities and a target distribution per row
    const logits = randn([n, k], { generator: g }), tgt = randn([n, k], { generator: g }).softmax(1);
    const L = logits.logSoftmax(1).dataSync() as Host, T = tgt.dataSync() as Host;
    for (const logTarget of [false, true]) {
      const loss = moved(new nn.KLDivLoss({ reduction: "batchmean", logTarget }), "KLDivLoss");
      const x = tensor(Array.from(L), { device }).reshape([n, k]).requiresGrad_();
      const t = tensor(Array.from(T, (v) => logTarget ? Math.log(v) : v), { device }).reshape([n, k]);
      const out = loss.forward(x, t);
      out.backward();
      const value = Array.from(T).reduce((a, p, i) => a + p * (Math.log(p) - L[i]), 0) / n;
      c.close(`KLDivLoss logTarget=${logTarget} value`, out, [value], 1e-5);
      c.close(`KLDivLoss logTarget=${logTarget} dx`, x.grad, Array.from(T, (p) => -p / n), 1e-5);
    }
    const [X, x] = input(g, [2, 5], true), [Tg, t] = input(g, [2, 5]);
    const d = Array.from(X, (v, i) => 1.5 * (v - Tg[i]));
    const scaled = x.mul(1.5), tt = t.mul(1.5);
    const sl1 = moved(new nn.SmoothL1Loss({ beta: 0.8, reduction: "sum" }), "SmoothL1Loss");
    const hub = moved(new nn.HuberLoss({ delta: 0.8 }), "HuberLoss");
    const a = sl1.forward(scaled, tt), b = hub.forward(scaled, tt);
    a.add(b).backward();
    const s = d.reduce((acc, v) => acc + (Math.abs(v) < 0.8 ? 0.5 * v * v / 0.8 : Math.abs(v) - 0.4), 0);
    const hv = d.reduce((acc, v) => acc + (Math.abs(v) < 0.8 ? 0.5 * v * v : 0.8 * (Math.abs(v) - 0.4)), 0) / 10;
    const grad = d.map((v) =>
      1.5 * ((Math.abs(v) < 0.8 ? v / 0.8 : Math.sign(v)) + (Math.abs(v) < 0.8 ? v : 0.8 * Math.sign(v)) / 10)
    );
    c.close("SmoothL1Loss(sum) value", a, [s], 1e-5);
    c.close("HuberLoss(mean) value", b, [hv], 1e-5);
    c.close("SmoothL1 + Huber dx", x.grad, grad, 1e-5);
    await c.run();
  });
}
