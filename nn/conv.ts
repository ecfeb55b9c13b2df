/**
 * The 2-D convolution layers: `Conv2d` and `ConvTranspose2d`.
 *
 * @module
 */

import {
  checkSize,
  conv2d,
  type Conv2dPadding,
  convTranspose2d,
  convTransposeOutSize,
  fmtShapeOf,
  pair,
  type Size2,
  type Tensor,
} from "./deps.ts";
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

/** Options of {@link ConvTranspose2d}. */
export interface ConvTranspose2dLayerOptions extends FactoryOptions {
  /** Step between the input cells' windows in the output (default 1). */
  stride?: Size2;
  /** Rows/columns cut from each side of the full output (default 0). */
  padding?: Size2;
  /** Extra rows/columns on one side of the output, smaller than the stride or the dilation (default 0). */
  outputPadding?: Size2;
  /** Channel groups (default 1). */
  groups?: number;
  /** Learn a bias per output channel (default true). */
  bias?: boolean;
  /** Spacing between kernel taps (default 1). */
  dilation?: Size2;
}

/**
 * 2-D transposed convolution over `[N, inChannels, H, W]` (or
 * `[inChannels, H, W]`), the layer that up-samples in decoders and GAN
 * generators: weight `[inChannels, outChannels/groups, kH, kW]` (PyTorch's
 * layout, so checkpoints move both ways), bias `[outChannels]`, PyTorch's
 * default initialisation and output size
 * `(H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1`.
 * `forward(x, outputSize)` picks the outputPadding that gives `outputSize`.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { ConvTranspose2d } from "./conv.ts";
 * const up = new ConvTranspose2d(16, 8, 4, { stride: 2, padding: 1 });
 * console.log(up.forward(randn([1, 16, 7, 7])).shape); // [1, 8, 14, 14]
 * const down = new ConvTranspose2d(8, 8, 3, { stride: 2, padding: 1 });
 * console.log(down.forward(randn([1, 8, 7, 7]), [14, 14]).shape); // [1, 8, 14, 14] (outputPadding 1)
 * ```
 */
export class ConvTranspose2d extends Module {
  /** `[inChannels, outChannels/groups, kH, kW]`. */
  weight: Parameter;
  /** `[outChannels]`, or null. */
  bias: Parameter | null;
  /** Kernel size `[kH, kW]`. */
  readonly kernelSize: [number, number];
  /** Stride `[sH, sW]`. */
  readonly stride: [number, number];
  /** Padding `[pH, pW]`. */
  readonly padding: [number, number];
  /** Output padding `[opH, opW]` (used when `forward` gets no output size). */
  readonly outputPadding: [number, number];
  /** Dilation `[dH, dW]`. */
  readonly dilation: [number, number];
  /** Channel groups. */
  readonly groups: number;

  /** A transposed-convolution layer. */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    const name = this.#name();
    this.kernelSize = pair(name, "kernelSize", kernelSize, 1);
    this.stride = pair(name, "stride", options.stride ?? 1, 1);
    this.padding = pair(name, "padding", options.padding ?? 0, 0);
    this.outputPadding = pair(name, "outputPadding", options.outputPadding ?? 0, 0);
    this.dilation = pair(name, "dilation", options.dilation ?? 1, 1);
    this.groups = options.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1 || inChannels % this.groups || outChannels % this.groups) {
      throw new RangeError(
        `${name}: groups=${this.groups} must divide both channel counts (${inChannels} in, ${outChannels} out)`,
      );
    }
    for (let d = 0; d < 2; d++) {
      if (this.outputPadding[d] >= this.stride[d] && this.outputPadding[d] >= this.dilation[d]) {
        throw new RangeError(
          `${name}: outputPadding ${this.outputPadding.join("×")} must be smaller than either the stride ${
            this.stride.join("×")
          } or the dilation ${this.dilation.join("×")}`,
        );
      }
    }
    this.weight = emptyParameter([inChannels, outChannels / this.groups, ...this.kernelSize], options);
    this.bias = options.bias ?? true ? emptyParameter([outChannels], options) : null;
    this.resetParameters();
  }

  #name(): string {
    return `ConvTranspose2d(${this.inChannels}, ${this.outChannels})`;
  }

  /** Re-initialises weight and bias the way PyTorch does (fan-in from the weight's dim 1: outChannels/groups·kH·kW). */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  /**
   * The outputPadding that makes the output `outputSize` (`[H, W]`, or with
   * the leading `[N, C]` too), like PyTorch's `_output_padding`; throws
   * naming the valid range when no padding can.
   */
  outputPaddingFor(inputSize: readonly [number, number], outputSize: readonly number[]): [number, number] {
    const name = this.#name();
    const size = outputSize.length === 4 ? outputSize.slice(2) : outputSize;
    if (size.length !== 2 || size.some((v) => !Number.isInteger(v))) {
      throw new RangeError(`${name}: outputSize must be [H, W] or [N, C, H, W], got ${JSON.stringify(outputSize)}`);
    }
    const min = [0, 1].map((d) =>
      convTransposeOutSize(inputSize[d], this.kernelSize[d], this.stride[d], this.padding[d], this.dilation[d], 0)
    );
    const max = min.map((m, d) => m + this.stride[d] - 1);
    if (size.some((v, d) => v < min[d] || v > max[d])) {
      throw new RangeError(
        `${name}: requested an output size of ${size.join("×")}, but valid sizes range from ${min.join("×")} to ${
          max.join("×")
        } (for an input of ${inputSize.join("×")})`,
      );
    }
    const pad: [number, number] = [size[0] - min[0], size[1] - min[1]];
    return pad;
  }

  /**
   * Transposes-convolves `x` `[N, inChannels, H, W]` (or `[inChannels, H, W]`);
   * with `outputSize` (`[H, W]` or `[N, C, H, W]`), the output padding is
   * chosen to produce that size instead of the layer's own.
   */
  override forward(x: Tensor, outputSize?: readonly number[] | null): Tensor {
    if ((x.ndim !== 4 && x.ndim !== 3) || x.shape[x.ndim - 3] !== this.inChannels) {
      throw new RangeError(
        `${this.#name()}: expected input [N, ${this.inChannels}, H, W], got ${fmtShapeOf(x)}`,
      );
    }
    const hw: [number, number] = [x.shape[x.ndim - 2], x.shape[x.ndim - 1]];
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: outputSize ? this.outputPaddingFor(hw, outputSize) : this.outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    const f = (v: readonly number[]) => `[${v.join(", ")}]`;
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=${f(this.kernelSize)}, stride=${f(this.stride)}`;
    if (this.padding.some((v) => v)) s += `, padding=${f(this.padding)}`;
    if (this.outputPadding.some((v) => v)) s += `, outputPadding=${f(this.outputPadding)}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${f(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ", bias=false";
    return s;
  }
}
