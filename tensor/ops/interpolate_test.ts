import { deepStrictEqual, throws } from "node:assert/strict";
import "../cpu/backend.ts";
import { gradcheck } from "../gradcheck.ts";
import { manualSeed } from "../random.ts";
import { randn, tensor, zeros } from "./creation.ts";
import { interpolate, type InterpolateOptions } from "./interpolate.ts";
import { close, vals } from "./test_util.ts";

interface RefCase {
  shape: number[];
  options: InterpolateOptions;
  outShape: number[];
  y: number[];
  dx: number[];
}

// Values from PyTorch 1.13 (testdata/interpolate_reference.py, which says how its inputs are built).
const reference: { cases: RefCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/interpolate_reference.json", import.meta.url)),
);

const seq = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

Deno.test("interpolate: values and input gradients equal PyTorch's (nearest, bilinear, alignCorners, scale or size)", () => {
  for (const c of reference.cases) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const x = tensor(seq(n, (i) => ((37 * i) % 17) / 4 - 2), { dtype: "float64" }).reshape(c.shape).requiresGrad_();
    const y = interpolate(x, c.options);
    const what = JSON.stringify(c.options);
    deepStrictEqual(y.shape, c.outShape, what);
    close(vals(y), c.y, 1e-12, `y ${what}`);
    const gy = tensor(seq(y.numel(), (i) => ((13 * i) % 7) / 2 - 1.5), { dtype: "float64" }).reshape(y.shape);
    y.mul(gy).sum().backward();
    close(vals(x.grad!), c.dx, 1e-12, `dx ${what}`);
  }
});

/**
 * The interpolation matrix of one axis from the formulas in PyTorch's documentation, written out here: row o
 * holds the weights of the input cells output cell o reads.
 */
function axisMatrix(inSize: number, outSize: number, mode: string, align: boolean): number[][] {
  const m = seq(outSize, () => new Array<number>(inSize).fill(0));
  for (let o = 0; o < outSize; o++) {
    if (mode === "nearest") {
      m[o][Math.min(Math.floor(o * inSize / outSize), inSize - 1)] = 1;
      continue;
    }
    const src = align
      ? (outSize > 1 ? o * (inSize - 1) / (outSize - 1) : 0)
      : Math.max((o + 0.5) * inSize / outSize - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1), hi = Math.min(lo + 1, inSize - 1), f = src - lo;
    m[o][lo] += 1 - f;
    m[o][hi] += f;
  }
  return m;
}

Deno.test("interpolate: forward and backward equal the separable matrix form A_h · x · A_wᵀ (float32, strided input)", () => {
  manualSeed(7);
  const cases: [number[], number[], string, boolean][] = [
    [[2, 3, 7, 5], [14, 10], "nearest", false],
    [[2, 3, 7, 5], [9, 12], "nearest", false],
    [[2, 3, 7, 5], [14, 10], "bilinear", false],
    [[1, 2, 6, 9], [4, 13], "bilinear", false],
    [[1, 2, 6, 9], [11, 5], "bilinear", true],
  ];
  for (const [[n, c, h, w], [oh, ow], mode, align] of cases) {
    // A permuted view, so the kernels see a strided input.
    const base = randn([n, h, c, w]).requiresGrad_();
    const x = base.permute([0, 2, 1, 3]);
    const y = interpolate(x, { size: [oh, ow], mode: mode as "nearest" | "bilinear", alignCorners: align || null });
    const gy = randn(y.shape);
    y.mul(gy).sum().backward();
    const ah = axisMatrix(h, oh, mode, align), aw = axisMatrix(w, ow, mode, align);
    const X = vals(x.contiguous()), GY = vals(gy);
    const Y = new Array<number>(n * c * oh * ow).fill(0), DX = new Array<number>(X.length).fill(0);
    for (let p = 0; p < n * c; p++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let a = 0; a < h; a++) {
            if (ah[i][a] === 0) continue;
            for (let b = 0; b < w; b++) {
              const k = ah[i][a] * aw[j][b];
              Y[(p * oh + i) * ow + j] += k * X[(p * h + a) * w + b];
              DX[(p * h + a) * w + b] += k * GY[(p * oh + i) * ow + j];
            }
          }
        }
      }
    }
    const what = `${mode} align=${align} ${h}×${w} → ${oh}×${ow}`;
    close(vals(y), Y, 1e-5, `y ${what}`);
    close(vals(base.grad!.permute([0, 2, 1, 3]).contiguous()), DX, 1e-5, `dx ${what}`);
  }
});

Deno.test("interpolate: float64 gradcheck (nearest and bilinear, up and down, alignCorners)", () => {
  manualSeed(8);
  const leaf = (shape: number[]) => randn(shape, { dtype: "float64" }).requiresGrad_();
  const opts: InterpolateOptions[] = [
    { scaleFactor: 2 },
    { size: [3, 5], mode: "nearest" },
    { scaleFactor: [1.5, 2], mode: "bilinear" },
    { size: [2, 3], mode: "bilinear" },
    { size: [5, 4], mode: "bilinear", alignCorners: true },
  ];
  for (const o of opts) gradcheck((x) => interpolate(x, o), [leaf([2, 2, 3, 4])]);
});

Deno.test("interpolate: clear errors for size and scale both or neither, impossible sizes, bad modes", () => {
  const x = zeros([1, 2, 5, 5]);
  throws(
    () => interpolate(x, { size: 4, scaleFactor: 2 }),
    { message: "interpolate: only one of size and scaleFactor should be given, got size 4 and scaleFactor 2" },
  );
  throws(() => interpolate(x), { message: "interpolate: either size or scaleFactor should be given" });
  throws(
    () => interpolate(x, { scaleFactor: 0.1 }),
    /input \[1, 2, 5, 5\] with scaleFactor 0.1×0.1 gives an output of 0×0/,
  );
  throws(() => interpolate(x, { size: [0, 3] }), /interpolate: size must be an integer ≥ 1/);
  throws(() => interpolate(x, { scaleFactor: -2 }), /scaleFactor must be a positive number/);
  throws(() => interpolate(x, { size: 3, alignCorners: true }), /alignCorners can only be set with mode "bilinear"/);
  throws(() => interpolate(x, { size: 3, mode: "bicubic" as "bilinear" }), /mode must be "nearest" or "bilinear"/);
  throws(() => interpolate(zeros([2, 5, 5]), { size: 3 }), /expected a 4-D input \[N, C, H, W\]/);
});

Deno.test("interpolate: nearest upsampling's gradient at integer scales is each block's sum, to the bit", () => {
  manualSeed(9);
  for (const [[n, c, h, w], [sh, sw]] of [[[2, 3, 5, 4], [2, 2]], [[1, 2, 3, 4], [3, 2]], [[1, 1, 2, 3], [1, 4]]]) {
    const x = randn([n, c, h, w]).requiresGrad_();
    const y = interpolate(x, { scaleFactor: [sh, sw], mode: "nearest" });
    const gy = randn(y.shape);
    y.mul(gy).sum().backward();
    const GY = vals(gy), oh = h * sh, ow = w * sw;
    // Summed in doubles row by row, left to right, then rounded once to float32.
    const want = seq(n * c * h * w, (q) => {
      const p = Math.floor(q / (h * w)), i = Math.floor(q / w) % h, j = q % w;
      let s = 0;
      for (let a = 0; a < sh; a++) for (let b = 0; b < sw; b++) s += GY[(p * oh + i * sh + a) * ow + j * sw + b];
      return Math.fround(s);
    });
    deepStrictEqual(vals(x.grad!), want, `${h}×${w} scaled ${sh}×${sw}`);
  }
});
