// The recurrent layers on WebGPU against PyTorch's outputs and gradients (nn/rnn_suite.ts): every layer, cell,
// packed batch and projection of nn/testdata, through the WGSL cell kernels.
import { rnnReferenceSuite } from "@dendrite/nn/testing";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("rnn[webgpu]")) {
  await useWebGPU();
  rnnReferenceSuite("webgpu", "rnn[webgpu]");
}
