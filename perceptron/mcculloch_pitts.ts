/**
 * The McCulloch–Pitts neuron (1943): binary excitatory inputs, binary
 * inhibitory inputs and a threshold Θ. Any active inhibitory input silences
 * the unit (absolute inhibition); otherwise it fires exactly when the number
 * of active excitatory inputs reaches Θ. Nothing is learned: the logic lives
 * in the threshold and the wiring, which is why the ready-made gates below
 * are just thresholds.
 *
 * @module
 */

/** A binary signal: 0 (silent) or 1 (active). */
export type Bit = 0 | 1;

/** Options of {@link McCullochPittsNeuron}. */
export interface McCullochPittsOptions {
  /** Θ: the unit fires when the sum of its excitatory inputs is at least this (a finite number). */
  threshold: number;
  /** If given, `fire` requires exactly this many excitatory inputs. */
  nExcitatory?: number;
  /** If given, `fire` requires exactly this many inhibitory inputs. */
  nInhibitory?: number;
}

/**
 * A McCulloch–Pitts threshold unit.
 *
 * `fire(x, i)` is 0 whenever any inhibitory input `i_k` is 1, and otherwise
 * 1 exactly when `Σ x_k ≥ Θ`.
 *
 * @example
 * ```ts
 * import { McCullochPittsNeuron } from "./mod.ts";
 * const and3 = new McCullochPittsNeuron({ threshold: 3 });
 * and3.fire([1, 1, 1]); // 1
 * and3.fire([1, 1, 1], [1]); // 0: inhibited
 * ```
 */
export class McCullochPittsNeuron {
  /** Θ, the firing threshold. */
  readonly threshold: number;
  /** The required number of excitatory inputs, or undefined for any number. */
  readonly nExcitatory: number | undefined;
  /** The required number of inhibitory inputs, or undefined for any number. */
  readonly nInhibitory: number | undefined;

  /** Creates a unit with threshold Θ = `threshold`. */
  constructor(options: McCullochPittsOptions) {
    const { threshold, nExcitatory, nInhibitory } = options ?? ({} as McCullochPittsOptions);
    if (typeof threshold !== "number" || !Number.isFinite(threshold)) {
      throw new TypeError(`McCullochPittsNeuron: threshold must be a finite number, got ${String(threshold)}`);
    }
    this.threshold = threshold;
    this.nExcitatory = checkCount("nExcitatory", nExcitatory);
    this.nInhibitory = checkCount("nInhibitory", nInhibitory);
  }

  /**
   * The unit's output for excitatory inputs `excitatory` and inhibitory
   * inputs `inhibitory` (each entry 0 or 1).
   */
  fire(excitatory: readonly number[], inhibitory: readonly number[] = []): Bit {
    checkBits("excitatory", excitatory, this.nExcitatory);
    checkBits("inhibitory", inhibitory, this.nInhibitory);
    // Absolute inhibition: a single active inhibitory synapse vetoes firing, whatever the excitation.
    if (inhibitory.some((v) => v === 1)) return 0;
    let sum = 0;
    for (const v of excitatory) sum += v;
    return sum >= this.threshold ? 1 : 0;
  }
}

function checkCount(name: string, n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`McCullochPittsNeuron: ${name} must be a non-negative integer, got ${String(n)}`);
  }
  return n;
}

function checkBits(kind: string, values: readonly number[], expected: number | undefined): void {
  if (!Array.isArray(values)) {
    throw new TypeError(`McCullochPittsNeuron.fire: ${kind} inputs must be an array of 0/1, got ${String(values)}`);
  }
  if (expected !== undefined && values.length !== expected) {
    throw new RangeError(
      `McCullochPittsNeuron.fire: expected ${expected} ${kind} inputs, got ${values.length}`,
    );
  }
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v !== 0 && v !== 1) {
      throw new RangeError(
        `McCullochPittsNeuron.fire: ${kind} input ${k} must be 0 or 1 (binary), got ${String(v)}`,
      );
    }
  }
}

/**
 * A logic gate made of one McCulloch–Pitts neuron: `compute(...inputs)` wires
 * its inputs to the neuron's excitatory or inhibitory synapses.
 */
