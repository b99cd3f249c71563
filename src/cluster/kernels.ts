/**
 * Pure k-means kernels over typed arrays. No allocation: every output is caller-provided. Rows are addressed
 * by global index into the row-major float32 matrix `x` (n*d); per-block outputs are indexed from 0.
 *
 * Distances use the blocked form ||x||^2 + ||c||^2 - 2 x.c with precomputed float64 row norms; the dot
 * products accumulate in float64 (JS numbers), centroids are passed as Float64Array (converted once per call
 * by the executor: reading f64 is faster than converting f32 in the inner loop, measured 144 vs 158 ms).
 */

/** out[i - r0] = ||x_i||^2 for rows [r0, r1). */
export function rowSqNorms(x: Float32Array, d: number, r0: number, r1: number, out: Float64Array): void {
  for (let i = r0; i < r1; i++) {
    const off = i * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = x[off + t]!;
      s += v * v;
    }
    out[i - r0] = s;
  }
}

/** Squared norms of m centers (m*d row-major) into out[0..m). */
export function centerSqNorms(c: Float64Array, m: number, d: number, out: Float64Array): void {
  for (let j = 0; j < m; j++) {
    const off = j * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = c[off + t]!;
      s += v * v;
    }
    out[j] = s;
  }
}

/**
 * Column sums of rows [r0, r1) added into colSum (d), skipping non-finite values; returns the number of
 * non-finite values and writes the global flat position of the first one to firstBad[0] (if none yet, -1 kept).
 */
export function columnSumsBlock(x: Float32Array, d: number, r0: number, r1: number, colSum: Float64Array, firstBad: Float64Array): number {
  let bad = 0;
  for (let i = r0; i < r1; i++) {
    const off = i * d;
    for (let t = 0; t < d; t++) {
      const v = x[off + t]!;
      if (v - v !== 0) {
        if (bad === 0 && firstBad[0]! < 0) firstBad[0] = off + t;
        bad++;
        continue;
      }
      colSum[t] = colSum[t]! + v;
    }
  }
  return bad;
}

/** Sum of squared deviations from `mean` (d) of rows [r0, r1), per column, added into out (d). */
export function columnCenteredSqBlock(x: Float32Array, d: number, r0: number, r1: number, mean: Float64Array, out: Float64Array): void {
  for (let i = r0; i < r1; i++) {
    const off = i * d;
    for (let t = 0; t < d; t++) {
      const v = x[off + t]! - mean[t]!;
      out[t] = out[t]! + v * v;
    }
  }
}

/**
 * Nearest center for rows [r0, r1): outLabel[i - r0] = argmin_j ||x_i - c_j||^2 (ties: lowest j),
 * outD2[i - r0] = that squared distance (clamped at 0). xNorms is indexed by global row; cNorms has m entries.
 * Register-blocked 2 rows x 4 centers (each x and c value loaded once per 4 / 2 multiply-adds):
 * measured 1.32 GFMA/s vs 0.79 for a 4-way unrolled dot product per (row, center) (n=200k, d=136, k=7).
 */
export function nearestBlock(
  x: Float32Array, d: number, r0: number, r1: number, xNorms: Float64Array,
  c: Float64Array, cNorms: Float64Array, m: number, outLabel: Int32Array, outD2: Float64Array,
): void {
  let i = r0;
  for (; i + 1 < r1; i += 2) {
    const oa = i * d;
    const ob = oa + d;
    let ba = Infinity, bb = Infinity, ja = 0, jb = 0;
    let j = 0;
    for (; j + 3 < m; j += 4) {
      const c0 = j * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let t = 0; t < d; t++) {
        const xa = x[oa + t]!, xb = x[ob + t]!;
        const w0 = c[c0 + t]!, w1 = c[c1 + t]!, w2 = c[c2 + t]!, w3 = c[c3 + t]!;
        a0 += xa * w0; a1 += xa * w1; a2 += xa * w2; a3 += xa * w3;
        b0 += xb * w0; b1 += xb * w1; b2 += xb * w2; b3 += xb * w3;
      }
      const n0 = cNorms[j]!, n1 = cNorms[j + 1]!, n2 = cNorms[j + 2]!, n3 = cNorms[j + 3]!;
      let v = n0 - 2 * a0; if (v < ba) { ba = v; ja = j; }
      v = n1 - 2 * a1; if (v < ba) { ba = v; ja = j + 1; }
      v = n2 - 2 * a2; if (v < ba) { ba = v; ja = j + 2; }
      v = n3 - 2 * a3; if (v < ba) { ba = v; ja = j + 3; }
      v = n0 - 2 * b0; if (v < bb) { bb = v; jb = j; }
      v = n1 - 2 * b1; if (v < bb) { bb = v; jb = j + 1; }
      v = n2 - 2 * b2; if (v < bb) { bb = v; jb = j + 2; }
      v = n3 - 2 * b3; if (v < bb) { bb = v; jb = j + 3; }
    }
    for (; j < m; j++) {
      const co = j * d;
      let a = 0, b = 0;
      for (let t = 0; t < d; t++) {
        const w = c[co + t]!;
        a += x[oa + t]! * w;
        b += x[ob + t]! * w;
      }
      const nj = cNorms[j]!;
      let v = nj - 2 * a; if (v < ba) { ba = v; ja = j; }
      v = nj - 2 * b; if (v < bb) { bb = v; jb = j; }
    }
    const la = i - r0;
    let da = ba + xNorms[i]!;
    let db = bb + xNorms[i + 1]!;
    if (!(da > 0)) da = 0;
    if (!(db > 0)) db = 0;
    outLabel[la] = ja; outD2[la] = da;
    outLabel[la + 1] = jb; outD2[la + 1] = db;
  }
  if (i < r1) {
    const oa = i * d;
    let ba = Infinity, ja = 0;
    for (let j = 0; j < m; j++) {
      const co = j * d;
      let a = 0;
      for (let t = 0; t < d; t++) a += x[oa + t]! * c[co + t]!;
      const v = cNorms[j]! - 2 * a;
      if (v < ba) { ba = v; ja = j; }
    }
    let da = ba + xNorms[i]!;
    if (!(da > 0)) da = 0;
    outLabel[i - r0] = ja; outD2[i - r0] = da;
  }
}

