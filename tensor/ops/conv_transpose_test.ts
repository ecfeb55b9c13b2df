import { deepStrictEqual, throws } from "node:assert/strict";
import "../cpu/backend.ts";
import { gradcheck } from "../gradcheck.ts";
import { manualSeed } from "../random.ts";
import { randn, zeros } from "./creation.ts";
import { convTranspose2d, type ConvTranspose2dOptions, convTransposeOutSize } from "./conv_transpose.ts";
import { close, vals } from "./test_util.ts";

/** A transposed-convolution case: n, cIn, h, w, cOut, kernel, options. */
type Case = [number, number, number, number, number, [number, number], ConvTranspose2dOptions];

const CASES: Case[] = [
  [2, 3, 4, 5, 2, [3, 3], {}],
  [1, 2, 3, 3, 3, [4, 4], { stride: 2, padding: 1 }], // a DCGAN up-sampling block: 3 → 6
  [2, 4, 3, 4, 6, [3, 2], { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], groups: 2 }],
  [1, 2, 4, 3, 2, [3, 3], { dilation: 2, outputPadding: 1 }], // outputPadding ≥ stride, allowed by the dilation
  [1, 6, 3, 3, 3, [2, 3], { stride: [3, 1], padding: [1, 1], dilation: [2, 1], groups: 3 }],
  [2, 4, 2, 2, 4, [1, 1], { groups: 4 }], // depthwise 1×1
];

const p2 = (v: number | readonly [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === "number" ? [v, v] : [v[0], v[1]];

/**
 * The transposed convolution by its definition, independent of the kernels: every input cell
 * (b, ci, ih, iw) adds x·w[ci, co, ki, kj] to the output cell (ih·s − p + ki·d, iw·s − p + kj·d)
 * of every output channel co of its group, where that cell exists.
 */
function reference(c: Case, x: number[], wt: number[], bias: number[] | null): { out: number[]; shape: number[] } {
  const [n, cIn, h, w, cOut, [kh, kw], o] = c;
  const [sh, sw] = p2(o.stride, 1), [ph, pw] = p2(o.padding, 0);
  const [oph, opw] = p2(o.outputPadding, 0), [dh, dw] = p2(o.dilation, 1);
  const groups = o.groups ?? 1, cInG = cIn / groups, cOutG = cOut / groups;
  const outH = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const outW = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  const out = new Array<number>(n * cOut * outH * outW).fill(0);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cOut; co++) {
      const at = (b * cOut + co) * outH * outW;
      if (bias) { for (let i = 0; i < outH * outW; i++) out[at + i] = bias[co]; }
    }
    for (let ci = 0; ci < cIn; ci++) {
      const grp = Math.floor(ci / cInG);
      for (let ih = 0; ih < h; ih++) {
        for (let iw = 0; iw < w; iw++) {
          const xv = x[((b * cIn + ci) * h + ih) * w + iw];
          for (let cog = 0; cog < cOutG; cog++) {
            const co = grp * cOutG + cog;
            for (let ki = 0; ki < kh; ki++) {
              const oh = ih * sh - ph + ki * dh;
              if (oh < 0 || oh >= outH) continue;
              for (let kj = 0; kj < kw; kj++) {
                const ow = iw * sw - pw + kj * dw;
                if (ow < 0 || ow >= outW) continue;
                out[((b * cOut + co) * outH + oh) * outW + ow] += xv * wt[((ci * cOutG + cog) * kh + ki) * kw + kj];
              }
            }
          }
        }
      }
    }
  }
  return { out, shape: [n, cOut, outH, outW] };
}

