/**
 * Device-parametrized test suites other members run on their own devices
 * (`gpu/` runs them on WebGPU): `autogradSuite(device, prefix)` registers the
 * autograd tests with `Deno.test`, `versionCounterSuite(device, prefix)` the
 * in-place-change checks of saved tensors; `catalogueSuite(prefix, cases)`
 * runs a bad-input catalogue (each case's error, and its state bit-identical
 * afterwards).
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
export { versionCounterSuite } from "./version_suite.ts";
export {
  badInput,
  type BadInputCase,
  catalogueSuite,
  fileAt,
  FileState,
  firstDifference,
  runCase,
  snapshot,
} from "./catalogue.ts";
export type { Device } from "./backend.ts";
