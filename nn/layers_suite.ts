/**
 * The nn layer tests as a device-parametrized suite: every layer is built on
 * the CPU, moved with `Module.to(device)` (parameters and buffers), run
 * forward against direct loops or hand formulas, and its backward checked
 * against hand-derived gradients. `nn/layers_test.ts` runs it on the CPU,
 * `gpu/nn_test.ts` on WebGPU. Everything is float32 and read back with
 * `await t.data()`, all reads of a test in one `Promise.all` (a read-back
 * costs ~10-20 ms on llvmpipe).
 *
 * @example
 * ```ts ignore
 * import { nnLayersSuite } from "@dendrite/nn/testing";
 * nnLayersSuite("cpu", "nn[cpu]");
 * ```
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type Device, Generator, manualSeed, noGrad, randn, type Tensor, tensor } from "@dendrite/tensor";
import * as nn from "./mod.ts";

type Host = Float32Array;

/** Comparisons queued during a test and read back together. */
export class Checks {
  #items: [string, Tensor, ArrayLike<number>, number][] = [];
  #after: (() => void)[] = [];
  #reads: [Tensor, (v: number[]) => void][] = [];

  /** `t` must equal `expected` elementwise within `tol·(1 + |expected|)`. */
  close(what: string, t: Tensor | null, expected: ArrayLike<number>, tol = 1e-5): void {
    ok(t, `${what}: tensor is null`);
    this.#items.push([what, t, expected, tol]);
  }

  /** Reads `t` with the others and hands its values to `fn`. */
  read(t: Tensor, fn: (v: number[]) => void): void {
    this.#reads.push([t, fn]);
  }

