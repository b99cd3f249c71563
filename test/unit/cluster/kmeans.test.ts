import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetavecError } from '../../../src/errors.js';
import {
  accumulateBlock, centerSqNorms, distancesBlock, nearestBlock, rowSqNorms,
} from '../../../src/cluster/kernels.js';
import { Rng, hashUniform } from '../../../src/cluster/rng.js';
import { createInProcessExecutor, kmeans, chooseK, BLOCK_ROWS } from '../../../src/cluster/index.js';
import type { KMeansOptions } from '../../../src/cluster/index.js';
import { lloyd } from '../../../src/cluster/kmeans.js';
import { meanSilhouette, pairwiseDistances } from '../../../src/cluster/chooseK.js';
import { createLocalKMeansExecutor } from '../../../src/engines/local/kmeansPool.js';
import { blobs, profileMixture, samePartition } from '../../../src/cluster/synthetic.js';

function randomMatrix(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * d }, () => rng.nextDouble() * 2 - 1);
}

function naiveD2(x: Float32Array, i: number, c: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += (x[i * d + t]! - c[j * d + t]!) ** 2;
  return s;
}

const BASE: Omit<KMeansOptions, 'k'> = { seed: 1, nInit: 2, maxIter: 100, tol: 1e-4, init: 'k-means++', algorithm: 'lloyd' };

void test('kmeans kernels match a naive reference on random data', () => {
  for (const [n, d, m] of [[37, 5, 1], [64, 136, 7], [101, 17, 9], [3, 3, 4]] as const) {
    const x = randomMatrix(n, d, n + d + m);
    const c = Float64Array.from(randomMatrix(m, d, 99 + m));
    const xNorms = new Float64Array(n);
    rowSqNorms(x, d, 0, n, xNorms);
    const cNorms = new Float64Array(m);
    centerSqNorms(c, m, d, cNorms);
    const label = new Int32Array(n);
    const d2 = new Float64Array(n);
    // Offset block: rows [1, n) to exercise r0 > 0.
    nearestBlock(x, d, 1, n, xNorms, c, cNorms, m, label.subarray(1), d2.subarray(1));
    nearestBlock(x, d, 0, 1, xNorms, c, cNorms, m, label, d2);
    const dist = new Float64Array(n * m);
    distancesBlock(x, d, 0, n, xNorms, c, cNorms, m, dist);
    for (let i = 0; i < n; i++) {
      let best = Infinity, bj = -1;
      for (let j = 0; j < m; j++) {
        const ref = naiveD2(x, i, c, j, d);
        assert.ok(Math.abs(dist[i * m + j]! - ref) < 1e-9 * (1 + ref), `dist ${i},${j}`);
        if (ref < best) { best = ref; bj = j; }
      }
      assert.equal(label[i], bj, `label of row ${i}`);
      assert.ok(Math.abs(d2[i]! - best) < 1e-9 * (1 + best));
    }
    const sums = new Float64Array(m * d);
    const counts = new Float64Array(m);
    const labels = new Int32Array(n).fill(-1);
    const dist2 = new Float64Array(n);
    const changed = new Float64Array(1);
    const inertia = accumulateBlock(x, d, 0, n, label, d2, labels, dist2, false, sums, counts, changed);
    assert.equal(changed[0], n);
    const refSums = new Float64Array(m * d);
    let refInertia = 0;
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < d; t++) refSums[label[i]! * d + t] = refSums[label[i]! * d + t]! + x[i * d + t]!;
      refInertia += d2[i]!;
    }
    assert.deepEqual(Array.from(sums).map((v) => v.toFixed(9)), Array.from(refSums).map((v) => v.toFixed(9)));
    assert.equal(Array.from(counts).reduce((a, b) => a + b, 0), n);
    assert.ok(Math.abs(inertia - refInertia) < 1e-9 * refInertia);
    assert.deepEqual(Array.from(labels), Array.from(label));
  }
});

void test('kmeans Rng and hashUniform are deterministic and uniform-ish', () => {
  const a = new Rng(42), b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
  let s = 0;
  for (let i = 0; i < 10000; i++) { const u = hashUniform(7, i); assert.ok(u >= 0 && u < 1); s += u; }
  assert.ok(Math.abs(s / 10000 - 0.5) < 0.02);
  assert.equal(hashUniform(7, 123), hashUniform(7, 123));
});