/**
 * Full squared-distance matrix of rows [r0, r1) to m centers: out[(i - r0) * m + j] (clamped at 0).
 */
export function distancesBlock(
  x: Float32Array, d: number, r0: number, r1: number, xNorms: Float64Array,
  c: Float64Array, cNorms: Float64Array, m: number, out: Float64Array,
): void {
  for (let i = r0; i < r1; i++) {
    const oa = i * d;
    const xn = xNorms[i]!;
    const base = (i - r0) * m;
    for (let j = 0; j < m; j++) {
      const co = j * d;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      let t = 0;
      for (; t + 3 < d; t += 4) {
        a0 += x[oa + t]! * c[co + t]!;
        a1 += x[oa + t + 1]! * c[co + t + 1]!;
        a2 += x[oa + t + 2]! * c[co + t + 2]!;
        a3 += x[oa + t + 3]! * c[co + t + 3]!;
      }
      for (; t < d; t++) a0 += x[oa + t]! * c[co + t]!;
      const v = xn + cNorms[j]! - 2 * (a0 + a1 + a2 + a3);
      out[base + j] = v > 0 ? v : 0;
    }
  }
}

/**
 * Lloyd block step: given the block's new labels/d2 (from nearestBlock, indexed from 0), accumulate the
 * coordinate sums (k*d) and counts (k) of the block, count labels differing from `labels` (global index;
 * ignored when `first`), store the new labels/d2 into the global `labels`/`dist2`, and return the block inertia.
 * changedOut[0] receives the number of changed labels.
 */
export function accumulateBlock(
  x: Float32Array, d: number, r0: number, r1: number, blockLabel: Int32Array, blockD2: Float64Array,
  labels: Int32Array, dist2: Float64Array, first: boolean, sums: Float64Array, counts: Float64Array, changedOut: Float64Array,
): number {
  let inertia = 0;
  let changed = 0;
  for (let i = r0; i < r1; i++) {
    const li = i - r0;
    const l = blockLabel[li]!;
    const dd = blockD2[li]!;
    if (first || labels[i] !== l) changed++;
    labels[i] = l;
    dist2[i] = dd;
    inertia += dd;
    counts[l] = counts[l]! + 1;
    const off = i * d;
    const so = l * d;
    for (let t = 0; t < d; t++) sums[so + t] = sums[so + t]! + x[off + t]!;
  }
  changedOut[0] = changed;
  return inertia;
}

/**
 * accumulateBlock without the coordinate sums (computed elsewhere, e.g. by the WASM kernel): counts, changed
 * labels, the global labels/dist2 and the block inertia, in the same order.
 */
export function accumulateLabels(
  r0: number, r1: number, blockLabel: Int32Array, blockD2: Float64Array,
  labels: Int32Array, dist2: Float64Array, first: boolean, counts: Float64Array, changedOut: Float64Array,
): number {
  let inertia = 0;
  let changed = 0;
  for (let i = r0; i < r1; i++) {
    const li = i - r0;
    const l = blockLabel[li]!;
    const dd = blockD2[li]!;
    if (first || labels[i] !== l) changed++;
    labels[i] = l;
    dist2[i] = dd;
    inertia += dd;
    counts[l] = counts[l]! + 1;
  }
  changedOut[0] = changed;
  return inertia;
}
