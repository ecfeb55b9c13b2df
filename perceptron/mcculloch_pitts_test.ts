import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { andUnit, McCullochPittsNeuron, norUnit, notUnit, orUnit, XorNetwork } from "./mcculloch_pitts.ts";

const PAIRS: [number, number][] = [[0, 0], [0, 1], [1, 0], [1, 1]];

Deno.test("McCullochPittsNeuron fires iff the excitatory sum reaches the threshold", () => {
  const n = new McCullochPittsNeuron({ threshold: 2 });
  assertEquals(n.fire([0, 0, 0]), 0);
  assertEquals(n.fire([1, 0, 0]), 0);
  assertEquals(n.fire([1, 1, 0]), 1); // 2 >= 2
  assertEquals(n.fire([1, 1, 1]), 1);
  assertEquals(n.fire([]), 0); // empty sum 0 < 2
  assertEquals(new McCullochPittsNeuron({ threshold: 0 }).fire([]), 1); // 0 >= 0
});

Deno.test("McCullochPittsNeuron: any active inhibitory input silences it", () => {
  const n = new McCullochPittsNeuron({ threshold: 1 });
  assertEquals(n.fire([1, 1], [0, 0]), 1);
  assertEquals(n.fire([1, 1], [0, 1]), 0);
  assertEquals(n.fire([1, 1], [1, 1]), 0);
  assertEquals(new McCullochPittsNeuron({ threshold: 0 }).fire([], [1]), 0);
});

Deno.test("McCullochPittsNeuron rejects bad thresholds and non-binary or wrongly sized inputs", () => {
  assertThrows(() => new McCullochPittsNeuron({ threshold: NaN }), /threshold must be a finite number/);
  assertThrows(
    () => new McCullochPittsNeuron({ threshold: 1, nExcitatory: -1 }),
    /nExcitatory must be a non-negative integer/,
  );
  const n = new McCullochPittsNeuron({ threshold: 1 });
  assertThrows(() => n.fire([1, 2]), /excitatory input 1 must be 0 or 1/);
  assertThrows(() => n.fire([0.5]), /excitatory input 0 must be 0 or 1/);
  assertThrows(() => n.fire([1], [0, -1]), /inhibitory input 1 must be 0 or 1/);
  const fixed = new McCullochPittsNeuron({ threshold: 1, nExcitatory: 2, nInhibitory: 1 });
  assertThrows(() => fixed.fire([1]), /expected 2 excitatory inputs, got 1/);
  assertThrows(() => fixed.fire([1, 0], []), /expected 1 inhibitory inputs, got 0/);
});

Deno.test("AND, OR, NOR units: truth tables", () => {
  const and = andUnit(), or = orUnit(), nor = norUnit();
  assertEquals(PAIRS.map(([a, b]) => and.compute(a, b)), [0, 0, 0, 1]);
  assertEquals(PAIRS.map(([a, b]) => or.compute(a, b)), [0, 1, 1, 1]);
  assertEquals(PAIRS.map(([a, b]) => nor.compute(a, b)), [1, 0, 0, 0]);
  assertEquals(and.neuron.threshold, 2);
  assertEquals(or.neuron.threshold, 1);
});

Deno.test("NOT unit and 3-input AND/OR truth tables", () => {
  const not = notUnit();
  assertEquals([not.compute(0), not.compute(1)], [1, 0]);
  const and3 = andUnit(3), or3 = orUnit(3);
  for (let m = 0; m < 8; m++) {
    const bits = [(m >> 2) & 1, (m >> 1) & 1, m & 1];
    assertEquals(and3.compute(...bits), m === 7 ? 1 : 0);
    assertEquals(or3.compute(...bits), m === 0 ? 0 : 1);
  }
});

Deno.test("logic units reject wrong arity and non-binary inputs", () => {
  assertThrows(() => andUnit().compute(1), /AND unit: expected 2 inputs, got 1/);
  assertThrows(() => notUnit().compute(1, 0), /NOT unit: expected 1 inputs, got 2/);
  assertThrows(() => orUnit().compute(1, 3), /must be 0 or 1/);
  assertThrows(() => andUnit(0), /arity must be a positive integer/);
});

Deno.test("XorNetwork: truth table and hidden activations", () => {
  const xor = new XorNetwork();
  assertEquals(PAIRS.map(([a, b]) => xor.compute(a, b)), [0, 1, 1, 0]);
  // Hidden layer is [NOR(a, b), AND(a, b)]: "neither" and "both".
  assertEquals(PAIRS.map(([a, b]) => xor.trace(a, b).hidden), [[1, 0], [0, 0], [0, 0], [0, 1]]);
  assertThrows(() => xor.compute(2, 0), /must be 0 or 1/);
});
