/**
 * Principal component analysis of a small sample (a few thousand rows x d <= a few hundred): covariance in
 * float64, then all eigenpairs of the symmetric d x d matrix with the cyclic Jacobi method (d = 136 takes a
 * few milliseconds). Pure: no I/O.
 */

export interface Pca {
  /** Number of components kept. */
  components: number;
  dim: number;
  /** Column means of the sample (length dim). */
  mean: Float64Array;
  /** components x dim, row-major; unit vectors, sign fixed so the largest-magnitude entry is positive. */
  vectors: Float64Array;
  /** Variance along each kept component. */
  variance: number[];
  /** variance / total variance, per kept component. */
  explained: number[];
}

/** Eigen-decomposition of a symmetric matrix (row-major n x n, not modified): values descending, vectors as rows. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const at = (i: number, j: number): number => m[i * n + j]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += at(i, i) * at(i, i);
      for (let j = i + 1; j < n; j++) off += at(i, j) * at(i, j);
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = at(p, q);
        if (Math.abs(apq) < 1e-300) continue;
        const app = at(p, p);
        const aqq = at(q, q);
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // rotate rows/columns p and q of m
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        // accumulate eigenvectors as columns of v
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => at(y, y) - at(x, x));
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((col, r) => {
    values[r] = at(col, col);
    for (let k = 0; k < n; k++) vectors[r * n + k] = v[k * n + col]!;
  });
  return { values, vectors };
}

/** PCA of `rows` x `dim` data (row-major). Keeps min(components, dim) components. */
export function pca(data: Float32Array | Float64Array, rows: number, dim: number, components = 3): Pca {
  const kept = Math.max(0, Math.min(components, dim));
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j]! += data[r * dim + j]!;
  if (rows > 0) for (let j = 0; j < dim; j++) mean[j]! /= rows;
  const cov = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) x[j] = data[r * dim + j]! - mean[j]!;
    for (let i = 0; i < dim; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      const o = i * dim;
      for (let j = i; j < dim; j++) cov[o + j]! += xi * x[j]!;
    }
  }
  const denom = Math.max(1, rows - 1);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const c = cov[i * dim + j]! / denom;
      cov[i * dim + j] = c;
      cov[j * dim + i] = c;
    }
  }
  const { values, vectors } = symmetricEigen(cov, dim);
  let total = 0;
  for (const v of values) total += Math.max(0, v);
  const out = new Float64Array(kept * dim);
  for (let c = 0; c < kept; c++) {
    let big = 0;
    for (let j = 0; j < dim; j++) if (Math.abs(vectors[c * dim + j]!) > Math.abs(vectors[c * dim + big]!)) big = j;
    const sign = vectors[c * dim + big]! < 0 ? -1 : 1;
    for (let j = 0; j < dim; j++) out[c * dim + j] = sign * vectors[c * dim + j]!;
  }
  const variance = Array.from(values.subarray(0, kept), (v) => Math.max(0, v));
  return { components: kept, dim, mean, vectors: out, variance, explained: variance.map((v) => (total > 0 ? v / total : 0)) };
}

/** Projects rows onto the kept components: rows x components, row-major. */
export function project(p: Pca, data: Float32Array | Float64Array, rows: number): Float64Array {
  const { dim, components } = p;
  const out = new Float64Array(rows * components);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < components; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (data[r * dim + j]! - p.mean[j]!) * p.vectors[c * dim + j]!;
      out[r * components + c] = s;
    }
  }
  return out;
}