Deno.test("convTranspose2d: forward against the definition (stride, padding, outputPadding, dilation, groups, bias)", () => {
  manualSeed(3);
  for (const c of CASES) {
    const [n, cIn, h, w, cOut, [kh, kw], o] = c;
    for (const dtype of ["float64", "float32"] as const) {
      const x = randn([n, cIn, h, w], { dtype });
      const wt = randn([cIn, cOut / (o.groups ?? 1), kh, kw], { dtype });
      const b = randn([cOut], { dtype });
      const ref = reference(c, vals(x), vals(wt), vals(b));
      const y = convTranspose2d(x, wt, b, o);
      deepStrictEqual(y.shape, ref.shape, JSON.stringify(c));
      close(vals(y), ref.out, dtype === "float64" ? 1e-12 : 1e-5, `${dtype} ${JSON.stringify(c)}`);
      // Without a bias, and unbatched.
      const y3 = convTranspose2d(x.select(0, 0), wt, null, o);
      const ref3 = reference([1, cIn, h, w, cOut, [kh, kw], o], vals(x.select(0, 0)), vals(wt), null);
      deepStrictEqual(y3.shape, ref3.shape.slice(1));
      close(vals(y3), ref3.out, dtype === "float64" ? 1e-12 : 1e-5, `unbatched ${JSON.stringify(c)}`);
    }
  }
});

Deno.test("convTranspose2d: float64 gradcheck for input, weight and bias in every case; strided input", () => {
  manualSeed(4);
  for (const c of CASES) {
    const [n, cIn, h, w, cOut, [kh, kw], o] = c;
    const leaf = (shape: number[]) => randn(shape, { dtype: "float64" }).requiresGrad_();
    gradcheck((x, wt, b) => convTranspose2d(x, wt, b, o), [
      leaf([n, cIn, h, w]),
      leaf([cIn, cOut / (o.groups ?? 1), kh, kw]),
      leaf([cOut]),
    ]);
  }
  // A permuted (non-contiguous) input reaches the kernels.
  const base = randn([3, 2, 2, 4], { dtype: "float64" }).requiresGrad_();
  gradcheck((x, wt) => convTranspose2d(x.permute([1, 0, 2, 3]), wt, null, { stride: 2 }), [
    base,
    randn([3, 2, 2, 2], { dtype: "float64" }).requiresGrad_(),
  ]);
});

Deno.test("convTranspose2d: PyTorch's output sizes", () => {
  // (H−1)·s − 2p + d·(k−1) + outputPadding + 1, values from torch.nn.ConvTranspose2d.
  deepStrictEqual(convTransposeOutSize(7, 4, 2, 1, 1, 0), 14);
  deepStrictEqual(convTransposeOutSize(1, 7, 1, 0, 1, 0), 7); // a generator's 1×1 latent to 7×7
  deepStrictEqual(convTransposeOutSize(5, 3, 2, 1, 1, 1), 10);
  deepStrictEqual(convTransposeOutSize(4, 3, 3, 2, 2, 2), 12);
  const y = convTranspose2d(zeros([1, 16, 1, 1]), zeros([16, 8, 7, 7]));
  deepStrictEqual(y.shape, [1, 8, 7, 7]);
  deepStrictEqual(convTranspose2d(zeros([2, 8, 7, 7]), zeros([8, 1, 4, 4]), null, { stride: 2, padding: 1 }).shape, [
    2,
    1,
    14,
    14,
  ]);
});

Deno.test("convTranspose2d: clear errors before any work for impossible sizes, groups and shapes", () => {
  const x = zeros([1, 4, 3, 3]);
  throws(() => convTranspose2d(x, zeros([4, 2, 3, 3]), null, { groups: 3 }), {
    message: "convTranspose2d: groups=3 must divide the 4 input channels of input [1, 4, 3, 3]",
  });
  throws(
    () => convTranspose2d(x, zeros([2, 2, 3, 3])),
    /convTranspose2d: weight \[2, 2, 3, 3\] expects input \[N, 2, H, W\], got input \[1, 4, 3, 3\]/,
  );
  throws(
    () => convTranspose2d(x, zeros([4, 2, 3, 3]), null, { stride: 2, outputPadding: 2 }),
    /outputPadding 2×2 must be smaller than either the stride 2×2 or the dilation 1×1/,
  );
  throws(
    () => convTranspose2d(x, zeros([4, 2, 3, 3]), null, { padding: 3 }),
    /gives an output of -1×-1, which is too small/,
  );
  throws(() => convTranspose2d(x, zeros([4, 2, 3, 3]), zeros([3])), /expected bias \[2\], got \[3\]/);
  throws(() => convTranspose2d(zeros([4, 3]), zeros([4, 2, 3, 3])), /expected input \[N, Cin, H, W\]/);
});
