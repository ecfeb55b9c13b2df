/**
 * Device-parametrized test suites other members run on their own devices
 * (`gpu/` runs them on WebGPU): `nnLayersSuite(device, prefix)` and
 * `nnGenerativeSuite(device, prefix)` register the layer tests with
 * `Deno.test`.
 *
 * @example
 * ```ts ignore
 * import { nnLayersSuite } from "@dendrite/nn/testing";
 * nnLayersSuite("webgpu", "nn[webgpu]");
 * ```
 *
 * @module
 */

export { nnLayersSuite } from "./layers_suite.ts";
export { nnGenerativeSuite } from "./generative_suite.ts";
export { rnnReferenceSuite } from "./rnn_suite.ts";
