// Runs the Backend conformance suite on the CPU backend, in float32 and float64, with its GEMMs (matmul, conv2d) on
// the native BLAS where one loads (the default), every product of them: the suite's are small, and products under
// BLAS_MIN_MACS would otherwise run the WebAssembly SGEMM. `backend_wasm_gemm_test.ts` runs it on the WebAssembly SGEMM.
import { runConformance } from "../backend_conformance.ts";
import { cpuBackend } from "./backend.ts";
import { cpuInfo } from "./kernels.ts";
import { setBlasMinMacs } from "./wasm/runtime.ts";

const info = cpuInfo();
if (info.gemm !== "blas") {
  console.error(`!!! no native BLAS here (${info.blas.reason}): conformance[cpu] runs on ${info.gemm} !!!`);
}
setBlasMinMacs(0);
runConformance(cpuBackend, { floatDTypes: ["float32", "float64"] });
