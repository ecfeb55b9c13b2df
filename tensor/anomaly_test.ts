import { ok, throws } from "node:assert/strict";
import { detectAnomaly, isGradEnabled, tensor } from "./mod.ts";

Deno.test("anomaly mode names the op whose forward produced a non-finite value", () => {
  const x = tensor([0, 1]).requiresGrad_();
  throws(
    () => detectAnomaly(() => x.log()),
    /anomaly: Log \(forward\) produced -Infinity in its output \(element 0 of shape \[2\]\)/,
  );
  // Outside the mode the same op runs silently.
  ok(x.log().requiresGrad);
  ok(isGradEnabled());
});

Deno.test("anomaly mode names the derivative rule that produced a NaN gradient", () => {
  // sqrt(x) at 0 is finite (0) but its gradient 1/(2·sqrt(0)) is Inf, and Inf·0 = NaN downstream.
  const x = tensor([0, 4]).requiresGrad_();
  throws(
    () => detectAnomaly(() => x.sqrt().sum().backward()),
    /anomaly: SqrtBackward produced Infinity in its gradient for input 0/,
  );
});

Deno.test("finite computations pass through anomaly mode unchanged", async () => {
  const x = tensor([1, 2]).requiresGrad_();
  detectAnomaly(() => x.mul(x).sum().backward());
  ok((await x.grad!.tolist() as number[]).every((v, i) => v === [2, 4][i]));
});
