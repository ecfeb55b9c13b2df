// The bad-input catalogue of perceptron/: data a perceptron must refuse before it takes a single step, in tensors as
// in arrays. Each call must throw the error listed and leave the weights, the bias and the shuffling generator as
// they were. (The array cases of perceptron_test.ts are not repeated.)
import { badInput, catalogueSuite } from "@dendrite/tensor/testing";
import { Generator, tensor } from "@dendrite/tensor";
import { McCullochPittsNeuron, Perceptron } from "./mod.ts";

const AND_X = [[0, 0], [0, 1], [1, 0], [1, 1]];
const AND_Y = [0, 0, 0, 1];

/** A perceptron part-way through learning, with its own generator; its state is what the case checks. */
function learner(): { p: Perceptron; g: Generator } {
  const g = new Generator(9);
  const p = new Perceptron(2, { weights: [0.5, -0.25], bias: 0.125, generator: g });
  p.update([1, 1], 1);
  return { p, g };
}

const perceptronState = ({ p, g }: { p: Perceptron; g: Generator }) => [p.weights, p.bias, g];

/** A case on `learner()`: `data` builds the bad input before the snapshot. */
const onLearner = <D>(
  name: string,
  data: () => D,
  act: (p: Perceptron, d: D) => unknown,
  error: abstract new (...args: never[]) => Error,
  words: (string | RegExp)[],
) =>
  badInput({
    name,
    setup: () => ({ ...learner(), d: data() }),
    act: ({ p, d }) => act(p, d),
    error,
    words,
    state: perceptronState,
  });

catalogueSuite("catalogue[perceptron]", [
  onLearner(
    "fit on a Tensor with a NaN in its last row",
    () => tensor([[0, 0], [0, 1], [1, 0], [1, NaN]]),
    (p, x) => p.fit(x, AND_Y),
    TypeError,
    [
      "Perceptron.fit: X[3][1] must be a finite number, got NaN",
    ],
  ),
  onLearner(
    "fit on a Tensor with an Infinity",
    () => tensor([[0, 0], [Infinity, 1], [1, 0], [1, 1]]),
    (p, x) => p.fit(x, AND_Y),
    TypeError,
    [
      "X[1][0] must be a finite number, got Infinity",
    ],
  ),
  onLearner(
    "fit on a float64 Tensor with a NaN",
    () => tensor([[0, 0], [0, 1], [NaN, 0], [1, 1]], { dtype: "float64" }),
    (p, x) => p.fit(x, tensor(AND_Y)),
    TypeError,
    [
      "X[2][0] must be a finite number, got NaN",
    ],
  ),
  onLearner("update with a NaN in a Tensor example", () => tensor([NaN, 1]), (p, x) => p.update(x, 1), TypeError, [
    "Perceptron.update: x[0] must be a finite number, got NaN",
  ]),
  onLearner("predict of a Tensor with an Infinity", () => tensor([[1, -Infinity]]), (p, x) => p.predict(x), TypeError, [
    "Perceptron.predict: x[1] must be a finite number, got -Infinity",
  ]),
  onLearner(
    "accuracy over a Tensor with a NaN",
    () => tensor([[0, NaN], [1, 1]]),
    (p, x) => p.accuracy(x, [0, 1]),
    TypeError,
    [
      "Perceptron.accuracy: X[0][1] must be a finite number",
    ],
  ),
  onLearner("fit with NaN labels in a Tensor", () => tensor([0, 0, NaN, 1]), (p, y) => p.fit(AND_X, y), RangeError, [
    "labels must be 0 or 1, got NaN at index 2",
  ]),
  onLearner("fit with maxEpochs 2.5", () => null, (p) => p.fit(AND_X, AND_Y, { maxEpochs: 2.5 }), RangeError, [
    "maxEpochs must be a positive integer, got 2.5",
  ]),
  onLearner("fit on a 3-D Tensor", () => tensor([[[0, 1]]]), (p, x) => p.fit(x, [1]), RangeError, [
    "expected X of shape [n, 2], got [1, 1, 2]",
  ]),
  badInput({
    name: "McCullochPittsNeuron.fire with a non-binary input",
    setup: () => new McCullochPittsNeuron({ threshold: 2, nExcitatory: 2 }),
    act: (n) => n.fire([1, 0.5]),
    error: RangeError,
    words: ["McCullochPittsNeuron.fire: excitatory input 1 must be 0 or 1 (binary), got 0.5"],
    state: (n) => [n.threshold, n.nExcitatory, n.nInhibitory],
  }),
  badInput({
    name: "McCullochPittsNeuron with a NaN threshold",
    setup: () => null,
    act: () => new McCullochPittsNeuron({ threshold: NaN }),
    error: TypeError,
    words: ["threshold must be a finite number, got NaN"],
    state: () => null,
  }),
]);
