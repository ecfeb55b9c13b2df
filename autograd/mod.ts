/**
 * The autograd engine: the dynamic tape, the backward pass and grad modes.
 * Tensors plug in through the {@link GradValue} interface; users reach this
 * through `Tensor.backward()`, `noGrad` and `enableGrad`.
 *
 * @example
 * ```ts
 * import { noGrad, tensor } from "../mod.ts";
 * const x = tensor([2, 3]).requiresGrad_();
 * x.mul(x).sum().backward();
 * console.log(await x.grad!.tolist()); // [4, 6]
 * noGrad(() => x.mul(2)); // records nothing
 * ```
 *
 * @module
 */

export {
  type BackwardFn,
  type BackwardOptions,
  type GradHook,
  type GradLeaf,
  type GradValue,
  Node,
  reachable,
  runBackward,
  runGrad,
} from "./engine.ts";
export {
  detectAnomaly,
  enableGrad,
  isAnomalyEnabled,
  isGradEnabled,
  noGrad,
  setDetectAnomaly,
  setGradEnabled,
} from "./grad_mode.ts";
