/**
 * The recurrent layers against PyTorch, as a device-parametrized suite: for
 * every configuration in `testdata/rnn_reference.json` (made by the committed
 * `testdata/rnn_reference.py` with PyTorch 1.13) the module is built with the
 * same options, loaded with PyTorch's state dict under PyTorch's own keys,
 * moved to `device`, run on the same inputs (packed where PyTorch packed
 * them), and its outputs and the gradients of a fixed scalar of them compared
 * with PyTorch's. `nn/rnn_reference_test.ts` runs it on the CPU (fused kernels
 * and the composed path), `gpu/rnn_test.ts` on WebGPU.
 *
 * @example
 * ```ts ignore
 * import { rnnReferenceSuite } from "@dendrite/nn/testing";
 * rnnReferenceSuite("cpu", "rnn[cpu]");
 * ```
 *
 * @module
 */

import { ok } from "node:assert/strict";
import { type Device, setFusedRnn, type Tensor, tensor } from "@dendrite/tensor";
import * as nn from "./mod.ts";

interface Stored {
  shape: number[];
  data: number[];
}

interface Case {
  name: string;
  module: "LSTM" | "GRU" | "RNN" | "LSTMCell" | "GRUCell" | "RNNCell";
  args: number[];
  options: Record<string, unknown>;
  stateDict: Record<string, Stored>;
  input: Stored;
  hx: Stored[] | null;
  lengths: number[] | null;
  enforceSorted: boolean;
  outputs: Stored[];
  lossWeights: Stored[];
  grads: Record<string, Stored>;
}

/** The reference configurations (read once). */
async function cases(): Promise<Case[]> {
  const text = await Deno.readTextFile(new URL("./testdata/rnn_reference.json", import.meta.url));
  return (JSON.parse(text) as { cases: Case[] }).cases;
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The module a case describes, with PyTorch's options in our spelling. */
function build(c: Case): nn.Module {
  const o = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [camel(k), v]));
  const [a, b] = c.args;
  switch (c.module) {
    case "LSTM":
      return new nn.LSTM(a, b, o);
    case "GRU":
      return new nn.GRU(a, b, o);
    case "RNN":
      return new nn.RNN(a, b, o);
    case "LSTMCell":
      return new nn.LSTMCell(a, b, o);
    case "GRUCell":
      return new nn.GRUCell(a, b, o);
    case "RNNCell":
      return new nn.RNNCell(a, b, o);
  }
}

/** Runs a case's module and returns its outputs in PyTorch's order (output, then the states). */
function forward(c: Case, m: nn.Module, x: Tensor, hx: Tensor[] | null): Tensor[] {
  const batchFirst = c.options.batch_first === true;
  if (c.module === "LSTMCell") {
    const [h, cc] = (m as nn.LSTMCell).forward(x, hx ? [hx[0], hx[1]] : null);
    return [h, cc];
  }
  if (c.module === "GRUCell" || c.module === "RNNCell") return [(m as nn.GRUCell).forward(x, hx?.[0] ?? null)];
  const input = c.lengths
    ? nn.utils.rnn.packPaddedSequence(x, c.lengths, { batchFirst, enforceSorted: c.enforceSorted })
    : x;
  let out: Tensor | nn.PackedSequence, states: Tensor[];
  if (c.module === "LSTM") {
    const [o, [h, cc]] = (m as nn.LSTM).forward(input as Tensor, hx ? [hx[0], hx[1]] : null);
    [out, states] = [o, [h, cc]];
  } else {
    const [o, h] = (m as nn.GRU).forward(input as Tensor, hx?.[0] ?? null);
    [out, states] = [o, [h]];
  }
  const padded = out instanceof nn.PackedSequence ? nn.utils.rnn.padPackedSequence(out, { batchFirst })[0] : out;
  return [padded, ...states];
}

function near(what: string, got: ArrayLike<number>, want: number[], tol: number): void {
  ok(got.length === want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    ok(
      Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${what}[${i}]: ${got[i]}, PyTorch ${want[i]} (tol ${tol})`,
    );
  }
}

/**
 * Registers one test per reference configuration on `device` (with the fused
 * kernels, and on the CPU also with the composed path).
 */
export function rnnReferenceSuite(device: Device, prefix: string): void {
  const paths = device === "cpu" ? [true, false] : [true];
  for (const fused of paths) {
    Deno.test(
      `${prefix}: PyTorch's state dicts load unchanged and reproduce its outputs and gradients${
        fused ? "" : " (composed path)"
      }`,
      async (t) => {
        for (const c of await cases()) {
          await t.step(c.name, async () => {
            const before = setFusedRnn(fused);
            try {
              const onCpu = (s: Stored) => tensor(s.data).reshape(s.shape);
              const toT = (s: Stored) => onCpu(s).to(device);
              const m = build(c);
              m.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, onCpu(v)])));
              m.to(device);
              const x = toT(c.input).requiresGrad_();
              const hx = c.hx ? c.hx.map((h) => toT(h).requiresGrad_()) : null;
              const outs = forward(c, m, x, hx);
              let loss = outs[0].mul(toT(c.lossWeights[0])).sum();
              for (let k = 1; k < outs.length; k++) loss = loss.add(outs[k].mul(toT(c.lossWeights[k])).sum());
              loss.backward();
              const got: [string, Tensor, Stored, number][] = outs.map((
                o,
                k,
              ) => [`output ${k}`, o, c.outputs[k], 2e-5]);
              for (const [name, p] of m.namedParameters()) {
                ok(c.grads[name], `${c.name}: PyTorch has no parameter ${name}`);
                got.push([`grad ${name}`, p.grad!, c.grads[name], 1e-4]);
              }
              got.push(["grad input", x.grad!, c.grads.input, 1e-4]);
              hx?.forEach((h, k) => got.push([`grad hx${k}`, h.grad!, c.grads[`hx${k}`], 1e-4]));
              const values = await Promise.all(got.map(([, t]) => t.data()));
              got.forEach(([what, t, want, tol], k) => {
                ok(
                  t.shape.join() === want.shape.join(),
                  `${c.name} ${what}: shape [${t.shape}], PyTorch [${want.shape}]`,
                );
                near(`${c.name} ${what}`, values[k], want.data, tol);
              });
            } finally {
              setFusedRnn(before);
            }
          });
        }
      },
    );
  }
}
