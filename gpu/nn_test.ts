// The nn layer tests of nn/layers_suite.ts, unchanged, on WebGPU: every layer moved with Module.to("webgpu").
import { nnGenerativeSuite, nnLayersSuite } from "@dendrite/nn/testing";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("nn[webgpu]")) {
  await useWebGPU();
  nnLayersSuite("webgpu", "nn[webgpu]");
  nnGenerativeSuite("webgpu", "nn-generative[webgpu]");
}
