// unfold (im2col) against a direct loop over windows, conv2d as a matrix product of its columns, and gradcheck.
import assert from "node:assert/strict";
import { conv2d, gradcheck, manualSeed, randn, unfold } from "../mod.ts";
import { close, vals } from "./test_util.ts";

manualSeed(11);

/** PyTorch's unfold by its definition: out[n][c·kH·kW + i·kW + j][oy·outW + ox] = xpad[n][c][oy·s + i·d][ox·s + j·d]. */
function unfoldLoop(
  x: number[],
  [n, c, h, w]: number[],
  [kh, kw]: number[],
  [sh, sw]: number[],
  [ph, pw]: number[],
  [dh, dw]: number[],
): { out: number[]; l: number } {
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              const y = oy * sh + i * dh - ph, xx = ox * sw + j * dw - pw;
              out.push(y < 0 || y >= h || xx < 0 || xx >= w ? 0 : x[((b * c + ch) * h + y) * w + xx]);
            }
          }
        }
      }
    }
  }
  return { out, l: oh * ow };
}

Deno.test("unfold: windows in PyTorch's order, with stride, padding and dilation", () => {
  for (
    const [shape, k, s, p, d] of [
      [[2, 3, 5, 6], [2, 3], [1, 1], [0, 0], [1, 1]],
      [[1, 2, 7, 7], [3, 3], [2, 2], [1, 1], [1, 1]],
      [[1, 2, 7, 6], [2, 2], [1, 2], [2, 1], [2, 1]],
    ]
  ) {
    const x = randn(shape);
    const y = unfold(x, k as [number, number], {
      stride: s as [number, number],
      padding: p as [number, number],
      dilation: d as [number, number],
    });
    const ref = unfoldLoop(vals(x), shape, k, s, p, d);
    assert.deepEqual(y.shape, [shape[0], shape[1] * k[0] * k[1], ref.l]);
    close(vals(y), ref.out, 1e-6, `unfold ${shape}`);
  }
  // Unbatched input.
  assert.deepEqual(unfold(randn([3, 4, 4]), 2).shape, [12, 9]);
});

Deno.test("unfold: conv2d is the weight matrix times the columns", () => {
  const x = randn([2, 3, 6, 5]), w = randn([4, 3, 3, 3]);
  const cols = unfold(x, 3, { padding: 1, stride: 2 });
  const viaCols = w.reshape([4, 27]).matmul(cols); // [2, 4, L]
  const direct = conv2d(x, w, null, { padding: 1, stride: 2 });
  close(vals(viaCols), vals(direct.reshape([2, 4, -1])), 1e-5);
});

Deno.test("unfold: gradient (float64 gradcheck) and errors", () => {
  const x = randn([1, 2, 4, 4], { dtype: "float64" }).requiresGrad_();
  gradcheck((a) => unfold(a, 2, { padding: 1 }).square().sum(), [x]);
  assert.throws(() => unfold(randn([4, 4]), 2), /unfold: expected input \[N, C, H, W\] or \[C, H, W\], got \[4, 4\]/);
  assert.throws(() => unfold(randn([1, 1, 4, 4]), 0), /unfold: kernelSize must be an integer ≥ 1/);
});