export interface LogicUnit {
  /** The gate's name ("AND", "OR", "NOT", "NOR"). */
  readonly name: string;
  /** How many inputs `compute` takes. */
  readonly arity: number;
  /** Whether the inputs go to the excitatory or the inhibitory synapses. */
  readonly wiring: "excitatory" | "inhibitory";
  /** The neuron that does the work. */
  readonly neuron: McCullochPittsNeuron;
  /** The gate's output for `inputs` (each 0 or 1; exactly `arity` of them). */
  compute(...inputs: number[]): Bit;
}

function makeUnit(name: string, arity: number, wiring: "excitatory" | "inhibitory", threshold: number): LogicUnit {
  if (!Number.isInteger(arity) || arity < 1) {
    throw new RangeError(`${name} unit: arity must be a positive integer, got ${String(arity)}`);
  }
  const neuron = wiring === "excitatory"
    ? new McCullochPittsNeuron({ threshold, nExcitatory: arity, nInhibitory: 0 })
    : new McCullochPittsNeuron({ threshold, nExcitatory: 0, nInhibitory: arity });
  return {
    name,
    arity,
    wiring,
    neuron,
    compute(...inputs: number[]): Bit {
      if (inputs.length !== arity) {
        throw new RangeError(`${name} unit: expected ${arity} inputs, got ${inputs.length}`);
      }
      return wiring === "excitatory" ? neuron.fire(inputs) : neuron.fire([], inputs);
    },
  };
}

/**
 * AND of `arity` inputs: excitatory wiring, Θ = arity (all must be active).
 *
 * @example
 * ```ts
 * import { andUnit } from "./mod.ts";
 * andUnit().compute(1, 1); // 1
 * ```
 */
export function andUnit(arity = 2): LogicUnit {
  return makeUnit("AND", arity, "excitatory", arity);
}

/** OR of `arity` inputs: excitatory wiring, Θ = 1 (one active input suffices). */
export function orUnit(arity = 2): LogicUnit {
  return makeUnit("OR", arity, "excitatory", 1);
}

/** NOT: the input is wired to an inhibitory synapse of a unit with Θ = 0, which fires unless inhibited. */
export function notUnit(): LogicUnit {
  return makeUnit("NOT", 1, "inhibitory", 0);
}

/** NOR of `arity` inputs: all inputs inhibitory, Θ = 0: fires only when every input is silent. */
export function norUnit(arity = 2): LogicUnit {
  return makeUnit("NOR", arity, "inhibitory", 0);
}

/** The activations of {@link XorNetwork} for one input pair. */
export interface XorTrace {
  /** Layer 1: [NOR(a, b), AND(a, b)]. */
  hidden: [Bit, Bit];
  /** Layer 2: NOR of the hidden units, which is XOR(a, b). */
  output: Bit;
}

/**
 * XOR from McCulloch–Pitts units, which no single threshold unit can compute:
 * layer 1 computes NOR(a, b) ("neither") and AND(a, b) ("both"); layer 2 is a
 * NOR of those two, firing exactly when the inputs are neither both off nor
 * both on.
 *
 * @example
 * ```ts
 * import { XorNetwork } from "./mod.ts";
 * const xor = new XorNetwork();
 * [xor.compute(0, 0), xor.compute(0, 1), xor.compute(1, 0), xor.compute(1, 1)]; // [0, 1, 1, 0]
 * ```
 */
export class XorNetwork {
  /** Hidden unit: NOR(a, b). */
  readonly neither: LogicUnit = norUnit(2);
  /** Hidden unit: AND(a, b). */
  readonly both: LogicUnit = andUnit(2);
  /** Output unit: NOR(neither, both). */
  readonly output: LogicUnit = norUnit(2);

  /** XOR(a, b). */
  compute(a: number, b: number): Bit {
    return this.trace(a, b).output;
  }

  /** Every unit's activation for inputs (a, b). */
  trace(a: number, b: number): XorTrace {
    const hidden: [Bit, Bit] = [this.neither.compute(a, b), this.both.compute(a, b)];
    return { hidden, output: this.output.compute(hidden[0], hidden[1]) };
  }
}
