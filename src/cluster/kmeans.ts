/**
 * The k-means driver: validation, initialisation, Lloyd or mini-batch iterations, convergence, empty-cluster
 * relocation and n-init restarts. Engine-agnostic: all row work goes through a KMeansExecutor; the only
 * randomness is the driver's seeded Rng, so the same seed gives the same result on any executor/thread count.
 */
import { MetavecError } from '../errors.js';
import type { KMeansExecutor, KMeansOptions, KMeansResult, DataSummary } from './types.js';
import { Rng } from './rng.js';
import { initKMeansParallel, initKMeansPlusPlus } from './init.js';
import { centerSqNorms, nearestBlock, rowSqNorms } from './kernels.js';

/** init 'auto' uses k-means|| above this many rows (fewer sequential passes over the data than k-means++). */
export const AUTO_PARALLEL_INIT_ROWS = 200_000;
/** algorithm 'auto' uses mini-batch above this many rows. */
export const AUTO_MINIBATCH_ROWS = 5_000_000;
/** Default mini-batch size. */
export const DEFAULT_BATCH_SIZE = 4096;
/** k-means|| oversampling rounds. */
export const PARALLEL_INIT_ROUNDS = 5;
/** Mini-batch: stop after this many steps without improvement of the smoothed batch inertia (as sklearn). */
export const MINIBATCH_MAX_NO_IMPROVEMENT = 10;

export const DEFAULT_KMEANS_OPTIONS: Omit<KMeansOptions, 'k'> = {
  seed: 0, nInit: 3, maxIter: 300, tol: 1e-4, init: 'auto', algorithm: 'auto',
};

function isInt(v: number): boolean {
  return Number.isInteger(v);
}