void test('kmeans recovers separable Gaussian blobs (k=3,5,8; k-means++ and k-means||, lloyd and minibatch)', async () => {
  for (const k of [3, 5, 8]) {
    const { x, n, truth } = blobs(k, 400, 10, 100 + k);
    const exec = createInProcessExecutor(x, n, 10);
    for (const init of ['k-means++', 'k-means||'] as const) {
      const r = await kmeans(exec, { ...BASE, k, init });
      assert.ok(samePartition(r.labels, truth), `k=${k} ${init}: partition recovered`);
      assert.equal(r.algorithm, 'lloyd');
      assert.equal(r.init, init);
      assert.ok(r.converged);
      assert.equal(r.centroids.length, k * 10);
      assert.equal(r.clusterSize.reduce((a, b) => a + b, 0), n);
      // inertia == sum of squared distances, history non-increasing
      let s = 0;
      for (let i = 0; i < n; i++) s += r.distances[i]! ** 2;
      assert.ok(Math.abs(s - r.inertia) < 1e-4 * r.inertia);
      for (let i = 1; i < r.objectiveHistory.length; i++) assert.ok(r.objectiveHistory[i]! <= r.objectiveHistory[i - 1]! * (1 + 1e-12));
    }
    const mb = await kmeans(exec, { ...BASE, k, algorithm: 'minibatch', batchSize: 256 });
    assert.equal(mb.algorithm, 'minibatch');
    assert.ok(samePartition(mb.labels, truth), `k=${k} minibatch: partition recovered`);
  }
});

void test('kmeans is deterministic: in-process, 1 and 2 worker threads give identical labels and bitwise-identical centroids', async () => {
  const d = 24;
  const n = 3 * BLOCK_ROWS + 123;
  const x = profileMixture(6, n, d, 5, 0.01);
  const opts: KMeansOptions = { k: 6, seed: 9, nInit: 2, maxIter: 50, tol: 1e-6, init: 'k-means++', algorithm: 'lloyd' };
  const ref = await kmeans(createInProcessExecutor(x, n, d), opts);
  const refPar = await kmeans(createInProcessExecutor(x, n, d), { ...opts, init: 'k-means||' });
  for (const threads of [1, 2]) {
    const exec = await createLocalKMeansExecutor(x, n, d, threads);
    try {
      for (const [want, o] of [[ref, opts], [refPar, { ...opts, init: 'k-means||' as const }]] as const) {
        const r = await kmeans(exec, o);
        assert.deepEqual(r.labels, want.labels, `labels, ${threads} thread(s), ${o.init}`);
        assert.deepEqual(new Uint32Array(r.centroids.buffer), new Uint32Array(want.centroids.buffer), `centroid bits, ${threads} thread(s)`);
        assert.equal(r.inertia, want.inertia);
        assert.deepEqual(r.objectiveHistory, want.objectiveHistory);
        assert.equal(r.iterations, want.iterations);
      }
    } finally {
      await exec.close();
    }
  }
});

