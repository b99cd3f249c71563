/**
 * Choosing K: k-means (k-means++, Lloyd) for every k in [kMin, kMax] on a seeded row sample (default 10,000
 * rows). Default: gap statistic (uniform references in the principal-component box, 1-SE rule); or the mean
 * silhouette on a seeded 2,000-row sub-sample of the sample (k >= 2). All the k-means runs are independent
 * in-memory problems handed to the executor's runIndependent (worker threads for the local engine) when it has
 * one; results are identical to running them one after the other. See docs/kmeans.md for the evidence.
 */
import { MetavecError } from '../errors.js';
import type {
  ChooseKOptions, ChooseKResult, ChooseKScore, IndependentKMeansJob, IndependentKMeansResult, KMeansExecutor, KMeansOptions, KTried,
} from './types.js';
import { InProcessExecutor } from './blockExecutor.js';
import { checkSummary, kmeans } from './kmeans.js';
import { Rng } from './rng.js';

export const CHOOSE_K_SAMPLE = 10_000;
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

/** Eigen-decomposition of a symmetric d*d matrix (cyclic Jacobi). Returns the eigenvectors as columns of V (d*d). */
export function symmetricEigenvectors(a: Float64Array, d: number): Float64Array {
  const A = Float64Array.from(a);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += A[p * d + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * d + q]! - A[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < d; r++) {
          const arp = A[r * d + p]!, arq = A[r * d + q]!;
          A[r * d + p] = c * arp - s * arq;
          A[r * d + q] = s * arp + c * arq;
        }
        for (let r = 0; r < d; r++) {
          const apr = A[p * d + r]!, aqr = A[q * d + r]!;
          A[p * d + r] = c * apr - s * aqr;
          A[q * d + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < d; r++) {
          const vrp = V[r * d + p]!, vrq = V[r * d + q]!;
          V[r * d + p] = c * vrp - s * vrq;
          V[r * d + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  return V;
}

/**
 * B reference data sets for the gap statistic (Tibshirani, Walther & Hastie 2001, reference (b)): uniform in
 * the bounding box of the data's principal components, rotated back into feature space.
 */
export function gapReferences(x: Float32Array, m: number, d: number, B: number, rng: Rng): Float32Array[] {
  const mean = new Float64Array(d);
  for (let i = 0; i < m; i++) for (let t = 0; t < d; t++) mean[t] = mean[t]! + x[i * d + t]!;
  for (let t = 0; t < d; t++) mean[t] = mean[t]! / m;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < d; t++) row[t] = x[i * d + t]! - mean[t]!;
    for (let p = 0; p < d; p++) {
      const rp = row[p]!;
      for (let q = p; q < d; q++) cov[p * d + q] = cov[p * d + q]! + rp * row[q]!;
    }
  }
  for (let p = 0; p < d; p++) for (let q = 0; q < p; q++) cov[p * d + q] = cov[q * d + p]!;
  const V = symmetricEigenvectors(cov, d);
  // Projections' ranges (VT = V transposed: contiguous reads, same sums in the same order).
  const VT = new Float64Array(d * d);
  for (let t = 0; t < d; t++) for (let c = 0; c < d; c++) VT[c * d + t] = V[t * d + c]!;
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < d; t++) row[t] = x[i * d + t]! - mean[t]!;
    for (let c = 0; c < d; c++) {
      let s = 0;
      const o = c * d;
      for (let t = 0; t < d; t++) s += row[t]! * VT[o + t]!;
      if (s < lo[c]!) lo[c] = s;
      if (s > hi[c]!) hi[c] = s;
    }
  }
  const refs: Float32Array[] = [];
  const z = new Float64Array(d);
  for (let b = 0; b < B; b++) {
    const r = new Float32Array(m * d);
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < d; c++) z[c] = lo[c]! + (hi[c]! - lo[c]!) * rng.nextDouble();
      for (let t = 0; t < d; t++) {
        let s = mean[t]!;
        for (let c = 0; c < d; c++) s += V[t * d + c]! * z[c]!;
        r[i * d + t] = s;
      }
    }
    refs.push(r);
  }
  return refs;
}

/** Reference data sets of the gap statistic. */
export const GAP_REFERENCES = 5;

