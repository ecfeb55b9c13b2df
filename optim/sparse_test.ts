// Optimizers with sparse gradients (Embedding({ sparse: true })): SGD and SparseAdam against plain-number references
// of PyTorch's updates, rows outside the gradient left alone, refusals before anything changes, clipping, zeroGrad.
import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import {
  embedding,
  Generator,
  liveTensors,
  randn,
  type SparseTensor,
  type Tensor,
  tensor,
  tidy,
} from "@dendrite/tensor";
import { Adam, AdamW, clipGradNorm, clipGradValue, RMSprop, SGD, SparseAdam } from "./mod.ts";
import { assertClose } from "./_testing.ts";

const NUM = 6, DIM = 3;
/** The lookups of each step (repeats within a step, rows absent from some steps). */
const BATCHES = [[1, 4, 1], [4, 2], [5, 1, 1, 1]];

/** Upstream gradient of step `s` at lookup position p, column j (a fixed formula, so references can recompute it). */
const upstream = (s: number, p: number, j: number) => Math.sin(1 + s * 7 + p * 3 + j) * (j + 1);

/** A float64 table and the sparse gradient of step `s` (loss = Σ upstream · rows). */
function sparseBackward(w: Tensor, s: number): void {
  const rows = BATCHES[s];
  const up = tensor(rows.flatMap((_, p) => [0, 1, 2].map((j) => upstream(s, p, j))), { dtype: "float64" });
  embedding(tensor(rows, { dtype: "int32" }), w, null, true).mul(up.reshape([rows.length, DIM])).sum().backward();
}

/** The dense gradient of step `s` on plain numbers (duplicates summed). */
function refGrad(s: number): number[] {
  const g = new Array(NUM * DIM).fill(0);
  BATCHES[s].forEach((r, p) => {
    for (let j = 0; j < DIM; j++) g[r * DIM + j] += upstream(s, p, j);
  });
  return g;
}

function table(seed: number): { w: Tensor; init: number[] } {
  const w = randn([NUM, DIM], { dtype: "float64", generator: new Generator(seed) }).requiresGrad_();
  return { w, init: Array.from(w.dataSync()) };
}

Deno.test("SGD with a sparse gradient: PyTorch's update on the touched rows, the rest bit-identical", () => {
  for (const maximize of [false, true]) {
    const { w, init } = table(1);
    const opt = new SGD([w], { lr: 0.1, maximize });
    const theta = init.slice();
    BATCHES.forEach((_, s) => {
      opt.zeroGrad();
      sparseBackward(w, s);
      ok(w.grad!.isSparse);
      opt.step();
      const g = refGrad(s);
      for (let i = 0; i < theta.length; i++) theta[i] -= 0.1 * (maximize ? -g[i] : g[i]);
      assertClose(w.dataSync(), theta, `SGD maximize=${maximize} step ${s + 1}`);
    });
    // Row 0 and 3 never appear: untouched to the bit.
    const after = Array.from(w.dataSync());
    for (const r of [0, 3]) deepStrictEqual(after.slice(r * DIM, r * DIM + DIM), init.slice(r * DIM, r * DIM + DIM));
  }
});

Deno.test("SGD with momentum takes a sparse gradient as PyTorch does (every row's buffer decays each step)", () => {
  const { w, init } = table(2);
  const opt = new SGD([w], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: false });
  const theta = init.slice();
  let buf: number[] | null = null;
  BATCHES.forEach((_, s) => {
    opt.zeroGrad();
    sparseBackward(w, s);
    opt.step();
    const g = refGrad(s);
    buf = buf === null ? g.slice() : buf.map((b, i) => 0.9 * b + 0.9 * g[i]);
    for (let i = 0; i < theta.length; i++) theta[i] -= 0.1 * buf[i];
    assertClose(w.dataSync(), theta, `momentum step ${s + 1}`);
  });
});

Deno.test("SparseAdam: PyTorch's lazy Adam on the gradient's rows; absent rows keep parameter and moments", () => {
  for (const maximize of [false, true]) {
    const { w, init } = table(3);
    const [lr, b1, b2, eps] = [0.05, 0.8, 0.95, 1e-6];
    const opt = new SparseAdam([w], { lr, betas: [b1, b2], eps, maximize });
    const theta = init.slice(), m = new Array(NUM * DIM).fill(0), v = new Array(NUM * DIM).fill(0);
    BATCHES.forEach((rows, s) => {
      opt.zeroGrad();
      sparseBackward(w, s);
      opt.step();
      const g = refGrad(s), t = s + 1;
      const stepSize = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
      for (const r of new Set(rows)) {
        for (let j = 0; j < DIM; j++) {
          const i = r * DIM + j, gi = maximize ? -g[i] : g[i];
          m[i] = b1 * m[i] + (1 - b1) * gi;
          v[i] = b2 * v[i] + (1 - b2) * gi * gi;
          theta[i] -= stepSize * m[i] / (Math.sqrt(v[i]) + eps);
        }
      }
      assertClose(w.dataSync(), theta, `SparseAdam maximize=${maximize} step ${t}`, 1e-12, 1e-9);
      const state = opt.state.get(w)!;
      equal(state.step, t);
      assertClose((state.exp_avg as Tensor).dataSync(), m, `exp_avg step ${t}`, 1e-12, 1e-9);
      assertClose((state.exp_avg_sq as Tensor).dataSync(), v, `exp_avg_sq step ${t}`, 1e-12, 1e-9);
    });
    const after = Array.from(w.dataSync());
    for (const r of [0, 3]) deepStrictEqual(after.slice(r * DIM, r * DIM + DIM), init.slice(r * DIM, r * DIM + DIM));
  }
});

