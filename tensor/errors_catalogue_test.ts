// The bad-input catalogue of tensor/ and autograd/: each call must throw the error class and key words listed, and
// leave every tensor, gradient and the random stream it could have touched bit-identical (see catalogue.ts). The
// cases of errors_test.ts are not repeated here.
import {
  arange,
  AutogradFunction,
  batchNorm,
  binaryCrossEntropy,
  cat,
  conv2d,
  convTranspose2d,
  crossEntropy,
  defaultGenerator,
  detectAnomaly,
  dropout,
  embedding,
  type FunctionCtx,
  grad,
  groupNorm,
  interpolate,
  layerNorm,
  linspace,
  maxPool2d,
  mseLoss,
  nllLoss,
  noGrad,
  oneHot,
  ones,
  randn,
  stack,
  type Tensor,
  tensor,
  unfold,
  where,
  zeros,
} from "./mod.ts";
import { badInput, catalogueSuite } from "./catalogue.ts";

const f64 = (v: number[]) => tensor(v, { dtype: "float64" });
const leaf = (v: number[]) => tensor(v).requiresGrad_();
const ints = (v: number[]) => tensor(v, { dtype: "int32" });
const logits = () => tensor([[1, 2, 3], [0, 1, 0]]).requiresGrad_();

/** A custom autograd function whose backward returns `grads(g)`: a user's rule breaking the contract. */
const customRule = (name: string, grads: (g: Tensor) => (Tensor | null)[]) => {
  const F = class extends AutogradFunction {
    static override forward(_ctx: FunctionCtx, x: Tensor, _scale: number): Tensor {
      return x.mul(2);
    }
    static override backward(_ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
      return grads(g);
    }
  };
  Object.defineProperty(F, "name", { value: name });
  return F;
};

/** A case that only builds tensors: they are its fixture and, with the random stream, its state. */
const on = (
  name: string,
  setup: () => readonly Tensor[],
  act: (...xs: Tensor[]) => unknown,
  error: abstract new (...args: never[]) => Error,
  words: (string | RegExp)[],
) => badInput({ name, setup, act: (xs) => act(...xs), error, words, state: (xs) => [xs, defaultGenerator] });