void test('kmeans relocates an empty cluster to the farthest point', async () => {
  // Two tight groups; the third initial center is far from everything and gets no rows.
  const d = 2;
  const pts = [[0, 0], [0.1, 0], [0, 0.1], [5, 5], [5.1, 5], [5, 5.1], [9, 9]];
  const x = Float32Array.from(pts.flat());
  const exec = createInProcessExecutor(x, pts.length, d);
  await exec.prepare();
  const init = Float32Array.from([0, 0, 5, 5, 100, 100]);
  const run = await lloyd(exec, init, 3, 50, 0);
  const final = await exec.labelsAndDistances(run.centroids, 3);
  assert.ok(final.clusterSize.every((c) => c > 0), `sizes ${Array.from(final.clusterSize).join(',')}`);
  // The outlier (9,9) is the farthest point from its center: it must get its own cluster.
  const outlier = final.labels[6]!;
  assert.equal(final.clusterSize[outlier], 1);
  assert.deepEqual(Array.from(run.centroids.subarray(outlier * d, outlier * d + d)), [9, 9]);
  // And via kmeans() with k = number of distinct points: every cluster non-empty, inertia 0.
  const dup = Float32Array.from([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
  const r = await kmeans(createInProcessExecutor(dup, 5, 2), { ...BASE, k: 3 });
  assert.ok(r.clusterSize.every((c) => c > 0));
  assert.equal(r.inertia, 0);
});

void test('kmeans rejects bad parameters and non-finite data with MetavecError', async () => {
  const x = randomMatrix(10, 3, 1);
  const exec = createInProcessExecutor(x, 10, 3);
  const isUsage = (msg: RegExp) => (e: unknown) => e instanceof MetavecError && e.code === 'USAGE' && msg.test(e.message);
  await assert.rejects(kmeans(exec, { ...BASE, k: 0 }), isUsage(/k must be an integer >= 1/));
  await assert.rejects(kmeans(exec, { ...BASE, k: 12 }), isUsage(/k=12 exceeds the number of fragments \(10\)/));
  await assert.rejects(kmeans(exec, { ...BASE, k: 2, nInit: 0 }), isUsage(/nInit must be an integer >= 1/));
  await assert.rejects(kmeans(exec, { ...BASE, k: 2, maxIter: 0 }), isUsage(/maxIter/));
  await assert.rejects(kmeans(exec, { ...BASE, k: 2, tol: -1 }), isUsage(/tol/));
  const bad = x.slice();
  bad[7] = NaN;
  bad[20] = Infinity;
  await assert.rejects(kmeans(createInProcessExecutor(bad, 10, 3), { ...BASE, k: 2 }),
    (e: unknown) => e instanceof MetavecError && e.code === 'INPUT' && /2 non-finite value\(s\).*row 2, column 1/.test(e.message));
  await assert.rejects(chooseK(exec, { kMin: 2, kMax: 11, seed: 0, nInit: 1, maxIter: 10, tol: 1e-4 }), isUsage(/kMax=11 exceeds/));
  assert.throws(() => createInProcessExecutor(x, 11, 3), isUsage(/expected n\*d/));
  await assert.rejects(createLocalKMeansExecutor(x, 10, 3, 0), isUsage(/threads/));
});

void test('silhouette matches a direct computation on a tiny example', () => {
  // 1-D points: {0, 1} and {10, 11}: a = 1, b = 10 (or 9, 11 ...).
  const x = Float32Array.from([0, 1, 10, 11]);
  const dist = pairwiseDistances(x, 4, 1);
  const s = meanSilhouette(dist, Int32Array.from([0, 0, 1, 1]), 4, 2);
  const ref = [(10.5 - 1) / 10.5, (9.5 - 1) / 9.5, (9.5 - 1) / 9.5, (10.5 - 1) / 10.5];
  assert.ok(Math.abs(s - ref.reduce((a, b) => a + b) / 4) < 1e-12);
});

void test('chooseK (gap statistic, and silhouette) finds the true k on separated Gaussian blobs (k = 3, 5, 8)', async () => {
  for (const k of [3, 5, 8]) {
    const { x, n } = blobs(k, 300, 8, 200 + k, 1);
    const exec = createInProcessExecutor(x, n, 8);
    const r = await chooseK(exec, { kMin: 1, kMax: 10, seed: 3, nInit: 2, maxIter: 100, tol: 1e-4, sampleSize: 2000 });
    assert.equal(r.k, k, r.reason);
    assert.equal(r.scores.length, 10);
    assert.match(r.method, /gap statistic/);
    const s = await chooseK(exec, { kMin: 2, kMax: 10, seed: 3, nInit: 2, maxIter: 100, tol: 1e-4, sampleSize: 2000, method: 'silhouette' });
    assert.equal(s.k, k, s.reason);
    assert.match(s.method, /silhouette/);
  }
});

void test('chooseK gap statistic returns k=1 on a single Gaussian blob', async () => {
  const { x, n } = blobs(1, 1500, 6, 77, 1);
  const r = await chooseK(createInProcessExecutor(x, n, 6), { kMin: 1, kMax: 6, seed: 1, nInit: 2, maxIter: 100, tol: 1e-4 });
  assert.equal(r.k, 1, r.reason);
});
