/**
 * `nn.utils` as in PyTorch: `nn.utils.rnn` holds the packed-sequence helpers
 * (`padSequence`, `packPaddedSequence`, `padPackedSequence`, `packSequence`,
 * `PackedSequence`); `spectralNorm` divides a weight by its largest singular value
 * (PyTorch's `spectral_norm`, SNGAN's discriminator). Gradient clipping lives in `optim` (`optim.clipGradNorm`, also under PyTorch's name
 * `optim.clipGradNorm_`), above `nn` on the import ladder.
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import * as utils from "./utils.ts";
 * const packed = utils.rnn.packPaddedSequence(randn([3, 2, 4]), [3, 1]);
 * console.log(packed.steps); // [2, 1, 1]
 * ```
 *
 * @module
 */

export * as rnn from "./rnn_utils.ts";
export { spectralNorm, type SpectralNormOptions } from "./spectral_norm.ts";
