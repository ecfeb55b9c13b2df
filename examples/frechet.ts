/**
 * The Fréchet distance between two Gaussians fitted to feature vectors (the
 * distance FID computes in an Inception network's feature space; the
 * generative examples compute it in their digit classifier's), in float64 on
 * plain arrays:
 *
 * `d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2·(Σ₁Σ₂)^½)`, with
 * `Tr (Σ₁Σ₂)^½ = Tr (Σ₁^½ Σ₂ Σ₁^½)^½`, a symmetric matrix's square root, so
 * both roots come from symmetric eigendecompositions (cyclic Jacobi).
 *
 * @module
 */

/** Mean and covariance of `n` feature vectors of dimension `d`. */
export interface Gaussian {
  /** Dimension. */
  d: number;
  /** Mean `[d]`. */
  mean: Float64Array;
  /** Covariance `[d·d]`, row-major, with the unbiased `1/(n − 1)` (NumPy's `np.cov`). */
  cov: Float64Array;
  /** How many vectors it was fitted to. */
  n: number;
}

/** Fits a Gaussian to `n` vectors of dimension `d` stored row-major in `x`. */
export function fitGaussian(x: ArrayLike<number>, n: number, d: number): Gaussian {
  if (n < 2 || x.length !== n * d) {
    throw new RangeError(`fitGaussian: need ≥ 2 vectors of ${d} values, got ${x.length}`);
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] = cov[a * d + b] / (n - 1);
  }
  return { d, mean, cov, n };
}

/**
 * Eigenvalues and eigenvectors of a symmetric `d×d` matrix (row-major) by
 * cyclic Jacobi rotations: `a = V·diag(values)·Vᵀ`, eigenvectors in the
 * columns of `vectors`.
 */
export function symmetricEigen(a: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += m[i] * m[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q] * m[p * d + q];
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        // The rotation that zeroes a[p][q] (Numerical Recipes' stable form).
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = m[k * d + p], akq = m[k * d + q];
          m[k * d + p] = c * akp - s * akq;
          m[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = m[p * d + k], aqk = m[q * d + k];
          m[p * d + k] = c * apk - s * aqk;
          m[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = m[i * d + i];
  return { values, vectors: v };
}

/** The symmetric square root `V·diag(√max(λ, 0))·Vᵀ` of a symmetric positive semi-definite matrix. */
function sqrtPsd(a: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(values[k], 0));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vi = vectors[i * d + k] * r;
      if (vi === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += vi * vectors[j * d + k];
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}

/** The Fréchet distance `‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½)` between two fitted Gaussians. */
export function frechetDistance(p: Gaussian, q: Gaussian): number {
  if (p.d !== q.d) throw new RangeError(`frechetDistance: dimensions differ, ${p.d} and ${q.d}`);
  const d = p.d;
  let meanTerm = 0, trace = 0;
  for (let j = 0; j < d; j++) {
    meanTerm += (p.mean[j] - q.mean[j]) ** 2;
    trace += p.cov[j * d + j] + q.cov[j * d + j];
  }
  const root = sqrtPsd(p.cov, d);
  const inner = matmul(matmul(root, q.cov, d), root, d);
  // Symmetrize what rounding left of the product's symmetry before the second root.
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) inner[i * d + j] = inner[j * d + i] = (inner[i * d + j] + inner[j * d + i]) / 2;
  }
  const { values } = symmetricEigen(inner, d);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(v, 0));
  return Math.max(meanTerm + trace - 2 * traceRoot, 0);
}
