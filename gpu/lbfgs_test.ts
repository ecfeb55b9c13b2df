// LBFGS on WebGPU: stepAsync reads its scalars back asynchronously and gives the CPU's iterates; step() refuses.
import assert from "node:assert/strict";
import { optim, type Tensor, tensor } from "../mod.ts";
import { useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

/** Rosenbrock's function of a 2-vector. */
const rosenbrock = (p: Tensor) => {
  const [x, y] = [p.narrow(0, 0, 1), p.narrow(0, 1, 1)];
  return x.neg().add(1).square().add(y.sub(x.square()).square().mul(100)).sum();
};

if (await webgpuOrSkip("LBFGS[webgpu]")) {
  await useWebGPU();

  Deno.test("LBFGS[webgpu]: stepAsync follows the CPU's iterates and step() points to it", async () => {
    const run = async (device: string) => {
      const p = tensor([-1.2, 1], { device }).requiresGrad_();
      const opt = new optim.LBFGS([p], { lineSearchFn: "strong_wolfe", maxIter: 12 });
      const closure = () => {
        opt.zeroGrad();
        const loss = rosenbrock(p);
        loss.backward();
        return loss;
      };
      if (device === "webgpu") assert.throws(() => opt.step(closure), /use await optimizer\.stepAsync\(closure\)/);
      await opt.stepAsync(closure);
      return { params: Array.from(await p.data()), evals: opt.state.get(p)!.func_evals };
    };
    const cpu = await run("cpu"), gpu = await run("webgpu");
    // float32 on both devices, summed in different orders: the same decisions, iterates equal to rounding.
    assert.equal(gpu.evals, cpu.evals);
    gpu.params.forEach((v, i) => assert.ok(Math.abs(v - cpu.params[i]) < 1e-4, `p[${i}]: ${v} vs ${cpu.params[i]}`));
  });
}
