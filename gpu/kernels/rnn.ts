/**
 * The fused recurrent-cell kernels (`Backend.rnnCellForward` and
 * `rnnCellBackward`): one thread per (row, hidden unit), reading that unit's
 * gates and writing its state, saved activations or gradients.
 *
 * The operands are row blocks of a few buffers (a layer keeps all its states
 * in one buffer, so the previous state and the new one are two blocks of the
 * same buffer); a buffer may be bound only once per dispatch, so each kernel
 * is specialised by which binding every operand reads ("slots"), and every
 * binding is read-write. A layer's calls bind at most 8 distinct buffers (the
 * GRU backward: gradients in, two recurrent ones, saved, states, both gate
 * gradients, the carry out), WebGPU's guaranteed minimum per shader stage.
 * Offsets, sizes and which optional operands are present are parameter words.
 *
 * @module
 */

import type { RnnCellMode } from "@dendrite/tensor";
import { cachedKernel, type Kernel } from "../program.ts";
import { flatMain } from "./common.ts";

/** The operands of each kernel, in the order of their offset words. */
export const RNN_OPERANDS = {
  forward: {
    lstm: ["xg", "hg", "prev", "h", "c", "saved"],
    gru: ["xg", "hg", "bias", "prev", "h", "saved"],
    rnn: ["xg", "hg", "h"],
  },
  backward: {
    lstm: ["gh", "rec0", "gc", "crec", "saved", "prev", "out", "dx", "gp"],
    gru: ["gh", "rec0", "rec1", "saved", "prev", "dx", "dhg", "gp"],
    rnn: ["gh", "rec0", "out", "dx"],
  },
} as const;

/** Which cell family's operand list a mode uses. */
export function rnnFamily(mode: RnnCellMode): "lstm" | "gru" | "rnn" {
  return mode === "lstm" || mode === "gru" ? mode : "rnn";
}

/** Flag bits of the optional operands (a word of the parameter block). */
export const RNN_HAS = { rec0: 1, rec1: 2, crec: 4, bias: 8 } as const;

/** Parameter words before the operands' offsets: rows, H, recRows, flags. */
export const RNN_HEAD_WORDS = 4;

/**
 * The kernel for `mode` in direction `dir`, reading operand k from binding
 * `slots[k]` (bindings `0 .. max(slots)`).
 */
