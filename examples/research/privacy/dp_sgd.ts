/**
 * DP-SGD (Abadi et al., 2016): every sample's gradient is clipped to an L2
 * norm of at most `maxGradNorm`, the clipped gradients are summed, Gaussian
 * noise of standard deviation `noiseMultiplier · maxGradNorm` is added, and
 * the sum is divided by the expected batch size (batches drawn by Poisson
 * sampling, as the privacy accountant assumes).
 *
 * Per-sample gradients come from one ordinary backward pass, as Opacus does
 * for linear layers: a forward hook keeps each `nn.Linear`'s input `a`
 * (`[B, in]`), a full backward hook keeps the gradient of its output `δ`
 * (`[B, out]`) under a summed loss, and sample `i`'s weight gradient is the
 * outer product `δᵢ aᵢᵀ`. Its squared norm is `|δᵢ|² |aᵢ|²` (plus `|δᵢ|²` for
 * the bias), so the norms need no per-sample matrices at all, and the clipped
 * sum is `(c ⊙ δ)ᵀ a` with each sample's factor `cᵢ = min(1, C / |gᵢ|)`.
 *
 * @module
 */

import { Generator, nn, type optim, randn, type Tensor, tidy } from "../../../mod.ts";

/** Options of {@link DPSGD}. */
export interface DpSgdOptions {
  /** The clipping bound C on each sample's whole-model gradient norm. */
  maxGradNorm: number;
  /** σ: the noise's standard deviation is σ · C. */
  noiseMultiplier: number;
  /** The expected batch size L = q · N that the noisy sum is divided by. */
  expectedBatchSize: number;
  /** The noise's generator (default: a fresh one seeded 0). */
  generator?: Generator;
}

/** What one {@link DPSGD.step} saw: the per-sample gradient norms before clipping, and how many were clipped. */
export interface DpStepInfo {
  /** Samples in the batch. */
  batchSize: number;
  /** Each sample's whole-model gradient norm before clipping. */
  norms: Float32Array;
  /** How many of them exceeded the bound. */
  clipped: number;
}

/**
 * Wraps a model made of `nn.Linear` layers and parameter-free modules (activations, `Flatten`) and an optimizer
 * over its parameters; {@link step} takes one private step on a batch.
 *
 * ```ts ignore
 * const dp = new DPSGD(model, new optim.SGD(model.parameters(), { lr: 0.1 }), {
 *   maxGradNorm: 1, noiseMultiplier: 1.1, expectedBatchSize: 256,
 * });
 * await dp.step(images, labels, (out, y) => nn.functional.crossEntropy(out, y, { reduction: "sum" }));
 * ```
 */
export class DPSGD {
  /** The linear layers whose per-sample gradients are computed. */
  readonly layers: nn.Linear[];
  readonly #model: nn.Module;
  readonly #optimizer: optim.Optimizer;
  readonly #options: Required<DpSgdOptions>;
  readonly #inputs = new Map<nn.Linear, Tensor>();
  readonly #deltas = new Map<nn.Linear, Tensor>();

