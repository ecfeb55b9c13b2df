// scaledDotProductAttention on WebGPU (the fused WGSL kernels) against the composed path on the CPU.
import assert from "node:assert/strict";
import { Generator, randn, scaledDotProductAttention, type Tensor, tensor, toDevice } from "@dendrite/tensor";
import { TransformerEncoderLayer } from "@dendrite/nn";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("attention[webgpu]")) {
  await useWebGPU();

  const cases = [
    { name: "no mask, grouped heads", q: [2, 4, 9, 8], kv: [2, 2, 11, 8], gqa: true },
    { name: "causal, dropout", q: [1, 2, 70, 16], kv: [1, 2, 70, 16], causal: true, p: 0.2 },
    { name: "bool key padding", q: [2, 2, 5, 8], kv: [2, 2, 7, 8], mask: "bool" },
    { name: "float mask with -inf rows", q: [2, 2, 5, 8], kv: [2, 2, 7, 8], mask: "float" },
  ];

  for (const c of cases) {
    Deno.test(`webgpu attention: ${c.name}: fused kernels and composed ops match the CPU, forward and backward`, async () => {
      const g = new Generator(11);
      const q = randn(c.q, { generator: g }), k = randn(c.kv, { generator: g }), v = randn(c.kv, { generator: g });
      const up = randn([...c.q.slice(0, -1), c.kv[3]], { generator: g });
      let mask: Tensor | null = null;
      if (c.mask === "bool") mask = tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]]).gt(0).reshape([2, 1, 1, 7]);
      if (c.mask === "float") {
        mask = randn([2, 2, 5, 7], { generator: g });
        mask = mask.where(mask.gt(-1.2), -Infinity);
      }
      const run = async (device: string, implementation: "fused" | "composed") => {
        const leaves = [q, k, v].map((t) => t.to(device).detach().requiresGrad_());
        const y = scaledDotProductAttention(leaves[0], leaves[1], leaves[2], {
          attnMask: mask?.to(device),
          isCausal: c.causal,
          dropoutP: c.p,
          enableGqa: c.gqa,
          generator: new Generator(5),
          implementation,
        });
        y.mul(up.to(device)).sum().backward();
        const outs = [y, ...leaves.map((t) => t.grad!)];
        return await Promise.all(outs.map(async (t) => (await toDevice(t, "cpu")).dataSync()));
      };
      const cpu = await run("cpu", "composed");
      for (const implementation of ["fused", "composed"] as const) {
        const gpu = await run("webgpu", implementation);
        ["output", "dQ", "dK", "dV"].forEach((name, i) => {
          for (let e = 0; e < cpu[i].length; e++) {
            assert.ok(
              Math.abs(gpu[i][e] - cpu[i][e]) <= 1e-4 * (1 + Math.abs(cpu[i][e])),
              `${implementation} ${name}[${e}]: webgpu ${gpu[i][e]}, cpu ${cpu[i][e]}`,
            );
          }
        });
      }
    });
  }
}

if (await webgpuOrSkip("transformer[webgpu]")) {
  Deno.test("webgpu: a pre-norm TransformerEncoderLayer (padding mask, GELU) forward and backward equal the CPU's", async () => {
    const layer = new TransformerEncoderLayer(16, 4, {
      dimFeedforward: 32,
      dropout: 0,
      batchFirst: true,
      normFirst: true,
      activation: "gelu",
    });
    const x = randn([2, 9, 16], { generator: new Generator(3) });
    const kpm = tensor([[0, 0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0]]).gt(0);
    const run = async (device: string) => {
      const m = new TransformerEncoderLayer(16, 4, {
        dimFeedforward: 32,
        dropout: 0,
        batchFirst: true,
        normFirst: true,
        activation: "gelu",
      });
      m.loadStateDict(layer.stateDict());
      m.to(device);
      const xi = x.to(device).detach().requiresGrad_();
      const y = m.forward(xi, { srcKeyPaddingMask: kpm.to(device) });
      y.square().sum().backward();
      const w = m.self_attn.in_proj_weight!.grad!;
      return await Promise.all([y, xi.grad!, w].map(async (t) => (await toDevice(t, "cpu")).dataSync()));
    };
    const [gpu, cpu] = [await run("webgpu"), await run("cpu")];
    ["output", "dX", "dW_in"].forEach((name, i) => {
      for (let e = 0; e < cpu[i].length; e++) {
        assert.ok(
          Math.abs(gpu[i][e] - cpu[i][e]) <= 2e-4 * (1 + Math.abs(cpu[i][e])),
          `${name}[${e}]: webgpu ${gpu[i][e]}, cpu ${cpu[i][e]}`,
        );
      }
    });
  });
}
