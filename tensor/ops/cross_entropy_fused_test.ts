import { ok } from "node:assert/strict";
import { cpuBackend } from "../cpu/backend.ts";
import { gradcheck } from "../gradcheck.ts";
import type { Tensor } from "../tensor.ts";
import { manualSeed } from "../random.ts";
import { randint, randn, tensor } from "./creation.ts";
import { crossEntropy, type CrossEntropyOptions } from "./nn_ops.ts";

/** Runs `fn` with the CPU backend's fused cross-entropy kernels hidden, so crossEntropy composes log-softmax + NLL. */
function composed<T>(fn: () => T): T {
  const b = cpuBackend as unknown as Record<string, unknown>;
  b.crossEntropyForward = undefined;
  try {
    return fn();
  } finally {
    delete b.crossEntropyForward;
  }
}

function close(a: ArrayLike<number>, e: ArrayLike<number>, what: string, tol = 1e-12): void {
  ok(a.length === e.length, `${what}: length ${a.length} vs ${e.length}`);
  for (let i = 0; i < e.length; i++) {
    ok(Math.abs(a[i] - e[i]) <= tol * (1 + Math.abs(e[i])), `${what}: element ${i} is ${a[i]}, expected ${e[i]}`);
  }
}

function lossAndGrad(x: Tensor, t: Tensor, o: CrossEntropyOptions): { loss: number[]; grad: number[] } {
  const leaf = x.detach().requiresGrad_();
  const loss = crossEntropy(leaf, t, o);
  // A non-uniform upstream gradient for "none" checks that each row uses its own.
  const up = o.reduction === "none" ? randn(loss.shape, { dtype: x.dtype }) : null;
  (up ? loss.mul(up).sum() : loss).backward();
  return { loss: [...loss.dataSync()], grad: [...leaf.grad!.dataSync()] };
}

Deno.test("crossEntropy: the fused kernels give the composed path's loss and gradient", () => {
  manualSeed(3);
  const n = 7, c = 5;
  const x = randn([n, c], { dtype: "float64" }).mul(3);
  const t = randint(0, c, [n], { dtype: "int32" });
  const tIgnored = tensor([0, -1, 4, 2, -1, 1, 3], { dtype: "int32" });
  const w = tensor([0.5, 2, 1, 1.5, 0.25], { dtype: "float64" });
  let cases = 0;
  for (const target of [t, tIgnored]) {
    for (const weight of [null, w]) {
      for (const labelSmoothing of [0, 0.2]) {
        for (const reduction of ["mean", "sum", "none"] as const) {
          const o: CrossEntropyOptions = { weight, ignoreIndex: -1, labelSmoothing, reduction };
          manualSeed(9);
          const fused = lossAndGrad(x, target, o);
          manualSeed(9);
          const plain = composed(() => lossAndGrad(x, target, o));
          const what = `${JSON.stringify({ weight: !!weight, labelSmoothing, reduction })}`;
          close(fused.loss, plain.loss, `loss ${what}`);
          close(fused.grad, plain.grad, `grad ${what}`);
          cases++;
        }
      }
    }
  }
  ok(cases === 24);
});

Deno.test("crossEntropy: the fused path on float32, a strided input and strided target", () => {
  manualSeed(4);
  const x = randn([6, 4]).mul(4);
  const xs = randn([4, 6]).t(); // non-contiguous logits
  const t = tensor([[1, 0], [3, 2], [0, 9], [2, 9], [1, 9], [3, 9]], { dtype: "int32" }).select(1, 0); // strided
  for (const input of [x, xs]) {
    const o: CrossEntropyOptions = { labelSmoothing: 0.1 };
    const f = lossAndGrad(input, t, o);
    const p = composed(() => lossAndGrad(input, t, o));
    close(f.loss, p.loss, "float32 loss", 1e-6);
    close(f.grad, p.grad, "float32 grad", 1e-6);
  }
});

Deno.test("crossEntropy: gradcheck through the fused kernels", () => {
  manualSeed(5);
  const t = tensor([2, 0, -100, 1], { dtype: "int32" });
  const w = tensor([1, 3, 0.5], { dtype: "float64" });
  for (const reduction of ["mean", "sum", "none"] as const) {
    gradcheck((a) => crossEntropy(a, t, { weight: w, labelSmoothing: 0.3, reduction }), [
      randn([4, 3], { dtype: "float64" }).requiresGrad_(),
    ]);
  }
});

Deno.test("crossEntropy: all targets ignored gives NaN for mean, 0 for sum (like PyTorch)", () => {
  const x = randn([2, 3]);
  const t = tensor([-100, -100], { dtype: "int32" });
  ok(Number.isNaN(crossEntropy(x, t).dataSync()[0]));
  ok(crossEntropy(x, t, { reduction: "sum" }).dataSync()[0] === 0);
});
