/**
 * dendrite: deep learning for Deno, PyTorch-style, on WebGPU and the CPU.
 *
 * Tensor functions are exported at the top level; each other member is a
 * namespace (`nn`, `optim`, …).
 *
 * @example
 * ```ts
 * import { manualSeed, randn, tensor } from "./mod.ts";
 * manualSeed(0);
 * const w = randn([2, 1]).requiresGrad_();
 * const loss = tensor([[1, 2]]).matmul(w).square().sum();
 * loss.backward();
 * console.log(await w.grad!.tolist());
 * ```
 *
 * @module
 */

export * from "@dendrite/tensor";
export * as autograd from "./autograd_namespace.ts";
export * as nn from "@dendrite/nn";
export * as optim from "@dendrite/optim";
export * as perceptron from "@dendrite/perceptron";
export * as data from "@dendrite/data";
export * as models from "@dendrite/models";
export * as graph from "@dendrite/graph";
export * as gpu from "@dendrite/gpu";
export * as utils from "@dendrite/utils";
export * as onnx from "@dendrite/onnx";
export { loadSafetensors, saveSafetensors } from "@dendrite/models";
