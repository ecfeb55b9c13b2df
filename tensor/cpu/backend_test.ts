// Runs the Backend conformance suite on the CPU backend, in float32 and float64, with its GEMMs (matmul, conv2d) on
// the native BLAS where one loads (the default); `backend_wasm_gemm_test.ts` runs it again on the WebAssembly SGEMM.
import { runConformance } from "../backend_conformance.ts";
import { cpuBackend } from "./backend.ts";
import { cpuInfo } from "./kernels.ts";

const gemm = cpuInfo().gemm;
if (gemm !== "blas") {
  console.error(`!!! no native BLAS here (${cpuInfo().blas.reason}): conformance[cpu] runs on ${gemm} !!!`);
}
runConformance(cpuBackend, { floatDTypes: ["float32", "float64"] });