type Runner = (jobs: IndependentKMeansJob[], onDone?: (index: number) => void) => Promise<IndependentKMeansResult[]>;

/** Run the jobs in this thread, one after the other (executors without runIndependent). */
async function runSequentially(jobs: IndependentKMeansJob[], onDone?: (index: number) => void): Promise<IndependentKMeansResult[]> {
  const execs = new Map<Float32Array, InProcessExecutor>();
  const out: IndependentKMeansResult[] = [];
  for (const [i, j] of jobs.entries()) {
    let e = execs.get(j.data);
    if (!e) { e = new InProcessExecutor(j.data, j.n, j.d); execs.set(j.data, e); }
    const r = await kmeans(e, j.opts);
    out.push(j.labels ? { inertia: r.inertia, labels: r.labels } : { inertia: r.inertia });
    onDone?.(i);
  }
  return out;
}

export async function chooseK(exec: KMeansExecutor, opts: ChooseKOptions): Promise<ChooseKResult> {
  const { n, d } = exec;
  const { kMin, kMax } = opts;
  if (!Number.isInteger(kMin) || kMin < 1) throw new MetavecError('USAGE', `chooseK: kMin must be an integer >= 1 (got ${kMin})`);
  if (!Number.isInteger(kMax) || kMax < kMin) throw new MetavecError('USAGE', `chooseK: kMax must be an integer >= kMin (got kMin=${kMin}, kMax=${kMax})`);
  if (kMax > n) throw new MetavecError('USAGE', `chooseK: kMax=${kMax} exceeds the number of fragments (${n})`);
  const sampleSize = opts.sampleSize ?? CHOOSE_K_SAMPLE;
  if (!Number.isInteger(sampleSize) || sampleSize < 2) throw new MetavecError('USAGE', `chooseK: sampleSize must be an integer >= 2 (got ${sampleSize})`);
  const method = opts.method ?? 'gap';
  if (method !== 'gap' && method !== 'silhouette') throw new MetavecError('USAGE', `chooseK: unknown method '${String(method)}' (gap, silhouette)`);
  checkSummary(await exec.prepare());

  const rng = new Rng(opts.seed);
  const rows = sampleIndices(n, sampleSize, rng);
  const m = rows.length;
  const sample = await exec.getRows(rows);
  // Every k-means run of chooseK is an independent in-memory problem: the engine may run them concurrently
  // (local engine: on its worker threads); the results are those of sequential in-process runs either way.
  const run: Runner = exec.runIndependent ? (jobs, onDone) => exec.runIndependent!(jobs, onDone) : runSequentially;
  const kOpts = (k: number): KMeansOptions => ({
    k, seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter, tol: opts.tol, init: 'k-means++', algorithm: 'lloyd',
  });
  const kTop = Math.min(kMax, m);
  return method === 'gap'
    ? chooseByGap(sample, run, m, d, kMin, kTop, kOpts, rng, opts.onK)
    : chooseBySilhouette(sample, run, m, d, kMin, kTop, kOpts, rng, opts.onK);
}

/** Jobs for every k in [kMin, kMax] (largest k first: better load balance) x data set; returns results[k - kMin][set]. */
async function runGrid(
  run: Runner, sets: Float32Array[], m: number, d: number, kMin: number, kMax: number,
  kOpts: (k: number) => KMeansOptions, labelsOfSet0: boolean, onK?: (e: KTried) => void,
): Promise<IndependentKMeansResult[][]> {
  const jobs: IndependentKMeansJob[] = [];
  for (let k = kMax; k >= kMin; k--) {
    sets.forEach((data, i) => jobs.push({ data, n: m, d, opts: kOpts(k), labels: labelsOfSet0 && i === 0 }));
  }
  // progress: a K is done when the runs of all its data sets are
  const left = new Int32Array(kMax - kMin + 1).fill(sets.length);
  let kDone = 0;
  const onDone = onK
    ? (index: number) => {
        const k = kMax - Math.floor(index / sets.length);
        left[k - kMin] = left[k - kMin]! - 1;
        if (left[k - kMin] === 0) onK({ k, done: ++kDone, total: kMax - kMin + 1 });
      }
    : undefined;
  const res = await run(jobs, onDone);
  const grid: IndependentKMeansResult[][] = [];
  for (let k = kMin; k <= kMax; k++) {
    const base = (kMax - k) * sets.length;
    grid.push(sets.map((_, i) => res[base + i]!));
  }
  return grid;
}