export function validateKMeansOptions(n: number, opts: KMeansOptions): void {
  const { k, nInit, maxIter, tol, seed } = opts;
  if (!isInt(k) || k < 1) throw new MetavecError('USAGE', `kmeans: k must be an integer >= 1 (got ${k})`);
  if (k > n) throw new MetavecError('USAGE', `kmeans: k=${k} exceeds the number of fragments (${n})`);
  if (!isInt(nInit) || nInit < 1) throw new MetavecError('USAGE', `kmeans: nInit must be an integer >= 1 (got ${nInit})`);
  if (!isInt(maxIter) || maxIter < 1) throw new MetavecError('USAGE', `kmeans: maxIter must be an integer >= 1 (got ${maxIter})`);
  if (!(tol >= 0) || !Number.isFinite(tol)) throw new MetavecError('USAGE', `kmeans: tol must be a finite number >= 0 (got ${tol})`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new MetavecError('USAGE', `kmeans: seed must be a non-negative integer (got ${seed})`);
  if (!['k-means++', 'k-means||', 'auto'].includes(opts.init)) {
    throw new MetavecError('USAGE', `kmeans: unknown init '${String(opts.init)}' (k-means++, k-means||, auto)`);
  }
  if (!['lloyd', 'minibatch', 'auto'].includes(opts.algorithm)) {
    throw new MetavecError('USAGE', `kmeans: unknown algorithm '${String(opts.algorithm)}' (lloyd, minibatch, auto)`);
  }
  if (opts.batchSize !== undefined && (!isInt(opts.batchSize) || opts.batchSize < 1)) {
    throw new MetavecError('USAGE', `kmeans: batchSize must be an integer >= 1 (got ${opts.batchSize})`);
  }
}

export function checkSummary(s: DataSummary): void {
  if (s.nonFinite > 0) {
    const row = Math.floor(s.firstNonFinite / s.d);
    const col = s.firstNonFinite % s.d;
    throw new MetavecError('INPUT', `kmeans: data has ${s.nonFinite} non-finite value(s) (NaN or Infinity); first at row ${row}, column ${col}`);
  }
}

export interface RunResult {
  centroids: Float32Array;
  history: number[];
  iterations: number;
  converged: boolean;
}

export async function kmeans(exec: KMeansExecutor, opts: KMeansOptions): Promise<KMeansResult> {
  const { n, d } = exec;
  validateKMeansOptions(n, opts);
  const summary = await exec.prepare();
  checkSummary(summary);
  const { k } = opts;
  const tolAbs = summary.meanVariance * opts.tol;
  const algorithm = opts.algorithm === 'auto' ? (n > AUTO_MINIBATCH_ROWS ? 'minibatch' : 'lloyd') : opts.algorithm;
  const init = opts.init === 'auto' ? (n > AUTO_PARALLEL_INIT_ROWS ? 'k-means||' : 'k-means++') : opts.init;
  const master = new Rng(opts.seed);
  const runSeeds = Array.from({ length: opts.nInit }, () => master.nextU32());

  let best: { run: RunResult; final: Awaited<ReturnType<KMeansExecutor['labelsAndDistances']>>; index: number } | undefined;
  for (let r = 0; r < opts.nInit; r++) {
    const rng = new Rng(runSeeds[r]!);
    const centers = init === 'k-means||'
      ? await initKMeansParallel(exec, k, rng, { rounds: PARALLEL_INIT_ROUNDS })
      : await initKMeansPlusPlus(exec, k, rng);
    const run = algorithm === 'lloyd'
      ? await lloyd(exec, centers, k, opts.maxIter, tolAbs)
      : await miniBatch(exec, centers, k, opts.maxIter, tolAbs, Math.min(n, opts.batchSize ?? DEFAULT_BATCH_SIZE), rng);
    const final = await exec.labelsAndDistances(run.centroids, k);
    if (!best || final.inertia < best.final.inertia) best = { run, final, index: r };
  }
  if (!best) throw new MetavecError('INTERNAL', 'kmeans: no run completed');
  return {
    k, d,
    centroids: best.run.centroids,
    labels: best.final.labels,
    distances: best.final.distances,
    clusterSize: best.final.clusterSize,
    inertia: best.final.inertia,
    objectiveHistory: Float64Array.from(best.run.history),
    iterations: best.run.iterations,
    converged: best.run.converged,
    bestInit: best.index,
    algorithm,
    init,
  };
}

/**
 * Lloyd iterations (as sklearn's lloyd): assign with the current centers, recompute the centers as means,
 * stop when no label changed (strict convergence) or when the squared centroid shift <= tolAbs.
 */
export async function lloyd(exec: KMeansExecutor, init: Float32Array, k: number, maxIter: number, tolAbs: number): Promise<RunResult> {
  const { d } = exec;
  let centers = init;
  const history: number[] = [];
  let converged = false;
  let it = 0;
  while (it < maxIter) {
    const a = await exec.assign(centers, k, it === 0);
    history.push(a.inertia);
    it++;
    const { sums, counts } = a;
    let relocated = false;
    const empty: number[] = [];
    for (let j = 0; j < k; j++) if (counts[j] === 0) empty.push(j);
    if (empty.length > 0) {
      relocated = true;
      await relocateEmpty(exec, empty, sums, counts);
    }
    const next = new Float32Array(k * d);
    let shift = 0;
    for (let j = 0; j < k; j++) {
      const cnt = counts[j]!;
      for (let t = 0; t < d; t++) {
        const o = j * d + t;
        const v = cnt > 0 ? Math.fround(sums[o]! / cnt) : centers[o]!;
        const dv = v - centers[o]!;
        shift += dv * dv;
        next[o] = v;
      }
    }
    centers = next;
    if (it > 1 && a.changed === 0 && !relocated) { converged = true; break; }
    if (shift <= tolAbs) { converged = true; break; }
  }
  return { centroids: centers, history, iterations: it, converged };
}

/**
 * Empty clusters (as sklearn): each empty cluster takes one of the rows farthest from their centroid (in
 * decreasing distance, ties by row), which is removed from its old cluster's sums.
 */
async function relocateEmpty(exec: KMeansExecutor, empty: number[], sums: Float64Array, counts: Float64Array): Promise<void> {
  const { d } = exec;
  const far = await exec.farthest(empty.length);
  const rows = await exec.getRows(far.rows);
  for (let e = 0; e < empty.length && e < far.rows.length; e++) {
    const j = empty[e]!;
    const old = far.labels[e]!;
    for (let t = 0; t < d; t++) {
      const v = rows[e * d + t]!;
      sums[old * d + t] = sums[old * d + t]! - v;
      sums[j * d + t] = v;
    }
    counts[old] = counts[old]! - 1;
    counts[j] = 1;
  }
}

/**
 * Mini-batch k-means (Sculley 2010, as sklearn's MiniBatchKMeans without random reassignment): each step
 * draws batchSize rows uniformly with replacement from the driver's Rng, assigns them and moves each center
 * to the running mean of all rows it was given. Stops after maxIter epochs, when the squared centroid shift of
 * a step <= tolAbs, or after MINIBATCH_MAX_NO_IMPROVEMENT steps without improving the smoothed batch inertia.
 */
async function miniBatch(
  exec: KMeansExecutor, init: Float32Array, k: number, maxIter: number, tolAbs: number, batch: number, rng: Rng,
): Promise<RunResult> {
  const { n, d } = exec;
  const centers = Float32Array.from(init);
  const c64 = new Float64Array(k * d);
  const cNorms = new Float64Array(k);
  const counts = new Float64Array(k);
  const bSums = new Float64Array(k * d);
  const bCounts = new Float64Array(k);
  const idx = new Int32Array(batch);
  const xNorms = new Float64Array(batch);
  const label = new Int32Array(batch);
  const d2 = new Float64Array(batch);
  const history: number[] = [];
  const maxSteps = maxIter * Math.ceil(n / batch);
  const alpha = Math.min(1, (batch * 2) / (n + 1));
  let ewa = NaN;
  let ewaMin = Infinity;
  let noImprove = 0;
  let converged = false;
  let step = 0;
  while (step < maxSteps) {
    for (let i = 0; i < batch; i++) idx[i] = rng.nextInt(n);
    const x = await exec.getRows(idx);
    rowSqNorms(x, d, 0, batch, xNorms);
    for (let i = 0; i < k * d; i++) c64[i] = centers[i]!;
    centerSqNorms(c64, k, d, cNorms);
    nearestBlock(x, d, 0, batch, xNorms, c64, cNorms, k, label, d2);
    bSums.fill(0);
    bCounts.fill(0);
    let inertia = 0;
    for (let i = 0; i < batch; i++) {
      const l = label[i]!;
      inertia += d2[i]!;
      bCounts[l] = bCounts[l]! + 1;
      for (let t = 0; t < d; t++) bSums[l * d + t] = bSums[l * d + t]! + x[i * d + t]!;
    }
    let shift = 0;
    for (let j = 0; j < k; j++) {
      const bc = bCounts[j]!;
      if (bc === 0) continue;
      const tot = counts[j]! + bc;
      for (let t = 0; t < d; t++) {
        const o = j * d + t;
        const v = Math.fround((centers[o]! * counts[j]! + bSums[o]!) / tot);
        const dv = v - centers[o]!;
        shift += dv * dv;
        centers[o] = v;
      }
      counts[j] = tot;
    }
    step++;
    const mean = inertia / batch;
    history.push(mean * n);
    if (step === 1) continue; // the first batch's inertia is measured against the initial centers
    if (tolAbs > 0 && shift <= tolAbs) { converged = true; break; }
    ewa = Number.isNaN(ewa) ? mean : ewa * (1 - alpha) + mean * alpha;
    if (ewa < ewaMin) { ewaMin = ewa; noImprove = 0; } else if (++noImprove >= MINIBATCH_MAX_NO_IMPROVEMENT) { converged = true; break; }
  }
  return { centroids: centers, history, iterations: step, converged };
}
