/**
 * Sparse contingency table between a predicted labelling (clusters) and a reference labelling (classes).
 * Counting is exact (integers stored in float64 are exact up to 2^53).
 */
export interface Contingency {
  /** Number of labelled items. */
  n: number;
  /** Distinct predicted labels, ascending; row index r of the table is cluster `clusterLabels[r]`. */
  clusterLabels: Int32Array;
  /** Distinct reference labels, ascending; column index c of the table is class `classLabels[c]`. */
  classLabels: Int32Array;
  /** Items per cluster (row sums). */
  clusterSizes: Float64Array;
  /** Items per class (column sums). */
  classSizes: Float64Array;
  /** Non-zero cells in COO form, sorted by (row, col). */
  rows: Int32Array;
  cols: Int32Array;
  counts: Float64Array;
}

/** Dense index of each value (ascending order of the distinct values). */
function encode(values: Int32Array): { labels: Int32Array; codes: Int32Array } {
  const distinct = Array.from(new Set(values)).sort((a, b) => a - b);
  const index = new Map<number, number>();
  distinct.forEach((v, i) => index.set(v, i));
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = index.get(values[i] as number) as number;
  return { labels: Int32Array.from(distinct), codes };
}

export function contingencyTable(pred: Int32Array, truth: Int32Array): Contingency {
  if (pred.length !== truth.length) {
    throw new RangeError(`contingencyTable: ${pred.length} predicted labels but ${truth.length} reference labels`);
  }
  const n = pred.length;
  const p = encode(pred);
  const t = encode(truth);
  const k = p.labels.length;
  const c = t.labels.length;
  const clusterSizes = new Float64Array(k);
  const classSizes = new Float64Array(c);
  const cells = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = p.codes[i] as number;
    const col = t.codes[i] as number;
    clusterSizes[r] = (clusterSizes[r] as number) + 1;
    classSizes[col] = (classSizes[col] as number) + 1;
    const key = r * c + col; // < 2^53 for any realistic k*c
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  const keys = Float64Array.from(cells.keys()).sort();
  const rows = new Int32Array(keys.length);
  const cols = new Int32Array(keys.length);
  const counts = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as number;
    const r = Math.floor(key / c);
    rows[i] = r;
    cols[i] = key - r * c;
    counts[i] = cells.get(key) as number;
  }
  return { n, clusterLabels: p.labels, classLabels: t.labels, clusterSizes, classSizes, rows, cols, counts };
}

/**
 * Dense row-major copy (clusters x classes). Refuses tables above `maxCells` cells (default 50 million) to
 * avoid accidental huge allocations, e.g. with all-singleton clusterings.
 */
export function denseContingency(t: Contingency, maxCells = 50_000_000): Float64Array {
  const k = t.clusterLabels.length;
  const c = t.classLabels.length;
  if (k * c > maxCells) {
    throw new RangeError(`denseContingency: ${k} x ${c} table exceeds ${maxCells} cells`);
  }
  const out = new Float64Array(k * c);
  for (let i = 0; i < t.counts.length; i++) out[(t.rows[i] as number) * c + (t.cols[i] as number)] = t.counts[i] as number;
  return out;
}
