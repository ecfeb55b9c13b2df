/**
 * The up-sampling layer, `Upsample`, over `functional.interpolate`.
 *
 * @module
 */

import { checkInterpolateOptions, interpolate, type InterpolateOptions, type Tensor } from "./deps.ts";
import { Module } from "./module.ts";

/**
 * Resizes `[N, C, H, W]` images to a fixed `size` or by a `scaleFactor`
 * (exactly one of them), by "nearest" (default) or "bilinear" interpolation
 * (with `alignCorners`), as PyTorch's `nn.Upsample`. Options are checked
 * when the layer is made.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Upsample } from "./upsampling.ts";
 * const up = new Upsample({ scaleFactor: 2, mode: "bilinear" });
 * console.log(up.forward(randn([1, 3, 7, 7])).shape); // [1, 3, 14, 14]
 * ```
 */
export class Upsample extends Module {
  /** The interpolation options, as given. */
  readonly options: Readonly<InterpolateOptions>;

  /** An up-sampling layer. */
  constructor(options: InterpolateOptions) {
    super();
    checkInterpolateOptions("Upsample", options ?? {});
    this.options = { ...options };
  }

  /** Resizes `x`. */
  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4) {
      throw new RangeError(`Upsample: expected input [N, C, H, W], got [${x.shape.join(", ")}]`);
    }
    return interpolate(x, this.options);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    const o = this.options;
    const parts = [o.size != null ? `size=${JSON.stringify(o.size)}` : `scaleFactor=${JSON.stringify(o.scaleFactor)}`];
    parts.push(`mode="${o.mode ?? "nearest"}"`);
    if (o.alignCorners != null) parts.push(`alignCorners=${o.alignCorners}`);
    return parts.join(", ");
  }
}
