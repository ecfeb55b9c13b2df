/**
 * Spectral normalisation of a module's weight (Miyato et al., 2018), as
 * PyTorch's `torch.nn.utils.spectral_norm`: the weight is divided by an
 * estimate of its largest singular value σ, kept by power iteration, so the
 * layer is (about) 1-Lipschitz — what SNGAN's discriminator is built from.
 *
 * @module
 */

import { noGrad, randn, type Tensor } from "./deps.ts";
import { type Module, Parameter } from "./module.ts";
import { ConvTranspose2d } from "./conv.ts";

/** Options of {@link spectralNorm}. */
export interface SpectralNormOptions {
  /** The parameter to normalise (default "weight"). */
  name?: string;
  /** Power-iteration steps per forward call in training mode (default 1; a positive integer). */
  nPowerIterations?: number;
  /** Floor of the norms the power iteration divides by (default 1e-12). */
  eps?: number;
  /** The dimension of the weight that indexes output rows (default 0; 1 for `ConvTranspose2d`, whose weight is `[in, out, kH, kW]`). */
  dim?: number;
}

/** The modules (and parameter names) that already carry a spectral norm: PyTorch refuses a second one. */
const applied = new WeakMap<Module, Set<string>>();

/** `x / max(‖x‖₂, eps)`, PyTorch's `F.normalize(x, dim=0)` for a vector. */
function normalize(x: Tensor, eps: number): Tensor {
  return x.div(x.mul(x).sum().sqrt().clamp(eps));
}

/** The weight as the matrix whose largest singular value is σ: `dim` first, the rest flattened. */
function weightMatrix(weight: Tensor, dim: number): Tensor {
  const moved = dim === 0 ? weight : weight.permute([dim, ...[...weight.shape.keys()].filter((d) => d !== dim)]);
  return moved.reshape([weight.shape[dim], -1]);
}

/**
 * Applies spectral normalisation to `module`'s parameter `name` and returns
 * the module (PyTorch's `torch.nn.utils.spectral_norm`). The parameter moves
 * to `<name>_orig`; buffers `<name>_u` and `<name>_v` (unit vectors, drawn
 * from N(0, I) and normalised) hold the power iteration's state; before every
 * forward call `module[name]` becomes `<name>_orig / σ` with
 * `σ = uᵀ W v` for `W` the weight as a matrix (`dim` first). In training mode
 * each call first runs `nPowerIterations` steps `v ← Wᵀu/‖Wᵀu‖`,
 * `u ← Wv/‖Wv‖` (no gradient; u and v updated in place), in eval mode none.
 * Gradients reach `<name>_orig` through σ with u and v held constant, as in
 * PyTorch. The state dict holds `<name>_orig`, `<name>_u` and `<name>_v`
 * under PyTorch's keys, so checkpoints move both ways. Bad options or an
 * unknown parameter throw before the module changes.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Linear } from "./linear.ts";
 * import { spectralNorm } from "./spectral_norm.ts";
 * const layer = spectralNorm(new Linear(20, 40));
 * layer.forward(randn([8, 20]));
 * console.log(Object.keys(layer.stateDict())); // ["bias", "weight_orig", "weight_u", "weight_v"]
 * ```
 */
export function spectralNorm<M extends Module>(module: M, options: SpectralNormOptions = {}): M {
  const name = options.name ?? "weight", nIter = options.nPowerIterations ?? 1, eps = options.eps ?? 1e-12;
  const where = `spectralNorm(${module.constructor.name})`;
  const weight = (module as unknown as Record<string, unknown>)[name];
  if (applied.get(module)?.has(name)) {
    throw new Error(`${where}: cannot register two spectral norms on the same parameter "${name}"`);
  }
  if (!(weight instanceof Parameter) || !Object.hasOwn(module, name)) {
    throw new RangeError(`${where}: the module has no parameter "${name}"`);
  }
  if (!Number.isInteger(nIter) || nIter < 1) {
    throw new RangeError(`${where}: nPowerIterations must be a positive integer, got ${nIter}`);
  }
  if (!(eps > 0) || !Number.isFinite(eps)) throw new RangeError(`${where}: eps must be a positive number, got ${eps}`);
  const dim0 = options.dim ?? (module instanceof ConvTranspose2d ? 1 : 0);
  if (!Number.isInteger(dim0) || dim0 < -weight.ndim || dim0 >= weight.ndim || weight.ndim === 0) {
    throw new RangeError(`${where}: dim ${dim0} is out of range for a weight of ${weight.ndim} dimensions`);
  }
  const dim = dim0 < 0 ? dim0 + weight.ndim : dim0;
  const [h, w] = weightMatrix(weight, dim).shape;
  const draw = { dtype: weight.dtype, device: weight.device };
  const [u, v] = noGrad(() => [normalize(randn([h], draw), eps), normalize(randn([w], draw), eps)]);

  // Every check has passed: now change the module (PyTorch's order: `<name>_orig`, then the buffers).
  const members = module as unknown as Record<string, unknown>;
  delete members[name];
  module.registerParameter(`${name}_orig`, weight);
  // The normalised weight is a plain tensor the layer's forward reads: not enumerable, so no parameter or state.
  Object.defineProperty(module, name, {
    value: weight.detach(),
    writable: true,
    configurable: true,
    enumerable: false,
  });
  module.registerBuffer(`${name}_u`, u);
  module.registerBuffer(`${name}_v`, v);
  applied.set(module, (applied.get(module) ?? new Set()).add(name));

  module.registerForwardPreHook((m) => {
    const orig = members[`${name}_orig`] as Tensor;
    const bu = m.getBuffer(`${name}_u`)!, bv = m.getBuffer(`${name}_v`)!;
    const matrix = weightMatrix(orig, dim);
    let uNow = bu, vNow = bv;
    if (m.training) {
      [uNow, vNow] = noGrad(() => {
        const detached = matrix.detach();
        for (let i = 0; i < nIter; i++) {
          bv.copy_(normalize(detached.t().matmul(bu), eps));
          bu.copy_(normalize(detached.matmul(bv), eps));
        }
        // Copies, so the next call's in-place update does not change what this call's backward reads.
        return [bu.clone(), bv.clone()];
      });
    }
    const sigma = uNow.matmul(matrix.matmul(vNow));
    members[name] = orig.div(sigma);
  });
  return module;
}
