import { pooledNoise } from './poolNoise.js';
import type { KTried } from './types.js';
import { bisectingKMeans, chooseWeightedK, type WeightedKMeansResult } from './weightedKMeans.js';

/**
 * K without an elbow (docs/graph.md "Choosing K"): the read groups are over-split by weighted k-means (K grows,
 * each K+1 from the K fit, while one more cluster still lowers the inertia by `splitGain`), then clusters are
 * merged, closest pair first, while two clusters' pooled features are closer than their sampling noise
 * (`tolerance` x the sum of both noises) plus `floor` (how far two halves of one genome lie apart). What is left
 * is the number of distinguishable genomes: it grows with the community, not with a threshold on the inertia
 * curve, which stopped at 5-9 clusters for 7-29 species (issue 17).
 */
export interface SplitMergeParams {
  /** over-splitting continues while K+1 lowers the weighted inertia by at least this fraction */
  splitGain: number;
  /** clusters closer than tolerance x (noise a + noise b) + floor are one */
  tolerance: number;
  floor: number;
  /** how the over-split is made: bisection (default, fast) or every K grown from the last (chooseWeightedK) */
  overSplit?: 'bisect' | 'grow';
}

export const DEFAULT_SPLIT_MERGE: SplitMergeParams = { splitGain: 0.001, tolerance: 10, floor: 0.005 };

/** Per row (pooled group): feature row of D = d + 1 values, its fragments, and its pooled sums for the noise. */
export interface SplitMergeInput {
  x: Float64Array;
  w: Float64Array;
  n: number;
  D: number;
  d: number;
  /** per row: pooled k-mer sums (n x d), k-mer mass, fragments, summed coverage, summed redundancy */
  comp: Float64Array;
  mass: Float64Array;
  members: Float64Array;
  cov: Float64Array;
  red: Float64Array;
  coverageScale: number;
  sqrtTransform: boolean;
}

export interface SplitMergeChoice {
  k: number;
  method: 'split-merge';
  /** the over-splitting curve (the report plots score = inertia against K) */
  scores: { k: number; score: number; inertia: number; gain: number }[];
  split_k: number;
  merges: number;
  reason: string;
}

export function splitMergeK(
  inp: SplitMergeInput, opts: SplitMergeParams & { kMin: number; kMax: number; seed: number; nInit: number; maxIter: number; onK?: (e: KTried) => void },
): { choice: SplitMergeChoice; labels: Int32Array; centroids: Float64Array; k: number; inertia: number; iterations: number } {
  const { x, w, n, D, d } = inp;
  const kOpts = { kMax: Math.min(opts.kMax, n), seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter, minGain: opts.splitGain, ...(opts.onK ? { onK: opts.onK } : {}) };
  const split = (opts.overSplit ?? 'bisect') === 'bisect'
    ? (() => { const b = bisectingKMeans(x, w, n, D, kOpts); return { fit: b.fit, choice: { scores: b.scores, reason: b.reason } }; })()
    : chooseWeightedK(x, w, n, D, { ...kOpts, kMin: Math.min(opts.kMin, n) });
  const fit: WeightedKMeansResult = split.fit;
  const K0 = fit.k;
  // pooled sums per fitted cluster
  const cs = new Float64Array(K0 * d);
  const cm = new Float64Array(K0);
  const cn = new Float64Array(K0);
  const cc = new Float64Array(K0);
  const cr = new Float64Array(K0);
  for (let i = 0; i < n; i++) {
    const l = fit.labels[i]!;
    for (let t = 0; t < d; t++) cs[l * d + t] = cs[l * d + t]! + inp.comp[i * d + t]!;
    cm[l] = cm[l]! + inp.mass[i]!;
    cn[l] = cn[l]! + inp.members[i]!;
    cc[l] = cc[l]! + inp.cov[i]!;
    cr[l] = cr[l]! + inp.red[i]!;
  }
  const feat = new Float64Array(K0 * D);
  const featureOf = (l: number): void => {
    const m = cm[l]! > 0 ? cm[l]! : 1;
    for (let t = 0; t < d; t++) feat[l * D + t] = inp.sqrtTransform ? Math.sqrt(Math.max(0, cs[l * d + t]! / m)) : cs[l * d + t]! / m;
    if (D > d) feat[l * D + d] = Math.log(Math.max(1e-9, cc[l]! / Math.max(1, cn[l]!))) * inp.coverageScale;
  };
  for (let l = 0; l < K0; l++) featureOf(l);
  const noise = (l: number): number => pooledNoise(d, cm[l]!, cn[l]!, cr[l]);
  const alive = new Uint8Array(K0).fill(1);
  const parent = Int32Array.from({ length: K0 }, (_, i) => i);
  let merges = 0;
  for (;;) {
    let best = Infinity;
    let ba = -1;
    let bb = -1;
    for (let a = 0; a < K0; a++) {
      if (!alive[a] || cn[a] === 0) continue;
      for (let b = a + 1; b < K0; b++) {
        if (!alive[b] || cn[b] === 0) continue;
        let q = 0;
        for (let t = 0; t < D; t++) {
          const u = feat[a * D + t]! - feat[b * D + t]!;
          q += u * u;
        }
        const score = q / (opts.tolerance * (noise(a) + noise(b)) + opts.floor);
        if (score < best) {
          best = score;
          ba = a;
          bb = b;
        }
      }
    }
    if (ba < 0 || best > 1) break;
    alive[bb] = 0;
    parent[bb] = ba;
    for (let t = 0; t < d; t++) cs[ba * d + t] = cs[ba * d + t]! + cs[bb * d + t]!;
    cm[ba] = cm[ba]! + cm[bb]!;
    cn[ba] = cn[ba]! + cn[bb]!;
    cc[ba] = cc[ba]! + cc[bb]!;
    cr[ba] = cr[ba]! + cr[bb]!;
    featureOf(ba);
    merges++;
  }
  const root = (l: number): number => {
    while (parent[l] !== l) l = parent[l]!;
    return l;
  };
  const map = new Int32Array(K0).fill(-1);
  let k = 0;
  for (let l = 0; l < K0; l++) if (alive[l] && cn[l]! > 0) map[l] = k++;
  const centroids = new Float64Array(k * D);
  for (let l = 0; l < K0; l++) if (map[l]! >= 0) centroids.set(feat.subarray(l * D, l * D + D), map[l]! * D);
  const labels = new Int32Array(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const l = map[root(fit.labels[i]!)]!;
    labels[i] = l;
    let q = 0;
    for (let t = 0; t < D; t++) {
      const u = x[i * D + t]! - centroids[l * D + t]!;
      q += u * u;
    }
    inertia += w[i]! * q;
  }
  return {
    choice: {
      k, method: 'split-merge', scores: split.choice.scores, split_k: K0, merges,
      reason: `over-split into ${K0} clusters (${split.choice.reason}), then ${merges} merges of clusters closer than ${opts.tolerance} x their sampling noise + ${opts.floor}`,
    },
    labels, centroids, k, inertia, iterations: fit.iterations,
  };
}
