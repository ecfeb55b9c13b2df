import { deepStrictEqual, ok } from "node:assert/strict";
import { renderGemmWasm, renderOpsWasm } from "./build.ts";
import { buildOpsModule } from "./ops_kernel.ts";
import { buildGemmModule, relaxedProbe } from "./gemm_kernel.ts";

Deno.test("committed gemm_wasm.ts equals a fresh build of gemm_kernel.ts (run `deno task build:wasm`)", async () => {
  const committed = await Deno.readTextFile(new URL("./gemm_wasm.ts", import.meta.url));
  deepStrictEqual(committed, renderGemmWasm());
});

Deno.test("committed ops_wasm.ts equals a fresh build of ops_kernel.ts (run `deno task build:wasm`)", async () => {
  const committed = await Deno.readTextFile(new URL("./ops_wasm.ts", import.meta.url));
  deepStrictEqual(committed, renderOpsWasm());
  ok(WebAssembly.validate(buildOpsModule()), "ops module");
});

Deno.test("both SGEMM builds and the relaxed-SIMD probe are valid WebAssembly", () => {
  ok(WebAssembly.validate(buildGemmModule(false)), "plain SIMD build");
  // Deno's V8 ships relaxed SIMD; the runtime still falls back when the probe fails elsewhere.
  ok(WebAssembly.validate(relaxedProbe()), "relaxed probe");
  ok(WebAssembly.validate(buildGemmModule(true)), "relaxed build");
});
