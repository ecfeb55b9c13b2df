// Error paths of the WebGPU backend: shader-compile errors, device loss and oversized allocations surface as
// clear errors naming the kernel or the operation, never as silent zeros.
import { ok, rejects, throws } from "node:assert/strict";
import { acquireDevice } from "./device.ts";
import { WebGpuBackend } from "./backend.ts";
import type { Kernel } from "./program.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("webgpu errors")) {
  // A backend of its own: these tests break their device on purpose.
  const fresh = async () => new WebGpuBackend((await acquireDevice())!);

  Deno.test("webgpu: invalid WGSL through the program cache fails at the next read naming the kernel", async () => {
    const b = await fresh();
    const broken: Kernel = {
      name: "deliberately_broken",
      key: "deliberately_broken",
      bindings: ["rw"],
      source: () => `@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }`,
    };
    const s = b.alloc("float32", 4);
    b.runtime.dispatch(broken, [(s as unknown as { buffer: GPUBuffer }).buffer], [0], [1, 1, 1]);
    await rejects(() => b.read(s), (e: Error) => {
      ok(e.message.includes("deliberately_broken"), e.message);
      ok(e.message.includes("shader compilation"), e.message);
      return true;
    });
    b.info.device.destroy();
  });

  Deno.test("webgpu: a shader source that throws names the kernel at once", async () => {
    const b = await fresh();
    const bad: Kernel = {
      name: "source_throws",
      key: "source_throws",
      bindings: ["rw"],
      source: () => {
        throw new Error("no source");
      },
    };
    const s = b.alloc("float32", 4);
    throws(
      () => b.runtime.dispatch(bad, [(s as unknown as { buffer: GPUBuffer }).buffer], [0], [1, 1, 1]),
      /webgpu source_throws: building the shader source failed: no source/,
    );
    b.info.device.destroy();
  });

  Deno.test("webgpu: after device loss, kernels and reads fail naming the loss and the way back", async () => {
    const b = await fresh();
    const x = b.upload(new Float32Array([1, 2, 3, 4]));
    b.info.device.destroy();
    await b.info.device.lost;
    const out = b.alloc("float32", 4);
    throws(
      () => b.unary("relu", { storage: x, shape: [4], strides: [1], offset: 0 }, out),
      (e: Error) => e.message.includes("lost") && e.message.includes("useWebGPU"),
    );
    await rejects(() => b.read(x), /lost/);
  });

  Deno.test("webgpu: an allocation beyond the device's buffer limit is a RangeError naming the size", async () => {
    const b = await fresh();
    const max = b.info.device.limits.maxBufferSize;
    throws(() => b.alloc("float32", Math.ceil(max / 4) + 1024), (e: Error) => {
      ok(e instanceof RangeError, String(e));
      ok(e.message.includes("maxBufferSize"), e.message);
      return true;
    });
    b.info.device.destroy();
  });
}
