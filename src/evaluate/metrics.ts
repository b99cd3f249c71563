/**
 * External clustering metrics over integer-coded labels. Definitions follow scikit-learn 1.x
 * (adjusted_rand_score, normalized_mutual_info_score with arithmetic normalisation,
 * homogeneity_completeness_v_measure), including its conventions for degenerate labellings; see
 * docs/evaluation.md.
 *
 * Precision: contingency counts are exact integers held in float64. The pair counts used by ARI
 * (sums of squared counts, n^2) are exact while n^2 < 2^53, i.e. up to about 9.4e7 items; beyond that they
 * carry float64 rounding (relative 1e-16), which is harmless for the score up to at least 1e9 items.
 */
import { contingencyTable, type Contingency } from './contingency.js';
import { linearSumAssignment } from './hungarian.js';

export interface F1Matching {
  /** Mean of the per-class F1 (unmatched classes count as 0). */
  macro: number;
  /** Per-class F1 weighted by class size. */
  weighted: number;
  /** For each class (column index of the contingency table), the matched cluster row index or -1. */
  classToCluster: Int32Array;
  /** Per class: F1, precision (matched overlap / cluster size) and recall (matched overlap / class size). */
  f1: Float64Array;
  precision: Float64Array;
  recall: Float64Array;
}

export interface ClusteringMetrics {
  /** Number of items evaluated. */
  n: number;
  /** Distinct predicted clusters / reference classes. */
  clusters: number;
  classes: number;
  ari: number;
  nmi: number;
  homogeneity: number;
  completeness: number;
  vMeasure: number;
  /** Sum over clusters of the majority-class count, divided by n. */
  purity: number;
  /** Mean over clusters of (majority-class count / cluster size). */
  purityUnweighted: number;
  /** Sum over classes of the largest count of that class in one cluster, divided by n. */
  inversePurity: number;
  f1: F1Matching;
  contingency: Contingency;
}

export interface EvaluateOptions {
  /**
   * A predicted label that stands for "not assigned" (e.g. the extra cluster of reads without a label).
   * It is a cluster like any other for every metric except the F1 matching, where it cannot be matched.
   */
  unmatchableCluster?: number;
}

const EPS = 2.220446049250313e-16; // numpy finfo(float64).eps

/** Shannon entropy (nats) of a labelling given its group sizes; scikit-learn's conventions. */
function entropyOfSizes(sizes: Float64Array, n: number): number {
  if (n === 0) return 1.0;
  let nonzero = 0;
  for (const s of sizes) if (s > 0) nonzero++;
  if (nonzero <= 1) return 0.0;
  const logN = Math.log(n);
  let h = 0;
  for (const s of sizes) if (s > 0) h -= (s / n) * (Math.log(s) - logN);
  return h;
}

/** Mutual information (nats), as sklearn.metrics.mutual_info_score on the contingency table. */
function mutualInformation(t: Contingency): number {
  if (t.clusterLabels.length === 1 || t.classLabels.length === 1) return 0.0;
  const n = t.n;
  const logN = Math.log(n);
  let mi = 0;
  for (let i = 0; i < t.counts.length; i++) {
    const nij = t.counts[i] as number;
    const a = t.clusterSizes[t.rows[i] as number] as number;
    const b = t.classSizes[t.cols[i] as number] as number;
    const nm = nij / n;
    const logOuter = -Math.log(a * b) + logN + logN;
    const term = nm * (Math.log(nij) - logN) + nm * logOuter;
    if (Math.abs(term) >= EPS) mi += term;
  }
  return Math.max(mi, 0);
}

