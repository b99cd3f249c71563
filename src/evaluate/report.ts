import { inputError } from '../errors.js';
import { contingencyTable } from './contingency.js';
import { metricsFromContingency, type ClusteringMetrics } from './metrics.js';

export interface ClusterLabels {
  readIds: string[];
  clusters: Int32Array;
}

/** Reads per (cluster, class) over the assigned reads, with class names; sparse COO sorted by cluster. */
export interface ConfusionMatrix {
  /** All classes of the truth table, sorted; column j is classNames[j]. */
  classNames: string[];
  /** Distinct cluster ids among the assigned reads, ascending; row i is cluster clusterIds[i]. */
  clusterIds: Int32Array;
  rows: Int32Array;
  cols: Int32Array;
  counts: Float64Array;
  /** Per class: truth reads of that class in total, and those without a label. */
  classTotals: Float64Array;
  unassigned: Float64Array;
}

export interface EvalReport {
  /** Rows in the truth table. */
  truthReads: number;
  /** Rows in the labels. */
  labelledReads: number;
  /** Truth reads that have a label (the reads `assigned` is computed on). */
  assignedReads: number;
  /** assignedReads / truthReads. */
  assignedFraction: number;
  /** Truth reads without a label (dropped by QC, dedup, ...). */
  unassignedReads: number;
  /** Labelled read_ids absent from the truth table (not evaluated), and up to 5 examples. */
  unknownReads: number;
  unknownExamples: string[];
  /** Class names (sorted); class code j in the contingency tables of the metrics is classNames[j]. */
  classNames: string[];
  /** Metrics over the reads that have both a label and a truth row. */
  assigned: ClusteringMetrics;
  /**
   * Metrics over all truth reads, the reads without a label forming one extra cluster with id
   * `unassignedCluster` (excluded from the F1 matching).
   */
  allReads: ClusteringMetrics;
  unassignedCluster: number;
  confusion: ConfusionMatrix;
}

/**
 * Evaluate cluster labels against a truth map (read_id -> class name, see loadTruth).
 * Throws MetavecError('INPUT') when labels are malformed or share no read with the truth.
 */
export function evaluateLabels(labels: ClusterLabels, truth: Map<string, string>): EvalReport {
  const { readIds, clusters } = labels;
  if (readIds.length !== clusters.length) {
    throw inputError(`labels: ${readIds.length} read ids but ${clusters.length} cluster values`);
  }
  const classNames = Array.from(new Set(truth.values())).sort();
  const classCode = new Map<string, number>();
  classNames.forEach((name, i) => classCode.set(name, i));

  const labelOf = new Map<string, number>();
  let unknownReads = 0;
  const unknownExamples: string[] = [];
  for (let i = 0; i < readIds.length; i++) {
    const id = readIds[i] as string;
    if (labelOf.has(id)) throw inputError(`labels: duplicate read_id '${id}' (row ${i + 1})`);
    const cl = clusters[i] as number;
    labelOf.set(id, cl);
    if (!truth.has(id)) {
      unknownReads++;
      if (unknownExamples.length < 5) unknownExamples.push(id);
    }
  }
  const assignedReads = readIds.length - unknownReads;
  if (assignedReads === 0) {
    const ex = readIds.slice(0, 3).join(', ');
    const tex = Array.from(truth.keys()).slice(0, 3).join(', ');
    throw inputError(
      `labels and truth have no read_id in common (${readIds.length} labelled reads, e.g. ${ex || 'none'}; ` +
        `${truth.size} truth reads, e.g. ${tex || 'none'})`,
    );
  }

  let minCluster = 0;
  let hasMinusOne = false;
  for (const c of clusters) {
    if (c < minCluster) minCluster = c;
    if (c === -1) hasMinusOne = true;
  }
  const unassignedCluster = hasMinusOne ? minCluster - 1 : -1;
  if (unassignedCluster < -2147483648) throw inputError('labels: cluster ids span the whole int32 range');

  const predA = new Int32Array(assignedReads);
  const truthA = new Int32Array(assignedReads);
  const predAll = new Int32Array(truth.size);
  const truthAll = new Int32Array(truth.size);
  const classTotals = new Float64Array(classNames.length);
  const unassigned = new Float64Array(classNames.length);
  let a = 0;
  let t = 0;
  for (const [id, name] of truth) {
    const code = classCode.get(name) as number;
    classTotals[code] = (classTotals[code] as number) + 1;
    const cl = labelOf.get(id);
    truthAll[t] = code;
    if (cl === undefined) {
      predAll[t] = unassignedCluster;
      unassigned[code] = (unassigned[code] as number) + 1;
    } else {
      predAll[t] = cl;
      predA[a] = cl;
      truthA[a] = code;
      a++;
    }
    t++;
  }

  const assigned = metricsFromContingency(contingencyTable(predA, truthA));
  const allReads = metricsFromContingency(contingencyTable(predAll, truthAll), { unmatchableCluster: unassignedCluster });

  const ct = assigned.contingency;
  const confusion: ConfusionMatrix = {
    classNames,
    clusterIds: ct.clusterLabels,
    rows: ct.rows,
    cols: Int32Array.from(ct.cols, (j) => ct.classLabels[j] as number),
    counts: ct.counts,
    classTotals,
    unassigned,
  };

  return {
    truthReads: truth.size,
    labelledReads: readIds.length,
    assignedReads,
    assignedFraction: truth.size > 0 ? assignedReads / truth.size : 0,
    unassignedReads: truth.size - assignedReads,
    unknownReads,
    unknownExamples,
    classNames,
    assigned,
    allReads,
    unassignedCluster,
    confusion,
  };
}
