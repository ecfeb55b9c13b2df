// Runs the Backend conformance suite on WebGPU (float32; float64 is CPU-only).
import { runConformance } from "@dendrite/tensor/conformance";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

const available = await webgpuOrSkip("conformance[webgpu]");
if (available) runConformance(await useWebGPU(), { name: "webgpu", floatDTypes: ["float32"] });
