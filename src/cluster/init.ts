/**
 * Centroid initialisation: greedy k-means++ (as scikit-learn: 2 + floor(ln k) D^2-sampled candidates per
 * step, keeping the one that lowers the potential most) and k-means|| (Bahmani et al. 2012: `rounds`
 * oversampling rounds selecting each row with probability l * D^2(x) / phi, l = 2k, then weighted greedy
 * k-means++ and weighted Lloyd on the candidates). Randomness comes only from the driver's Rng.
 */
import type { KMeansExecutor } from './types.js';
import type { Rng } from './rng.js';
import { centerSqNorms, distancesBlock, nearestBlock, rowSqNorms } from './kernels.js';

export async function initKMeansPlusPlus(exec: KMeansExecutor, k: number, rng: Rng): Promise<Float32Array> {
  const { n, d } = exec;
  const nLocal = 2 + Math.floor(Math.log(k));
  const centers = new Float32Array(k * d);
  const first = await exec.getRows(Int32Array.of(rng.nextInt(n)));
  centers.set(first, 0);
  let pot = await exec.seedUpdate(first, 1, true);
  for (let c = 1; c < k; c++) {
    if (!(pot > 0)) {
      // Every row coincides with a chosen center: any row is as good as another.
      const row = await exec.getRows(Int32Array.of(rng.nextInt(n)));
      centers.set(row, c * d);
      continue;
    }
    const targets = new Float64Array(nLocal);
    for (let q = 0; q < nLocal; q++) targets[q] = rng.nextDouble() * pot;
    const cand = await exec.seedSample(targets);
    const candRows = await exec.getRows(cand);
    const pots = await exec.seedTrial(candRows, nLocal);
    let best = 0;
    for (let q = 1; q < nLocal; q++) if (pots[q]! < pots[best]!) best = q;
    const row = candRows.subarray(best * d, best * d + d);
    centers.set(row, c * d);
    pot = await exec.seedUpdate(row, 1, false);
  }
  return centers;
}

export interface ParallelInitOptions {
  rounds: number;
  /** Oversampling factor l (expected candidates per round); default 2k. */
  oversampling?: number;
}

export async function initKMeansParallel(exec: KMeansExecutor, k: number, rng: Rng, o: ParallelInitOptions = { rounds: 5 }): Promise<Float32Array> {
  const { n, d } = exec;
  const l = o.oversampling ?? 2 * k;
  const chunks: Float32Array[] = [];
  const first = await exec.getRows(Int32Array.of(rng.nextInt(n)));
  chunks.push(first);
  let m = 1;
  let phi = await exec.seedUpdate(first, 1, true);
  for (let r = 0; r < o.rounds && phi > 0; r++) {
    const sel = await exec.seedBernoulli(rng.nextU32(), l, phi);
    if (sel.length === 0) continue;
    const rows = await exec.getRows(sel);
    chunks.push(rows);
    m += sel.length;
    phi = await exec.seedUpdate(rows, sel.length, false);
  }
  if (m < k) {
    // Too few distinct candidates (tiny or degenerate data): plain k-means++ over all rows.
    return initKMeansPlusPlus(exec, k, rng);
  }
  const cand = new Float32Array(m * d);
  let o2 = 0;
  for (const ch of chunks) { cand.set(ch, o2); o2 += ch.length; }
  const weights = await exec.countNearest(cand, m);
  return weightedLocalKMeans(cand, weights, m, d, k, rng, 30);
}

/**
 * In-memory weighted k-means (greedy weighted k-means++ then up to maxIter weighted Lloyd iterations) of m
 * rows; used to reduce the k-means|| candidates to k centers.
 */
export function weightedLocalKMeans(x: Float32Array, w: Float64Array, m: number, d: number, k: number, rng: Rng, maxIter: number): Float32Array {
  const xNorms = new Float64Array(m);
  rowSqNorms(x, d, 0, m, xNorms);
  const nLocal = 2 + Math.floor(Math.log(k));
  const centers = new Float32Array(k * d);
  const c64 = new Float64Array(Math.max(k, nLocal) * d);
  const cNorms = new Float64Array(Math.max(k, nLocal));
  const closest = new Float64Array(m);
  const dist = new Float64Array(m * nLocal);
  const wsum = w.reduce((a, b) => a + b, 0);
  // First center: weighted draw.
  let firstIdx = m - 1;
  {
    const t = rng.nextDouble() * wsum;
    let cum = 0;
    for (let i = 0; i < m; i++) { cum += w[i]!; if (cum > t) { firstIdx = i; break; } }
  }
  const setCenter = (c: number, row: number): void => { centers.set(x.subarray(row * d, row * d + d), c * d); };
  setCenter(0, firstIdx);
  const load = (src: Float32Array, cnt: number): void => {
    for (let i = 0; i < cnt * d; i++) c64[i] = src[i]!;
    centerSqNorms(c64, cnt, d, cNorms);
  };
  load(x.subarray(firstIdx * d, firstIdx * d + d), 1);
  distancesBlock(x, d, 0, m, xNorms, c64, cNorms, 1, closest);
  let pot = 0;
  for (let i = 0; i < m; i++) pot += w[i]! * closest[i]!;
  const candIdx = new Int32Array(nLocal);
  const candRows = new Float32Array(nLocal * d);
  for (let c = 1; c < k; c++) {
    for (let q = 0; q < nLocal; q++) {
      const t = rng.nextDouble() * pot;
      let cum = 0;
      let pick = -1;
      for (let i = 0; i < m; i++) {
        const v = w[i]! * closest[i]!;
        cum += v;
        if (cum > t && v > 0) { pick = i; break; }
      }
      if (pick < 0) pick = rng.nextInt(m);
      candIdx[q] = pick;
      candRows.set(x.subarray(pick * d, pick * d + d), q * d);
    }
    load(candRows, nLocal);
    distancesBlock(x, d, 0, m, xNorms, c64, cNorms, nLocal, dist);
    let best = 0;
    let bestPot = Infinity;
    for (let q = 0; q < nLocal; q++) {
      let p = 0;
      for (let i = 0; i < m; i++) p += w[i]! * Math.min(closest[i]!, dist[i * nLocal + q]!);
      if (p < bestPot) { bestPot = p; best = q; }
    }
    pot = 0;
    for (let i = 0; i < m; i++) {
      const v = Math.min(closest[i]!, dist[i * nLocal + best]!);
      closest[i] = v;
      pot += w[i]! * v;
    }
    setCenter(c, candIdx[best]!);
  }
  // Weighted Lloyd.
  const label = new Int32Array(m);
  const d2 = new Float64Array(m);
  const sums = new Float64Array(k * d);
  const cw = new Float64Array(k);
  for (let it = 0; it < maxIter; it++) {
    load(centers, k);
    nearestBlock(x, d, 0, m, xNorms, c64, cNorms, k, label, d2);
    sums.fill(0);
    cw.fill(0);
    for (let i = 0; i < m; i++) {
      const l = label[i]!;
      const wi = w[i]!;
      cw[l] = cw[l]! + wi;
      for (let t = 0; t < d; t++) sums[l * d + t] = sums[l * d + t]! + wi * x[i * d + t]!;
    }
    let shift = 0;
    for (let j = 0; j < k; j++) {
      if (!(cw[j]! > 0)) continue;
      for (let t = 0; t < d; t++) {
        const v = Math.fround(sums[j * d + t]! / cw[j]!);
        const dv = v - centers[j * d + t]!;
        shift += dv * dv;
        centers[j * d + t] = v;
      }
    }
    if (shift === 0) break;
  }
  return centers;
}
