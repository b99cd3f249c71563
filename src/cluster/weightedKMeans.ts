import { Rng } from './rng.js';
import type { KTried } from './types.js';

/**
 * Weighted k-means for a small matrix of pooled rows (read groups of the graph method, buckets of the LSH
 * method): each row stands for `w` fragments, so it pulls its centroid w times as hard as a single fragment.
 * Greedy weighted k-means++ seeding, Lloyd iterations, best of `nInit` by weighted inertia. Deterministic for
 * a seed. Rows are float64, row-major.
 */
export interface WeightedKMeansResult {
  k: number;
  labels: Int32Array;
  centroids: Float64Array;
  /** weighted squared distance of each row to its centroid */
  dist2: Float64Array;
  inertia: number;
  iterations: number;
}

function d2(x: Float64Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  const oi = i * d;
  const oj = j * d;
  for (let t = 0; t < d; t++) {
    const v = x[oi + t]! - c[oj + t]!;
    s += v * v;
  }
  return s;
}

function seed(x: Float64Array, w: Float64Array, n: number, d: number, k: number, rng: Rng): Float64Array {
  const c = new Float64Array(k * d);
  const best = new Float64Array(n).fill(Infinity);
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i]!;
  // first centre: weighted draw
  let r = rng.nextDouble() * total;
  let first = n - 1;
  for (let i = 0; i < n; i++) {
    r -= w[i]!;
    if (r < 0) {
      first = i;
      break;
    }
  }
  c.set(x.subarray(first * d, first * d + d), 0);
  const trials = 2 + Math.floor(Math.log(k));
  for (let j = 1; j <= k; j++) {
    let pot = 0;
    for (let i = 0; i < n; i++) {
      const v = d2(x, i, c, j - 1, d);
      if (v < best[i]!) best[i] = v;
      pot += w[i]! * best[i]!;
    }
    if (j === k) break;
    // greedy: the best of `trials` draws by the potential it leaves
    let pick = -1;
    let pickPot = Infinity;
    for (let t = 0; t < trials; t++) {
      let u = rng.nextDouble() * pot;
      let cand = n - 1;
      for (let i = 0; i < n; i++) {
        u -= w[i]! * best[i]!;
        if (u < 0) {
          cand = i;
          break;
        }
      }
      let p = 0;
      for (let i = 0; i < n; i++) p += w[i]! * Math.min(best[i]!, d2(x, i, x, cand, d));
      if (p < pickPot) {
        pickPot = p;
        pick = cand;
      }
    }
    c.set(x.subarray(pick * d, pick * d + d), j * d);
  }
  return c;
}

function lloyd(x: Float64Array, w: Float64Array, n: number, d: number, k: number, c: Float64Array, maxIter: number): WeightedKMeansResult {
  const labels = new Int32Array(n).fill(-1);
  const dist2 = new Float64Array(n);
  const sum = new Float64Array(k * d);
  const mass = new Float64Array(k);
  let iterations = 0;
  let inertia = 0;
  for (; iterations < maxIter; ) {
    iterations++;
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      let b = 0;
      let bd = Infinity;
      for (let j = 0; j < k; j++) {
        const v = d2(x, i, c, j, d);
        if (v < bd) {
          bd = v;
          b = j;
        }
      }
      if (labels[i] !== b) changed++;
      labels[i] = b;
      dist2[i] = bd;
      inertia += w[i]! * bd;
    }
    // converged when no row moves: a stop on a small inertia change (1e-6) was tried and cut the dev
    // community's ARI from 0.81 to 0.72, the singletons' slow drift decides many labels
    if (changed === 0) break;
    sum.fill(0);
    mass.fill(0);
    for (let i = 0; i < n; i++) {
      const l = labels[i]!;
      mass[l] = mass[l]! + w[i]!;
      for (let t = 0; t < d; t++) sum[l * d + t] = sum[l * d + t]! + w[i]! * x[i * d + t]!;
    }
    for (let j = 0; j < k; j++) {
      if (mass[j] === 0) continue; // an empty cluster keeps its centre
      for (let t = 0; t < d; t++) c[j * d + t] = sum[j * d + t]! / mass[j]!;
    }
  }
  return { k, labels, centroids: c, dist2, inertia, iterations };
}

