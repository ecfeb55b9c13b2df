// gradcheck for every differentiable op: the derivative rules against central finite differences in float64.
import assert from "node:assert/strict";
import {
  cat,
  gradcheck,
  type GradcheckOptions,
  manualSeed,
  rand,
  randn,
  stack,
  type Tensor,
  tensor,
  where,
} from "./mod.ts";
import * as binary from "./ops/binary.ts";

manualSeed(2024);

/** A float64 leaf of `shape` from a standard normal. */
const normal = (...shape: number[]) => randn(shape, { dtype: "float64" }).requiresGrad_();
/** A float64 leaf in [lo, hi). */
const uniform = (lo: number, hi: number, ...shape: number[]) =>
  rand(shape, { dtype: "float64" }).mul(hi - lo).add(lo).requiresGrad_();
/** A float64 leaf with the given values. */
const leaf = (values: number[] | number[][], shape?: number[]) =>
  tensor(values, { dtype: "float64", ...(shape ? { shape } : {}) }).requiresGrad_();
/** Values bounded away from 0 (for abs, relu, sign, div): |x| in [0.3, 2]. */
const awayFromZero = (...shape: number[]) => {
  const m = rand(shape, { dtype: "float64" }).mul(1.7).add(0.3);
  return where(rand(shape).lt(0.5), m.neg(), m).requiresGrad_();
};
const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });

const EXPAND_WEIGHT = randn([2, 3, 4], { dtype: "float64" });

type Case = [string, (...xs: Tensor[]) => Tensor, () => Tensor[], GradcheckOptions?];

