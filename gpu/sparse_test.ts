// Sparse COO tensors on WebGPU against the same computation on the CPU: toDense, sparse.mm forward and backward,
// a sparse embedding gradient and the SGD step that applies it.
import { ok } from "node:assert/strict";
import { embedding, Generator, randint, randn, sparse, sparseCooTensor, type Tensor } from "@dendrite/tensor";
import { clipGradNorm, SGD, SparseAdam } from "@dendrite/optim";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  ok(actual.length === expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

const readAll = (ts: Tensor[]) => Promise.all(ts.map((t) => t.data()));

if (await webgpuOrSkip("webgpu sparse")) {
  await useWebGPU();

  Deno.test("webgpu: sparse toDense and sparse.mm with gradients for the dense operand and the values match the CPU", async () => {
    const g = new Generator(11);
    const idx = randint(0, 5, [2, 14], { generator: g, dtype: "int32" });
    const values = randn([14], { generator: g }), dense = randn([5, 4], { generator: g });
    const run = (dev: string) => {
      const v = values.to(dev).detach().requiresGrad_(), d = dense.to(dev).detach().requiresGrad_();
      const s = sparseCooTensor(idx.to(dev), v, [5, 5]);
      const y = sparse.mm(s, d);
      y.mul(y).sum().backward();
      return [s.toDense(), y, v.grad!, d.grad!];
    };
    const cpu = run("cpu").map((t) => t.dataSync());
    const gpu = await readAll(run("webgpu"));
    ["toDense", "y", "dvalues", "ddense"].forEach((name, i) => close(gpu[i], cpu[i], 1e-5, name));
  });

  Deno.test("webgpu: a sparse embedding gradient and SGD's row update match the CPU", async () => {
    const g = new Generator(12);
    const w0 = randn([50, 8], { generator: g });
    const rows = randint(0, 50, [3, 7], { generator: g, dtype: "int32" });
    const up = randn([3, 7, 8], { generator: g });
    const run = (dev: string) => {
      const w = w0.to(dev).clone().detach().requiresGrad_(); // a copy: the step writes into it
      embedding(rows.to(dev), w, 3, true).mul(up.to(dev)).sum().backward();
      ok(w.grad!.isSparse, `${dev}: the gradient is sparse`);
      const dense = w.grad!.toDense();
      new SGD([w], { lr: 0.5 }).step();
      return [dense, w];
    };
    const cpu = run("cpu").map((t) => t.dataSync());
    const gpu = await readAll(run("webgpu"));
    ["dW", "W after SGD"].forEach((name, i) => close(gpu[i], cpu[i], 1e-5, name));
  });

  Deno.test("webgpu: SparseAdam (duplicates summed on the device) matches the CPU's coalescing SparseAdam", async () => {
    const g = new Generator(13);
    const w0 = randn([40, 6], { generator: g });
    const batches = [0, 1, 2].map(() => randint(0, 12, [25], { generator: g, dtype: "int32" })); // many repeats
    const ups = [0, 1, 2].map(() => randn([25, 6], { generator: g }));
    const run = (dev: string) => {
      const w = w0.to(dev).clone().detach().requiresGrad_();
      const opt = new SparseAdam([w], { lr: 0.05, betas: [0.8, 0.9] });
      batches.forEach((rows, s) => {
        opt.zeroGrad();
        embedding(rows.to(dev), w, null, true).mul(ups[s].to(dev)).sum().backward();
        opt.step();
      });
      const st = opt.state.get(w)!;
      return [w, st.exp_avg as Tensor, st.exp_avg_sq as Tensor];
    };
    const cpu = run("cpu").map((t) => t.dataSync());
    const gpu = await readAll(run("webgpu"));
    // The norm of a sparse gradient with repeated rows: coalesced on the CPU, summed on the device on WebGPU.
    const norms = await readAll(["cpu", "webgpu"].map((dev) => {
      const w = w0.to(dev).clone().detach().requiresGrad_();
      embedding(batches[0].to(dev), w, null, true).mul(ups[0].to(dev)).sum().backward();
      return clipGradNorm([w], 1e9);
    }));
    close(norms[1], norms[0], 1e-5, "clipGradNorm");
    ["W", "exp_avg", "exp_avg_sq"].forEach((name, i) => close(gpu[i], cpu[i], 1e-5, name));
  });
}
