// The catalogue runner itself: a call that throws the right error but changed something first, or that throws the
// wrong error, must fail its case; so must one that succeeds. Without this, a runner that saw nothing would pass all.
import assert from "node:assert/strict";
import { Generator, noGrad, tensor } from "./mod.ts";
import { badInput, fileAt, firstDifference, runCase, snapshot } from "./catalogue.ts";

const throwsAfter = (change: () => void) => () => {
  change();
  throw new RangeError("bad input");
};

Deno.test("catalogue: a change made before the error fails the case, whatever kind of state it touched", async () => {
  const x = tensor([1, 2]);
  const w = tensor([1, 2]).requiresGrad_();
  w.grad = tensor([0, 0]);
  const g = new Generator(3);
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
  const changes: [string, () => void][] = [
    ["a value", () => x.copy_(tensor([1, 3]))],
    ["the same values written again (the version counter)", () => x.copy_(tensor([1, 2]))],
    ["a gradient", () => noGrad(() => w.grad!.add_(1))],
    ["a gradient replaced", () => (w.grad = tensor([0, 0]))],
    ["the random stream", () => g.random()],
    ["a file", () => Deno.writeFileSync(path, new Uint8Array([1, 2, 4]))],
    ["-0 written over 0", () => w.grad!.copy_(tensor([-0, 0]))],
  ];
  for (const [what, change] of changes) {
    const c = badInput({
      name: what,
      setup: () => null,
      act: throwsAfter(change),
      error: RangeError,
      words: ["bad input"],
      state: () => [x, w, g, fileAt(path)],
    });
    await assert.rejects(() => runCase(c), /the failed call changed the state/, what);
  }
  await Deno.remove(path);
});

Deno.test("catalogue: a wrong error class, a missing key word or no error at all fail the case", async () => {
  const base = { name: "c", setup: () => null, state: () => [], words: ["bad"] };
  await assert.rejects(
    () =>
      runCase(badInput({
        ...base,
        act: () => {
          throw new TypeError("bad");
        },
        error: RangeError,
      })),
    /expected RangeError, got TypeError/,
  );
  await assert.rejects(
    () =>
      runCase(badInput({
        ...base,
        act: () => {
          throw new RangeError("good");
        },
        error: RangeError,
      })),
    /the message lacks "bad"/,
  );
  await assert.rejects(() => runCase(badInput({ ...base, act: () => 1, error: RangeError })), /the call succeeded/);
  // Async failures (device-side checks surface at a read) count as thrown.
  await runCase(badInput({ ...base, act: () => Promise.reject(new RangeError("bad")), error: RangeError }));
});

Deno.test("catalogue: snapshots tell NaN payloads and -0 apart, and absent files from empty ones", async () => {
  assert.equal(firstDifference(await snapshot(tensor([0])), await snapshot(tensor([-0]))) !== null, true);
  assert.equal(firstDifference(await snapshot(tensor([NaN])), await snapshot(tensor([NaN]))), null);
  const path = await Deno.makeTempFile();
  const present = await snapshot(fileAt(path));
  await Deno.remove(path);
  assert.notEqual(firstDifference(present, await snapshot(fileAt(path))), null);
});
