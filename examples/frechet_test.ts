import { ok } from "node:assert/strict";
import { fitGaussian, frechetDistance, type Gaussian, symmetricEigen } from "./frechet.ts";

const gaussian = (mean: number[], cov: number[]): Gaussian => ({
  d: mean.length,
  mean: Float64Array.from(mean),
  cov: Float64Array.from(cov),
  n: 100,
});
const near = (a: number, b: number, tol = 1e-10) => ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);

Deno.test("frechetDistance: hand-worked values (1-D, commuting and non-commuting 2×2 covariances, identical)", () => {
  // (1 − 3)² + 4 + 9 − 2·√(4·9) = 5
  near(frechetDistance(gaussian([1], [4]), gaussian([3], [9])), 5);
  // Diagonal covariances: 2 + (1 + 9 − 2·3) + (4 + 1 − 2·2) = 7.
  near(frechetDistance(gaussian([0, 0], [1, 0, 0, 4]), gaussian([1, 1], [9, 0, 0, 1])), 7);
  // Σ1 = [[2,1],[1,2]], Σ2 = diag(1, 3): for 2×2, Tr √(Σ1Σ2) = √(tr(Σ1Σ2) + 2√(det Σ1·det Σ2)) = √(8 + 6).
  near(frechetDistance(gaussian([0, 0], [2, 1, 1, 2]), gaussian([0, 0], [1, 0, 0, 3])), 8 - 2 * Math.sqrt(14));
  const g = gaussian([0.5, -1, 2], [2, 0.3, 0.1, 0.3, 1, -0.2, 0.1, -0.2, 0.5]);
  near(frechetDistance(g, g), 0, 1e-9);
});

Deno.test("fitGaussian and symmetricEigen: mean/covariance by hand, A = V·diag(λ)·Vᵀ with orthonormal V", () => {
  const g = fitGaussian([1, 2, 3, 6, 5, 10], 3, 2); // rows (1,2), (3,6), (5,10)
  near(g.mean[0], 3);
  near(g.mean[1], 6);
  // var x = 4, var y = 16, cov = 8 (unbiased)
  [4, 8, 8, 16].forEach((v, i) => near(g.cov[i], v));
  const d = 6, a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) a[i * d + j] = a[j * d + i] = Math.sin(i * 7 + j * 3);
  const { values, vectors: v } = symmetricEigen(a, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let r = 0, orth = 0;
      for (let k = 0; k < d; k++) {
        r += v[i * d + k] * values[k] * v[j * d + k];
        orth += v[k * d + i] * v[k * d + j];
      }
      near(r, a[i * d + j], 1e-9);
      near(orth, i === j ? 1 : 0, 1e-9);
    }
  }
});
