// The bad-input catalogue of nn/: layers built or called with bad arguments, state dicts that do not fit, moves that
// cannot be made. Each call must throw the error listed and leave every parameter, buffer and gradient of the module
// (and the random stream) bit-identical.
import { badInput, catalogueSuite } from "@dendrite/tensor/testing";
import { defaultGenerator, manualSeed, ones, randn, type Tensor, tensor, zeros } from "@dendrite/tensor";
import * as nn from "./mod.ts";

/** Everything a module holds: its parameters (with their gradients) and buffers by name, and the random stream. */
const moduleState = (m: nn.Module) => [[...m.namedParameters()], [...m.namedBuffers()], defaultGenerator];

/** A small trained-looking network: Linear, BatchNorm1d (with statistics), ReLU, Linear; gradients set. */
function net(): nn.Sequential {
  manualSeed(7);
  const m = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
  m.forward(randn([5, 3])).sum().backward();
  return m;
}

/**
 * A case on `net()`: `prepare` makes what the bad call needs (inputs, a state dict, a disposed tensor) before the
 * snapshot, so only the call itself is judged; `act` gets both. The state is the network's.
 */
const onNet = <P>(
  name: string,
  prepare: (m: nn.Sequential) => P,
  act: (m: nn.Sequential, p: P) => unknown,
  error: abstract new (...args: never[]) => Error,
  words: (string | RegExp)[],
) =>
  badInput({
    name,
    setup: () => {
      const m = net();
      return { m, p: prepare(m) };
    },
    act: ({ m, p }) => act(m, p),
    error,
    words,
    state: ({ m }) => moduleState(m),
  });

/** A state dict of other values than `net()`'s (another network's, cloned so it owns its storage). */
const otherStateDict = () => {
  manualSeed(99);
  const m = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, v.clone()]));
};

const load = (m: nn.Module, sd: Record<string, Tensor>) => m.loadStateDict(sd);

/** A case that builds nothing first: only the random stream could change. */
const building = (
  name: string,
  act: () => unknown,
  error: abstract new (...args: never[]) => Error,
  words: (string | RegExp)[],
) => badInput({ name, setup: () => null, act, error, words, state: () => defaultGenerator });