function adjustedRandIndex(t: Contingency): number {
  const n = t.n;
  let sumSquares = 0;
  for (const v of t.counts) sumSquares += v * v;
  let sumA = 0;
  for (const v of t.clusterSizes) sumA += v * v;
  let sumB = 0;
  for (const v of t.classSizes) sumB += v * v;
  // Pair confusion matrix (ordered pairs), as sklearn.metrics.cluster.pair_confusion_matrix.
  const tp = sumSquares - n;
  const fp = sumA - sumSquares; // same cluster, different class
  const fn = sumB - sumSquares; // same class, different cluster
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0 && fp === 0) return 1.0;
  return (2.0 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

/** A cluster-class cell with a non-zero overlap: row (cluster index), column (class index), pair F1, overlap. */
export interface Edge {
  r: number;
  c: number;
  score: number;
  count: number;
}

/** Keep, for each group (by `key`), only the `limit` best edges (by score, ties by the other index). */
function keepTop(edges: Edge[], key: 'r' | 'c', limit: number): Edge[] {
  const other = key === 'r' ? 'c' : 'r';
  const groups = new Map<number, Edge[]>();
  for (const e of edges) {
    const g = groups.get(e[key]);
    if (g) g.push(e);
    else groups.set(e[key], [e]);
  }
  const out: Edge[] = [];
  for (const g of groups.values()) {
    if (g.length > limit) g.sort((x, y) => y.score - x.score || x[other] - y[other]);
    for (let i = 0; i < Math.min(limit, g.length); i++) out.push(g[i] as Edge);
  }
  return out;
}

/**
 * The sub-problems the F1 matching solves: only cells with a non-zero overlap can help, so the problem is
 * reduced to those edges, pruned (an optimal matching only needs each class's top-min(K,C) clusters, and vice
 * versa) and split into connected components of the cluster-class graph. Each returned component is solved
 * densely by the Hungarian algorithm (nr x nc cells for nr distinct clusters and nc distinct classes), so the
 * matching costs the sum over components, not K x C. Exported for the tests, which check that reduction.
 */
export function matchingComponents(t: Contingency, unmatchableRow: number): Edge[][] {
  const k = t.clusterLabels.length;
  const c = t.classLabels.length;
  let edges: Edge[] = [];
  for (let i = 0; i < t.counts.length; i++) {
    const r = t.rows[i] as number;
    if (r === unmatchableRow) continue;
    const col = t.cols[i] as number;
    const count = t.counts[i] as number;
    const score = (2 * count) / ((t.clusterSizes[r] as number) + (t.classSizes[col] as number));
    edges.push({ r, c: col, score, count });
  }
  const limit = Math.max(1, Math.min(k, c));
  edges = keepTop(keepTop(edges, 'c', limit), 'r', limit);

  // Connected components over the bipartite graph (rows 0..k-1, columns k..k+c-1), union-find.
  const parent = new Int32Array(k + c);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      const px = parent[x] as number;
      parent[x] = parent[px] as number;
      x = px;
    }
    return x;
  };
  for (const e of edges) {
    const a = find(e.r);
    const b = find(k + e.c);
    if (a !== b) parent[a] = b;
  }
  const components = new Map<number, Edge[]>();
  for (const e of edges) {
    const root = find(e.r);
    const g = components.get(root);
    if (g) g.push(e);
    else components.set(root, [e]);
  }
  return Array.from(components.values());
}

/**
 * One-to-one matching of clusters to classes maximising the sum of pair F1 = 2|C∩K| / (|C| + |K|), found
 * with the Hungarian algorithm on each component of matchingComponents().
 */
