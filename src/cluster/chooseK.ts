/**
 * Choosing K: k-means (k-means++, Lloyd) for every k in [kMin, kMax] on a seeded row sample (default 20,000
 * rows), each clustering scored by the mean silhouette on a seeded sub-sample of the sample (default 2,000 rows,
 * exact pairwise Euclidean distances, computed once and shared by every k). The k with the highest mean
 * silhouette wins (ties: the smaller k). k = 1 has no silhouette: it is only returned when kMax = 1.
 * See docs/kmeans.md for why silhouette and the evidence.
 */
import { MetavecError } from '../errors.js';
import type { ChooseKOptions, ChooseKResult, ChooseKScore, KMeansExecutor } from './types.js';
import { InProcessExecutor } from './blockExecutor.js';
import { checkSummary, kmeans } from './kmeans.js';
import { Rng } from './rng.js';

export const CHOOSE_K_SAMPLE = 20_000;
export const SILHOUETTE_SAMPLE = 2_000;

/** `count` distinct indices of [0, n) chosen with rng, in increasing order (partial Fisher-Yates). */
export function sampleIndices(n: number, count: number, rng: Rng): Int32Array {
  if (count >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.nextInt(n - i);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm.slice(0, count).sort();
}

/** Pairwise Euclidean distances of m rows (m*m, float64, symmetric, zero diagonal). */
export function pairwiseDistances(x: Float32Array, m: number, d: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const oi = i * d;
    for (let j = i + 1; j < m; j++) {
      const oj = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = x[oi + t]! - x[oj + t]!;
        s += v * v;
      }
      const e = Math.sqrt(s);
      out[i * m + j] = e;
      out[j * m + i] = e;
    }
  }
  return out;
}

/**
 * Mean silhouette (Rousseeuw 1987) of m points with labels in [0, k) given their pairwise distances. A point
 * alone in its cluster scores 0 (as scikit-learn). Returns 0 when fewer than 2 clusters are used.
 */
export function meanSilhouette(dist: Float64Array, labels: Int32Array, m: number, k: number): number {
  const size = new Float64Array(k);
  for (let i = 0; i < m; i++) size[labels[i]!] = size[labels[i]!]! + 1;
  let used = 0;
  for (let j = 0; j < k; j++) if (size[j]! > 0) used++;
  if (used < 2) return 0;
  const acc = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    const row = i * m;
    for (let j = 0; j < m; j++) {
      const l = labels[j]!;
      acc[l] = acc[l]! + dist[row + j]!;
    }
    const own = labels[i]!;
    if (size[own]! <= 1) continue;
    const a = acc[own]! / (size[own]! - 1);
    let b = Infinity;
    for (let j = 0; j < k; j++) {
      if (j === own || size[j] === 0) continue;
      const v = acc[j]! / size[j]!;
      if (v < b) b = v;
    }
    const s = Math.max(a, b);
    total += s > 0 ? (b - a) / s : 0;
  }
  return total / m;
}

export async function chooseK(exec: KMeansExecutor, opts: ChooseKOptions): Promise<ChooseKResult> {
  const { n, d } = exec;
  const { kMin, kMax } = opts;
  if (!Number.isInteger(kMin) || kMin < 1) throw new MetavecError('USAGE', `chooseK: kMin must be an integer >= 1 (got ${kMin})`);
  if (!Number.isInteger(kMax) || kMax < kMin) throw new MetavecError('USAGE', `chooseK: kMax must be an integer >= kMin (got kMin=${kMin}, kMax=${kMax})`);
  if (kMax > n) throw new MetavecError('USAGE', `chooseK: kMax=${kMax} exceeds the number of fragments (${n})`);
  const sampleSize = opts.sampleSize ?? CHOOSE_K_SAMPLE;
  if (!Number.isInteger(sampleSize) || sampleSize < 2) throw new MetavecError('USAGE', `chooseK: sampleSize must be an integer >= 2 (got ${sampleSize})`);
  checkSummary(await exec.prepare());

  const rng = new Rng(opts.seed);
  const rows = sampleIndices(n, sampleSize, rng);
  const m = rows.length;
  const sample = await exec.getRows(rows);
  const sampleExec = new InProcessExecutor(sample, m, d);
  const silRows = sampleIndices(m, SILHOUETTE_SAMPLE, rng);
  const ms = silRows.length;
  const silX = new Float32Array(ms * d);
  for (let i = 0; i < ms; i++) silX.set(sample.subarray(silRows[i]! * d, silRows[i]! * d + d), i * d);
  const dist = pairwiseDistances(silX, ms, d);
  const silLabels = new Int32Array(ms);

  const scores: ChooseKScore[] = [];
  for (let k = kMin; k <= Math.min(kMax, m); k++) {
    const r = await kmeans(sampleExec, {
      k, seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter, tol: opts.tol, init: 'k-means++', algorithm: 'lloyd',
    });
    for (let i = 0; i < ms; i++) silLabels[i] = r.labels[silRows[i]!]!;
    const score = k === 1 ? NaN : meanSilhouette(dist, silLabels, ms, k);
    scores.push({ k, score, inertia: r.inertia });
  }
  let best: ChooseKScore | undefined;
  for (const s of scores) if (!Number.isNaN(s.score) && (!best || s.score > best.score)) best = s;
  const method = `silhouette (k-means on ${m} sampled rows, silhouette on ${ms})`;
  if (!best) {
    return { k: kMin, method, scores, reason: `only k=${kMin} was tried (silhouette needs k >= 2)` };
  }
  const list = scores.filter((s) => !Number.isNaN(s.score)).map((s) => `k=${s.k}: ${s.score.toFixed(4)}`).join(', ');
  return { k: best.k, method, scores, reason: `highest mean silhouette ${best.score.toFixed(4)} at k=${best.k} (${list})` };
}
