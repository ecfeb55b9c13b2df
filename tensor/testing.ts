/**
 * Device-parametrized test suites other members run on their own devices
 * (`gpu/` runs them on WebGPU): `autogradSuite(device, prefix)` registers the
 * autograd tests with `Deno.test`.
 *
 * @example
 * ```ts ignore
 * import { autogradSuite } from "@dendrite/tensor/testing";
 * autogradSuite("webgpu", "autograd[webgpu]");
 * ```
 *
 * @module
 */

export { autogradSuite } from "./autograd_suite.ts";