  /** Runs the queued comparisons after one shared wait. */
  async run(): Promise<void> {
    const got = await Promise.all([...this.#items.map((i) => i[1].data()), ...this.#reads.map((r) => r[0].data())]);
    this.#items.forEach(([what, , want, tol], k) => {
      const a = got[k];
      strictEqual(a.length, want.length, `${what}: ${a.length} elements, expected ${want.length}`);
      for (let i = 0; i < a.length; i++) {
        const e = want[i];
        ok(Math.abs(Number(a[i]) - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${a[i]}, expected ${e} (tol ${tol})`);
      }
    });
    this.#reads.forEach(([, fn], k) => fn(Array.from(got[this.#items.length + k], Number)));
    this.#after.forEach((f) => f());
  }
}

/** erf by its Maclaurin series (|x| ≤ 4: ~1e-10 absolute; beyond, within 2e-8 of ±1). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 4) return Math.sign(x);
  let term = ax, sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= -ax * ax / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return Math.sign(x) * 2 / Math.sqrt(Math.PI) * sum;
}

/** Asserts every parameter and buffer of `m` lives on `device` and parameters stay trainable leaves. */
export function assertMoved(m: nn.Module, device: Device, what: string): void {
  for (const [name, p] of m.namedParameters()) {
    strictEqual(p.device, device, `${what}: parameter ${name} on ${p.device}`);
    ok(p instanceof nn.Parameter && p.requiresGrad && p.isLeaf, `${what}: ${name} is a trainable Parameter`);
  }
  for (const [name, b] of m.namedBuffers()) strictEqual(b.device, device, `${what}: buffer ${name} on ${b.device}`);
}

/**
 * Registers the nn layer tests (`Deno.test`) for layers moved to `device`,
 * each named `${prefix}: <case>`.
 */
export function nnLayersSuite(device: Device, prefix: string = `nn[${device}]`): void {
  const test = (name: string, fn: () => Promise<void>) => Deno.test(`${prefix}: ${name}`, fn);
  /** A random CPU tensor's values, and the same values on `device` (a leaf requiring grad when asked). */
  const input = (g: Generator, shape: number[], grad = false): [Host, Tensor] => {
    const t = randn(shape, { generator: g });
    const h = t.dataSync() as Host;
    const d = t.to(device);
    return [h, grad ? d.requiresGrad_() : d];
  };
  const host = (t: Tensor): Host => t.dataSync() as Host; // CPU tensors only (before moving)
  const moved = <M extends nn.Module>(m: M, what: string): M => {
    m.to(device);
    assertMoved(m, device, what);
    return m;
  };
  /** Backpropagates `sum(y · gy)`, so the upstream gradient is `gy`. */
  const backprop = (y: Tensor, gy: Tensor) => y.mul(gy).sum().backward();

  test("Linear: forward and backward against direct loops; Module.to moves weight and bias", async () => {
    manualSeed(10);
    const [nIn, nOut, batch] = [5, 4, 6];
    const fc = new nn.Linear(nIn, nOut);
    const W = host(fc.weight), B = host(fc.bias!);
    moved(fc, "Linear");
    const g = new Generator(1);
    const [X, x] = input(g, [batch, nIn], true), [GY, gy] = input(g, [batch, nOut]);
    const y = fc.forward(x);
    backprop(y, gy);
    const Y = new Float64Array(batch * nOut), dX = new Float64Array(batch * nIn);
    const dW = new Float64Array(nOut * nIn), dB = new Float64Array(nOut);
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < nOut; o++) {
        let s = B[o];
        for (let i = 0; i < nIn; i++) s += X[n * nIn + i] * W[o * nIn + i];
        Y[n * nOut + o] = s;
        const go = GY[n * nOut + o];
        dB[o] += go;
        for (let i = 0; i < nIn; i++) {
          dX[n * nIn + i] += go * W[o * nIn + i];
          dW[o * nIn + i] += go * X[n * nIn + i];
        }
      }
    }
    const c = new Checks();
    c.close("y", y, Y);
    c.close("dx", x.grad, dX);
    c.close("dW", fc.weight.grad, dW);
    c.close("db", fc.bias!.grad, dB);
    await c.run();
  });

  test("Conv2d (stride, padding, dilation, groups, bias): forward and backward against direct loops", async () => {
    manualSeed(11);
    const [n, cIn, h, w, cOut, k] = [2, 4, 7, 8, 6, 3];
    const [sh, sw, ph, pw, dh, dw, groups] = [2, 1, 1, 1, 1, 2, 2];
    const conv = new nn.Conv2d(cIn, cOut, k, { stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups });
    const Wt = host(conv.weight), Bs = host(conv.bias!);
    moved(conv, "Conv2d");
    const outH = Math.floor((h + 2 * ph - dh * (k - 1) - 1) / sh) + 1;
    const outW = Math.floor((w + 2 * pw - dw * (k - 1) - 1) / sw) + 1;
    const g = new Generator(2);
    const [X, x] = input(g, [n, cIn, h, w], true), [GY, gy] = input(g, [n, cOut, outH, outW]);
    const y = conv.forward(x);
    backprop(y, gy);
    const cinG = cIn / groups, coutG = cOut / groups;
    const Y = new Float64Array(n * cOut * outH * outW), dX = new Float64Array(X.length);
    const dW = new Float64Array(Wt.length), dB = new Float64Array(cOut);
    for (let b = 0; b < n; b++) {
      for (let oc = 0; oc < cOut; oc++) {
        const grp = Math.floor(oc / coutG);
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            const o = ((b * cOut + oc) * outH + oy) * outW + ox;
            let s = Bs[oc];
            dB[oc] += GY[o];
            for (let icg = 0; icg < cinG; icg++) {
              const ic = grp * cinG + icg;
              for (let ky = 0; ky < k; ky++) {
                for (let kx = 0; kx < k; kx++) {
                  const iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const xi = ((b * cIn + ic) * h + iy) * w + ix, wi = ((oc * cinG + icg) * k + ky) * k + kx;
                  s += X[xi] * Wt[wi];
                  dX[xi] += GY[o] * Wt[wi];
                  dW[wi] += GY[o] * X[xi];
                }
              }
            }
            Y[o] = s;
          }
        }
      }
    }
    deepStrictEqual(y.shape, [n, cOut, outH, outW]);
    const c = new Checks();
    c.close("y", y, Y, 1e-4);
    c.close("dx", x.grad, dX, 1e-4);
    c.close("dW", conv.weight.grad, dW, 1e-4);
    c.close("db", conv.bias!.grad, dB, 1e-4);
    await c.run();
  });

  test("BatchNorm2d: train (batch stats, running stats, backward) and eval (running stats) by hand formulas", async () => {
    const [n, ch, hw] = [2, 3, 4];
    const bn = new nn.BatchNorm2d(ch, { momentum: 0.1 });
    const g = new Generator(3);
    const gamma = randn([ch], { generator: g }), beta = randn([ch], { generator: g });
    noGrad(() => {
      bn.weight!.copy_(gamma);
      bn.bias!.copy_(beta);
    });
    const Ga = host(gamma), Be = host(beta);
    moved(bn, "BatchNorm2d");
    const xs = [input(g, [n, ch, 2, 2], true), input(g, [n, ch, 2, 2], true)];
    const [GY, gy] = input(g, [n, ch, 2, 2]);
    const c = new Checks();
    const rm = [0, 0, 0], rv = [1, 1, 1];
    const at = (cc: number) => {
      const idx: number[] = [];
      for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) idx.push((b * ch + cc) * hw + i);
      return idx;
    };
    const m = n * hw;
    xs.forEach(([X, x], step) => {
      const y = bn.forward(x);
      backprop(y, gy);
      const Y = new Float64Array(X.length), dX = new Float64Array(X.length);
      const dG = new Float64Array(ch), dBe = new Float64Array(ch);
      for (let cc = 0; cc < ch; cc++) {
        const idx = at(cc);
        const mean = idx.reduce((s, i) => s + X[i], 0) / m;
        const biased = idx.reduce((s, i) => s + (X[i] - mean) ** 2, 0) / m;
        const inv = 1 / Math.sqrt(biased + 1e-5);
        const xhat = (i: number) => (X[i] - mean) * inv;
        for (const i of idx) Y[i] = Ga[cc] * xhat(i) + Be[cc];
        // dx = γ/σ · (g - mean(g) - x̂·mean(g·x̂))
        const mg = idx.reduce((s, i) => s + GY[i], 0) / m;
        const mgx = idx.reduce((s, i) => s + GY[i] * xhat(i), 0) / m;
        for (const i of idx) dX[i] = Ga[cc] * inv * (GY[i] - mg - xhat(i) * mgx);
        dG[cc] = mgx * m;
        dBe[cc] = mg * m;
        rm[cc] = 0.9 * rm[cc] + 0.1 * mean;
        rv[cc] = 0.9 * rv[cc] + 0.1 * biased * m / (m - 1);
      }
      c.close(`train y (step ${step})`, y, Y, 1e-4);
      c.close(`train dx (step ${step})`, x.grad, dX, 1e-4);
      // The parameters' gradients accumulate over the two steps.
      if (step === 0) {
        c.close("dγ after step 0", bn.weight!.grad!.clone(), dG, 1e-4);
        c.close("dβ after step 0", bn.bias!.grad!.clone(), dBe, 1e-4);
      }
    });
    c.close("running_mean", bn.runningMean!.clone(), rm);
    c.close("running_var", bn.runningVar!.clone(), rv);
    c.close("num_batches_tracked", bn.numBatchesTracked!.clone(), [2]);
    strictEqual(bn.numBatchesTracked!.dtype, "int32");
    bn.eval();
    const [X, x] = xs[0];
    x.grad = null;
    const y = bn.forward(x);
    backprop(y, gy);
    const Y = Array.from(X, (v, i) => {
      const cc = Math.floor(i / hw) % ch;
      return Ga[cc] * (v - rm[cc]) / Math.sqrt(rv[cc] + 1e-5) + Be[cc];
    });
    const dX = Array.from(GY, (v, i) => {
      const cc = Math.floor(i / hw) % ch;
      return v * Ga[cc] / Math.sqrt(rv[cc] + 1e-5);
    });
    c.close("eval y", y, Y, 1e-4);
    c.close("eval dx", x.grad, dX, 1e-4);
    c.close("eval does not count batches", bn.numBatchesTracked, [2]);
    await c.run();
  });

  test("MaxPool2d, AvgPool2d, AdaptiveAvgPool2d: forward and backward against direct loops", async () => {
    const [n, ch, h, w] = [2, 2, 5, 6];
    const g = new Generator(4);
    const [X, x] = input(g, [n, ch, h, w], true);
    const c = new Checks();
    // Windows as lists of input offsets within a plane, per output cell, and the divisor.
    type Win = { cells: number[]; div: number }[];
    const run = (name: string, layer: nn.Module, outH: number, outW: number, wins: Win, kind: "max" | "avg") => {
      moved(layer, name);
      x.grad = null;
      const [GY, gy] = input(g, [n, ch, outH, outW]);
      const y = layer.forward(x) as Tensor;
      backprop(y, gy);
      deepStrictEqual(y.shape, [n, ch, outH, outW], name);
      const Y = new Float64Array(n * ch * outH * outW), dX = new Float64Array(X.length);
      for (let p = 0; p < n * ch; p++) {
        wins.forEach(({ cells, div }, o) => {
          const go = GY[p * outH * outW + o];
          if (kind === "max") {
            let best = cells[0];
            for (const i of cells) if (X[p * h * w + i] > X[p * h * w + best]) best = i;
            Y[p * outH * outW + o] = X[p * h * w + best];
            dX[p * h * w + best] += go;
          } else {
            Y[p * outH * outW + o] = cells.reduce((s, i) => s + X[p * h * w + i], 0) / div;
            for (const i of cells) dX[p * h * w + i] += go / div;
          }
        });
      }
      c.close(`${name} y`, y, Y);
      c.close(`${name} dx`, x.grad!.clone(), dX);
    };
    const windows = (k: number, s: number, pad: number, outH: number, outW: number, includePad: boolean): Win => {
      const out: Win = [];
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const cells: number[] = [];
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * s - pad + ky, ix = ox * s - pad + kx;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) cells.push(iy * w + ix);
            }
          }
          out.push({ cells, div: includePad ? k * k : cells.length });
        }
      }
      return out;
    };
    // k=3, stride 2, padding 1: out 3×3.
    run(
      "MaxPool2d(3, s2, p1)",
      new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
      3,
      3,
      windows(3, 2, 1, 3, 3, true),
      "max",
    );
    run("AvgPool2d(2)", new nn.AvgPool2d(2), 2, 3, windows(2, 2, 0, 2, 3, true), "avg");
    run(
      "AvgPool2d(3, s2, p1, countIncludePad)",
      new nn.AvgPool2d(3, { stride: 2, padding: 1 }),
      3,
      3,
      windows(3, 2, 1, 3, 3, true),
      "avg",
    );
    run(
      "AvgPool2d(3, s2, p1, !countIncludePad)",
      new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
      3,
      3,
      windows(3, 2, 1, 3, 3, false),
      "avg",
    );
    // Adaptive windows: [floor(i·H/out), ceil((i+1)·H/out)).
    const adaptive = (oh: number, ow: number): Win => {
      const out: Win = [];
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const cells: number[] = [];
          const y0 = Math.floor(oy * h / oh), y1 = Math.ceil((oy + 1) * h / oh);
          const x0 = Math.floor(ox * w / ow), x1 = Math.ceil((ox + 1) * w / ow);
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) cells.push(iy * w + ix);
          out.push({ cells, div: cells.length });
        }
      }
      return out;
    };
    run("AdaptiveAvgPool2d([2, 4])", new nn.AdaptiveAvgPool2d([2, 4]), 2, 4, adaptive(2, 4), "avg");
    run("AdaptiveAvgPool2d(1)", new nn.AdaptiveAvgPool2d(1), 1, 1, adaptive(1, 1), "avg");
    await c.run();
  });

  test("ReLU, LeakyReLU, Sigmoid, Tanh, GELU (erf and tanh): values and derivatives by hand", async () => {
    const g = new Generator(5);
    const c = new Checks();
    const k = Math.sqrt(2 / Math.PI);
    const cases: [string, nn.Module, (v: number) => number, (v: number) => number][] = [
      ["ReLU", new nn.ReLU(), (v) => Math.max(v, 0), (v) => v > 0 ? 1 : 0],
      ["LeakyReLU(0.2)", new nn.LeakyReLU(0.2), (v) => v > 0 ? v : 0.2 * v, (v) => v > 0 ? 1 : 0.2],
      ["Sigmoid", new nn.Sigmoid(), (v) => 1 / (1 + Math.exp(-v)), (v) => {
        const s = 1 / (1 + Math.exp(-v));
        return s * (1 - s);
      }],
      ["Tanh", new nn.Tanh(), Math.tanh, (v) => 1 - Math.tanh(v) ** 2],
      [
        "GELU",
        new nn.GELU(),
        (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
        (v) => 0.5 * (1 + erf(v / Math.SQRT2)) + v * Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI),
      ],
      [
        "GELU(tanh)",
        new nn.GELU("tanh"),
        (v) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v ** 3))),
        (v) => {
          const t = Math.tanh(k * (v + 0.044715 * v ** 3));
          return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
        },
      ],
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

  test("Softmax and LogSoftmax over dim 1 and dim 0: values and backward by hand", async () => {
    const g = new Generator(6);
    const c = new Checks();
    const [r, k] = [3, 4];
    for (const dim of [1, 0]) {
      // Rows along `dim`: element (i, j) belongs to row i (dim 1) or j (dim 0).
      const lines = dim === 1
        ? Array.from({ length: r }, (_, i) => Array.from({ length: k }, (_, j) => i * k + j))
        : Array.from({ length: k }, (_, j) => Array.from({ length: r }, (_, i) => i * k + j));
      for (const log of [false, true]) {
        const name = `${log ? "LogSoftmax" : "Softmax"}(${dim})`;
        const layer = moved(log ? new nn.LogSoftmax(dim) : new nn.Softmax(dim), name);
        const [X, x] = input(g, [r, k], true), [GY, gy] = input(g, [r, k]);
        const y = layer.forward(x);
        backprop(y, gy);
        const Y = new Float64Array(r * k), dX = new Float64Array(r * k);
        for (const line of lines) {
          const mx = Math.max(...line.map((i) => X[i]));
          const z = line.reduce((s, i) => s + Math.exp(X[i] - mx), 0);
          const s = (i: number) => Math.exp(X[i] - mx) / z;
          const sumG = line.reduce((a, i) => a + GY[i], 0), sumGS = line.reduce((a, i) => a + GY[i] * s(i), 0);
          for (const i of line) {
            Y[i] = log ? X[i] - mx - Math.log(z) : s(i);
            dX[i] = log ? GY[i] - s(i) * sumG : s(i) * (GY[i] - sumGS);
          }
        }
        c.close(`${name} y`, y, Y);
        c.close(`${name} dx`, x.grad, dX);
      }
    }
    await c.run();
  });

  test("Dropout: p=0 in training and any p in eval are the identity (gradient too); p=0.5 scales kept ones", async () => {
    const g = new Generator(7);
    const c = new Checks();
    const [X, x] = input(g, [4, 8], true), [GY, gy] = input(g, [4, 8]);
    const zero = moved(new nn.Dropout(0), "Dropout(0)");
    backprop(zero.forward(x), gy);
    c.close("p=0 y", zero.forward(x), X, 0);
    c.close("p=0 dx", x.grad!.clone(), GY, 0);
    const half = moved(new nn.Dropout(0.5), "Dropout(0.5)").eval();
    x.grad = null;
    const ye = half.forward(x);
    backprop(ye, gy);
    c.close("eval y", ye, X, 0);
    c.close("eval dx", x.grad!.clone(), GY, 0);
    half.train();
    const ones = tensor(new Array(400).fill(1), { shape: [400], device }).requiresGrad_();
    const yt = half.forward(ones);
    yt.sum().backward();
    c.read(yt, (v) => {
      ok(v.every((e) => e === 0 || e === 2), "kept elements are scaled by 1/(1-p) = 2");
      const kept = v.filter((e) => e === 2).length;
      ok(kept > 150 && kept < 250, `about half kept: ${kept}/400`);
    });
    // The gradient is the same mask and scale as the output.
    c.read(yt.sub(ones.grad!).abs().sum(), (v) => strictEqual(v[0], 0, "dx equals the mask·2"));
    await c.run();
  });

  test("Embedding (paddingIdx): rows gathered; gradient summed per row, none for the padding row", async () => {
    manualSeed(12);
    const emb = new nn.Embedding(5, 3, { paddingIdx: 0 });
    const Wt = host(emb.weight);
    deepStrictEqual(Array.from(Wt.slice(0, 3)), [0, 0, 0]);
    moved(emb, "Embedding");
    const idx = [[1, 2, 4], [0, 4, 4]];
    const ix = tensor(idx, { dtype: "int32", device });
    const g = new Generator(8);
    const [GY, gy] = input(g, [2, 3, 3]);
    const y = emb.forward(ix);
    backprop(y, gy);
    deepStrictEqual(y.shape, [2, 3, 3]);
    const flat = idx.flat();
    const Y = flat.flatMap((r) => Array.from(Wt.slice(r * 3, r * 3 + 3)));
    const dW = new Float64Array(15);
    flat.forEach((r, p) => {
      if (r !== 0) { for (let j = 0; j < 3; j++) dW[r * 3 + j] += GY[p * 3 + j]; }
    });
    const c = new Checks();
    c.close("y", y, Y, 0);
    c.close("dW", emb.weight.grad, dW);
    await c.run();
  });

  test("LayerNorm (affine): forward and backward by hand formulas", async () => {
    const [rows, d] = [3, 5];
    const ln = new nn.LayerNorm(d);
    const g = new Generator(9);
    const gamma = randn([d], { generator: g }), beta = randn([d], { generator: g });
    noGrad(() => {
      ln.weight!.copy_(gamma);
      ln.bias!.copy_(beta);
    });
    const Ga = host(gamma), Be = host(beta);
    moved(ln, "LayerNorm");
    const [X, x] = input(g, [rows, d], true), [GY, gy] = input(g, [rows, d]);
    const y = ln.forward(x);
    backprop(y, gy);
    const Y = new Float64Array(rows * d), dX = new Float64Array(rows * d);
    const dG = new Float64Array(d), dB = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(X.slice(r * d, r * d + d));
      const mean = row.reduce((s, v) => s + v, 0) / d;
      const inv = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / d + 1e-5);
      const xhat = row.map((v) => (v - mean) * inv);
      const gh = xhat.map((_, j) => GY[r * d + j] * Ga[j]); // gradient w.r.t. x̂
      const mg = gh.reduce((s, v) => s + v, 0) / d, mgx = gh.reduce((s, v, j) => s + v * xhat[j], 0) / d;
      for (let j = 0; j < d; j++) {
        Y[r * d + j] = Ga[j] * xhat[j] + Be[j];
        dX[r * d + j] = inv * (gh[j] - mg - xhat[j] * mgx);
        dG[j] += GY[r * d + j] * xhat[j];
        dB[j] += GY[r * d + j];
      }
    }
    const c = new Checks();
    c.close("y", y, Y, 1e-4);
    c.close("dx", x.grad, dX, 1e-4);
    c.close("dγ", ln.weight!.grad, dG, 1e-4);
    c.close("dβ", ln.bias!.grad, dB, 1e-4);
    await c.run();
  });

  test("Flatten and Identity: shapes, values and gradients", async () => {
    const g = new Generator(10);
    const [X, x] = input(g, [2, 3, 4], true), [GY, gy] = input(g, [2, 12]);
    const y = moved(new nn.Flatten(), "Flatten").forward(x);
    deepStrictEqual(y.shape, [2, 12]);
    backprop(y, gy);
    strictEqual(new nn.Identity().forward(x), x);
    const c = new Checks();
    c.close("y", y, X, 0);
    c.close("dx", x.grad, GY, 0);
    await c.run();
  });

  test("MSELoss and L1Loss (mean, sum, none): values and gradients by hand", async () => {
    const g = new Generator(11);
    const c = new Checks();
    const [T, t] = input(g, [3, 4]);
    for (const reduction of ["mean", "sum", "none"] as const) {
      for (const l1 of [false, true]) {
        const name = `${l1 ? "L1Loss" : "MSELoss"}(${reduction})`;
        const loss = moved(l1 ? new nn.L1Loss({ reduction }) : new nn.MSELoss({ reduction }), name);
        const [X, x] = input(g, [3, 4], true);
        const out = loss.forward(x, t);
        const scale = reduction === "mean" ? 1 / X.length : 1;
        if (reduction === "none") {
          const [GY, gy] = input(g, [3, 4]);
          backprop(out, gy);
          c.close(`${name} value`, out, Array.from(X, (v, i) => l1 ? Math.abs(v - T[i]) : (v - T[i]) ** 2));
          c.close(`${name} dx`, x.grad, Array.from(X, (v, i) => GY[i] * (l1 ? Math.sign(v - T[i]) : 2 * (v - T[i]))));
        } else {
          out.backward();
          const tot = Array.from(X).reduce((s, v, i) => s + (l1 ? Math.abs(v - T[i]) : (v - T[i]) ** 2), 0);
          c.close(`${name} value`, out, [tot * scale]);
          c.close(`${name} dx`, x.grad, Array.from(X, (v, i) => scale * (l1 ? Math.sign(v - T[i]) : 2 * (v - T[i]))));
        }
      }
    }
    await c.run();
  });

  test("CrossEntropyLoss (plain; weight + ignoreIndex + labelSmoothing) and NLLLoss: PyTorch's formulas", async () => {
    const [n, k] = [5, 4];
    const g = new Generator(12);
    const targets = [0, 3, 1, 3, 2];
    const t = tensor(targets, { dtype: "int32", device });
    const wHost = [2, 1, 3, 0.5];
    const c = new Checks();
    // Per row, a loss -Σ_c a_c·log p_c has gradient softmax·Σa - a w.r.t. the logits.
    const expect = (X: Host, coef: (row: number, cls: number) => number, viaLogits: boolean) => {
      let loss = 0;
      const dX = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        const row = Array.from(X.slice(i * k, i * k + k));
        const mx = Math.max(...row), lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
        const a = row.map((_, cc) => coef(i, cc));
        const sa = a.reduce((s, v) => s + v, 0);
        for (let cc = 0; cc < k; cc++) {
          const logp = viaLogits ? row[cc] - lse : row[cc];
          loss -= a[cc] * logp;
          dX[i * k + cc] = viaLogits ? Math.exp(row[cc] - lse) * sa - a[cc] : -a[cc];
        }
      }
      return { loss, dX };
    };
    {
      const ce = moved(new nn.CrossEntropyLoss(), "CrossEntropyLoss");
      const [X, x] = input(g, [n, k], true);
      const out = ce.forward(x, t);
      out.backward();
      const e = expect(X, (i, cc) => cc === targets[i] ? 1 / n : 0, true);
      c.close("plain CE", out, [e.loss]);
      c.close("plain CE dx", x.grad, e.dX);
    }
    {
      const eps = 0.1, ignore = 3;
      const ce = new nn.CrossEntropyLoss({ weight: tensor(wHost), ignoreIndex: ignore, labelSmoothing: eps });
      moved(ce, "CrossEntropyLoss(weight, ignoreIndex, labelSmoothing)");
      strictEqual(ce.weight!.device, device);
      const [X, x] = input(g, [n, k], true);
      const out = ce.forward(x, t);
      out.backward();
      const denom = targets.reduce((s, tt) => s + (tt === ignore ? 0 : wHost[tt]), 0);
      const coef = (i: number, cc: number) =>
        targets[i] === ignore ? 0 : ((cc === targets[i] ? (1 - eps) * wHost[cc] : 0) + eps / k * wHost[cc]) / denom;
      const e = expect(X, coef, true);
      c.close("CE(weight, ignoreIndex, smoothing)", out, [e.loss]);
      c.close("CE(weight, ignoreIndex, smoothing) dx", x.grad, e.dX);
    }
    {
      const ignore = 1;
      const nll = moved(new nn.NLLLoss({ weight: tensor(wHost), ignoreIndex: ignore }), "NLLLoss");
      const [X, x] = input(g, [n, k], true);
      const out = nll.forward(x, t);
      out.backward();
      const denom = targets.reduce((s, tt) => s + (tt === ignore ? 0 : wHost[tt]), 0);
      const e = expect(X, (i, cc) => cc === targets[i] && cc !== ignore ? wHost[cc] / denom : 0, false);
      c.close("NLL(weight, ignoreIndex)", out, [e.loss]);
      c.close("NLL(weight, ignoreIndex) dx", x.grad, e.dX);
    }
    await c.run();
  });

  test("BCELoss (weight) and BCEWithLogitsLoss (posWeight, large logits): values and gradients by hand", async () => {
    const g = new Generator(13);
    const c = new Checks();
    const [n, k] = [3, 4];
    const [Z, z] = input(g, [n, k]);
    const T = Float32Array.from({ length: n * k }, () => g.random());
    const t = tensor(Array.from(T), { shape: [n, k], device });
    const W = [0.5, 1, 2, 1.5];
    {
      // Probabilities in (0, 1): a leaf made on the host so that the gradient is w.r.t. p itself.
      const P = Float32Array.from(Z, (v) => 1 / (1 + Math.exp(-v)));
      const p = tensor(Array.from(P), { shape: [n, k], device }).requiresGrad_();
      const bce = moved(new nn.BCELoss({ weight: tensor(W) }), "BCELoss");
      const out = bce.forward(p, t);
      out.backward();
      let loss = 0;
      const dP = Array.from(P, (v, i) => {
        const w = W[i % k];
        loss -= w * (T[i] * Math.log(v) + (1 - T[i]) * Math.log(1 - v));
        return w * (v - T[i]) / (v * (1 - v)) / (n * k);
      });
      c.close("BCE", out, [loss / (n * k)], 1e-4);
      c.close("BCE dp", p.grad, dP, 1e-4);
    }
    {
      const pw = [1, 2, 0.5, 3];
      const bce = moved(new nn.BCEWithLogitsLoss({ posWeight: tensor(pw), reduction: "sum" }), "BCEWithLogitsLoss");
      const x = z.detach().requiresGrad_();
      const out = bce.forward(x, t);
      out.backward();
      let loss = 0;
      const dX = Array.from(Z, (v, i) => {
        const s = 1 / (1 + Math.exp(-v)), q = pw[i % k];
        loss -= q * T[i] * Math.log(s) + (1 - T[i]) * Math.log(1 - s);
        return s * (q * T[i] + 1 - T[i]) - q * T[i];
      });
      c.close("BCEWithLogits", out, [loss], 1e-4);
      c.close("BCEWithLogits dx", x.grad, dX, 1e-4);
      const big = moved(new nn.BCEWithLogitsLoss({ reduction: "none" }), "BCEWithLogitsLoss(none)").forward(
        tensor([100, -100], { device }),
        tensor([0, 1], { device }),
      );
      c.close("BCEWithLogits at ±100 is finite", big, [100, 100], 1e-6);
    }
    await c.run();
  });

  test("a small CNN (conv, batch norm, pool, linear) moved with Module.to trains one step: the loss falls", async () => {
    manualSeed(13);
    const net = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 2 * 2, 3),
    );
    moved(net, "Sequential CNN");
    const x = randn([4, 1, 4, 4], { generator: new Generator(14) }).to(device);
    const y = tensor([0, 1, 2, 1], { dtype: "int32", device });
    const lossFn = new nn.CrossEntropyLoss();
    const l0 = lossFn.forward(net.forward(x), y);
    l0.backward();
    noGrad(() => {
      for (const p of net.parameters()) p.sub_(p.grad!.mul(0.1));
    });
    const l1 = lossFn.forward(net.forward(x), y);
    const [a, b] = await Promise.all([l0.item(), l1.item()]);
    ok(b < a, `loss fell: ${a} -> ${b}`);
    assertMoved(net, device, "after a step");
  });
}
