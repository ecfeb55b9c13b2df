// What each op's derivative rule saves, op by op: changing a saved tensor in place between the forward pass and
// backward() must throw (naming the node); changing one the rule never reads must not, and then the gradient must be
// the one computed on untouched inputs (proof that the rule really did not need it).
import assert from "node:assert/strict";
import {
  avgPool2d,
  batchNorm,
  cat,
  conv2d,
  crossEntropy,
  maxPool2d,
  noGrad,
  rnnLayer,
  type Tensor,
  tensor,
  where,
} from "./mod.ts";

/** The inputs of one case: `x` a float64 leaf, `c` a float64 constant, `i` int32 indices, `m` a bool mask. */
interface Inputs {
  x: Tensor;
  c: Tensor;
  i: Tensor;
  m: Tensor;
}

const fresh = (): Inputs => ({
  x: tensor([0.5, 1.5, -0.25, 2, 0.75, -1, 1.25, 0.3], { dtype: "float64" }).reshape([2, 4]).detach().requiresGrad_(),
  c: tensor([1.5, -2, 0.5, 3, 1, 0.25, -0.5, 2], { dtype: "float64" }).reshape([2, 4]),
  i: tensor([[3, 0], [1, 1]], { dtype: "int32" }),
  m: tensor([[true, false, true, false], [false, true, true, false]]),
});

const image = (t: Tensor) => t.reshape([1, 2, 2, 2]);

/** [name, the scalar built from the inputs, the input changed in place, the node expected in the error or null]. */
const CASES: [string, (v: Inputs) => Tensor, keyof Inputs, string | null][] = [
  ["x + c, c changed", (v) => v.x.add(v.c), "c", null],
  ["x + c, x changed", (v) => v.x.add(v.c), "x", null],
  ["x - c, c changed", (v) => v.x.sub(v.c), "c", null],
  ["x · c, c changed", (v) => v.x.mul(v.c), "c", "MulBackward"],
  ["x · c, x changed (only c is read)", (v) => v.x.mul(v.c), "x", null],
  ["x · x, x changed", (v) => v.x.mul(v.x), "x", "MulBackward"],
  ["x / c, c changed", (v) => v.x.div(v.c), "c", "DivBackward"],
  ["x / c, x changed", (v) => v.x.div(v.c), "x", null],
  ["c / x, x changed", (v) => v.c.div(v.x), "x", "DivBackward"],
  ["x², x changed", (v) => v.x.pow(2), "x", "PowBackward"],
  ["maximum(x, c), c changed", (v) => v.x.maximum(v.c), "c", "MaximumBackward"],
  ["where(m, x, c), m changed", (v) => where(v.m, v.x, v.c), "m", "WhereBackward"],
  ["clamp(x), x changed", (v) => v.x.clamp(0, 1), "x", "ClampBackward"],
  ["exp(x), x changed (the output is read)", (v) => v.x.exp(), "x", null],
  ["sigmoid(x), x changed (the output is read)", (v) => v.x.sigmoid(), "x", null],
  ["tanh(x), x changed (the output is read)", (v) => v.x.tanh(), "x", null],
  ["log|x|, x changed", (v) => v.x.abs().add(1).log(), "x", "AbsBackward"],
  ["relu(x), x changed", (v) => v.x.relu(), "x", "ReluBackward"],
  ["sin(x), x changed", (v) => v.x.sin(), "x", "SinBackward"],
  ["neg(x), x changed", (v) => v.x.neg(), "x", null],
  ["x @ cᵀ, c changed", (v) => v.x.matmul(v.c.t()), "c", "MatmulBackward"],
  ["x @ cᵀ, x changed", (v) => v.x.matmul(v.c.t()), "x", null],
  ["softmax(x), x changed (the output is read)", (v) => v.x.softmax(1).mul(v.c), "x", null],
  ["logSoftmax(x), x changed", (v) => v.x.logSoftmax(1).mul(v.c), "x", null],
  ["sum(x), x changed", (v) => v.x.sum(0), "x", null],
  ["mean(x), x changed", (v) => v.x.mean(1), "x", null],
  ["prod(x), x changed", (v) => v.x.prod(1), "x", "ProdBackward"],
  ["amax(x), x changed", (v) => v.x.amax(1), "x", "AmaxBackward"],
  [
    "views of x, x changed",
    (v) => v.x.reshape([4, 2]).t().expand([2, 2, 4]).slice(2, 1, 3).permute(2, 0, 1),
    "x",
    null,
  ],
  ["cat([x, c]), c changed", (v) => cat([v.x, v.c], 1), "c", null],
  ["gather(x, i), i changed", (v) => v.x.gather(1, v.i), "i", "GatherBackward"],
  ["x.to(float32), x changed", (v) => v.x.to("float32"), "x", null],
  ["conv2d(x, c), c changed", (v) => conv2d(image(v.x), image(v.c)), "c", "Conv2dBackward"],
  ["conv2d(x, c), x changed", (v) => conv2d(image(v.x), image(v.c)), "x", null],
  ["maxPool2d(x), x changed (indices are read)", (v) => maxPool2d(image(v.x), 2), "x", null],
  ["avgPool2d(x), x changed", (v) => avgPool2d(image(v.x), 2), "x", null],
  [
    "batchNorm(x, weight c), c changed",
    (v) => batchNorm(v.x, null, null, { training: true, weight: v.c.select(0, 0).narrow(0, 0, 4) }),
    "c",
    "BatchNormBackward",
  ],
  ["batchNorm(x), x changed", (v) => batchNorm(v.x, null, null, { training: true }), "x", "BatchNormBackward"],
  ["crossEntropy(x, targets), x changed", (v) => crossEntropy(v.x, v.i.select(1, 0)), "x", "CrossEntropyBackward"],
  ["maskedFill(x, m), m changed", (v) => v.x.maskedFill(v.m, 0), "m", "MaskedFillBackward"],
  ["maskedFill(x, m), x changed", (v) => v.x.maskedFill(v.m, 0), "x", null],
  ["x.scatterAdd(i, c), i changed", (v) => v.x.scatterAdd(1, v.i, v.c), "i", "ScatterAddBackward"],
  ["x.scatterAdd(i, c), c changed", (v) => v.x.scatterAdd(1, v.i, v.c), "c", null],
  [
    "x.scatterReduce(i, c, amax), c changed",
    (v) => v.x.scatterReduce(1, v.i, v.c, "amax"),
    "c",
    "ScatterReduceBackward",
  ],
  ["x.scatterReduce(i, c, sum), c changed", (v) => v.x.scatterReduce(1, v.i, v.c, "sum"), "c", null],
  ["diagonal(x), x changed", (v) => v.x.diagonal(), "x", null],
];