catalogueSuite("catalogue[nn]", [
  // ---- building layers --------------------------------------------------------------------------------------------
  building("nn.Linear(-1, 3)", () => new nn.Linear(-1, 3), RangeError, [
    "Linear(-1, 3): inFeatures must be a non-negative integer, got -1",
  ]),
  building("nn.Linear(4, 2.5)", () => new nn.Linear(4, 2.5), RangeError, ["Linear(4, 2.5): outFeatures", "2.5"]),
  building("nn.Linear('4', 2)", () => new nn.Linear("4" as never, 2), TypeError, ["Linear(4, 2): inFeatures"]),
  building("nn.Conv2d(3, -8, 3)", () => new nn.Conv2d(3, -8, 3), RangeError, ["Conv2d(3, -8): outChannels"]),
  building(
    "nn.Conv2d with groups that do not divide the channels",
    () => new nn.Conv2d(3, 4, 3, { groups: 2 }),
    RangeError,
    [
      "Conv2d(3, 4): groups=2",
    ],
  ),
  building("nn.Embedding(-5, 4)", () => new nn.Embedding(-5, 4), RangeError, ["Embedding(-5, 4): numEmbeddings"]),
  building("nn.Embedding with paddingIdx out of range", () => new nn.Embedding(3, 4, { paddingIdx: 3 }), RangeError, [
    "Embedding(3, 4): paddingIdx 3 is out of range",
  ]),
  building("nn.BatchNorm1d(-3)", () => new nn.BatchNorm1d(-3), RangeError, ["BatchNorm1d(-3): numFeatures"]),
  building("nn.BatchNorm2d(1.5)", () => new nn.BatchNorm2d(1.5), RangeError, ["BatchNorm2d(1.5): numFeatures"]),
  building("nn.LayerNorm([4, -1])", () => new nn.LayerNorm([4, -1]), RangeError, ["LayerNorm(4,-1): normalizedShape"]),
  building("nn.Dropout(1.5)", () => new nn.Dropout(1.5), RangeError, ["Dropout", "[0, 1]"]),
  // The layers of generative models (issue 15): impossible sizes, both or neither of size and scaleFactor, groups
  // that do not divide the channels.
  building(
    "nn.ConvTranspose2d with groups that do not divide the channels",
    () => new nn.ConvTranspose2d(3, 4, 3, { groups: 2 }),
    RangeError,
    ["ConvTranspose2d(3, 4): groups=2 must divide both channel counts (3 in, 4 out)"],
  ),
  building(
    "nn.ConvTranspose2d with outputPadding as large as the stride",
    () => new nn.ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: 2 }),
    RangeError,
    ["ConvTranspose2d(3, 4): outputPadding 2×2 must be smaller than either the stride 2×2 or the dilation 1×1"],
  ),
  building(
    "nn.Upsample with both size and scaleFactor",
    () => new nn.Upsample({ size: 4, scaleFactor: 2 }),
    RangeError,
    [
      "Upsample: only one of size and scaleFactor should be given, got size 4 and scaleFactor 2",
    ],
  ),
  building("nn.Upsample with neither size nor scaleFactor", () => new nn.Upsample({}), RangeError, [
    "Upsample: either size or scaleFactor should be given",
  ]),
  building(
    "nn.Upsample with alignCorners in nearest mode",
    () => new nn.Upsample({ scaleFactor: 2, alignCorners: true }),
    RangeError,
    ['Upsample: alignCorners can only be set with mode "bilinear", got mode "nearest"'],
  ),
  building("nn.GroupNorm(3, 4): groups that do not divide the channels", () => new nn.GroupNorm(3, 4), RangeError, [
    "GroupNorm(3, 4): numGroups=3 must be a positive integer dividing numChannels=4",
  ]),
  building("nn.Dropout2d(1.5)", () => new nn.Dropout2d(1.5), RangeError, ["Dropout2d", "[0, 1]", "1.5"]),
  building(
    "nn.KLDivLoss with an unknown reduction",
    () => new nn.KLDivLoss({ reduction: "avg" as never }),
    RangeError,
    [
      'KLDivLoss: reduction must be "mean", "batchmean", "sum" or "none", got "avg"',
    ],
  ),
  building("nn.HuberLoss with delta ≤ 0", () => new nn.HuberLoss({ delta: -1 }), RangeError, [
    "HuberLoss: delta must be a finite number > 0, got -1",
  ]),
  building("forward of a bare Module", () => new nn.Module().forward(), Error, [
    "Module: forward() is not implemented",
  ]),

  // ---- calling layers ---------------------------------------------------------------------------------------------
  onNet("forward of an input with the wrong feature count", () => ones([5, 7]), (m, x) => m.forward(x), RangeError, [
    "Linear(3, 4): expected input [..., 3], got [5, 7]",
  ]),
  badInput({
    name: "BatchNorm1d in training with one value per channel leaves num_batches_tracked alone",
    setup: () => {
      const bn = new nn.BatchNorm1d(3);
      bn.forward(randn([4, 3]));
      return { bn, x: randn([1, 3]) };
    },
    act: ({ bn, x }) => bn.forward(x),
    error: RangeError,
    words: ["expected more than 1 value per channel when training", "[1, 3]"],
    state: ({ bn }) => moduleState(bn),
  }),
  badInput({
    name: "BatchNorm1d with momentum null: a refused batch does not count either",
    setup: () => {
      const bn = new nn.BatchNorm1d(2, { momentum: null });
      bn.forward(randn([4, 2]));
      return { bn, x: randn([1, 2]) };
    },
    act: ({ bn, x }) => bn.forward(x),
    error: RangeError,
    words: ["more than 1 value per channel"],
    state: ({ bn }) => moduleState(bn),
  }),
  badInput({
    name: "BatchNorm2d given a [N, C] input",
    setup: () => ({ bn: new nn.BatchNorm2d(3), x: randn([4, 3]) }),
    act: ({ bn, x }) => bn.forward(x),
    error: RangeError,
    words: ["BatchNorm2d(3)", "[4, 3]"],
    state: ({ bn }) => moduleState(bn),
  }),
  badInput({
    name: "Conv2d given channels-last images",
    setup: () => ({ c: new nn.Conv2d(3, 2, 3), x: ones([1, 8, 8, 3]) }),
    act: ({ c, x }) => c.forward(x),
    error: RangeError,
    words: ["Conv2d(3, 2): expected input [N, 3, H, W]", "[1, 8, 8, 3]"],
    state: ({ c }) => moduleState(c),
  }),
  badInput({
    name: "ConvTranspose2d asked for an output size it cannot produce",
    setup: () => ({ c: new nn.ConvTranspose2d(3, 4, 4, { stride: 2, padding: 1 }), x: randn([1, 3, 7, 7]) }),
    act: ({ c, x }) => c.forward(x, [20, 20]),
    error: RangeError,
    words: [
      "ConvTranspose2d(3, 4): requested an output size of 20×20, but valid sizes range from 14×14 to 15×15",
      "input of 7×7",
    ],
    state: ({ c }) => moduleState(c),
  }),
  badInput({
    name: "GroupNorm given an input of other channels",
    setup: () => ({ g: new nn.GroupNorm(2, 4), x: randn([2, 6, 3]) }),
    act: ({ g, x }) => g.forward(x),
    error: RangeError,
    words: ["GroupNorm(2, 4): expected input [N, 4, ...], got [2, 6, 3]"],
    state: ({ g }) => moduleState(g),
  }),
  badInput({
    name: "Upsample given an input without a batch dim",
    setup: () => ({ u: new nn.Upsample({ scaleFactor: 2 }), x: randn([3, 4, 4]) }),
    act: ({ u, x }) => u.forward(x),
    error: RangeError,
    words: ["Upsample: expected input [N, C, H, W], got [3, 4, 4]"],
    state: ({ x }) => [x, defaultGenerator],
  }),
  badInput({
    name: "CrossEntropyLoss with a class index past C",
    setup: () => ({
      loss: new nn.CrossEntropyLoss(),
      x: randn([2, 3]).requiresGrad_(),
      t: tensor([1, 7], { dtype: "int32" }),
    }),
    act: ({ loss, x, t }) => loss.forward(x, t),
    error: RangeError,
    words: ["crossEntropy: target 7 is out of bounds for 3 classes"],
    state: ({ x, t }) => [x, t],
  }),
  badInput({
    name: "BCELoss of logits instead of probabilities",
    setup: () => ({ loss: new nn.BCELoss(), x: tensor([2.5, -1]), t: tensor([1, 0]) }),
    act: ({ loss, x, t }) => loss.forward(x, t),
    error: RangeError,
    words: ["all elements of input should be between 0 and 1", "2.5"],
    state: ({ x, t }) => [x, t],
  }),

  // ---- loadStateDict ----------------------------------------------------------------------------------------------
  onNet(
    "loadStateDict of a disposed tensor (found before any copy)",
    () => {
      const sd = otherStateDict();
      sd["3.bias"].dispose(); // the last key: every other one would have been copied first
      return sd;
    },
    load,
    Error,
    ['"3.bias" in the state dict was disposed'],
  ),
  onNet(
    "loadStateDict with float values for num_batches_tracked",
    () => {
      const sd = otherStateDict(); // good values before it must not be copied
      sd["1.num_batches_tracked"] = tensor(3.5);
      return sd;
    },
    load,
    Error,
    ['dtype mismatch for "1.num_batches_tracked"', "float32", "int32"],
  ),
  onNet(
    "loadStateDict with an unexpected key (strict)",
    () => ({ ...otherStateDict(), "9.weight": zeros([1]) }),
    load,
    Error,
    [
      'unexpected keys: "9.weight"',
    ],
  ),
  onNet(
    "loadStateDict with a missing key (strict)",
    () => {
      const sd = otherStateDict();
      delete sd["1.running_var"];
      return sd;
    },
    load,
    Error,
    ['missing keys: "1.running_var"'],
  ),
  onNet(
    "loadStateDict with a transposed weight",
    () => ({ ...otherStateDict(), "0.weight": ones([3, 4]) }),
    load,
    Error,
    [
      'size mismatch for "0.weight"',
      "[3, 4]",
      "[4, 3]",
    ],
  ),
  onNet(
    "loadStateDict with a number for a tensor",
    () => ({ ...otherStateDict(), "0.bias": 0 as never }),
    load,
    Error,
    [
      'value for "0.bias" is not a Tensor',
    ],
  ),
  onNet(
    "loadStateDict into a module whose buffer was disposed",
    (m) => {
      (m.at(1) as nn.BatchNorm1d).runningVar!.dispose();
      return otherStateDict();
    },
    load,
    Error,
    ['"1.running_var" of the module was disposed'],
  ),

  // ---- moving -----------------------------------------------------------------------------------------------------
  onNet("to an unknown device", () => null, (m) => m.to("tpu"), Error, ['no backend is registered for device "tpu"']),
  onNet("toDevice to an unknown device", () => null, (m) => m.toDevice("tpu"), Error, [
    'no backend is registered for device "tpu"',
  ]),
  onNet(
    "to(float64) with a disposed gradient",
    (m) => (m.at(3) as nn.Linear).bias!.grad!.dispose(),
    (m) => m.to("float64"),
    Error,
    [
      'Sequential.to: "3.bias.grad" was disposed',
    ],
  ),

  // ---- registration and containers --------------------------------------------------------------------------------
  onNet("registerBuffer with a dotted name", () => zeros([1]), (m, z) => m.registerBuffer("a.b", z), RangeError, [
    'registerBuffer: invalid buffer name "a.b"',
  ]),
  onNet("registerBuffer of a plain array", () => null, (m) => m.registerBuffer("stats", [1, 2] as never), TypeError, [
    'buffer "stats" must be a Tensor or null',
  ]),
  onNet(
    "registerParameter of a plain tensor",
    () => ones([1]),
    (m, t) => m.registerParameter("scale", t as never),
    TypeError,
    [
      '"scale" must be a Parameter or null',
    ],
  ),
  badInput({
    name: "ModuleList.extend with a non-module in the middle adds none",
    setup: () => ({ l: new nn.ModuleList([new nn.Linear(2, 2)]), more: [new nn.Linear(2, 2), { forward: () => 0 }] }),
    act: ({ l, more }) => l.extend(more as nn.Module[]),
    error: TypeError,
    words: ["ModuleList.extend (module 1): expected a Module"],
    state: ({ l }) => [[...l].length, moduleState(l)],
  }),
  badInput({
    name: "ModuleDict.set with a dotted key",
    setup: () => ({ d: new nn.ModuleDict({ a: new nn.Linear(2, 2) }), extra: new nn.Linear(2, 2) }),
    act: ({ d, extra }) => d.set("b.c", extra),
    error: RangeError,
    words: ['ModuleDict: invalid key "b.c"'],
    state: ({ d }) => moduleState(d),
  }),
  // ---- initialisers -----------------------------------------------------------------------------------------------
  badInput({
    name: "init.uniform_ with a > b draws nothing",
    setup: () => zeros([3]),
    act: (t) => nn.init.uniform_(t, 1, 0),
    error: RangeError,
    words: ["uniform_", "a <= b", "a=1, b=0"],
    state: (t) => [t, defaultGenerator],
  }),
  badInput({
    name: "init.normal_ with std < 0",
    setup: () => zeros([3]),
    act: (t) => nn.init.normal_(t, 0, -1),
    error: RangeError,
    words: ["normal_", "std >= 0"],
    state: (t) => [t, defaultGenerator],
  }),
  badInput({
    name: "init.kaimingUniform_ of a 1-D tensor",
    setup: () => zeros([3]),
    act: (t) => nn.init.kaimingUniform_(t),
    error: RangeError,
    words: ["fewer than 2 dimensions", "[3]"],
    state: (t) => [t, defaultGenerator],
  }),
  badInput({
    name: "init.xavierNormal_ of a disposed tensor draws nothing",
    setup: () => {
      const t = zeros([2, 2]);
      t.dispose();
      return t;
    },
    act: (t: Tensor) => nn.init.xavierNormal_(t),
    error: Error,
    words: ["xavierNormal_", "after dispose"],
    state: (t) => [t, defaultGenerator],
  }),
  badInput({
    name: "init.uniform_ of an int32 tensor",
    setup: () => zeros([2], { dtype: "int32" }),
    act: (t) => nn.init.uniform_(t),
    error: TypeError,
    words: ["uniform_: expected a floating-point tensor, got dtype int32"],
    state: (t) => [t, defaultGenerator],
  }),
  // ---- per-sample gradients ---------------------------------------------------------------------------------------
  onNet(
    "perSampleGrads through batch norm in training mode (it mixes the samples)",
    () => ({ x: randn([4, 3]), y: tensor([0, 1, 1, 0], { dtype: "int32" }) }),
    (m, { x, y }) => nn.perSampleGrads(m, (out, t) => nn.F.crossEntropy(out, t), x, y),
    Error,
    ['BatchNorm1d at "1" normalizes with the batch\'s statistics', "eval()"],
  ),
  onNet(
    "perSampleGrads with a target whose batch differs from the input's",
    (m) => {
      m.eval();
      return { x: randn([4, 3]), y: tensor([0, 1], { dtype: "int32" }) };
    },
    (m, { x, y }) => nn.perSampleGrads(m, (out, t) => nn.F.crossEntropy(out, t), x, y),
    RangeError,
    ["perSampleGrads: the target's batch dim must match the input's 4, got target [2]"],
  ),
]);
