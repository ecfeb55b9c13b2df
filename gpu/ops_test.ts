// Autograd- and nn-level checks on WebGPU against the same computation on the CPU, the convolution and
// pooling kernels against the CPU backend (their oracle, itself tested against direct loops), and errors.
import { ok, rejects, throws } from "node:assert/strict";
import {
  avgPool2d,
  conv2d,
  crossEntropy,
  Generator,
  maxPool2d,
  randint,
  randn,
  type Tensor,
  tensor,
} from "@dendrite/tensor";
import { type Conv2dGeometry, cpuBackend, type Pool2dGeometry, type View } from "@dendrite/tensor";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  ok(actual.length === expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      throw new Error(`${what}: element ${i} is ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

/** Reads many tensors back in one wait (each separate read-back costs ~10-20 ms on llvmpipe). */
function readAll(ts: Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
}

if (await webgpuOrSkip("webgpu ops")) {
  await useWebGPU();

  Deno.test("webgpu: Linear + crossEntropy forward and backward match the CPU", async () => {
    const g = new Generator(3);
    const x = randn([8, 5], { generator: g }), w = randn([5, 4], { generator: g }), b = randn([4], { generator: g });
    const y = randint(0, 4, [8], { generator: g, dtype: "int32" });
    const run = (dev: string) => {
      const xs = x.to(dev), ws = w.to(dev).detach().requiresGrad_(), bs = b.to(dev).detach().requiresGrad_();
      const loss = crossEntropy(xs.matmul(ws).add(bs).tanh(), y.to(dev));
      loss.backward();
      return [loss, ws.grad!, bs.grad!];
    };
    const cpu = run("cpu").map((t) => t.dataSync());
    const gpu = await readAll(run("webgpu"));
    ["loss", "dW", "db"].forEach((name, i) => close(gpu[i], cpu[i], 1e-5, name));
  });

  Deno.test("webgpu: a small conv net (conv, relu, max/avg pool, grouped strided conv) backward matches the CPU", async () => {
    const g = new Generator(7);
    const x = randn([2, 3, 9, 9], { generator: g });
    const w1 = randn([4, 3, 3, 3], { generator: g }), b1 = randn([4], { generator: g });
    const w2 = randn([6, 2, 3, 3], { generator: g });
    const run = (dev: string) => {
      const xs = x.to(dev).detach().requiresGrad_();
      const p1 = w1.to(dev).detach().requiresGrad_(), q1 = b1.to(dev).detach().requiresGrad_();
      const p2 = w2.to(dev).detach().requiresGrad_();
      let h = conv2d(xs, p1, q1, { padding: 1 }).relu();
      h = maxPool2d(h, 2, { stride: 2, padding: 1 });
      h = conv2d(h, p2, null, { stride: 2, groups: 2, padding: 1, dilation: 1 });
      h = avgPool2d(h, 2, { stride: 1, padding: 1, countIncludePad: false } as Parameters<typeof avgPool2d>[2]);
      const loss = h.mul(h).sum();
      loss.backward();
      return [loss, xs.grad!, p1.grad!, q1.grad!, p2.grad!];
    };
    const cpu = run("cpu").map((t) => t.dataSync());
    const gpu = await readAll(run("webgpu"));
    ["loss", "dx", "dw1", "db1", "dw2"].forEach((name, i) => close(gpu[i], cpu[i], 2e-4, name));
  });

  // Both convolution paths: the register-tiled default and the workgroup-memory-tiled GEMM kept for real GPUs.
  for (const convDirect of [true, false]) {
    Deno.test(`webgpu: conv2d and its backward kernels match the CPU backend over geometries (convDirect ${convDirect})`, async () => {
      const gpu = await useWebGPU();
      gpu.convDirect = convDirect;
      try {
        await compareConvWithCpu(gpu);
      } finally {
        gpu.convDirect = true;
      }
    });
  }

  const compareConvWithCpu = async (gpu: Awaited<ReturnType<typeof useWebGPU>>): Promise<void> => {
    const g = new Generator(11);
    const cases = [
      { n: 2, cIn: 3, h: 7, w: 6, cOut: 5, kh: 3, kw: 2, s: [1, 2], p: [1, 0], d: [1, 1], groups: 1 },
      { n: 1, cIn: 4, h: 9, w: 9, cOut: 6, kh: 3, kw: 3, s: [2, 2], p: [2, 1], d: [2, 1], groups: 2 },
      { n: 3, cIn: 70, h: 5, w: 5, cOut: 66, kh: 1, kw: 1, s: [1, 1], p: [0, 0], d: [1, 1], groups: 1 },
    ];
    const pending: [string, Promise<ArrayLike<number>>, ArrayLike<number>][] = [];
    for (const c of cases) {
      const outH = Math.floor((c.h + 2 * c.p[0] - c.d[0] * (c.kh - 1) - 1) / c.s[0]) + 1;
      const outW = Math.floor((c.w + 2 * c.p[1] - c.d[1] * (c.kw - 1) - 1) / c.s[1]) + 1;
      const geo: Conv2dGeometry = {
        n: c.n,
        cIn: c.cIn,
        h: c.h,
        w: c.w,
        cOut: c.cOut,
        kh: c.kh,
        kw: c.kw,
        strideH: c.s[0],
        strideW: c.s[1],
        padH: c.p[0],
        padW: c.p[1],
        dilationH: c.d[0],
        dilationW: c.d[1],
        groups: c.groups,
        outH,
        outW,
      };
      const host = (shape: number[]) => randn(shape, { generator: g }).dataSync() as Float32Array;
      const xs = host([c.n, c.cIn, c.h, c.w]), ws = host([c.cOut, c.cIn / c.groups, c.kh, c.kw]);
      const gy = host([c.n, c.cOut, outH, outW]);
      const view = (b: typeof gpu | typeof cpuBackend, data: Float32Array, shape: number[]): View => {
        const st: number[] = [];
        let acc = 1;
        for (let d = shape.length - 1; d >= 0; d--) st[d] = acc, acc *= shape[d];
        return { storage: b.upload(data.slice()), shape, strides: st, offset: 0 };
      };
      for (const b of [gpu, cpuBackend]) {
        const y = b.alloc("float32", c.n * c.cOut * outH * outW);
        b.conv2d(view(b, xs, [c.n, c.cIn, c.h, c.w]), view(b, ws, [c.cOut, c.cIn / c.groups, c.kh, c.kw]), y, geo);
        const dx = b.alloc("float32", xs.length);
        b.conv2dBackwardInput(
          view(b, gy, [c.n, c.cOut, outH, outW]),
          view(b, ws, [c.cOut, c.cIn / c.groups, c.kh, c.kw]),
          dx,
          geo,
        );
        const dw = b.alloc("float32", ws.length);
        b.conv2dBackwardWeight(view(b, gy, [c.n, c.cOut, outH, outW]), view(b, xs, [c.n, c.cIn, c.h, c.w]), dw, geo);
        if (b === gpu) {
          pending.push([`conv ${JSON.stringify(c)} forward`, b.read(y), []]);
          pending.push([`conv ${JSON.stringify(c)} dX`, b.read(dx), []]);
          pending.push([`conv ${JSON.stringify(c)} dW`, b.read(dw), []]);
        } else {
          const k = pending.length - 3;
          pending[k][2] = cpuBackend.readSync(y);
          pending[k + 1][2] = cpuBackend.readSync(dx);
          pending[k + 2][2] = cpuBackend.readSync(dw);
        }
      }
    }
    const got = await Promise.all(pending.map((p) => p[1]));
    pending.forEach(([what, , want], i) => close(got[i], want, 1e-4, what));
  };

  Deno.test("webgpu: pooling kernels and their backward match the CPU backend", async () => {
    const gpu = await useWebGPU();
    const g = new Generator(5);
    const pending: [string, Promise<ArrayLike<number>>, ArrayLike<number>][] = [];
    const geos: Pool2dGeometry[] = [
      {
        n: 2,
        c: 3,
        h: 7,
        w: 8,
        kh: 3,
        kw: 2,
        strideH: 2,
        strideW: 1,
        padH: 1,
        padW: 1,
        dilationH: 1,
        dilationW: 1,
        outH: 4,
        outW: 9,
        countIncludePad: true,
      },
      {
        n: 1,
        c: 2,
        h: 6,
        w: 6,
        kh: 2,
        kw: 2,
        strideH: 2,
        strideW: 2,
        padH: 1,
        padW: 0,
        dilationH: 1,
        dilationW: 1,
        outH: 4,
        outW: 3,
        countIncludePad: false,
      },
      {
        n: 1,
        c: 2,
        h: 9,
        w: 9,
        kh: 3,
        kw: 3,
        strideH: 1,
        strideW: 2,
        padH: 1,
        padW: 1,
        dilationH: 2,
        dilationW: 1,
        outH: 7,
        outW: 5,
        countIncludePad: false,
      },
    ];
    for (const geo of geos) {
      // Integers make ties, so the first-maximum rule is exercised.
      const xs = Float32Array.from({ length: geo.n * geo.c * geo.h * geo.w }, () => Math.floor(g.random() * 5));
      const go = Float32Array.from({ length: geo.n * geo.c * geo.outH * geo.outW }, () => g.random() - 0.5);
      const xShape = [geo.n, geo.c, geo.h, geo.w], oShape = [geo.n, geo.c, geo.outH, geo.outW];
      const st = (s: number[]) => [s[1] * s[2] * s[3], s[2] * s[3], s[3], 1];
      const results: ArrayLike<number>[][] = [];
      for (const b of [gpu, cpuBackend]) {
        const xv: View = { storage: b.upload(xs.slice()), shape: xShape, strides: st(xShape), offset: 0 };
        const gv: View = { storage: b.upload(go.slice()), shape: oShape, strides: st(oShape), offset: 0 };
        const out = b.alloc("float32", go.length), idx = b.alloc("int32", go.length);
        b.maxPool2d(xv, out, idx, geo);
        const dx = b.alloc("float32", xs.length);
        b.maxPool2dBackward(gv, { storage: idx, shape: oShape, strides: st(oShape), offset: 0 }, dx, geo);
        const avg = b.alloc("float32", go.length);
        b.avgPool2d(xv, avg, geo);
        const adx = b.alloc("float32", xs.length);
        b.avgPool2dBackward(gv, adx, geo);
        const stores = [out, idx, dx, avg, adx];
        if (b === gpu) stores.forEach((s, k) => pending.push([`pool ${k} ${JSON.stringify(geo)}`, gpu.read(s), []]));
        else results.push(stores.map((s) => cpuBackend.readSync(s)));
      }
      const base = pending.length - 5;
      results[0].forEach((r, k) => pending[base + k][2] = r);
    }
    const got = await Promise.all(pending.map((p) => p[1]));
    pending.forEach(([what, , want], i) => close(got[i], want, 1e-5, what));
  });

  Deno.test("webgpu: random draws equal the CPU's for the same seed; int and bool tensors round-trip", async () => {
    const a = randn([33], { generator: new Generator(9), device: "webgpu" });
    const b = randn([33], { generator: new Generator(9) });
    const i = tensor([[1, -2], [3, 4]], { dtype: "int32" }).to("webgpu");
    const m = i.gt(0);
    const [ad, id, md] = await Promise.all([a.data(), i.mul(3).sum().data(), m.data()]);
    close(ad, b.dataSync(), 1e-5, "randn");
    ok(id[0] === 18, `int sum ${id[0]}`);
    ok(md instanceof Uint8Array && md.join() === "1,0,1,1", `bool ${md}`);
  });

  Deno.test("webgpu: matmul's vec4 path (plain, transposed operands, batched) matches a direct loop", async () => {
    const g = new Generator(13);
    const [bt, m, k, n] = [3, 8, 12, 16];
    const a = randn([bt, m, k], { generator: g }), b = randn([bt, k, n], { generator: g });
    const ah = a.dataSync(), bh = b.dataSync();
    const want: number[] = [];
    for (let t = 0; t < bt; t++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += ah[t * m * k + i * k + p] * bh[t * k * n + p * n + j];
          want.push(s);
        }
      }
    }
    const ag = a.to("webgpu"), bg = b.to("webgpu");
    // The same products through transposed storage: (Aᵀ)ᵀ and (Bᵀ)ᵀ are views with unit row strides.
    const aT = ag.transpose(1, 2).contiguous().transpose(1, 2), bT = bg.transpose(1, 2).contiguous().transpose(1, 2);
    const outs = await readAll([ag.matmul(bg), aT.matmul(bg), ag.matmul(bT), aT.matmul(bT)]);
    outs.forEach((o, i) => close(o, want, 1e-5, `matmul variant ${i}`));
  });

  Deno.test("webgpu: errors name the devices, the dtype and the op", async () => {
    const c = tensor([1, 2, 3]);
    const w = c.to("webgpu");
    throws(() => c.add(w), /"cpu" and "webgpu"/);
    throws(() => w.matmul(c.reshape([3, 1])), /"webgpu" and "cpu"/);
    throws(() => tensor([1.5], { dtype: "float64" }).to("webgpu"), /float64.*WebGPU/);
    throws(() => w.to("float64"), /float64/);
    throws(() => w.dataSync(), /await t.data\(\)/);
    const idx = tensor([0, 5], { dtype: "int32" }).to("webgpu");
    await rejects(() => w.gather(0, idx).data(), /gather: index 5 is out of range for dimension 0 of size 3/);
    // The device still works after the error.
    ok((await w.sum().item()) === 6);
  });
}