/** The scalar a case backpropagates: a weighted sum, so every element's gradient differs. */
function scalarOf(y: Tensor): Tensor {
  const w = tensor(Array.from({ length: y.numel() }, (_, k) => 1 + 0.1 * k), { dtype: y.dtype }).reshape(y.shape);
  return y.mul(w).sum();
}

for (const [name, build, changed, node] of CASES) {
  Deno.test(`saved tensors: ${name} ${node ? `throws ${node}` : "is fine"}`, () => {
    const v = fresh();
    const y = scalarOf(build(v));
    const t = v[changed];
    noGrad(() => t.dtype === "bool" ? t.copy_(t.logicalNot()) : t.add_(1));
    if (node) {
      assert.throws(() => y.backward(), (e: Error) => {
        assert.match(e.message, /has been modified by an inplace operation/);
        assert.ok(e.message.includes(`[${node},`), e.message);
        assert.ok(e.message.includes("is at version 1; expected version 0 instead"), e.message);
        return true;
      });
      assert.equal(v.x.grad, null, "no gradient was written");
      return;
    }
    y.backward();
    const untouched = fresh();
    scalarOf(build(untouched)).backward();
    assert.deepEqual(Array.from(v.x.grad!.dataSync()), Array.from(untouched.x.grad!.dataSync()));
  });
}

Deno.test("saved tensors: the fused LSTM layer reads its states and weights, not h0", () => {
  const make = () => {
    const T = 3, B = 2, H = 2;
    const w = tensor(Array.from({ length: 4 * H * H }, (_, k) => 0.1 * ((k % 7) - 3)), { dtype: "float64" });
    return {
      xGates: tensor(Array.from({ length: T * B * 4 * H }, (_, k) => 0.05 * ((k % 11) - 5)), { dtype: "float64" })
        .reshape([T, B, 4 * H]).requiresGrad_(),
      wHh: w.reshape([4 * H, H]).detach().requiresGrad_(),
      h0: tensor([0.1, -0.2, 0.3, 0.05], { dtype: "float64" }).reshape([B, H]),
      c0: tensor([0.2, 0.1, -0.1, 0], { dtype: "float64" }).reshape([B, H]),
    };
  };
  // The caller refills h0 for the next chunk before backward (truncated BPTT): legal, and the gradient unchanged.
  const a = make();
  const ya = rnnLayer("lstm", a).output.sum();
  a.h0.fill_(9);
  ya.backward();
  const b = make();
  rnnLayer("lstm", b).output.sum().backward();
  assert.deepEqual(Array.from(a.wHh.grad!.dataSync()), Array.from(b.wHh.grad!.dataSync()));
  // An output (a view of the state buffer the rule reads) changed in place: refused.
  const c = make();
  const out = rnnLayer("lstm", c).output;
  const yc = out.sum();
  out.detach().mul_(2);
  assert.throws(() => yc.backward(), /\[LSTMLayerBackward, float64 shape \[\d+\]\] is at version 1/);
});
