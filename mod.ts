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

export * from "./tensor/mod.ts";
export * as autograd from "./autograd/mod.ts";
export * as nn from "./nn/mod.ts";
export * as optim from "./optim/mod.ts";
export * as perceptron from "./perceptron/mod.ts";
export * as data from "./data/mod.ts";
export * as models from "./models/mod.ts";
