/**
 * The first neurons, runnable and exact: the McCulloch–Pitts threshold unit
 * (1943) with logic gates and an XOR network built from them, and
 * Rosenblatt's perceptron (1958) with its learning rule — which learns AND
 * and OR but never XOR, the limit that deep networks trained by backprop
 * later overcame.
 *
 * @example
 * ```ts
 * import { McCullochPittsNeuron, Perceptron, XorNetwork } from "./mod.ts";
 *
 * const or = new McCullochPittsNeuron({ threshold: 1 });
 * or.fire([0, 1]); // 1
 * new XorNetwork().compute(1, 1); // 0
 *
 * const X = [[0, 0], [0, 1], [1, 0], [1, 1]];
 * const p = new Perceptron(2);
 * p.fit(X, [0, 0, 0, 1], { maxEpochs: 20 }).converged; // true: AND is linearly separable
 * new Perceptron(2).fit(X, [0, 1, 1, 0], { maxEpochs: 20 }).converged; // false: XOR is not
 * ```
 *
 * @module
 */

export {
  andUnit,
  type Bit,
  type LogicUnit,
  McCullochPittsNeuron,
  type McCullochPittsOptions,
  norUnit,
  notUnit,
  orUnit,
  XorNetwork,
  type XorTrace,
} from "./mcculloch_pitts.ts";
export {
  type FitOptions,
  type FitResult,
  type Inputs,
  type Labels,
  Perceptron,
  type PerceptronOptions,
} from "./perceptron.ts";
