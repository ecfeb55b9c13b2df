// The Backend conformance suite on the CPU backend with the native BLAS turned off (`setCpuBlas(false)`): its float32
// GEMMs (matmul, conv2d) on the WebAssembly SGEMM, as on a machine without a BLAS or without --allow-ffi. Each test
// module runs in its own isolate, so this setting stays here.
import { runConformance } from "../backend_conformance.ts";
import { cpuBackend } from "./backend.ts";
import { setCpuBlas } from "./kernels.ts";

setCpuBlas(false);
runConformance(cpuBackend, { name: "cpu, WebAssembly GEMM" });