Deno.test("refusals come before any parameter changes, with PyTorch's messages", () => {
  const { w } = table(4);
  const other = tensor([1, 2], { dtype: "float64" }).requiresGrad_();
  const snapshot = () => [...Array.from(w.dataSync()), ...Array.from(other.dataSync())];
  const fill = () => {
    other.grad = null;
    w.grad = null;
    sparseBackward(w, 0);
    other.square().sum().backward();
  };
  const cases: [() => { step(): unknown }, RegExp][] = [
    [() => new Adam([other, w]), /Adam does not support sparse gradients, please consider SparseAdam instead/],
    [() => new AdamW([other, w]), /AdamW does not support sparse gradients, please consider SparseAdam/],
    [() => new RMSprop([other, w]), /RMSprop does not support sparse gradients \(parameter 1 of group 0/],
    [() => new SGD([other, w], { weightDecay: 0.1 }), /SGD: weightDecay 0.1 needs a dense gradient/],
    [() => new SparseAdam([w, other]), /SparseAdam does not support dense gradients, please consider Adam instead/],
  ];
  for (const [make, message] of cases) {
    fill();
    const before = snapshot();
    throws(() => make().step(), message);
    deepStrictEqual(snapshot(), before, `${message}: nothing changed`);
  }
  throws(() => new SparseAdam([w], { betas: [1, 0.9] }), /SparseAdam: invalid betas\[0\] 1 in options/);
  throws(() => new SparseAdam([w], { lr: -1 }), /SparseAdam: invalid lr -1 in options/);
});

Deno.test("clipGradNorm on a sparse gradient: the norm of the summed rows; the values scale in place", async () => {
  const { w } = table(5);
  sparseBackward(w, 2); // row 1 looked up three times: its entries must be summed before squaring
  const g = refGrad(2);
  const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
  const total = clipGradNorm([w], 0.5);
  assertClose([await total.item()], [norm], "total norm", 1e-9, 1e-9);
  assertClose(w.grad!.toDense().dataSync(), g.map((x) => x * 0.5 / (norm + 1e-6)), "clipped", 1e-9, 1e-9);
  const inf = Math.max(...g.map((x) => Math.abs(x * 0.5 / (norm + 1e-6))));
  assertClose(clipGradNorm([w], 1, "inf").dataSync(), [inf], "inf norm", 1e-12, 1e-12);
});

Deno.test("zeroGrad(false) empties a sparse gradient in place; the next backward accumulates onto it", () => {
  const { w } = table(6);
  const opt = new SGD([w], { lr: 0.1 });
  sparseBackward(w, 0);
  const grad = w.grad as SparseTensor;
  opt.zeroGrad(false);
  equal(w.grad, grad, "the same tensor, emptied");
  equal(grad.nnz, 0);
  sparseBackward(w, 1);
  assertClose(w.grad!.toDense().dataSync(), refGrad(1), "after zeroGrad(false)");
  opt.zeroGrad();
  equal(w.grad, null);
  ok(grad.isDisposed, "zeroGrad() frees the old sparse gradient");
});

Deno.test("clipGradValue refuses a sparse gradient before clamping any", () => {
  const { w } = table(7);
  const other = tensor([3], { dtype: "float64" }).requiresGrad_();
  other.mul(5).sum().backward();
  sparseBackward(w, 0);
  throws(() => clipGradValue([other, w], 1), /clipGradValue: gradient 1 is sparse/);
  deepStrictEqual(Array.from(other.grad!.dataSync()), [5]);
});

Deno.test("a sparse training step in tidy leaves nothing behind: live tensors stay flat (SGD and SparseAdam)", () => {
  for (const make of [(w: Tensor) => new SGD([w], { lr: 0.1 }), (w: Tensor) => new SparseAdam([w])]) {
    const { w } = table(8);
    const opt = make(w);
    const step = (s: number) =>
      tidy(() => {
        opt.zeroGrad();
        sparseBackward(w, s % 3);
        opt.step();
      });
    step(0);
    const live = liveTensors();
    for (let s = 1; s < 20; s++) step(s);
    equal(liveTensors(), live, `${opt.constructor.name}: live tensors after 20 steps`);
  }
});