export function rnnCellKernel(mode: RnnCellMode, dir: "forward" | "backward", slots: readonly number[]): Kernel {
  const key = `rnn_cell_${dir}_${mode}_${slots.join("")}`;
  return cachedKernel(key, () => {
    const names: readonly string[] = RNN_OPERANDS[dir][rnnFamily(mode)];
    const nBind = Math.max(...slots) + 1;
    const offs = names.map((n) => `o_${n}: u32`).join(", ");
    // Each operand's element (row r, gate k, unit j), with its row width in units of H.
    const width: Record<string, number> = { saved: 4, xg: 0, hg: 0, dx: 0, dhg: 0, bias: -1 };
    const gatesOf = mode === "lstm" ? 4 : mode === "gru" ? 3 : 1;
    const at = (n: string, k = 0): string => {
      const w = width[n] ?? 1;
      const rowWidth = w === 0 ? gatesOf : w;
      const row = w === -1 ? "" : ` + r * ${rowWidth}u * p.hid`;
      return `buf${slots[names.indexOf(n)]}[p.o_${n}${row}${k ? ` + ${k}u * p.hid` : ""} + j]`;
    };
    const has = (n: keyof typeof RNN_HAS) => `(p.flags & ${RNN_HAS[n]}u) != 0u`;
    /** Adds operand n to variable v in rows below recRows, when present (an unbound operand is never read). */
    const addRec = (v: string, n: "rec0" | "rec1" | "crec") => `if (${has(n)} && r < p.rec_rows) { ${v} += ${at(n)}; }`;
    let body: string;
    if (dir === "forward") {
      const pre = (k: number) => `${at("xg", k)} + ${at("hg", k)}`;
      if (mode === "lstm") {
        body = `let ig = sigm(${pre(0)});
  let fg = sigm(${pre(1)});
  let gg = tanh_(${pre(2)});
  let og = sigm(${pre(3)});
  let cv = fg * ${at("prev")} + ig * gg;
  ${at("saved", 0)} = ig; ${at("saved", 1)} = fg; ${at("saved", 2)} = gg; ${at("saved", 3)} = og;
  ${at("c")} = cv;
  ${at("h")} = og * tanh_(cv);`;
      } else if (mode === "gru") {
        body = `var b0 = 0.0; var b1 = 0.0; var b2 = 0.0;
  if (${has("bias")}) { b0 = ${at("bias", 0)}; b1 = ${at("bias", 1)}; b2 = ${at("bias", 2)}; }
  let rg = sigm(${pre(0)} + b0);
  let z = sigm(${pre(1)} + b1);
  let hn = ${at("hg", 2)} + b2;
  let nv = tanh_(${at("xg", 2)} + rg * hn);
  ${at("saved", 0)} = rg; ${at("saved", 1)} = z; ${at("saved", 2)} = nv; ${at("saved", 3)} = hn;
  ${at("h")} = (1.0 - z) * nv + z * ${at("prev")};`;
      } else {
        body = `let v = ${pre(0)};
  ${at("h")} = ${mode === "rnnTanh" ? "tanh_(v)" : "max(v, 0.0)"};`;
      }
    } else if (mode === "lstm") {
      body = `let ig = ${at("saved", 0)}; let fg = ${at("saved", 1)}; let gg = ${at("saved", 2)}; let og = ${
        at("saved", 3)
      };
  let tc = tanh_(${at("out")});
  var dh = ${at("gh")};
  ${addRec("dh", "rec0")}
  var dc = ${at("gc")};
  ${addRec("dc", "crec")}
  dc += dh * og * (1.0 - tc * tc);
  ${at("dx", 0)} = dc * gg * ig * (1.0 - ig);
  ${at("dx", 1)} = dc * ${at("prev")} * fg * (1.0 - fg);
  ${at("dx", 2)} = dc * ig * (1.0 - gg * gg);
  ${at("dx", 3)} = dh * tc * og * (1.0 - og);
  ${at("gp")} = dc * fg;`;
    } else if (mode === "gru") {
      body = `let rg = ${at("saved", 0)}; let z = ${at("saved", 1)}; let nv = ${at("saved", 2)}; let hn = ${
        at("saved", 3)
      };
  var dh = ${at("gh")};
  ${addRec("dh", "rec0")}
  ${addRec("dh", "rec1")}
  let dn = dh * (1.0 - z) * (1.0 - nv * nv);
  let dz = dh * (${at("prev")} - nv) * z * (1.0 - z);
  let dr = dn * hn * rg * (1.0 - rg);
  ${at("dx", 0)} = dr; ${at("dx", 1)} = dz; ${at("dx", 2)} = dn;
  ${at("dhg", 0)} = dr; ${at("dhg", 1)} = dz; ${at("dhg", 2)} = dn * rg;
  ${at("gp")} = dh * z;`;
    } else {
      body = `var dh = ${at("gh")};
  ${addRec("dh", "rec0")}
  let hv = ${at("out")};
  ${at("dx")} = ${mode === "rnnTanh" ? "dh * (1.0 - hv * hv)" : "select(0.0, dh, hv > 0.0)"};`;
    }
    const decls = Array.from(
      { length: nBind },
      (_, k) => `@group(0) @binding(${k}) var<storage, read_write> buf${k}: array<f32>;`,
    ).join("\n");
    return {
      name: `rnn_cell_${dir}_${mode}`,
      bindings: Array.from({ length: nBind }, () => "rw" as const),
      source: () =>
        `struct P { n: u32, hid: u32, rec_rows: u32, flags: u32, ${offs} }
${decls}
@group(0) @binding(${nBind}) var<uniform> p: P;
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
${flatMain("p.n * p.hid")}
  let r = i / p.hid;
  let j = i - r * p.hid;
  ${body}
}`,
    };
  });
}