export function weightedKMeans(x: Float64Array, w: Float64Array, n: number, d: number, k: number, opts: { seed: number; nInit: number; maxIter: number }): WeightedKMeansResult {
  if (k < 1 || k > n) throw new RangeError(`weighted k-means: K=${k} with ${n} rows`);
  const rng = new Rng(opts.seed);
  let best: WeightedKMeansResult | undefined;
  for (let r = 0; r < Math.max(1, opts.nInit); r++) {
    const res = lloyd(x, w, n, d, k, seed(x, w, n, d, k, rng), opts.maxIter);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best!;
}

/** Nearest centroid of one row given as a separate vector. */
export function nearestCentroid(v: Float64Array, c: Float64Array, k: number, d: number): { label: number; dist2: number } {
  let b = 0;
  let bd = Infinity;
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const u = v[t]! - c[j * d + t]!;
      s += u * u;
    }
    if (s < bd) {
      bd = s;
      b = j;
    }
  }
  return { label: b, dist2: bd };
}

/**
 * K + 1 clusters grown from a K-cluster fit: its centres plus the row that costs it the most (weight x squared
 * distance), then Lloyd. Never worse than the K fit, so the inertia curve of the K search falls monotonically
 * (measured: fresh k-means++ restarts alone gave K + 1 fits 3-10% worse than K on 2,000 read groups of a
 * 29-species community, which stopped the elbow at K = 8).
 */
export function splitWorst(x: Float64Array, w: Float64Array, n: number, d: number, prev: WeightedKMeansResult, maxIter: number): WeightedKMeansResult {
  const k = prev.k + 1;
  const c = new Float64Array(k * d);
  c.set(prev.centroids.subarray(0, prev.k * d));
  let worst = 0;
  for (let i = 1; i < n; i++) if (w[i]! * prev.dist2[i]! > w[worst]! * prev.dist2[worst]!) worst = i;
  c.set(x.subarray(worst * d, worst * d + d), prev.k * d);
  return lloyd(x, w, n, d, k, c, maxIter);
}

/**
 * Over-splitting by bisection (Steinbach et al. 2000): K grows one cluster at a time by splitting the cluster
 * with the largest weighted inertia in two (2-means on its rows, best of `nInit`), while the split still lowers
 * the total by `minGain` of it, up to kMax; then Lloyd refines all K together. Each split only touches the rows
 * of one cluster, so reaching K costs about log K passes over the rows where growing every K from the last
 * (chooseWeightedK) costs K full k-means runs: on 1,622 read groups of a 7-species community, seconds instead of
 * minutes. The `scores` curve is the total inertia after each split.
 */
export function bisectingKMeans(
  x: Float64Array, w: Float64Array, n: number, d: number,
  opts: { kMax: number; seed: number; nInit: number; maxIter: number; minGain: number; onK?: (e: KTried) => void },
): { fit: WeightedKMeansResult; scores: { k: number; score: number; inertia: number; gain: number }[]; reason: string } {
  const kMax = Math.max(1, Math.min(opts.kMax, n));
  const labels = new Int32Array(n);
  const cost: number[] = [];
  const centre = (l: number): Float64Array => {
    const m = new Float64Array(d);
    let W = 0;
    for (let i = 0; i < n; i++) {
      if (labels[i] !== l) continue;
      W += w[i]!;
      for (let t = 0; t < d; t++) m[t] = m[t]! + w[i]! * x[i * d + t]!;
    }
    for (let t = 0; t < d; t++) m[t] = W > 0 ? m[t]! / W : 0;
    return m;
  };
  const sse = (l: number): number => {
    const m = centre(l);
    let q = 0;
    for (let i = 0; i < n; i++) if (labels[i] === l) q += w[i]! * d2(x, i, m, 0, d);
    return q;
  };
  cost.push(sse(0));
  let total = cost[0]!;
  const scores = [{ k: 1, score: total, inertia: total, gain: 0 }];
  opts.onK?.({ k: 1, done: 1, total: kMax, inertia: total });
  const unsplittable = new Uint8Array(kMax);
  let reason = `every split up to --k-max ${kMax} still lowered the inertia by >= ${(opts.minGain * 100).toFixed(1)}%`;
  let k = 1;
  while (k < kMax) {
    let b = -1;
    for (let l = 0; l < k; l++) if (!unsplittable[l] && cost[l]! > 0 && (b < 0 || cost[l]! > cost[b]!)) b = l;
    if (b < 0) {
      reason = `no cluster left to split at K=${k}`;
      break;
    }
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] === b) rows.push(i);
    if (rows.length < 2) {
      unsplittable[b] = 1;
      continue;
    }
    const xs = new Float64Array(rows.length * d);
    const ws = new Float64Array(rows.length);
    rows.forEach((i, j) => {
      xs.set(x.subarray(i * d, i * d + d), j * d);
      ws[j] = w[i]!;
    });
    const two = weightedKMeans(xs, ws, rows.length, d, 2, { seed: opts.seed + k, nInit: opts.nInit, maxIter: opts.maxIter });
    const gain = total > 0 ? (cost[b]! - two.inertia) / total : 0;
    if (gain < opts.minGain) {
      reason = `K=${k + 1} would lower the inertia by ${(gain * 100).toFixed(2)}% (< ${(opts.minGain * 100).toFixed(1)}%)`;
      break;
    }
    rows.forEach((i, j) => {
      if (two.labels[j] === 1) labels[i] = k;
    });
    k++;
    cost[b] = sse(b);
    cost[k - 1] = sse(k - 1);
    total = cost.reduce((a, c) => a + c, 0);
    scores.push({ k, score: total, inertia: total, gain: +gain.toFixed(5) });
    opts.onK?.({ k, done: k, total: kMax, inertia: total, gain });
  }
  const c = new Float64Array(k * d);
  for (let l = 0; l < k; l++) c.set(centre(l), l * d);
  return { fit: lloyd(x, w, n, d, k, c, opts.maxIter), scores, reason };
}

