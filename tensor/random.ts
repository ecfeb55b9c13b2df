/**
 * The random number generator: counter-based, so every backend draws the
 * same numbers for the same `(seed, offset)` without sharing state.
 *
 * Element `i` of a fill that starts at counter `offset` is
 * `u32 = pcg(pcg(pcg(seed) ^ hi) + lo)` where `lo`/`hi` are the low and high
 * 32 bits of `offset + i` and `pcg` is the PCG-RXS-M-XS 32-bit output hash
 * (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020). A uniform
 * is `(u32 >>> 8) / 2^24` in [0, 1); a normal uses Box–Muller on the pair of
 * counters `2⌊i/2⌋, 2⌊i/2⌋+1` (cosine for even i, sine for odd i).
 *
 * @module
 */

/** The PCG-RXS-M-XS hash of a 32-bit word. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The 32 random bits at `counter` for `seed`. */
export function randomBits(seed: number, counter: number): number {
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 4294967296) >>> 0;
  return pcgHash((pcgHash((pcgHash(seed >>> 0) ^ hi) >>> 0) + lo) >>> 0);
}

/** A uniform float in [0, 1) at `counter` for `seed` (24 random bits, exact in float32). */
export function uniformAt(seed: number, counter: number): number {
  return (randomBits(seed, counter) >>> 8) / 16777216;
}

/** A standard normal at element `i` of a fill starting at `offset`. */
export function normalAt(seed: number, offset: number, i: number): number {
  const base = offset + 2 * Math.floor(i / 2);
  const u1 = 1 - uniformAt(seed, base); // (0, 1]: log is finite
  const u2 = uniformAt(seed, base + 1);
  const r = Math.sqrt(-2 * Math.log(u1));
  return (i & 1) === 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
}

/**
 * A seeded stream of random numbers: a seed and a counter that advances by
 * the number of values each draw consumes. Pass one to random functions or
 * data loaders to make them independent of the global generator.
 *
 * @example
 * ```ts
 * import { Generator, rand } from "./mod.ts";
 * const g = new Generator(42);
 * const a = rand([3], { generator: g });
 * ```
 */
export class Generator {
  #seed: number;
  #offset = 0;

  /** Creates a generator; the default seed is 0. */
  constructor(seed = 0) {
    this.#seed = checkSeed(seed);
  }

  /** Restarts the stream from `seed`. Returns this generator. */
  manualSeed(seed: number): this {
    this.#seed = checkSeed(seed);
    this.#offset = 0;
    return this;
  }

  /** The seed in use. */
  get seed(): number {
    return this.#seed;
  }

  /** The current counter (how many values have been drawn). */
  get offset(): number {
    return this.#offset;
  }

  /** Reserves `count` counters and returns where they start. */
  reserve(count: number): number {
    const start = this.#offset;
    this.#offset += count;
    return start;
  }

  /** A uniform number in [0, 1) drawn on the host (used by samplers and data transforms). */
  random(): number {
    return uniformAt(this.#seed, this.reserve(1));
  }

  /** A uniform integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  randperm(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** The state, to save and restore a stream. */
  getState(): { seed: number; offset: number } {
    return { seed: this.#seed, offset: this.#offset };
  }

  /** Restores a state from {@link Generator.getState}. */
  setState(state: { seed: number; offset: number }): void {
    this.#seed = checkSeed(state.seed);
    this.#offset = state.offset;
  }
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed)) throw new TypeError(`manualSeed: the seed must be an integer, got ${seed}`);
  return seed >>> 0;
}

/** The generator random functions use when none is given. */
export const defaultGenerator: Generator = new Generator(0);

/**
 * Seeds the default generator, making every random function reproducible
 * (like `torch.manual_seed`).
 *
 * @example
 * ```ts
 * import { manualSeed, randn } from "./mod.ts";
 * manualSeed(0);
 * const a = randn([2, 2]);
 * ```
 */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
