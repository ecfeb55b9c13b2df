/**
 * The root module's `autograd` namespace, PyTorch's `torch.autograd`: the engine and grad modes of
 * `@dendrite/autograd`, plus the functional gradient, the derivative checks and custom functions (`autograd.Function`,
 * `AutogradFunction` in `@dendrite/tensor`), which live in `@dendrite/tensor` because they create tensors.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad_();
 * const [dx] = autograd.grad(x.square().sum(), [x]);
 * console.log(await dx.tolist()); // [2, 4]
 * ```
 *
 * @module
 */

export * from "@dendrite/autograd";
export {
  AutogradFunction as Function,
  type AutogradFunctionClass,
  FunctionCtx,
  type FunctionGradients,
  grad,
  gradcheck,
  type GradcheckOptions,
  gradgradcheck,
  type GradgradcheckOptions,
  type GradOptions,
} from "@dendrite/tensor";
