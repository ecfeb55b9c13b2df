/**
 * Test helper: whether WebGPU tests can run. With
 * `DENDRITE_REQUIRE_WEBGPU=1` (CI) a missing adapter fails loudly; otherwise
 * it prints one loud line and registers a single ignored test.
 *
 * @module
 */

import { isWebGPUAvailable } from "./mod.ts";

/** Resolves true when an adapter exists; otherwise fails (CI) or registers an ignored test named `name`. */
export async function webgpuOrSkip(name: string): Promise<boolean> {
  if (await isWebGPUAvailable()) return true;
  let required = false;
  try {
    required = Deno.env.get("DENDRITE_REQUIRE_WEBGPU") === "1";
  } catch {
    // No --allow-env: not CI.
  }
  if (required) {
    Deno.test(`${name}: WebGPU adapter required`, () => {
      throw new Error("DENDRITE_REQUIRE_WEBGPU=1 but navigator.gpu has no adapter: the WebGPU tests cannot run");
    });
    return false;
  }
  console.error(`!!! WebGPU: no adapter available, SKIPPING the WebGPU tests (${name}) !!!`);
  Deno.test({ name: `${name} (no WebGPU adapter)`, ignore: true, fn: () => {} });
  return false;
}
