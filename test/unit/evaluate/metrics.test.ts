import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contingencyTable, denseContingency, evaluateClustering } from '../../../src/evaluate/index.js';
import { matchingComponents } from '../../../src/evaluate/metrics.js';

const i32 = (a: number[]): Int32Array => Int32Array.from(a);
const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} vs ${b}`);

void test('ARI reference values (scikit-learn documentation examples)', () => {
  close(evaluateClustering(i32([0, 0, 1, 1]), i32([0, 0, 1, 1])).ari, 1);
  close(evaluateClustering(i32([1, 1, 0, 0]), i32([0, 0, 1, 1])).ari, 1);
  close(evaluateClustering(i32([0, 0, 1, 2]), i32([0, 0, 1, 1])).ari, 4 / 7);
  close(evaluateClustering(i32([0, 0, 1, 1]), i32([0, 0, 1, 2])).ari, 4 / 7);
  close(evaluateClustering(i32([0, 1, 2, 3]), i32([0, 0, 0, 0])).ari, 0);
  close(evaluateClustering(i32([0, 1, 0, 1]), i32([0, 0, 1, 1])).ari, -0.5);
});

void test('entropy-based metrics on simple cases', () => {
  const perfect = evaluateClustering(i32([5, 5, 9, 9, 7]), i32([0, 0, 1, 1, 2]));
  for (const k of ['nmi', 'homogeneity', 'completeness', 'vMeasure'] as const) close(perfect[k], 1, k);
  // Splitting a class keeps homogeneity at 1 but lowers completeness.
  const split = evaluateClustering(i32([0, 1, 2, 2]), i32([0, 0, 1, 1]));
  close(split.homogeneity, 1);
  assert.ok(split.completeness < 1 && split.completeness > 0);
  close(split.vMeasure, (2 * split.homogeneity * split.completeness) / (split.homogeneity + split.completeness));
  close(split.nmi, split.vMeasure, 'NMI(arithmetic) equals V-measure');
  // Degenerate: one cluster and one class -> 1 (scikit-learn convention).
  const one = evaluateClustering(i32([3, 3, 3]), i32([1, 1, 1]));
  assert.deepEqual([one.ari, one.nmi, one.homogeneity, one.completeness, one.vMeasure], [1, 1, 1, 1, 1]);
  // One cluster, several classes: NMI 0, completeness 1, homogeneity 0.
  const lump = evaluateClustering(i32([0, 0, 0, 0]), i32([0, 0, 1, 1]));
  assert.deepEqual([lump.ari, lump.nmi, lump.homogeneity, lump.completeness, lump.vMeasure], [0, 0, 0, 1, 0]);
});

void test('purity, inverse purity and Hungarian F1', () => {
  const m = evaluateClustering(i32([0, 0, 0, 1, 1, 2]), i32([0, 0, 1, 1, 1, 2]));
  close(m.purity, 5 / 6);
  close(m.purityUnweighted, (2 / 3 + 1 + 1) / 3);
  close(m.inversePurity, 5 / 6);
  assert.equal(m.clusters, 3);
  assert.equal(m.classes, 3);
  assert.deepEqual(Array.from(m.f1.classToCluster), [0, 1, 2]);
  close(m.f1.f1[0] as number, 0.8);
  close(m.f1.f1[1] as number, 0.8);
  close(m.f1.f1[2] as number, 1);
  close(m.f1.precision[0] as number, 2 / 3);
  close(m.f1.recall[1] as number, 2 / 3);
  close(m.f1.macro, 2.6 / 3);
  close(m.f1.weighted, (0.8 * 2 + 0.8 * 3 + 1) / 6);

  // One-to-one matching maximising the summed pair F1: class 1 takes cluster 0, class 0 cluster 1.
  const pred = i32([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  const truth = i32([0, 0, 0, 1, 1, 1, 0, 0, 0, 2]);
  const g = evaluateClustering(pred, truth);
  // pair F1: (c0,k0)=6/12, (c0,k1)=6/9, (c1,k0)=6/10, (c1,k2)=2/5 -> best (c0,k1)+(c1,k0)
  assert.deepEqual(Array.from(g.f1.classToCluster), [1, 0, -1]);
  close(g.f1.macro, (6 / 10 + 6 / 9 + 0) / 3);

  // More classes than clusters: unmatched classes score 0.
  const lump = evaluateClustering(i32([0, 0, 0, 0]), i32([0, 0, 1, 2]));
  assert.equal(Array.from(lump.f1.classToCluster).filter((x) => x >= 0).length, 1);
  close(lump.f1.macro, (2 * 2) / (4 + 2) / 3);

  // An unmatchable cluster (e.g. "unassigned") never takes a class.
  const un = evaluateClustering(i32([-1, -1, -1, 0]), i32([0, 0, 0, 0]), { unmatchableCluster: -1 });
  assert.deepEqual(Array.from(un.f1.classToCluster), [1]); // row 1 = cluster 0
  close(un.f1.f1[0] as number, (2 * 1) / (1 + 4));
});

void test('F1 matching scales to many clusters (all singletons, 20000 reads, 50 classes)', () => {
  const n = 20000;
  const pred = Int32Array.from({ length: n }, (_, i) => i);
  const truth = Int32Array.from({ length: n }, (_, i) => i % 50);
  const m = evaluateClustering(pred, truth);
  assert.equal(m.clusters, n);
  close(m.purity, 1);
  close(m.f1.macro, 2 / (1 + n / 50));
  // Work: the matching is solved per component of the pruned overlap graph, each class with its top-50
  // clusters, so the Hungarian sees 50 problems of 50 x 1 cells instead of one 20000 x 50 table.
  const comps = matchingComponents(m.contingency, -1);
  assert.equal(comps.length, 50);
  let cells = 0;
  for (const comp of comps) {
    const rows = new Set(comp.map((e) => e.r)).size;
    const cols = new Set(comp.map((e) => e.c)).size;
    assert.equal(cols, 1);
    assert.ok(rows <= 50, `component with ${rows} clusters`);
    cells += rows * cols;
  }
  assert.equal(cells, 50 * 50);
});

void test('contingency table is exact and sorted', () => {
  const t = contingencyTable(i32([2, 2, -1, 2]), i32([7, 8, 7, 7]));
  assert.deepEqual(Array.from(t.clusterLabels), [-1, 2]);
  assert.deepEqual(Array.from(t.classLabels), [7, 8]);
  assert.deepEqual(Array.from(denseContingency(t)), [1, 0, 2, 1]);
  assert.deepEqual(Array.from(t.clusterSizes), [1, 3]);
  assert.deepEqual(Array.from(t.classSizes), [3, 1]);
  assert.throws(() => evaluateClustering(i32([1]), i32([1, 2])), RangeError);
  assert.throws(() => evaluateClustering(i32([]), i32([])), RangeError);
});
