import { deepStrictEqual, ok } from "node:assert/strict";
import { manualSeed, nn, optim, randint } from "../mod.ts";
import { CharRNN, detachState } from "./mod.ts";

Deno.test("CharRNN: logits [B, T, vocab], a state that continues the sequence, and a loss that falls", () => {
  manualSeed(0);
  for (const cell of ["lstm", "gru"] as const) {
    const model = new CharRNN(11, { cell, embeddingDim: 8, hiddenSize: 16 });
    const x = randint(0, 11, [3, 10], { dtype: "int32" });
    const [logits, state] = model.forward(x);
    deepStrictEqual(logits.shape, [3, 10, 11]);
    // Two halves with the state carried over give the whole sequence's logits.
    const [a, mid] = model.forward(x.narrow(1, 0, 4));
    const [b] = model.forward(x.narrow(1, 4, 6), detachState(mid));
    const whole = logits.dataSync(), parts = [...a.contiguous().dataSync(), ...b.contiguous().dataSync()];
    for (let r = 0; r < 3; r++) {
      for (let t = 0; t < 10; t++) {
        for (let v = 0; v < 11; v++) {
          const got = t < 4 ? parts[(r * 4 + t) * 11 + v] : parts[3 * 4 * 11 + (r * 6 + t - 4) * 11 + v];
          ok(Math.abs(got - whole[(r * 10 + t) * 11 + v]) < 1e-5, `${cell} carried state`);
        }
      }
    }
    ok(Array.isArray(state) === (cell === "lstm"));
    // A repeating pattern is learnable: the loss falls.
    const seq = randint(0, 11, [2, 12], { dtype: "int32" });
    const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      opt.zeroGrad();
      const [l] = model.forward(seq.narrow(1, 0, 11));
      const loss = new nn.CrossEntropyLoss().forward(l.reshape([-1, 11]), seq.narrow(1, 1, 11).reshape([-1]));
      loss.backward();
      opt.step();
      losses.push(loss.dataSync()[0]);
    }
    ok(losses[29] < 0.5 * losses[0], `${cell}: loss ${losses[0]} -> ${losses[29]}`);
  }
});
