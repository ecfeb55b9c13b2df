/**
 * Activation layers and dropout: `ReLU`, `LeakyReLU`, `Sigmoid`, `Tanh`,
 * `GELU`, `SiLU`, `Mish`, `ELU`, `Softmax`, `LogSoftmax`, `Dropout`,
 * `Dropout2d`.
 *
 * @module
 */

import {
  dropout,
  dropout2d,
  elu,
  type Generator as RandomGenerator,
  leakyRelu,
  mish,
  silu,
  type Tensor,
} from "./deps.ts";
import { Module } from "./module.ts";

/**
 * `max(x, 0)`.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { ReLU } from "./activation.ts";
 * new ReLU().forward(tensor([-1, 2])); // [0, 2]
 * ```
 */
export class ReLU extends Module {
  /** Applies ReLU. */
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** `x` for positive x, `negativeSlope·x` otherwise. */
export class LeakyReLU extends Module {
  /** A leaky ReLU with the given slope (default 0.01). */
  constructor(readonly negativeSlope: number = 0.01) {
    super();
  }

  /** Applies leaky ReLU. */
  override forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** The logistic sigmoid. */
export class Sigmoid extends Module {
  /** Applies the sigmoid. */
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** The hyperbolic tangent. */
export class Tanh extends Module {
  /** Applies tanh. */
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** GELU, `x·Φ(x)` (the exact erf form, PyTorch's default) or its tanh approximation. */
export class GELU extends Module {
  /** A GELU; `approximate: "tanh"` uses `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`. */
  constructor(readonly approximate: "none" | "tanh" = "none") {
    super();
  }

  /** Applies GELU. */
  override forward(x: Tensor): Tensor {
    if (this.approximate === "none") return x.gelu();
    const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(inner.tanh().add(1)).mul(0.5);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return this.approximate === "none" ? "" : `approximate="${this.approximate}"`;
  }
}

/**
 * SiLU (swish), `x·σ(x)`: the smooth activation of diffusion U-Nets.
 *
 * @example
 * ```ts
 * import { tensor } from "@dendrite/tensor";
 * import { SiLU } from "./activation.ts";
 * new SiLU().forward(tensor([0, 1])); // [0, 0.7311]
 * ```
 */
export class SiLU extends Module {
  /** Applies SiLU. */
  override forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** Mish, `x·tanh(softplus(x))`. */
export class Mish extends Module {
  /** Applies Mish. */
  override forward(x: Tensor): Tensor {
    return mish(x);
  }
}

/** ELU: `x` for positive x, `alpha·(eˣ − 1)` otherwise. */
export class ELU extends Module {
  /** An ELU with the given alpha (default 1). */
  constructor(readonly alpha: number = 1) {
    super();
  }

  /** Applies ELU. */
  override forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** Softmax along `dim`. */
export class Softmax extends Module {
  /** A softmax along `dim`. */
  constructor(readonly dim: number) {
    super();
  }

  /** Applies softmax. */
  override forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** Log-softmax along `dim`. */
export class LogSoftmax extends Module {
  /** A log-softmax along `dim`. */
  constructor(readonly dim: number) {
    super();
  }

  /** Applies log-softmax. */
  override forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * Zeroes elements with probability `p` and scales the rest by `1/(1-p)` in
 * training mode; the identity in eval mode.
 *
 * @example
 * ```ts
 * import { ones } from "@dendrite/tensor";
 * import { Dropout } from "./activation.ts";
 * const drop = new Dropout(0.5);
 * drop.forward(ones([4])); // zeros and 2s
 * drop.eval();
 * drop.forward(ones([4])); // ones
 * ```
 */
export class Dropout extends Module {
  /** A dropout layer; draws from `generator` (default: the global seeded one). */
  constructor(readonly p: number = 0.5, readonly generator?: RandomGenerator) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: probability must be in [0, 1], got ${p}`);
  }

  /** Applies dropout when training. */
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/**
 * Channel dropout: zeroes whole channels of `[N, C, H, W]` (or `[C, H, W]`)
 * inputs with probability `p` and scales the rest by `1/(1-p)` in training
 * mode; the identity in eval mode.
 *
 * @example
 * ```ts
 * import { ones } from "@dendrite/tensor";
 * import { Dropout2d } from "./activation.ts";
 * new Dropout2d(0.5).forward(ones([1, 4, 2, 2])); // each 2×2 map all 0 or all 2
 * ```
 */
export class Dropout2d extends Module {
  /** A channel-dropout layer; draws from `generator` (default: the global seeded one). */
  constructor(readonly p: number = 0.5, readonly generator?: RandomGenerator) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout2d: probability must be in [0, 1], got ${p}`);
  }

  /** Applies channel dropout when training. */
  override forward(x: Tensor): Tensor {
    return dropout2d(x, this.p, this.training, this.generator);
  }

  /** The arguments shown in this layer's line of `toString()`. */
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