catalogueSuite("catalogue[tensor]", [
  // ---- dtypes PyTorch refuses -------------------------------------------------------------------------------------
  on("bool - bool", () => [tensor([true, false]), tensor([true, true])], (a, b) => a.sub(b), TypeError, [
    "two bool tensors",
    "logicalXor",
  ]),
  on("bool - 1 (inverting a mask)", () => [tensor([true, false])], (a) => a.sub(1), TypeError, [
    "with a bool tensor",
    "logicalNot",
  ]),
  on("-mask", () => [tensor([true])], (a) => a.neg(), TypeError, ["neg", "bool tensor", "logicalNot"]),
  on("mask.sub_(mask) in place", () => [tensor([true, false]), tensor([true, true])], (a, b) => a.sub_(b), TypeError, [
    "two bool tensors",
  ]),
  on("mean of an int32 tensor", () => [ints([1, 2])], (a) => a.mean(), TypeError, ["mean", "int32", ".float()"]),
  on("var of an int32 tensor", () => [ints([1, 2])], (a) => a.var(), TypeError, ["var", "int32"]),
  on("nllLoss with float targets", () => [logits(), tensor([0, 1])], (x, t) => nllLoss(x, t), TypeError, [
    "nllLoss",
    "int32 class indices",
    "float32",
  ]),

  // ---- creation and allocation ------------------------------------------------------------------------------------
  on("zeros([2.5])", () => [], () => zeros([2.5]), RangeError, ["zeros:", "[2.5]"]),
  on("ones([2, -1])", () => [], () => ones([2, -1]), RangeError, ["ones:", "[2, -1]"]),
  on("randn([3, -1]) leaves the random stream alone", () => [], () => randn([3, -1]), RangeError, ["randn:"]),
  on("zeros([1e6, 1e6]) is refused before trying", () => [], () => zeros([1e6, 1e6]), RangeError, [
    "zeros: cannot allocate",
    "[1000000, 1000000]",
    "4000000000000 bytes",
    'device "cpu"',
  ]),
  on("randn([1e5, 1e5]) is refused before drawing", () => [], () => randn([1e5, 1e5]), RangeError, [
    "randn: cannot allocate",
    "40000000000 bytes",
  ]),
  on("a huge expand made contiguous", () => [ones([1, 1])], (x) => x.expand([1e5, 1e5]).contiguous(), RangeError, [
    "contiguous: cannot allocate",
    "[100000, 100000]",
    "bytes",
  ]),
  on("a huge broadcast add", () => [ones([1e5, 1]), ones([1, 1e5])], (a, b) => a.add(b), RangeError, [
    "add: cannot allocate",
    "[100000, 100000]",
  ]),
  on(
    "tensor(typed array) with a shape that does not hold it",
    () => [],
    () => tensor(new Float32Array(2), { shape: [3] }),
    RangeError,
    [
      "tensor: shape [3] does not hold 2 values",
    ],
  ),
  on("arange with step 0", () => [], () => arange(0, 5, 0), RangeError, ["arange", "step"]),
  on("arange to Infinity", () => [], () => arange(0, Infinity), RangeError, ["arange", "finite"]),
  on("linspace with -1 steps", () => [], () => linspace(0, 1, -1), RangeError, ["linspace", "steps"]),
  on("oneHot of a negative class", () => [ints([1, -1])], (i) => oneHot(i), RangeError, ["oneHot", "-1"]),
  on("dropout with p = 2 draws nothing", () => [ones([4])], (x) => dropout(x, 2), RangeError, ["dropout", "[0, 1]"]),

  // ---- views and shapes -------------------------------------------------------------------------------------------
  on("view of a transposed tensor", () => [zeros([2, 3])], (x) => x.t().view([6]), RangeError, [
    "view:",
    "use reshape()",
  ]),
  on("narrow past the end", () => [zeros([4])], (x) => x.narrow(0, 1, 5), RangeError, [
    "narrow: start 1 with length 5",
  ]),
  on("split sizes that do not sum to the dim", () => [zeros([5])], (x) => x.split([2, 2]), RangeError, [
    "split",
    "sum to 4",
  ]),
  on("chunk(0)", () => [zeros([4])], (x) => x.chunk(0), RangeError, ["chunk", "positive integer"]),
  on("expand 3 to 4", () => [zeros([3])], (x) => x.expand([4]), RangeError, ["expand", "[3]", "[4]"]),
  on("permute with a repeated dim", () => [zeros([2, 3])], (x) => x.permute(0, 0), RangeError, ["permute", "repeat"]),
  on("stack of unequal shapes", () => [zeros([2]), zeros([3])], (a, b) => stack([a, b]), RangeError, [
    "stack",
    "[2]",
    "[3]",
  ]),
  on("cat of nothing", () => [], () => cat([]), RangeError, ["cat", "non-empty"]),
  on("amax of an empty tensor", () => [zeros([0, 3])], (x) => x.amax(), RangeError, ["amax", "empty"]),
  on("argmax of an empty tensor", () => [zeros([0])], (x) => x.argmax(), RangeError, ["argmax", "empty"]),
  on(
    "where with a plain array as condition",
    () => [zeros([2])],
    (x) => where([true, false] as never, x, 0),
    TypeError,
    [
      "where",
      "condition",
    ],
  ),
  on("clamp with no bounds", () => [zeros([2])], (x) => x.clamp(), TypeError, ["clamp", "min", "max"]),
  on("item of a 2-element tensor", () => [zeros([2])], (x) => x.item(), RangeError, ["item", "[2]"]),
  on("to an unknown device", () => [zeros([2])], (x) => x.to("tpu"), Error, [
    'no backend is registered for device "tpu"',
  ]),
  on("mm of a 3-D tensor", () => [zeros([2, 2, 2]), zeros([2, 2])], (a, b) => a.mm(b), RangeError, ["mm", "[2, 2, 2]"]),

  // ---- in-place writes --------------------------------------------------------------------------------------------
  on(
    "add_ of a value that would broadcast the tensor larger",
    () => [zeros([3]), ones([2, 3])],
    (x, y) => noGrad(() => x.add_(y)),
    RangeError,
    [
      "add_",
      "[2, 3]",
      "[3]",
    ],
  ),
  on(
    "mul_ of a value that would broadcast the tensor larger",
    () => [ones([3]), ones([2, 1])],
    (x, y) => x.mul_(y),
    RangeError,
    [
      "mul_",
    ],
  ),
  on(
    "copy_ from a disposed tensor",
    () => {
      const src = ones([2]);
      src.dispose();
      return [zeros([2]), src];
    },
    (x, src) => x.copy_(src),
    Error,
    ["copy_", "used after dispose"],
  ),
  on(
    "fill_ of a disposed tensor",
    () => {
      const x = zeros([2]);
      x.dispose();
      return [x];
    },
    (x) => x.fill_(1),
    Error,
    ["fill_", "after dispose"],
  ),
  on("fill_ through a view of a leaf that requires grad", () => [leaf([1, 2])], (w) => w.select(0, 0).fill_(5), Error, [
    "fill_",
    "requires grad",
    "noGrad",
  ]),

  // ---- .grad assignment -------------------------------------------------------------------------------------------
  on("grad of the wrong shape", () => [leaf([1, 2, 3])], (w) => (w.grad = tensor([1, 1])), RangeError, [
    "assigned grad has data of a different size",
    "[2]",
    "[3]",
  ]),
  on("grad of the wrong dtype", () => [leaf([1, 2])], (w) => (w.grad = f64([1, 1])), TypeError, [
    "assigned grad has data of a different type",
    "float64",
    "float32",
  ]),
  on("grad of an integer dtype", () => [leaf([1, 2])], (w) => (w.grad = ints([1, 1])), TypeError, [
    "different type",
    "int32",
  ]),
  on(
    "a disposed grad",
    () => {
      const g = tensor([1, 1]);
      g.dispose();
      return [leaf([1, 2]), g];
    },
    (w, g) => (w.grad = g),
    Error,
    ["grad:", "disposed"],
  ),
  on("grad that is not a tensor", () => [leaf([1, 2])], (w) => (w.grad = [1, 1] as never), TypeError, [
    "must be a Tensor or null",
  ]),
  on(
    "replacing a good grad by a bad one keeps the good one",
    () => {
      const w = leaf([1, 2]);
      w.grad = tensor([0.5, 0.25]);
      return [w];
    },
    (w) => (w.grad = tensor([1, 2, 3])),
    RangeError,
    ["different size"],
  ),

  // ---- losses and nn ops ------------------------------------------------------------------------------------------
  on(
    "binaryCrossEntropy of 1.5",
    () => [tensor([0.5, 1.5]), tensor([1, 0])],
    (x, t) => binaryCrossEntropy(x, t),
    RangeError,
    [
      "binaryCrossEntropy",
      "all elements of input should be between 0 and 1",
      "1.5",
    ],
  ),
  on(
    "binaryCrossEntropy of NaN",
    () => [tensor([NaN, 0.5]), tensor([1, 0])],
    (x, t) => binaryCrossEntropy(x, t),
    RangeError,
    [
      "between 0 and 1",
      "NaN",
    ],
  ),
  on(
    "binaryCrossEntropy of -0.1 (a logit passed by mistake)",
    () => [leaf([-0.1, 0.5]), tensor([1, 0])],
    (x, t) => binaryCrossEntropy(x, t),
    RangeError,
    [
      "-0.1",
    ],
  ),
  on("crossEntropy with class 3 of 3", () => [logits(), ints([0, 3])], (x, t) => crossEntropy(x, t), RangeError, [
    "crossEntropy: target 3 is out of bounds for 3 classes",
  ]),
  on(
    "crossEntropy with class -1 (not the ignoreIndex)",
    () => [logits(), ints([-1, 0])],
    (x, t) => crossEntropy(x, t),
    RangeError,
    [
      "target -1",
      "ignoreIndex -100",
    ],
  ),
  on(
    "crossEntropy with labelSmoothing 2",
    () => [logits(), ints([0, 1])],
    (x, t) => crossEntropy(x, t, { labelSmoothing: 2 }),
    RangeError,
    [
      "labelSmoothing",
    ],
  ),
  on(
    "crossEntropy with a class weight of the wrong size",
    () => [logits(), ints([0, 1])],
    (x, t) => crossEntropy(x, t, { weight: ones([2]) }),
    RangeError,
    [
      "expected weight [3]",
    ],
  ),
  on(
    "nllLoss with reduction 'avg'",
    () => [logits(), ints([0, 1])],
    (x, t) => nllLoss(x, t, { reduction: "avg" as never }),
    RangeError,
    [
      "reduction",
      '"avg"',
    ],
  ),
  on("mseLoss of mismatched shapes", () => [zeros([2, 3]), zeros([3, 2])], (x, t) => mseLoss(x, t), RangeError, [
    "mseLoss",
    "[2, 3]",
    "[3, 2]",
  ]),
  on("embedding index 5 of 3 rows", () => [ints([0, 5]), randn([3, 2])], (i, w) => embedding(i, w), RangeError, [
    "embedding: index 5 is out of bounds for 3 embeddings",
  ]),
  on(
    "batchNorm in training with one value per channel",
    () => [ones([1, 3]), zeros([3]), ones([3])],
    (x, m, v) => batchNorm(x, m, v, { training: true }),
    RangeError,
    [
      "more than 1 value per channel",
    ],
  ),
  on(
    "batchNorm with running stats of the wrong size",
    () => [randn([4, 3]), zeros([2]), ones([2])],
    (x, m, v) => batchNorm(x, m, v, { training: true }),
    RangeError,
    [
      "runningMean [3]",
    ],
  ),
  on(
    "conv2d with a weight of other in-channels",
    () => [randn([1, 3, 5, 5]), randn([4, 2, 3, 3])],
    (x, w) => conv2d(x, w),
    RangeError,
    [
      "conv2d",
    ],
  ),
  on(
    "convTranspose2d with a weight of other in-channels",
    () => [randn([1, 3, 4, 4]), randn([4, 2, 3, 3])],
    (x, w) => convTranspose2d(x, w),
    RangeError,
    ["convTranspose2d: weight [4, 2, 3, 3] expects input [N, 4, H, W], got input [1, 3, 4, 4]"],
  ),
  on(
    "convTranspose2d with outputPadding as large as stride and dilation",
    () => [randn([1, 3, 4, 4]), randn([3, 2, 3, 3])],
    (x, w) => convTranspose2d(x, w, null, { stride: 2, outputPadding: 2 }),
    RangeError,
    ["convTranspose2d: outputPadding 2×2 must be smaller than either the stride 2×2 or the dilation 1×1"],
  ),
  on(
    "interpolate with both size and scaleFactor",
    () => [randn([1, 1, 4, 4])],
    (x) => interpolate(x, { size: 2, scaleFactor: 2 }),
    RangeError,
    ["interpolate: only one of size and scaleFactor should be given, got size 2 and scaleFactor 2"],
  ),
  on(
    "interpolate to an empty output",
    () => [randn([1, 1, 4, 4])],
    (x) => interpolate(x, { scaleFactor: 0.1 }),
    RangeError,
    ["interpolate: input [1, 1, 4, 4] with scaleFactor 0.1×0.1 gives an output of 0×0"],
  ),
  on(
    "groupNorm with groups that do not divide the channels",
    () => [randn([2, 6, 3])],
    (x) => groupNorm(x, 4),
    RangeError,
    [
      "groupNorm: numGroups=4 must be a positive integer dividing the 6 channels of input [2, 6, 3]",
    ],
  ),
  on("maxPool2d with a window larger than the input", () => [randn([1, 1, 2, 2])], (x) => maxPool2d(x, 3), RangeError, [
    "maxPool2d",
  ]),
  on(
    "layerNorm over a shape the input does not end with",
    () => [randn([2, 5])],
    (x) => layerNorm(x, [4]),
    RangeError,
    [
      "layerNorm",
      "[..., 4]",
    ],
  ),

  // ---- autograd ---------------------------------------------------------------------------------------------------
  on(
    "a custom autograd function without a backward",
    () => [leaf([1, 2])],
    (x) => (class Half extends AutogradFunction {}).apply(x),
    Error,
    ["Half: a custom autograd function must define static forward(ctx, ...args) and static backward"],
  ),
  on(
    "a custom function's backward returning one gradient for two arguments",
    () => [leaf([1, 2])],
    (x) => customRule("Scale", (g) => [g]).apply(x, 3).sum().backward(),
    RangeError,
    ["Scale.backward returned 1 gradient; expected 2", "null for a non-tensor argument"],
  ),
  on(
    "a custom function's backward returning a gradient of the wrong shape",
    () => [leaf([1, 2])],
    (x) => customRule("Scale", (g) => [g.sum(), null]).apply(x, 3).sum().backward(),
    RangeError,
    ["Scale.backward: gradient 0 has shape [] but argument 0 has shape [2]"],
  ),
  on(
    "a custom function's backward returning a float64 gradient for a float32 input",
    () => [leaf([1, 2])],
    (x) => customRule("Scale", (g) => [g.double(), null]).apply(x, 3).sum().backward(),
    TypeError,
    ["Scale.backward: gradient 0 is float64 on cpu but argument 0 is float32 on cpu"],
  ),
  badInput({
    name: "the issue's example: x.mul_(10) after y = (w·x).sum(), then y.backward()",
    setup: () => {
      const w = leaf([1, 1]), x = tensor([3, 4]);
      const y = w.mul(x).sum();
      x.mul_(10);
      return { w, x, y };
    },
    act: ({ y }) => y.backward(),
    error: Error,
    words: [
      "one of the variables needed for gradient computation has been modified by an inplace operation",
      "MulBackward",
      "is at version 1; expected version 0 instead",
    ],
    state: ({ w, x }) => [w, x],
  }),
  badInput({
    name: "a leaf changed under noGrad after use, then backward",
    setup: () => {
      const w = leaf([1, 2]);
      const y = w.exp().mul(w).sum(); // MulBackward saves w and exp(w)
      noGrad(() => w.add_(1));
      return { w, y };
    },
    act: ({ y }) => y.backward(),
    error: Error,
    words: ["modified by an inplace operation", "MulBackward"],
    state: ({ w }) => w,
  }),
  badInput({
    name: "a stale branch fails backward before the healthy branch gets a gradient",
    setup: () => {
      const a = leaf([1, 2]), b = leaf([3, 4]), c = tensor([5, 6]);
      const y = a.mul(3).sum().add(b.mul(c).sum());
      c.zero_();
      return { a, b, c, y };
    },
    act: ({ y }) => y.backward(),
    error: Error,
    words: ["MulBackward"],
    state: ({ a, b, c }) => [a, b, c],
  }),
  badInput({
    name: "backward after the leaf changed dtype (AccumulateGrad refuses the old gradient)",
    setup: () => {
      const w = leaf([1, 2]);
      const y = w.mul(tensor([3, 4])).sum();
      noGrad(() => w._swapData(f64([1, 2])));
      return { w, y };
    },
    act: ({ y }) => y.backward(),
    error: TypeError,
    words: ["AccumulateGrad", "float32 but the tensor is float64", "Module.to()"],
    state: ({ w }) => w,
  }),
  badInput({
    name: "grad with respect to an input that does not require grad",
    setup: () => {
      const w = leaf([1, 2]), c = tensor([3, 4]);
      return { w, c, y: w.mul(c).sum() };
    },
    act: ({ y, w, c }) => grad(y, [w, c]),
    error: Error,
    words: ["grad: input 1 (shape [2]) does not require grad"],
    state: ({ w, c }) => [w, c],
  }),
  badInput({
    name: "grad with respect to an input the output does not use (no allowUnused): refused before the pass",
    setup: () => {
      const w = leaf([1, 2]), unused = leaf([5]);
      return { w, unused, y: w.exp().sum() };
    },
    act: ({ y, w, unused }) => grad(y, [w, unused]),
    error: Error,
    words: ["grad: input 1 (shape [1]) appears not to have been used", "allowUnused: true"],
    state: ({ w, unused }) => [w, unused],
  }),
  badInput({
    name: "grad of a non-scalar output with a gradOutputs of the wrong shape",
    setup: () => {
      const w = leaf([1, 2]);
      return { w, y: w.mul(3) };
    },
    act: ({ y, w }) => grad(y, w, { gradOutputs: tensor([1, 1, 1]) }),
    error: RangeError,
    words: ["grad: gradOutputs[0] has shape [3] but output 0 has shape [2]"],
    state: ({ w }) => w,
  }),
  on(
    "unfold with a kernel larger than the padded input",
    () => [randn([1, 2, 3, 3])],
    (x) => unfold(x, 5, { padding: 0 }),
    RangeError,
    [
      "unfold: kernel 5×5",
      "larger than the padded input 3×3",
    ],
  ),
  on("turning requiresGrad off on a non-leaf", () => [leaf([1]).mul(2)], (y) => y.requiresGrad_(false), Error, [
    "cannot turn off gradients of a non-leaf",
    "detach()",
  ]),
  on("anomaly mode: log(0) in the forward pass", () => [leaf([0, 1])], (x) => detectAnomaly(() => x.log()), Error, [
    "anomaly: Log (forward) produced -Infinity",
    "element 0 of shape [2]",
  ]),
  on(
    "anomaly mode: sqrt's gradient at 0",
    () => [leaf([0, 4])],
    (x) => detectAnomaly(() => x.sqrt().sum().backward()),
    Error,
    [
      "anomaly: SqrtBackward produced Infinity",
    ],
  ),
]);
