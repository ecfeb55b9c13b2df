import assert from "node:assert/strict";
import type { AttentionArgs, View } from "../backend.ts";
import { Generator, randn, setNumThreads, type Tensor, tensor } from "../mod.ts";
import { attentionBackward, attentionForward } from "./attention.ts";
import { wasmAttentionBackward, wasmAttentionForward } from "./attention_wasm.ts";
import { cpuData } from "./backend.ts";
import { cpuThreadsReady } from "./kernels.ts";
import { wasmKernelKind } from "./wasm/runtime.ts";

const view = (t: Tensor): View => ({ storage: t.storage, shape: t.shape, strides: t.strides, offset: t.offset });

/** Runs forward and backward through `fwd`/`bwd` and returns out, lse and the three gradients. */
function run(
  args: AttentionArgs,
  fwd: (a: AttentionArgs, o: Tensor, l: Tensor) => void,
  bwd: (a: AttentionArgs, o: Tensor, l: Tensor, gq: Tensor, gk: Tensor, gv: Tensor) => void,
): Float32Array[] {
  const [B, H, L, E] = args.q.shape, [, Hk, S] = args.k.shape, Ev = args.v.shape[3];
  const out = randn([B, H, L, Ev]), lse = randn([B, H, L]);
  fwd(args, out, lse);
  const gq = randn([B, H, L, E]), gk = randn([B, Hk, S, E]), gv = randn([B, Hk, S, Ev]);
  bwd(args, out, lse, gq, gk, gv);
  return [out, lse, gq, gk, gv].map((t) => t.dataSync() as Float32Array);
}

const ignore = wasmKernelKind() === "none";

Deno.test({
  name: "attention (WebAssembly): equals the TypeScript reference and does not depend on the thread count",
  ignore,
  fn: async () => {
    await cpuThreadsReady();
    const gen = new Generator(3);
    // Heads interleaved ([B, L, H, E] in memory), a key-padding bool mask, dropout, grouped heads, odd sizes.
    const q = randn([2, 37, 4, 20], { generator: gen }).permute(0, 2, 1, 3);
    const k = randn([2, 91, 2, 20], { generator: gen }).permute(0, 2, 1, 3);
    const v = randn([2, 91, 2, 12], { generator: gen }).permute(0, 2, 1, 3);
    const g = randn([2, 4, 37, 12], { generator: gen });
    const pad = tensor([[...new Array(80).fill(1), ...new Array(11).fill(0)], new Array(91).fill(1)]).gt(0);
    const mask = pad.reshape([2, 1, 1, 91]).expand([2, 4, 37, 91]);
    const args: AttentionArgs = {
      q: view(q),
      k: view(k),
      v: view(v),
      mask: view(mask),
      isCausal: false,
      scale: 0.3,
      dropoutP: Math.fround(0.2),
      seed: 5,
      offset: 17,
    };
    const gView = view(g);
    const ts = run(
      args,
      (a, o, l) => attentionForward(cpuData, a, o.storage, l.storage),
      (a, o, l, gq, gk, gv) =>
        attentionBackward(cpuData, a, view(o), view(l), gView, gq.storage, gk.storage, gv.storage),
    );
    const results: Float32Array[][] = [];
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      results.push(run(
        args,
        (a, o, l) => assert.ok(wasmAttentionForward(a, o.storage, l.storage), "the WebAssembly forward ran"),
        (a, o, l, gq, gk, gv) =>
          assert.ok(
            wasmAttentionBackward(a, view(o), view(l), gView, gq.storage, gk.storage, gv.storage),
            "the WebAssembly backward ran",
          ),
      ));
    }
    setNumThreads(navigator.hardwareConcurrency ?? 1);
    const names = ["out", "lse", "gradQ", "gradK", "gradV"];
    results[0].forEach((a, i) => {
      for (let e = 0; e < a.length; e++) {
        assert.ok(
          Math.abs(a[e] - ts[i][e]) <= 2e-5 * (1 + Math.abs(ts[i][e])),
          `${names[i]}[${e}]: ${a[e]} vs ${ts[i][e]}`,
        );
      }
      assert.deepEqual(results[1][i], a, `${names[i]} is the same bit for bit on 1 and 2 threads`);
    });
  },
});

Deno.test({
  name: "attention (WebAssembly): declines float64 operands (the TypeScript kernel serves them)",
  ignore,
  fn: () => {
    const q = randn([1, 1, 4, 8], { dtype: "float64" });
    const args: AttentionArgs = {
      q: view(q),
      k: view(q),
      v: view(q),
      mask: null,
      isCausal: false,
      scale: 1,
      dropoutP: 0,
      seed: 0,
      offset: 0,
    };
    const out = randn([1, 1, 4, 8], { dtype: "float64" }), lse = randn([1, 1, 4], { dtype: "float64" });
    const before = out.dataSync();
    assert.equal(wasmAttentionForward(args, out.storage, lse.storage), false);
    assert.deepEqual(out.dataSync(), before, "nothing was written");
  },
});