function f1Matching(t: Contingency, unmatchableRow: number): F1Matching {
  const c = t.classLabels.length;
  const classToCluster = new Int32Array(c).fill(-1);
  const f1 = new Float64Array(c);
  const precision = new Float64Array(c);
  const recall = new Float64Array(c);
  for (const comp of matchingComponents(t, unmatchableRow)) {
    const rowIndex = new Map<number, number>();
    const colIndex = new Map<number, number>();
    for (const e of comp) {
      if (!rowIndex.has(e.r)) rowIndex.set(e.r, rowIndex.size);
      if (!colIndex.has(e.c)) colIndex.set(e.c, colIndex.size);
    }
    const nr = rowIndex.size;
    const nc = colIndex.size;
    const m = new Float64Array(nr * nc);
    for (const e of comp) m[(rowIndex.get(e.r) as number) * nc + (colIndex.get(e.c) as number)] = e.score;
    const rowsBack = Array.from(rowIndex.keys());
    const colsBack = Array.from(colIndex.keys());
    const { colToRow } = linearSumAssignment(m, nr, nc, { maximize: true });
    const byPair = new Map<number, Edge>();
    for (const e of comp) byPair.set(e.r * c + e.c, e);
    for (let j = 0; j < nc; j++) {
      const i = colToRow[j] as number;
      if (i < 0) continue;
      const r = rowsBack[i] as number;
      const col = colsBack[j] as number;
      const e = byPair.get(r * c + col);
      if (!e) continue; // matched on a zero cell: no overlap, treat as unmatched
      classToCluster[col] = r;
      f1[col] = e.score;
      precision[col] = e.count / (t.clusterSizes[r] as number);
      recall[col] = e.count / (t.classSizes[col] as number);
    }
  }
  let macro = 0;
  let weighted = 0;
  for (let j = 0; j < c; j++) {
    macro += f1[j] as number;
    weighted += (f1[j] as number) * (t.classSizes[j] as number);
  }
  return {
    macro: c > 0 ? macro / c : 0,
    weighted: t.n > 0 ? weighted / t.n : 0,
    classToCluster,
    f1,
    precision,
    recall,
  };
}

/** Metrics from an already built contingency table. */
export function metricsFromContingency(t: Contingency, options: EvaluateOptions = {}): ClusteringMetrics {
  const n = t.n;
  if (n === 0) throw new RangeError('evaluateClustering: no items to evaluate');
  const k = t.clusterLabels.length;
  const c = t.classLabels.length;

  const ari = adjustedRandIndex(t);
  const mi = mutualInformation(t);
  const hClass = entropyOfSizes(t.classSizes, n);
  const hCluster = entropyOfSizes(t.clusterSizes, n);

  let nmi: number;
  if (k === 1 && c === 1) nmi = 1.0;
  else if (mi === 0) nmi = 0.0;
  else nmi = mi / ((hClass + hCluster) / 2);

  const homogeneity = hClass ? mi / hClass : 1.0;
  const completeness = hCluster ? mi / hCluster : 1.0;
  const vMeasure =
    homogeneity + completeness === 0 ? 0 : (2 * homogeneity * completeness) / (homogeneity + completeness);

  const rowMax = new Float64Array(k);
  const colMax = new Float64Array(c);
  for (let i = 0; i < t.counts.length; i++) {
    const v = t.counts[i] as number;
    const r = t.rows[i] as number;
    const col = t.cols[i] as number;
    if (v > (rowMax[r] as number)) rowMax[r] = v;
    if (v > (colMax[col] as number)) colMax[col] = v;
  }
  let purityCount = 0;
  let purityMean = 0;
  for (let r = 0; r < k; r++) {
    purityCount += rowMax[r] as number;
    purityMean += (rowMax[r] as number) / (t.clusterSizes[r] as number);
  }
  let inverseCount = 0;
  for (let j = 0; j < c; j++) inverseCount += colMax[j] as number;

  let unmatchableRow = -1;
  if (options.unmatchableCluster !== undefined) {
    unmatchableRow = t.clusterLabels.indexOf(options.unmatchableCluster);
  }

  return {
    n,
    clusters: k,
    classes: c,
    ari,
    nmi,
    homogeneity,
    completeness,
    vMeasure,
    purity: purityCount / n,
    purityUnweighted: purityMean / k,
    inversePurity: inverseCount / n,
    f1: f1Matching(t, unmatchableRow),
    contingency: t,
  };
}

/**
 * Compare predicted cluster labels with reference class labels (both integer-coded, same length; the
 * values themselves are arbitrary, only equality matters).
 */
export function evaluateClustering(pred: Int32Array, truth: Int32Array, options: EvaluateOptions = {}): ClusteringMetrics {
  return metricsFromContingency(contingencyTable(pred, truth), options);
}