  /** Checks that every parameter of `model` belongs to an `nn.Linear`, then hooks those layers. */
  constructor(model: nn.Module, optimizer: optim.Optimizer, options: DpSgdOptions) {
    const { maxGradNorm, noiseMultiplier, expectedBatchSize } = options;
    if (!(maxGradNorm > 0)) throw new RangeError(`DPSGD: maxGradNorm must be positive, got ${maxGradNorm}`);
    if (!(noiseMultiplier >= 0)) {
      throw new RangeError(`DPSGD: noiseMultiplier must be non-negative, got ${noiseMultiplier}`);
    }
    if (!(expectedBatchSize > 0)) {
      throw new RangeError(`DPSGD: expectedBatchSize must be positive, got ${expectedBatchSize}`);
    }
    const layers = [...model.modules()].filter((m): m is nn.Linear => m instanceof nn.Linear);
    const covered = new Set(layers.flatMap((l) => [...l.parameters()]));
    const other = [...model.namedParameters()].filter(([, p]) => p.requiresGrad && !covered.has(p)).map(([n]) => n);
    if (other.length > 0) {
      throw new TypeError(
        `DPSGD: per-sample gradients are computed for nn.Linear layers only; these parameters belong to other ` +
          `modules: ${other.join(", ")}`,
      );
    }
    this.layers = layers;
    this.#model = model;
    this.#optimizer = optimizer;
    this.#options = {
      maxGradNorm,
      noiseMultiplier,
      expectedBatchSize,
      generator: options.generator ?? new Generator(0),
    };
    for (const layer of layers) {
      layer.registerForwardHook((m, args) => {
        const a = args[0] as Tensor;
        if (a.shape.length !== 2) {
          throw new RangeError(`DPSGD: expected a [batch, features] input to each Linear, got [${a.shape}]`);
        }
        this.#inputs.set(m, a);
      });
      layer.registerFullBackwardHook((m, _gradInput, gradOutput) => {
        // Kept beyond the backward pass, which may free its intermediate gradients.
        this.#deltas.set(m, gradOutput[0]!.clone());
      });
    }
  }

  /**
   * Each sample's gradient of `loss(model(x), y)` (a loss SUMMED over the batch, so that its gradient with respect to
   * each output row is that sample's own), clipped to norm C; returns the clipped sums per parameter (weight, bias of
   * each layer in order) and the norms before clipping. The parameters' `.grad` are left as the backward pass set them.
   */
  clippedSum(forward: () => Tensor): { sums: Tensor[]; norms: Tensor } {
    this.#inputs.clear();
    this.#deltas.clear();
    try {
      return tidy(() => {
        const loss = forward();
        if (loss.shape.length !== 0) {
          throw new RangeError(`DPSGD: the loss must be a scalar summed over the batch, got shape [${loss.shape}]`);
        }
        loss.backward();
        let squared: Tensor | null = null;
        for (const layer of this.layers) {
          const a = this.#inputs.get(layer), d = this.#deltas.get(layer);
          if (!a || !d) throw new Error("DPSGD: a Linear layer took no part in the forward and backward passes");
          const inputSq = a.mul(a).sum(1);
          const term = d.mul(d).sum(1).mul(layer.bias ? inputSq.add(1) : inputSq);
          squared = squared ? squared.add(term) : term;
        }
        const norms = squared!.sqrt();
        const factor = norms.add(1e-6).reciprocal().mul(this.#options.maxGradNorm).clamp(null, 1).unsqueeze(1);
        const sums: Tensor[] = [];
        for (const layer of this.layers) {
          const scaled = this.#deltas.get(layer)!.mul(factor);
          sums.push(scaled.t().matmul(this.#inputs.get(layer)!));
          if (layer.bias) sums.push(scaled.sum(0));
        }
        return { sums, norms };
      });
    } finally {
      for (const d of this.#deltas.values()) d.dispose();
      this.#inputs.clear();
      this.#deltas.clear();
    }
  }

  /**
   * One private step: clipped per-sample gradients summed, noise N(0, σ²C²) added to each coordinate, divided by the
   * expected batch size, then the optimizer's step. An empty batch (Poisson sampling can draw one) still adds noise.
   */
  async step(x: Tensor, y: Tensor, loss: (output: Tensor, target: Tensor) => Tensor): Promise<DpStepInfo> {
    const { maxGradNorm, noiseMultiplier, expectedBatchSize, generator } = this.#options;
    const params = this.layers.flatMap((l) => (l.bias ? [l.weight, l.bias] : [l.weight]));
    let sums: Tensor[];
    let norms: Float32Array = new Float32Array(0);
    if (x.shape[0] > 0) {
      const r = this.clippedSum(() => loss(this.#model.forward(x) as Tensor, y));
      sums = r.sums;
      norms = Float32Array.from(await r.norms.data() as ArrayLike<number>);
      r.norms.dispose();
    } else {
      sums = params.map((p) => p.detach().mul(0));
    }
    tidy(() => {
      params.forEach((p, i) => {
        const noise = randn(p.shape, { generator, device: p.device }).mul(noiseMultiplier * maxGradNorm);
        p.grad = sums[i].add(noise).div(expectedBatchSize);
      });
    });
    for (const s of sums) s.dispose();
    this.#optimizer.step();
    this.#optimizer.zeroGrad();
    return { batchSize: x.shape[0], norms, clipped: norms.filter((n) => n > maxGradNorm).length };
  }
}

/**
 * Poisson sampling: each of `n` indices joins the batch independently with probability `q` (the sampling the RDP
 * accountant's bound is for), so batch sizes vary around `q · n`.
 */
export function poissonBatch(n: number, q: number, generator: Generator): number[] {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`poissonBatch: q must be in [0, 1], got ${q}`);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (generator.random() < q) idx.push(i);
  return idx;
}
