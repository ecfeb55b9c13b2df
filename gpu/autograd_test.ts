// The autograd and version-counter tests of tensor/autograd_suite.ts and version_suite.ts, unchanged, on WebGPU
// (float32).
import { autogradSuite, versionCounterSuite } from "@dendrite/tensor/testing";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("autograd[webgpu]")) {
  await useWebGPU();
  autogradSuite("webgpu", "autograd[webgpu]");
  versionCounterSuite("webgpu", "version[webgpu]");
}
