/**
 * Pooling layers: `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`.
 *
 * @module
 */

import {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  fmtShapeOf,
  maxPool2d,
  type MaxPool2dOptions,
  type Size2,
  type Tensor,
} from "./deps.ts";
import { Module } from "./module.ts";

function checkRank(layer: string, x: Tensor): void {
  if (x.ndim !== 4 && x.ndim !== 3) {
    throw new RangeError(`${layer}: expected input [N, C, H, W] or [C, H, W], got ${fmtShapeOf(x)}`);
  }
}

const show = (v: Size2 | null | undefined): string => v == null ? "null" : typeof v === "number" ? `${v}` : `[${v}]`;

/**
 * Max pooling over `kernelSize` windows (stride defaults to the kernel size).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { MaxPool2d } from "./pooling.ts";
 * console.log(new MaxPool2d(2).forward(randn([1, 3, 8, 8])).shape); // [1, 3, 4, 4]
 * ```
 */
export class MaxPool2d extends Module {
  /** A max-pooling layer. */
  constructor(readonly kernelSize: Size2, readonly options: MaxPool2dOptions = {}) {
    super();
  }

  /** Pools `x`. */
  override forward(x: Tensor): Tensor {
    checkRank(`MaxPool2d(${show(this.kernelSize)})`, x);
    return maxPool2d(x, this.kernelSize, this.options);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    const o = this.options;
    return `kernelSize=${show(this.kernelSize)}, stride=${show(o.stride ?? this.kernelSize)}, padding=${
      show(o.padding ?? 0)
    }, dilation=${show(o.dilation ?? 1)}, ceilMode=${o.ceilMode ?? false}`;
  }
}

/** Average pooling over `kernelSize` windows (stride defaults to the kernel size). */
export class AvgPool2d extends Module {
  /** An average-pooling layer. */
  constructor(readonly kernelSize: Size2, readonly options: AvgPool2dOptions = {}) {
    super();
  }

  /** Pools `x`. */
  override forward(x: Tensor): Tensor {
    checkRank(`AvgPool2d(${show(this.kernelSize)})`, x);
    return avgPool2d(x, this.kernelSize, this.options);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    const o = this.options;
    return `kernelSize=${show(this.kernelSize)}, stride=${show(o.stride ?? this.kernelSize)}, padding=${
      show(o.padding ?? 0)
    }`;
  }
}

/**
 * Average pooling to a fixed output size (PyTorch's adaptive windows).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { AdaptiveAvgPool2d } from "./pooling.ts";
 * console.log(new AdaptiveAvgPool2d(1).forward(randn([2, 8, 7, 7])).shape); // [2, 8, 1, 1]
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  /** An adaptive average-pooling layer to `outputSize` (a number: square; null keeps that input size). */
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }

  /** Pools `x`. */
  override forward(x: Tensor): Tensor {
    checkRank(`AdaptiveAvgPool2d(${JSON.stringify(this.outputSize)})`, x);
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}