function betterOf(a: WeightedKMeansResult, b: WeightedKMeansResult): WeightedKMeansResult {
  return b.inertia < a.inertia ? b : a;
}

export interface WeightedKChoice {
  k: number;
  method: 'elbow';
  /** score = the criterion the report plots (the weighted inertia) */
  scores: { k: number; score: number; inertia: number; gain: number }[];
  reason: string;
}

/**
 * Chooses K in [kMin, kMax] by the elbow of the weighted inertia: the smallest K for which one more cluster
 * lowers the inertia by less than `minGain` (a fraction), or earlier when the inertia is already no more than
 * `noiseInertia` (what sampling noise alone leaves; with few, large groups every extra cluster still gains a
 * large fraction). On pooled groups the silhouette was tried first and
 * always preferred K = 2 (one far cluster, e.g. a phage at 40x coverage, against the rest: docs/graph.md).
 */
export function chooseWeightedK(
  x: Float64Array,
  w: Float64Array,
  n: number,
  d: number,
  opts: { kMin: number; kMax: number; seed: number; nInit: number; maxIter: number; minGain: number; noiseInertia?: number; onK?: (e: KTried) => void },
): { choice: WeightedKChoice; fit: WeightedKMeansResult } {
  const kMax = Math.min(opts.kMax, n);
  const kMin = Math.min(Math.max(1, opts.kMin), kMax);
  const scores: WeightedKChoice['scores'] = [];
  const total = kMax - kMin + 1;
  let prev = weightedKMeans(x, w, n, d, kMin, opts);
  scores.push({ k: kMin, score: prev.inertia, inertia: prev.inertia, gain: 0 });
  opts.onK?.({ k: kMin, done: 1, total, inertia: prev.inertia });
  const noise = opts.noiseInertia;
  for (let k = kMin + 1; k <= kMax; k++) {
    if (noise !== undefined && prev.inertia <= noise) {
      return {
        choice: { k: prev.k, method: 'elbow', scores, reason: `K=${prev.k} leaves a weighted inertia (${prev.inertia.toPrecision(4)}) within what sampling noise explains (${noise.toPrecision(4)})` },
        fit: prev,
      };
    }
    const fit = betterOf(weightedKMeans(x, w, n, d, k, opts), splitWorst(x, w, n, d, prev, opts.maxIter));
    const gain = prev.inertia > 0 ? 1 - fit.inertia / prev.inertia : 0;
    scores.push({ k, score: fit.inertia, inertia: fit.inertia, gain: +gain.toFixed(5) });
    opts.onK?.({ k, done: scores.length, total, inertia: fit.inertia, gain });
    if (gain < opts.minGain) {
      return {
        choice: { k: prev.k, method: 'elbow', scores, reason: `K=${k} lowers the weighted inertia by ${(gain * 100).toFixed(2)}% (< ${(opts.minGain * 100).toFixed(1)}%)` },
        fit: prev,
      };
    }
    prev = fit;
  }
  return { choice: { k: prev.k, method: 'elbow', scores, reason: `every K up to --k-max ${kMax} still lowered the inertia by >= ${(opts.minGain * 100).toFixed(1)}%` }, fit: prev };
}