async function chooseByGap(
  sample: Float32Array, run: Runner, m: number, d: number, kMin: number, kMax: number,
  kOpts: (k: number) => KMeansOptions, rng: Rng, onK?: (e: KTried) => void,
): Promise<ChooseKResult> {
  const B = GAP_REFERENCES;
  const refs = gapReferences(sample, m, d, B, rng);
  const grid = await runGrid(run, [sample, ...refs], m, d, kMin, kMax, kOpts, false, onK);
  const scores: ChooseKScore[] = [];
  const sd: number[] = [];
  for (let k = kMin; k <= kMax; k++) {
    const [r, ...refRuns] = grid[k - kMin]!;
    const logW = Math.log(Math.max(r!.inertia, Number.MIN_VALUE));
    const refLog = refRuns.map((x) => Math.log(Math.max(x.inertia, Number.MIN_VALUE)));
    const mean = refLog.reduce((a, b) => a + b, 0) / B;
    const v = refLog.reduce((a, b) => a + (b - mean) ** 2, 0) / B;
    scores.push({ k, score: mean - logW, inertia: r!.inertia });
    sd.push(Math.sqrt(v) * Math.sqrt(1 + 1 / B));
  }
  const method = `gap statistic (k-means on ${m} sampled rows, ${B} uniform references in the principal-component box, 1-SE rule)`;
  const list = scores.map((s, i) => `k=${s.k}: ${s.score.toFixed(4)}±${sd[i]!.toFixed(4)}`).join(', ');
  for (let i = 0; i + 1 < scores.length; i++) {
    if (scores[i]!.score >= scores[i + 1]!.score - sd[i + 1]!) {
      return { k: scores[i]!.k, method, scores, reason: `smallest k with gap(k) >= gap(k+1) - s(k+1) (${list})` };
    }
  }
  const last = scores[scores.length - 1]!;
  return { k: last.k, method, scores, reason: `gap still increasing at kMax=${last.k}; consider a larger kMax (${list})` };
}

async function chooseBySilhouette(
  sample: Float32Array, run: Runner, m: number, d: number, kMin: number, kMax: number,
  kOpts: (k: number) => KMeansOptions, rng: Rng, onK?: (e: KTried) => void,
): Promise<ChooseKResult> {
  const silRows = sampleIndices(m, SILHOUETTE_SAMPLE, rng);
  const ms = silRows.length;
  const silX = new Float32Array(ms * d);
  for (let i = 0; i < ms; i++) silX.set(sample.subarray(silRows[i]! * d, silRows[i]! * d + d), i * d);
  const dist = pairwiseDistances(silX, ms, d);
  const silLabels = new Int32Array(ms);
  const scores: ChooseKScore[] = [];
  const grid = await runGrid(run, [sample], m, d, kMin, kMax, kOpts, true, onK);
  for (let k = kMin; k <= kMax; k++) {
    const r = grid[k - kMin]![0]!;
    for (let i = 0; i < ms; i++) silLabels[i] = r.labels![silRows[i]!]!;
    const score = k === 1 ? NaN : meanSilhouette(dist, silLabels, ms, k);
    scores.push({ k, score, inertia: r.inertia });
  }
  let best: ChooseKScore | undefined;
  for (const s of scores) if (!Number.isNaN(s.score) && (!best || s.score > best.score)) best = s;
  const method = `silhouette (k-means on ${m} sampled rows, silhouette on ${ms})`;
  if (!best) return { k: kMin, method, scores, reason: `only k=${kMin} was tried (silhouette needs k >= 2)` };
  const list = scores.filter((s) => !Number.isNaN(s.score)).map((s) => `k=${s.k}: ${s.score.toFixed(4)}`).join(', ');
  return { k: best.k, method, scores, reason: `highest mean silhouette ${best.score.toFixed(4)} at k=${best.k} (${list})` };
}
