/**
 * The 2-D convolution layer.
 *
 * @module
 */

import { checkSize, conv2d, type Conv2dPadding, fmtShapeOf, pair, type Size2, type Tensor } from "./deps.ts";
import { Module, type Parameter } from "./module.ts";
import { emptyParameter, type FactoryOptions, resetLinearLike } from "./linear.ts";

/** Options of {@link Conv2d}. */
export interface Conv2dLayerOptions extends FactoryOptions {
  /** Step between windows (default 1). */
  stride?: Size2;
  /** Zero padding per side, or "same" / "valid" (default 0). */
  padding?: Conv2dPadding;
  /** Spacing between kernel taps (default 1). */
  dilation?: Size2;
  /** Channel groups (default 1). */
  groups?: number;
  /** Learn a bias per output channel (default true). */
  bias?: boolean;
}

/**
 * 2-D convolution over `[N, inChannels, H, W]` (or `[inChannels, H, W]`):
 * weight `[outChannels, inChannels/groups, kH, kW]`, bias `[outChannels]`,
 * PyTorch's default initialisation.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Conv2d } from "./conv.ts";
 * const conv = new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
 * console.log(conv.forward(randn([1, 3, 32, 32])).shape); // [1, 64, 16, 16]
 * ```
 */
export class Conv2d extends Module {
  /** `[outChannels, inChannels/groups, kH, kW]`. */
  weight: Parameter;
  /** `[outChannels]`, or null. */
  bias: Parameter | null;
  /** Kernel size `[kH, kW]`. */
  readonly kernelSize: [number, number];
  /** Stride `[sH, sW]`. */
  readonly stride: [number, number];
  /** Padding `[pH, pW]` or "same"/"valid". */
  readonly padding: [number, number] | "same" | "valid";
  /** Dilation `[dH, dW]`. */
  readonly dilation: [number, number];
  /** Channel groups. */
  readonly groups: number;

  /** A convolution layer. */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    const name = `Conv2d(${inChannels}, ${outChannels})`;
    checkSize(name, "inChannels", inChannels);
    checkSize(name, "outChannels", outChannels);
    this.kernelSize = pair(name, "kernelSize", kernelSize, 1);
    this.stride = pair(name, "stride", options.stride ?? 1, 1);
    const p = options.padding ?? 0;
    this.padding = p === "same" || p === "valid" ? p : pair(name, "padding", p, 0);
    this.dilation = pair(name, "dilation", options.dilation ?? 1, 1);
    this.groups = options.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1 || inChannels % this.groups || outChannels % this.groups) {
      throw new RangeError(`${name}: groups=${this.groups} must divide both channel counts`);
    }
    if (p === "same" && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new RangeError(`${name}: padding="same" requires stride 1`);
    }
    this.weight = emptyParameter([outChannels, inChannels / this.groups, ...this.kernelSize], options);
    this.bias = options.bias ?? true ? emptyParameter([outChannels], options) : null;
    this.resetParameters();
  }

  /** Re-initialises weight and bias the way PyTorch does. */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  /** Convolves `x` `[N, inChannels, H, W]` (or `[inChannels, H, W]`). */
  override forward(x: Tensor): Tensor {
    if ((x.ndim !== 4 && x.ndim !== 3) || x.shape[x.ndim - 3] !== this.inChannels) {
      throw new RangeError(
        `Conv2d(${this.inChannels}, ${this.outChannels}): expected input [N, ${this.inChannels}, H, W], got ${
          fmtShapeOf(x)
        }`,
      );
    }
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    const f = (v: readonly number[] | string) => typeof v === "string" ? `"${v}"` : `[${v.join(", ")}]`;
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=${f(this.kernelSize)}, stride=${f(this.stride)}`;
    if (this.padding === "same" || this.padding === "valid" || this.padding.some((v) => v)) {
      s += `, padding=${f(this.padding)}`;
    }
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${f(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ", bias=false";
    return s;
  }
}
