// The scatter family, masks, einsum, addmm/baddbmm and repeatInterleave on WebGPU: forward and backward against the
// same computation on the CPU (itself tested against direct loops and gradcheck), and their errors on the device.
import { ok, rejects, throws } from "node:assert/strict";
import {
  addmm,
  baddbmm,
  einsum,
  Generator,
  maskedScatterAsync,
  maskedSelectAsync,
  randint,
  randn,
  type ScatterReduction,
  type Tensor,
  tensor,
} from "@dendrite/tensor";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  ok(actual.length === expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e))) && !(Number.isNaN(a) && Number.isNaN(e))) {
      throw new Error(`${what}: element ${i} is ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

/** Runs `fn` on leaves copied to `dev` that require grad, backpropagates a fixed gradient, returns output and grads. */
function withGrads(dev: string, inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor, seed: number): Tensor[] {
  const xs = inputs.map((x) => x.to(dev).detach().requiresGrad_());
  const out = fn(...xs);
  const g = randn(out.shape, { generator: new Generator(seed) }).to(dev);
  out.backward(g);
  return [out, ...xs.map((x) => x.grad!)];
}

/** Compares `fn`'s output and input gradients on WebGPU with the CPU's, reading everything back in one wait. */
async function sameOnGpu(what: string, inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor, tol = 1e-5): Promise<void> {
  const cpu = withGrads("cpu", inputs, fn, 1).map((t) => t.dataSync());
  const gpu = await Promise.all(withGrads("webgpu", inputs, fn, 1).map((t) => t.data()));
  gpu.forEach((v, i) => close(v, cpu[i], tol, `${what} ${i === 0 ? "output" : `gradient ${i - 1}`}`));
}

if (await webgpuOrSkip("webgpu indexing ops")) {
  await useWebGPU();
  const g = new Generator(17);
  const rnd = (...s: number[]) => randn(s, { generator: g });

  Deno.test("webgpu: scatterReduce (every reduction, includeSelf both ways) forward and backward match the CPU", async () => {
    const x = rnd(4, 6), src = rnd(5, 6);
    const index = randint(0, 4, [5, 6], { generator: g });
    const indexCpu = index, indexGpu = index.to("webgpu");
    for (const reduce of ["sum", "prod", "mean", "amax", "amin"] as ScatterReduction[]) {
      for (const includeSelf of [true, false]) {
        await sameOnGpu(
          `scatterReduce ${reduce} includeSelf=${includeSelf}`,
          [x, src],
          (a, b) => a.scatterReduce(0, a.device === "cpu" ? indexCpu : indexGpu, b, reduce, { includeSelf }),
        );
      }
    }
  });

  Deno.test("webgpu: scatter, scatterAdd and indexAdd (a graph's messages summed per node) match the CPU", async () => {
    const nodes = 50, edges = 400, feat = 16;
    const target = randint(0, nodes, [edges], { generator: g });
    const msg = rnd(edges, feat), h = rnd(nodes, feat);
    const on = (t: Tensor, d: string) => t.to(d);
    await sameOnGpu("indexAdd", [h, msg], (a, b) => a.indexAdd(0, on(target, a.device), b, { alpha: 0.5 }));
    const wide = target.reshape([edges, 1]).expand([edges, feat]);
    await sameOnGpu("scatterAdd", [h, msg], (a, b) => a.scatterAdd(0, on(wide, a.device), b));
    const perm = tensor([[2, 0, 1], [1, 2, 0]], { dtype: "int32" });
    await sameOnGpu("scatter", [rnd(2, 3), rnd(2, 4)], (a, b) => a.scatter(1, on(perm, a.device), b));
    await sameOnGpu("scatter value", [rnd(2, 3)], (a) => a.scatter(1, on(perm, a.device), -2));
  });

  Deno.test("webgpu: maskedFill, maskedSelectAsync and maskedScatterAsync match the CPU; the sync forms say to await", async () => {
    const mask = rnd(3, 1, 5).lt(0);
    await sameOnGpu("maskedFill", [rnd(4, 5)], (a) => a.maskedFill(mask.to(a.device), -1e9));
    const x = rnd(3, 4, 5), m = rnd(3, 4, 5).gt(0.3);
    const sel = await (await maskedSelectAsync(x.to("webgpu"), m.to("webgpu"))).data();
    close(sel, x.maskedSelect(m).dataSync(), 0, "maskedSelectAsync");
    const src = rnd(60);
    const sc = await (await maskedScatterAsync(x.to("webgpu"), m.to("webgpu"), src.to("webgpu"))).data();
    close(sc, x.maskedScatter(m, src).dataSync(), 0, "maskedScatterAsync");
    throws(
      () => x.to("webgpu").maskedSelect(m.to("webgpu")),
      /maskedSelect: .*cannot read synchronously; use await maskedSelectAsync/,
    );
  });

  Deno.test("webgpu: einsum (attention contractions, trace), addmm, baddbmm and repeatInterleave match the CPU", async () => {
    await sameOnGpu(
      "einsum bhqd,bhkd->bhqk",
      [rnd(2, 3, 5, 4), rnd(2, 3, 6, 4)],
      (q, k) => einsum("bhqd,bhkd->bhqk", q, k),
    );
    await sameOnGpu(
      "einsum bhqk,bhkd->bhqd",
      [rnd(2, 3, 5, 6), rnd(2, 3, 6, 4)],
      (p, v) => einsum("bhqk,bhkd->bhqd", p, v),
    );
    await sameOnGpu("einsum ii->i and ii", [rnd(4, 4)], (a) => einsum("ii->i", a).add(einsum("ii", a)));
    await sameOnGpu("addmm", [rnd(5), rnd(3, 4), rnd(4, 5)], (b, m1, m2) => addmm(b, m1, m2, { beta: 0.5, alpha: 2 }));
    await sameOnGpu(
      "baddbmm",
      [rnd(1, 3, 5), rnd(2, 3, 4), rnd(2, 4, 5)],
      (b, m1, m2) => baddbmm(b, m1, m2, { alpha: 0.25 }),
    );
    await sameOnGpu("repeatInterleave", [rnd(3, 4)], (a) => a.repeatInterleave(2, 1).repeatInterleave([1, 0, 3], 0));
  });

  Deno.test("webgpu: a bad index is reported at the next read-back naming the kernel and the index", async () => {
    const x = tensor([1, 2, 3]).to("webgpu");
    const bad = x.indexAdd(0, tensor([0, 7], { dtype: "int32" }).to("webgpu"), tensor([1, 1]).to("webgpu"));
    await rejects(
      () => bad.data(),
      /scatterReduce \(the kernel of scatter, scatterAdd, scatterReduce and indexAdd\): index 7 is out of range for dimension 0 of size 3/,
    );
    const worse = x.scatterReduce(0, tensor([-1], { dtype: "int32" }).to("webgpu"), tensor([1]).to("webgpu"), "amax");
    await rejects(() => worse.data(), /scatterReduce .*: index -1 is out of range for dimension 0 of size 3/);
    // The channel is clean again after reporting.
    close(await x.data(), [1, 2, 3], 0, "after the error");
    // Shape and dtype errors are thrown at once, before any work is queued.
    throws(() => x.scatter(0, tensor([0]).to("webgpu"), 1), /scatter: index must be an int32 tensor/);
    throws(
      () => x.indexAdd(0, tensor([0, 1], { dtype: "int32" }).to("webgpu"), tensor([1]).to("webgpu")),
      /indexAdd: source \[1\]/,
    );
  });
}
