/**
 * Types of the Phase 2 k-means engine. The driver (kmeans.ts) is engine-agnostic: it talks only to a
 * KMeansExecutor, which owns the rows (a local SharedArrayBuffer matrix split over worker threads, or, later,
 * each MPI rank's slice). Every reduction an executor returns is summed over fixed-size row blocks
 * (BLOCK_ROWS) in global block order, so results never depend on how many threads/ranks hold the blocks.
 */

export interface KMeansOptions {
  k: number;
  seed: number;
  /** Number of restarts (different initialisations); the run with the lowest final inertia wins. */
  nInit: number;
  /** Lloyd: maximum iterations per run. Mini-batch: maximum passes (epochs) over the data. */
  maxIter: number;
  /** Relative tolerance: stop when the squared centroid shift <= tol * mean per-feature variance (as sklearn). */
  tol: number;
  init: 'k-means++' | 'k-means||' | 'auto';
  algorithm: 'lloyd' | 'minibatch' | 'auto';
  /** Mini-batch size (rows per step); default 4096. */
  batchSize?: number;
}

export interface KMeansResult {
  k: number;
  d: number;
  /** k*d row-major. */
  centroids: Float32Array;
  labels: Int32Array;
  /** Euclidean distance of each row to its centroid. */
  distances: Float32Array;
  clusterSize: Int32Array;
  /** Sum of squared distances to the assigned centroid (float64), with the final centroids. */
  inertia: number;
  /** Objective of the best run: Lloyd = inertia of each assignment step; mini-batch = per-step batch inertia scaled to n. */
  objectiveHistory: Float64Array;
  /** Lloyd iterations (or mini-batch steps) of the best run. */
  iterations: number;
  converged: boolean;
  /** Index (0-based) of the restart that won. */
  bestInit: number;
  algorithm: 'lloyd' | 'minibatch';
  init: 'k-means++' | 'k-means||';
}

export interface ChooseKScore {
  k: number;
  score: number;
  inertia: number;
}

export interface ChooseKResult {
  k: number;
  method: string;
  scores: ChooseKScore[];
  reason: string;
}

/** One K of a K search, reported when its runs are done (progress: a search can take minutes). */
export interface KTried {
  k: number;
  /** K values done so far, and the most the search tries (an elbow search may stop earlier) */
  done: number;
  total: number;
  /** elbow searches: the weighted inertia at K and its fractional decrease from the K before */
  inertia?: number;
  gain?: number;
}

export interface ChooseKOptions {
  kMin: number;
  kMax: number;
  seed: number;
  nInit: number;
  maxIter: number;
  tol: number;
  /** Rows clustered for each candidate k (default 10000; all rows when n is smaller). */
  sampleSize?: number;
  /** 'gap' (default): gap statistic with the 1-SE rule; 'silhouette': highest mean silhouette (k >= 2). */
  method?: 'gap' | 'silhouette';
  /** Called once per K when all its runs are done (in the order they finish). */
  onK?: (e: KTried) => void;
}

/** Summary computed once per executor (first call to prepare()). */
export interface DataSummary {
  n: number;
  d: number;
  /** Mean over features of the per-feature (population) variance. */
  meanVariance: number;
  /** Number of NaN/Infinity values in the matrix, and the first one's position (row-major), or -1. */
  nonFinite: number;
  firstNonFinite: number;
}

/** Result of one assignment pass (Lloyd E-step plus the sums of the M-step). */
export interface AssignStats {
  /** k*d float64 coordinate sums of the rows assigned to each centroid. */
  sums: Float64Array;
  /** Rows assigned to each centroid. */
  counts: Float64Array;
  /** Sum of squared distances to the nearest centroid. */
  inertia: number;
  /** Rows whose label differs from the previous assign() (n when `first`). */
  changed: number;
}

export interface LabelsAndDistances {
  labels: Int32Array;
  /** Euclidean (not squared) distances. */
  distances: Float32Array;
  clusterSize: Int32Array;
  inertia: number;
}

export interface FarthestRows {
  /** Global row indices, by decreasing squared distance to their assigned centroid (ties: lower row first). */
  rows: Int32Array;
  labels: Int32Array;
  dist2: Float64Array;
}

/**
 * What the k-means driver needs from an engine. All methods are collective over the executor's rows.
 * Centroids/candidates travel as Float32Array (k*d row-major); the executor keeps per-row state between calls
 * (labels and squared distances of the last assign(); the D^2 "closest" array for seeding).
 *
 * Determinism contract (for every implementation): per-block partials are computed over blocks of exactly
 * BLOCK_ROWS global rows, in float64, and reduced in increasing block order (an MPI engine gathers the
 * per-block partials rather than allreducing rank sums), so the results are bitwise identical whatever the
 * number of threads or ranks.
 */
export interface KMeansExecutor {
  readonly n: number;
  readonly d: number;
  /** Validate the data, precompute row norms, compute the summary (idempotent: cached after the first call). */
  prepare(): Promise<DataSummary>;
  /** Copy rows by global index (in the given order) into a new m*d matrix. */
  getRows(indices: Int32Array): Promise<Float32Array>;
  /** closest[i] = min_j ||x_i - c_j||^2 (reset=true) or min(closest[i], ...) (reset=false). Returns sum(closest). */
  seedUpdate(centers: Float32Array, m: number, reset: boolean): Promise<number>;
  /** For each target t in [0, sum(closest)): the first row whose cumulative closest sum >= t (searchsorted left). */
  seedSample(targets: Float64Array): Promise<Int32Array>;
  /** For each candidate j: sum_i min(closest[i], ||x_i - c_j||^2). */
  seedTrial(candidates: Float32Array, m: number): Promise<Float64Array>;
  /**
   * k-means|| round: each row i is selected independently when u(seed, i) < l * closest[i] / phi, with u a
   * counter-based uniform hash of (seed, global row). Returns the selected rows in increasing order.
   */
  seedBernoulli(seed: number, l: number, phi: number): Promise<Int32Array>;
  /** For each of m centers, the number of rows whose nearest center it is (k-means|| candidate weights). */
  countNearest(centers: Float32Array, m: number): Promise<Float64Array>;
  /** Assign every row to its nearest centroid (ties: lowest index); returns the reduced sums/counts/inertia. */
  assign(centroids: Float32Array, k: number, first: boolean): Promise<AssignStats>;
  /** The `count` rows farthest from their centroid as of the last assign(). */
  farthest(count: number): Promise<FarthestRows>;
  /** Assign with the given centroids and return the per-row labels and Euclidean distances. */
  labelsAndDistances(centroids: Float32Array, k: number): Promise<LabelsAndDistances>;
  /**
   * Optional: run independent k-means problems on small in-memory matrices (chooseK's sample and reference data
   * sets) concurrently, e.g. on the engine's worker threads. Each result must equal
   * kmeans(createInProcessExecutor(job.data, job.n, job.d), job.opts) (results in job order).
   */
  runIndependent?(jobs: IndependentKMeansJob[], onDone?: (index: number) => void): Promise<IndependentKMeansResult[]>;
}

export interface IndependentKMeansJob {
  data: Float32Array;
  n: number;
  d: number;
  opts: KMeansOptions;
  /** Return the labels too (else only the inertia). */
  labels: boolean;
}

export interface IndependentKMeansResult {
  inertia: number;
  labels?: Int32Array;
}

/** Fixed block size of every reduction (rows). Independent of the thread/rank count by design. */
export const BLOCK_ROWS = 4096;