const cases: Case[] = [
  // ---- unary
  ["neg", (x) => x.neg(), () => [normal(2, 3)]],
  ["exp", (x) => x.exp(), () => [normal(2, 3)]],
  ["log", (x) => x.log(), () => [uniform(0.3, 3, 2, 3)]],
  ["sqrt", (x) => x.sqrt(), () => [uniform(0.3, 3, 2, 3)]],
  ["rsqrt", (x) => x.rsqrt(), () => [uniform(0.3, 3, 2, 3)]],
  ["abs", (x) => x.abs(), () => [awayFromZero(2, 3)]],
  ["sign (zero gradient)", (x) => x.sign(), () => [awayFromZero(4)]],
  ["relu", (x) => x.relu(), () => [awayFromZero(2, 3)]],
  ["sigmoid", (x) => x.sigmoid(), () => [normal(2, 3)]],
  ["tanh", (x) => x.tanh(), () => [normal(2, 3)]],
  ["gelu", (x) => x.gelu(), () => [normal(2, 3)]],
  ["sin", (x) => x.sin(), () => [normal(2, 3)]],
  ["cos", (x) => x.cos(), () => [normal(2, 3)]],
  ["reciprocal", (x) => x.reciprocal(), () => [awayFromZero(2, 3)]],
  ["expm1", (x) => x.expm1(), () => [normal(2, 3)]],
  ["log1p", (x) => x.log1p(), () => [uniform(-0.5, 2, 2, 3)]],
  ["erf", (x) => x.erf(), () => [normal(2, 3)]],
  ["square", (x) => x.square(), () => [normal(2, 3)]],
  ["floor/ceil/round (zero gradient)", (x) => x.floor().add(x.ceil()).add(x.round()), () => [leaf([0.2, 1.3, -0.7])]],
  // ---- binary, with broadcasting and scalars
  ["add", (a, b) => a.add(b), () => [normal(2, 3), normal(2, 3)]],
  ["add [3,1] + [4]", (a, b) => a.add(b), () => [normal(3, 1), normal(4)]],
  ["add with alpha", (a, b) => a.add(b, 2.5), () => [normal(2, 3), normal(3)]],
  ["sub [2,1,3] - [4,1]", (a, b) => a.sub(b), () => [normal(2, 1, 3), normal(4, 1)]],
  ["mul [3,1] * [1,4]", (a, b) => a.mul(b), () => [normal(3, 1), normal(1, 4)]],
  ["mul by itself", (a) => a.mul(a), () => [normal(3)]],
  ["div [2,3] / [3]", (a, b) => a.div(b), () => [normal(2, 3), awayFromZero(3)]],
  ["scalar - tensor, scalar / tensor", (a) => binary.sub(2, a).add(binary.div(3, a)), () => [awayFromZero(4)]],
  ["pow with a tensor exponent", (a, b) => a.pow(b), () => [uniform(0.5, 2, 2, 3), normal(2, 3)]],
  ["pow with a broadcast exponent", (a, b) => a.pow(b), () => [uniform(0.5, 2, 2, 3), normal(3)]],
  ["pow with a scalar exponent", (a) => a.pow(3).add(a.abs().pow(0.5)), () => [awayFromZero(2, 3)]],
  ["pow with a scalar base", (b) => binary.pow(2, b), () => [normal(2, 3)]],
  ["pow of a zero base (tensor exponent)", (a, b) => a.pow(b), () => [leaf([0, 1.5]), leaf([2, 1.5])]],
  ["maximum", (a, b) => a.maximum(b), () => [normal(2, 3), normal(3)]],
  ["minimum", (a, b) => a.minimum(b), () => [normal(2, 3), normal(2, 1)]],
  ["maximum/minimum ties split the gradient", (a, b) => a.maximum(b).add(a.minimum(b).mul(3)), () => [
    leaf([1, 2, 3]),
    leaf([1, 0, 3]),
  ]],
  ["remainder", (a, b) => a.remainder(b), () => [leaf([5.3, -2.2, 7.9]), leaf([2.1, 1.3, -3.3])]],
  ["clamp with scalar bounds", (x) => x.clamp(-0.5, 0.5), () => [leaf([-1, -0.3, 0.1, 0.4, 0.9])]],
  ["clamp with one bound", (x) => x.clamp(null, 0.2).add(x.clamp(-0.2)), () => [leaf([-1, -0.3, 0.1, 0.4])]],
  ["clamp with tensor bounds", (x) => x.clamp(tensor([0, 0, 0], { dtype: "float64" }), 1), () => [
    leaf([-0.5, 0.5, 1.5]),
  ]],
  [
    "where",
    (a, b) => where(tensor([[true, false, true], [false, false, true]]), a, b),
    () => [normal(2, 3), normal(3)],
  ],
  [
    "where with a scalar branch",
    (a) => where(tensor([true, false]), a, 0.5).add(a.where(tensor([false, true]), 2)),
    () => [
      normal(2),
    ],
  ],
  // ---- reductions
  ["sum (all)", (x) => x.sum(), () => [normal(2, 3)]],
  ["sum over dims, keepdim", (x) => x.sum([0, 2], { keepdim: true }), () => [normal(2, 3, 2)]],
  ["sum over a negative dim", (x) => x.sum(-1), () => [normal(2, 3)]],
  ["mean", (x) => x.mean(1).add(x.mean()), () => [normal(2, 3)]],
  ["prod (all)", (x) => x.prod(), () => [normal(2, 3)]],
  ["prod over a dim", (x) => x.prod(1, { keepdim: true }), () => [normal(2, 3)]],
  ["prod with one zero", (x) => x.prod(), () => [leaf([2, 0, 3, -1.5])]],
  ["prod with two zeros", (x) => x.prod(), () => [leaf([2, 0, 3, 0])]],
  ["prod over a dim with zeros", (x) => x.prod(1), () => [leaf([[2, 0, 3], [1, 2, 3], [0, 0, 1]])]],
  ["amax / amin", (x) => x.amax(1).add(x.amin(0).sum()), () => [normal(3, 4)]],
  ["max() / min() over all elements", (x) => x.max().add(x.min()), () => [normal(3, 4)]],
  ["amax with ties shares the gradient", (x) => x.amax(1), () => [leaf([[1, 3, 3], [4, 2, 4]])]],
  ["max(dim) values", (x) => x.max(1)[0], () => [normal(3, 4)]],
  ["min(dim, keepdim) values", (x) => x.min(0, { keepdim: true })[0], () => [normal(3, 4)]],
  ["var", (x) => x.var(1), () => [normal(2, 4)]],
  ["var correction 0, all dims", (x) => x.var(null, { correction: 0 }), () => [normal(2, 3)]],
  ["std", (x) => x.std(0, { keepdim: true }), () => [normal(3, 2)]],
  ["logsumexp", (x) => x.logsumexp(1), () => [normal(2, 4)]],
  ["logsumexp over two dims", (x) => x.logsumexp([0, 2]), () => [normal(2, 2, 3)]],
  // ---- linear algebra and softmax
  ["matmul 2-D", (a, b) => a.matmul(b), () => [normal(3, 4), normal(4, 2)]],
  ["matmul 1-D · 1-D", (a, b) => a.matmul(b), () => [normal(4), normal(4)]],
  ["matmul 2-D · 1-D", (a, b) => a.matmul(b), () => [normal(3, 4), normal(4)]],
  ["matmul 1-D · 3-D", (a, b) => a.matmul(b), () => [normal(3), normal(2, 3, 2)]],
  ["matmul batched", (a, b) => a.matmul(b), () => [normal(2, 2, 3), normal(2, 3, 2)]],
  ["matmul batched-broadcast [2,1,2,3]x[3,3,2]", (a, b) => a.matmul(b), () => [normal(2, 1, 2, 3), normal(3, 3, 2)]],
  ["matmul batch x matrix", (a, b) => a.matmul(b), () => [normal(2, 2, 3), normal(3, 2)]],
  ["matmul of transposed operands", (a, b) => a.t().matmul(b.t()), () => [normal(4, 3), normal(2, 4)]],
  ["mm", (a, b) => a.mm(b), () => [normal(2, 3), normal(3, 2)]],
  ["softmax", (x) => x.softmax(1), () => [normal(2, 4)]],
  ["softmax over dim 0", (x) => x.softmax(0), () => [normal(3, 2, 2)]],
  ["logSoftmax", (x) => x.logSoftmax(-1), () => [normal(2, 4)]],
  ["logSoftmax over a middle dim", (x) => x.logSoftmax(1), () => [normal(2, 3, 2)]],
  // ---- views
  ["reshape", (x) => x.reshape([3, 2]).mul(tensor([[1], [2], [3]], { dtype: "float64" })), () => [normal(2, 3)]],
  [
    "reshape of a non-contiguous tensor",
    (x) => x.t().reshape([6]).mul(tensor([1, 2, 3, 4, 5, 6], { dtype: "float64" })),
    () => [
      normal(2, 3),
    ],
  ],
  ["view", (x) => x.view(6).mul(tensor([1, 2, 3, 4, 5, 6], { dtype: "float64" })), () => [normal(2, 3)]],
  ["permute", (x) => x.permute(2, 0, 1).mul(tensor([1, 2], { dtype: "float64" }).reshape([2, 1, 1])), () => [
    normal(2, 3, 2),
  ]],
  ["transpose and t", (x) => x.transpose(0, 1).t().add(x.t().t()), () => [normal(2, 3)]],
  ["expand", (x) => x.expand(2, 3, 4).mul(EXPAND_WEIGHT), () => [normal(3, 1)]],
  ["expandAs", (x) => x.expandAs(tensor([[0, 0], [0, 0]])).mul(tensor([[1, 2], [3, 4]], { dtype: "float64" })), () => [
    normal(2),
  ]],
  ["squeeze / unsqueeze", (x) => x.squeeze(1).unsqueeze(0).unsqueeze(-1).mul(2), () => [normal(3, 1, 2)]],
  ["flatten", (x) => x.flatten(1).mul(tensor([1, 2, 3, 4], { dtype: "float64" })), () => [normal(2, 2, 2)]],
  ["narrow", (x) => x.narrow(1, 1, 2), () => [normal(2, 4)]],
  ["slice with a step", (x) => x.slice(1, 0, 5, 2).mul(tensor([1, 2, 3], { dtype: "float64" })), () => [normal(2, 5)]],
  ["slice twice (a slice of a slice)", (x) => x.slice(0, 1).slice(1, 1, undefined, 2), () => [normal(3, 5)]],
  ["select", (x) => x.select(0, 1).add(x.select(1, -1).sum()), () => [normal(3, 4)]],
  ["contiguous", (x) => x.t().contiguous(), () => [normal(2, 3)]],
  ["clone", (x) => x.clone().mul(x), () => [normal(3)]],
  ["to(float32) and back", (x) => x.to("float32").mul(2).to("float64"), () => [normal(3)], { eps: 1e-3, atol: 1e-3 }],
  // ---- joining
  [
    "cat",
    (a, b) => cat([a, b], 1).mul(tensor([1, 2, 3, 4, 5], { dtype: "float64" })),
    () => [normal(2, 2), normal(2, 3)],
  ],
  [
    "cat with a tensor not requiring grad",
    (a) => cat([a, tensor([[1, 2]], { dtype: "float64" })]),
    () => [normal(1, 2)],
  ],
  ["stack", (a, b) => stack([a, b], 1).mul(tensor([1, 2], { dtype: "float64" }).reshape([1, 2, 1])), () => [
    normal(2, 3),
    normal(2, 3),
  ]],
  ["split", (x) => {
    const [p, q] = x.split([1, 3], 1);
    return p.mul(q.sum(1, { keepdim: true }));
  }, () => [normal(2, 4)]],
  ["chunk", (x) => {
    const [p, q] = x.chunk(2);
    return p.mul(q);
  }, () => [normal(4, 2)]],
  // ---- indexing
  ["gather", (x) => x.gather(1, int([[2, 0, 0], [1, 1, 3]])), () => [normal(2, 4)]],
  ["scatterAdd (input and src)", (x, s) => x.scatterAdd(0, int([[1, 0, 1], [1, 1, 0]]), s), () => [
    normal(2, 3),
    normal(2, 3),
  ]],
  ["scatterAdd with a src larger than the index", (x, s) => x.scatterAdd(1, int([[0, 0]]), s), () => [
    normal(2, 2),
    normal(2, 3),
  ]],
  ["indexSelect", (x) => x.indexSelect(0, int([2, 0, 2])), () => [normal(3, 2)]],
  ["indexSelect along dim 1", (x) => x.indexSelect(1, int([1])), () => [normal(2, 3)]],
  ["tril / triu", (x) => x.tril().add(x.triu(1).mul(3)), () => [normal(3, 3)]],
];

for (const [name, fn, inputs, opts] of cases) {
  Deno.test(`gradcheck: ${name}`, () => {
    assert.equal(gradcheck(fn, inputs(), opts), true);
  });
}

Deno.test("gradcheck: max(dim) sends the gradient of tied maxima to the returned index", () => {
  const x = leaf([[1, 3, 3], [2, 2, 2]]);
  const [v, i] = x.max(1);
  assert.deepEqual(Array.from(i.dataSync()), [1, 0]);
  v.sum().backward();
  assert.deepEqual(Array.from(x.grad!.dataSync()), [0, 1, 0, 1, 0, 0]);
});

Deno.test("gradcheck itself reports a wrong derivative rule", () => {
  const x = normal(3);
  // A deliberately wrong rule: detach hides one factor of x*x from autograd.
  assert.throws(() => gradcheck((a) => a.mul(a.detach()), [x]), /gradcheck: Jacobian mismatch for input 0/);
  assert.throws(() => gradcheck((a) => a.exp(), [tensor([1, 2]).requiresGrad_()]), /must be a float64 CPU tensor/);
  assert.throws(() => gradcheck((a) => a.exp(), [tensor([1, 2], { dtype: "float64" })]), /no input requires grad/);
});
