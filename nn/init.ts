/**
 * Parameter initialisation, in place, with PyTorch's formulas (`torch.nn.init`):
 * fans, gains, kaiming and xavier in their uniform and normal forms.
 *
 * @example
 * ```ts
 * import { zeros } from "@dendrite/tensor";
 * import * as init from "./init.ts";
 * const w = zeros([64, 3, 3, 3]);
 * init.kaimingNormal_(w, { mode: "fan_out", nonlinearity: "relu" });
 * ```
 *
 * @module
 */

import { type Generator as RandomGenerator, noGrad, rand, randn, type Tensor } from "./deps.ts";

/** Nonlinearities {@link calculateGain} knows (PyTorch's names). */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

/** Which fan kaiming init preserves: the forward pass's (`fan_in`) or the backward pass's (`fan_out`). */
export type FanMode = "fan_in" | "fan_out" | "fanIn" | "fanOut";

/**
 * The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for
 * tanh, √2 for relu, √(2/(1+slope²)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new RangeError(`calculateGain: unsupported nonlinearity "${nonlinearity}"`);
  }
}

/** `[fanIn, fanOut]` of a weight: `[size(1)·receptive field, size(0)·receptive field]` (needs ≥ 2 dims). */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new RangeError(
      `calculateFanInAndFanOut: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape [${
        t.shape.join(", ")
      }])`,
    );
  }
  let receptive = 1;
  for (let i = 2; i < t.ndim; i++) receptive *= t.shape[i];
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function fan(t: Tensor, mode: FanMode): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  if (mode === "fan_in" || mode === "fanIn") return fanIn;
  if (mode === "fan_out" || mode === "fanOut") return fanOut;
  throw new RangeError(`init: mode must be "fan_in" or "fan_out", got "${mode}"`);
}

/** Checks `t` before an initialiser draws any random number (a failed call must not advance the generator). */
function checkFloat(op: string, t: Tensor): void {
  t.checkAlive(op);
  if (t.dtype !== "float32" && t.dtype !== "float64") {
    throw new TypeError(`${op}: expected a floating-point tensor, got dtype ${t.dtype}`);
  }
}

/** Options shared by the random initialisers. */
export interface InitOptions {
  /** The generator to draw from (default: the global seeded one). */
  generator?: RandomGenerator;
}

/** Fills `t` with samples of U(a, b) in place. Returns `t`. */
export function uniform_(t: Tensor, a = 0, b = 1, options: InitOptions = {}): Tensor {
  checkFloat("uniform_", t);
  if (!(Number.isFinite(a) && Number.isFinite(b) && a <= b)) {
    throw new RangeError(`uniform_: expects finite bounds a <= b, got a=${a}, b=${b}`);
  }
  return noGrad(() =>
    t.copy_(rand(t.shape, { dtype: t.dtype, device: t.device, generator: options.generator }).mul(b - a).add(a))
  );
}

/** Fills `t` with samples of N(mean, std²) in place. Returns `t`. */
export function normal_(t: Tensor, mean = 0, std = 1, options: InitOptions = {}): Tensor {
  checkFloat("normal_", t);
  if (!(Number.isFinite(mean) && Number.isFinite(std) && std >= 0)) {
    throw new RangeError(`normal_: expects a finite mean and std >= 0, got mean=${mean}, std=${std}`);
  }
  return noGrad(() =>
    t.copy_(randn(t.shape, { dtype: t.dtype, device: t.device, generator: options.generator }).mul(std).add(mean))
  );
}

/** Fills `t` with `value` in place. Returns `t`. */
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/** Fills `t` with zeros in place. Returns `t`. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills `t` with ones in place. Returns `t`. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Options of the kaiming initialisers. */
export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (default 0). */
  a?: number;
  /** Preserve the variance of the forward (`fan_in`, default) or backward (`fan_out`) pass. */
  mode?: FanMode;
  /** The nonlinearity that follows (default "leaky_relu"). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, o: KaimingOptions): number {
  checkFloat(op, t);
  const f = fan(t, o.mode ?? "fan_in");
  if (f === 0) {
    throw new RangeError(`${op}: cannot initialise a tensor with a zero fan (shape [${t.shape.join(", ")}])`);
  }
  return calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(f);
}

/** He initialisation: U(-b, b) with `b = gain·√(3/fan)` (PyTorch's `kaiming_uniform_`). Returns `t`. */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd("kaimingUniform_", t, options);
  return uniform_(t, -bound, bound, options);
}

/** He initialisation: N(0, std²) with `std = gain/√fan` (PyTorch's `kaiming_normal_`). Returns `t`. */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd("kaimingNormal_", t, options), options);
}

/** Options of the xavier initialisers. */
export interface XavierOptions extends InitOptions {
  /** Scale factor (default 1). */
  gain?: number;
}

function xavierStd(op: string, t: Tensor, o: XavierOptions): number {
  checkFloat(op, t);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
}

/** Glorot initialisation: U(-a, a) with `a = gain·√(6/(fanIn+fanOut))`. Returns `t`. */
export function xavierUniform_(t: Tensor, options: XavierOptions = {}): Tensor {
  const a = Math.sqrt(3) * xavierStd("xavierUniform_", t, options);
  return uniform_(t, -a, a, options);
}

/** Glorot initialisation: N(0, std²) with `std = gain·√(2/(fanIn+fanOut))`. Returns `t`. */
export function xavierNormal_(t: Tensor, options: XavierOptions = {}): Tensor {
  return normal_(t, 0, xavierStd("xavierNormal_", t, options), options);
}
