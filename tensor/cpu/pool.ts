/**
 * CPU pooling kernels over contiguous NCHW planes. Windows are clipped to the
 * input (padding never wins a max), and windows that run past the padded
 * edge (ceil mode) are clipped the way PyTorch clips them.
 *
 * @module
 */

import type { Pool2dGeometry } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";

/** Max pooling forward: values into `out`, the flat `h*w` index of each window's maximum into `idx`. */
export function maxPool2d(x: TypedArray, out: TypedArray, idx: Int32Array, g: Pool2dGeometry): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  if (
    kh === 2 && kw === 2 && strideH === 2 && strideW === 2 && padH === 0 && padW === 0 && dilationH === 1 &&
    dilationW === 1 && 2 * outH <= h && 2 * outW <= w
  ) {
    maxPool2x2(x, out, idx, g);
    return;
  }
  const planes = g.n * g.c;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        let best = -Infinity, bestAt = -1;
        for (let ki = 0; ki < kh; ki++) {
          const ih = h0 + ki * dilationH;
          if (ih < 0 || ih >= h) continue;
          for (let kj = 0; kj < kw; kj++) {
            const iw = w0 + kj * dilationW;
            if (iw < 0 || iw >= w) continue;
            const at = ih * w + iw;
            const v = x[base + at];
            // NaN wins and sticks, like PyTorch; the first of equal maxima wins.
            if (v > best || v !== v) {
              best = v;
              bestAt = at;
              if (v !== v) break;
            } else if (bestAt < 0) bestAt = at;
          }
          if (best !== best) break;
        }
        out[o] = best;
        idx[o] = bestAt;
      }
    }
  }
}

/**
 * The common 2×2, stride-2 window with every window inside the input: four
 * loads and three compares per output, no bounds checks. A window holding a
 * NaN (its sum is NaN; so is one holding +∞ and −∞) takes the general rule.
 */
function maxPool2x2(x: TypedArray, out: TypedArray, idx: Int32Array, g: Pool2dGeometry): void {
  const { h, w, outH, outW } = g;
  const planes = g.n * g.c;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oh = 0; oh < outH; oh++) {
      const row = 2 * oh * w;
      for (let ow = 0; ow < outW; ow++, o++) {
        const at = row + 2 * ow;
        const a = x[base + at], b = x[base + at + 1], c = x[base + at + w], d = x[base + at + w + 1];
        const sum = a + b + c + d;
        if (sum !== sum) {
          // NaN wins and sticks (the first one); the first of equal maxima wins.
          let best = a, bestAt = at;
          const vs = [b, c, d], ats = [at + 1, at + w, at + w + 1];
          if (a === a) {
            for (let k = 0; k < 3; k++) {
              if (vs[k] > best || vs[k] !== vs[k]) {
                best = vs[k];
                bestAt = ats[k];
                if (best !== best) break;
              }
            }
          }
          out[o] = best;
          idx[o] = bestAt;
          continue;
        }
        let best = a, bestAt = at;
        if (b > best) best = b, bestAt = at + 1;
        if (c > best) best = c, bestAt = at + w;
        if (d > best) best = d, bestAt = at + w + 1;
        out[o] = best;
        idx[o] = bestAt;
      }
    }
  }
}

/** Max pooling backward: adds each output gradient at its argmax, into out `[n,c,h,w]`. */
export function maxPool2dBackward(go: TypedArray, idx: Int32Array, out: TypedArray, g: Pool2dGeometry): void {
  const plane = g.h * g.w, P = g.outH * g.outW;
  const planes = g.n * g.c;
  for (let p = 0; p < planes; p++) {
    const base = p * plane, ob = p * P;
    for (let i = 0; i < P; i++) {
      const at = idx[ob + i];
      if (at >= 0) out[base + at] += go[ob + i];
    }
  }
}

/** The window `[h0,h1) × [w0,w1)` clipped to the input, and its divisor. */
function avgWindow(
  g: Pool2dGeometry,
  oh: number,
  ow: number,
  win: Int32Array,
): number {
  let h0 = oh * g.strideH - g.padH, w0 = ow * g.strideW - g.padW;
  let h1 = Math.min(h0 + g.kh, g.h + g.padH), w1 = Math.min(w0 + g.kw, g.w + g.padW);
  // PyTorch: the divisor with padding counts the window clipped to the padded input.
  const padded = (h1 - h0) * (w1 - w0);
  h0 = Math.max(h0, 0);
  w0 = Math.max(w0, 0);
  h1 = Math.min(h1, g.h);
  w1 = Math.min(w1, g.w);
  win[0] = h0, win[1] = h1, win[2] = w0, win[3] = w1;
  return g.countIncludePad ? padded : (h1 - h0) * (w1 - w0);
}

const winScratch = new Int32Array(4);

/** Average pooling forward. */
export function avgPool2d(x: TypedArray, out: TypedArray, g: Pool2dGeometry): void {
  const { h, w, outH, outW } = g;
  const planes = g.n * g.c;
  const win = winScratch;
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const div = avgWindow(g, oh, ow, win);
      const h0 = win[0], h1 = win[1], w0 = win[2], w1 = win[3];
      const o0 = oh * outW + ow;
      for (let p = 0; p < planes; p++) {
        const base = p * h * w;
        let s = 0;
        for (let ih = h0; ih < h1; ih++) {
          const r = base + ih * w;
          for (let iw = w0; iw < w1; iw++) s += x[r + iw];
        }
        out[p * outH * outW + o0] = div > 0 ? s / div : 0;
      }
    }
  }
}

/** Average pooling backward: spreads each output gradient evenly over its window, into out `[n,c,h,w]`. */
export function avgPool2dBackward(go: TypedArray, out: TypedArray, g: Pool2dGeometry): void {
  const { h, w, outH, outW } = g;
  const planes = g.n * g.c;
  const win = winScratch;
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const div = avgWindow(g, oh, ow, win);
      if (div <= 0) continue;
      const h0 = win[0], h1 = win[1], w0 = win[2], w1 = win[3];
      const o0 = oh * outW + ow;
      for (let p = 0; p < planes; p++) {
        const base = p * h * w;
        const v = go[p * outH * outW + o0] / div;
        for (let ih = h0; ih < h1; ih++) {
          const r = base + ih * w;
          for (let iw = w0; iw < w1; iw++) out[r + iw] += v;
        }
      }
    }
  }
}
