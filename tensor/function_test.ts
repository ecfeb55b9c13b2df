import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { AutogradFunction, type FunctionCtx, gradcheck, noGrad, randn, type Tensor, tensor } from "./mod.ts";

/** Identity forward, −α·gradient backward: the gradient-reversal layer of domain-adversarial training. */
class GradReverse extends AutogradFunction {
  static override forward(ctx: FunctionCtx, x: Tensor, alpha: number): Tensor {
    ctx.alpha = alpha;
    return x;
  }
  static override backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
    return [g.mul(-(ctx.alpha as number)), null];
  }
}

/** x³ with its derivative written by hand from the saved input, in tensor ops (so it has a derivative itself). */
class Cube extends AutogradFunction {
  static override forward(ctx: FunctionCtx, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.mul(x).mul(x);
  }
  static override backward(ctx: FunctionCtx, g: Tensor): Tensor {
    const [x] = ctx.savedTensors;
    return g.mul(x.square().mul(3));
  }
}

/** a·b with both operands saved, one gradient per operand. */
class Product extends AutogradFunction {
  static override forward(ctx: FunctionCtx, a: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(a, b);
    return a.mul(b);
  }
  static override backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
    const [a, b] = ctx.savedTensors;
    return [ctx.needsInputGrad[0] ? g.mul(b) : null, ctx.needsInputGrad[1] ? g.mul(a) : null];
  }
}

Deno.test("a gradient-reversal function: identity forward, −α times the gradient backward, the input stays a leaf", async () => {
  const x = tensor([1, -2, 3]).requiresGrad_();
  const y = GradReverse.apply(x, 0.5);
  ok(y !== x, "the output is a new tensor sharing the input's data");
  ok(x.isLeaf && x.gradFn === null, "recording did not replace the input's place in the graph");
  strictEqual(y.gradFn?.name, "GradReverseBackward");
  deepStrictEqual(await y.tolist(), [1, -2, 3]);
  // d/dx Σ wᵢ·GRL(x)ᵢ = −0.5·w
  y.mul(tensor([1, 2, 4])).sum().backward();
  deepStrictEqual(await x.grad!.tolist(), [-0.5, -1, -2]);
});

Deno.test("a custom function's rule agrees with finite differences (gradcheck, float64)", () => {
  const a = randn([3, 2], { dtype: "float64" }).requiresGrad_();
  const b = randn([3, 2], { dtype: "float64" }).requiresGrad_();
  ok(gradcheck((p, q) => Product.apply(Cube.apply(p), q), [a, b]));
});

Deno.test("a custom function's backward is differentiable: second derivative of x³ is 6x", async () => {
  const x = tensor([1, 2, -3]).requiresGrad_();
  Cube.apply(x).sum().backward(undefined, { createGraph: true });
  const first = x.grad!;
  deepStrictEqual(await first.tolist(), [3, 12, 27]);
  ok(first.requiresGrad, "with createGraph the custom rule was recorded");
  x.grad = null;
  first.sum().backward();
  deepStrictEqual(await x.grad!.tolist(), [6, 12, -18]);
});

Deno.test("needsInputGrad says which arguments need a gradient; none needing one (or noGrad) records nothing", async () => {
  const a = tensor([2, 3]).requiresGrad_(), b = tensor([5, 7]);
  let seen: readonly boolean[] = [];
  class Spy extends Product {
    static override forward(ctx: FunctionCtx, p: Tensor, q: Tensor): Tensor {
      seen = ctx.needsInputGrad;
      return super.forward(ctx, p, q);
    }
  }
  Spy.apply(a, b).sum().backward();
  deepStrictEqual(seen, [true, false]);
  deepStrictEqual(await a.grad!.tolist(), [5, 7]);
  ok(!Spy.apply(tensor([1]), tensor([2])).requiresGrad);
  ok(!noGrad(() => Spy.apply(a, b)).requiresGrad);
  ok(!noGrad(() => GradReverse.apply(a, 1)).requiresGrad);
});

Deno.test("forward runs without recording a graph, as in PyTorch", () => {
  let inner: Tensor | null = null;
  class Recorder extends AutogradFunction {
    static override forward(_ctx: FunctionCtx, x: Tensor): Tensor {
      inner = x.mul(2);
      return inner.add(1);
    }
    static override backward(_ctx: FunctionCtx, g: Tensor): Tensor {
      return g.mul(2);
    }
  }
  const y = Recorder.apply(tensor([1]).requiresGrad_());
  ok(y.requiresGrad && !inner!.requiresGrad);
});

Deno.test("a saved tensor changed in place before backward raises the version error", () => {
  const a = tensor([1, 2]).requiresGrad_(), b = tensor([3, 4]);
  const y = Product.apply(a, b).sum();
  b.mul_(2);
  throws(() => y.backward(), /ProductBackward.*modified by an inplace operation|modified by an inplace operation/);
});

Deno.test("a user's backward that breaks the contract is named in the error", () => {
  class TooFew extends AutogradFunction {
    static override forward(_ctx: FunctionCtx, x: Tensor, _scale: number): Tensor {
      return x.clone();
    }
    static override backward(_ctx: FunctionCtx, g: Tensor): Tensor {
      return g;
    }
  }
  throws(() => TooFew.apply(tensor([1]).requiresGrad_(), 2).sum().backward(), {
    name: "RangeError",
    message: /TooFew\.backward returned 1 gradient; expected 2/,
  });
  class Wrong extends AutogradFunction {
    static override forward(_ctx: FunctionCtx, x: Tensor): Tensor {
      return x.clone();
    }
    static override backward(_ctx: FunctionCtx, g: Tensor): Tensor {
      return g.sum();
    }
  }
  throws(() => Wrong.apply(tensor([1, 2]).requiresGrad_()).sum().backward(), {
    name: "RangeError",
    message: /Wrong\.backward: gradient 0 has shape \[\] but argument 0 has shape \[2\]/,
  });
  class NotATensor extends AutogradFunction {
    static override forward(_ctx: FunctionCtx, x: Tensor, _k: number): Tensor {
      return x.clone();
    }
    static override backward(_ctx: FunctionCtx, g: Tensor): Tensor[] {
      return [g, g];
    }
  }
  throws(() => NotATensor.apply(tensor([1]).requiresGrad_(), 3).sum().backward(), {
    name: "TypeError",
    message: /gradient 1 is a Tensor but argument 1 of forward is not a tensor/,
  });
  class NoBackward extends AutogradFunction {
    static override forward(_ctx: FunctionCtx, x: Tensor): Tensor {
      return x;
    }
  }
  throws(() => NoBackward.apply(tensor([1])), /NoBackward: a custom autograd function must define static forward/);
});
