import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KTried } from '../../../src/cluster/types.js';
import { blobs as syntheticBlobs } from '../../../src/cluster/synthetic.js';
import { bisectingKMeans, chooseWeightedK } from '../../../src/cluster/weightedKMeans.js';
import { splitMergeK, DEFAULT_SPLIT_MERGE } from '../../../src/cluster/splitMerge.js';
import { Rng } from '../../../src/cluster/rng.js';
import { evaluateClustering } from '../../../src/evaluate/metrics.js';

/** `blobs` Gaussian blobs in d dims, `per` rows each with weights 1..5; blob centres 1.0 apart, spread `sd`. */
function blobs(k: number, per: number, d: number, sd: number, seed: number): { x: Float64Array; w: Float64Array; truth: Int32Array; n: number } {
  const r = new Rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
  const n = k * per;
  const x = new Float64Array(n * d);
  const w = new Float64Array(n);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const b = i % k;
    truth[i] = b;
    w[i] = 1 + (i % 5);
    for (let t = 0; t < d; t++) x[i * d + t] = (t === b % d ? 1 : 0) * (1 + Math.floor(b / d)) + sd * gauss();
  }
  return { x, w, truth, n };
}

test('bisecting k-means: splits until the gain stops, finds separated blobs, inertia never rises', () => {
  const { x, w, truth, n } = blobs(6, 40, 4, 0.05, 3);
  // splitting a blob in two gains about a third of its own inertia: 6% of the total at K=6, below 20%
  const r = bisectingKMeans(x, w, n, 4, { kMax: 30, seed: 1, nInit: 3, maxIter: 100, minGain: 0.2 });
  assert.equal(r.fit.k, 6, r.reason);
  assert.equal(evaluateClustering(r.fit.labels, truth).ari, 1);
  for (let i = 1; i < r.scores.length; i++) assert.ok(r.scores[i]!.inertia <= r.scores[i - 1]!.inertia + 1e-9);
  assert.match(r.reason, /K=7 would lower the inertia by/);
  // a small gain over-splits, up to kMax, into clusters that each lie within one blob
  const over = bisectingKMeans(x, w, n, 4, { kMax: 15, seed: 1, nInit: 3, maxIter: 100, minGain: 0.001 });
  assert.equal(over.fit.k, 15);
  const blobOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const l = over.fit.labels[i]!;
    assert.equal(blobOf.get(l) ?? truth[i], truth[i], `cluster ${l} spans two blobs`);
    blobOf.set(l, truth[i]!);
  }
});

test('split-merge: over-split blobs merge back to the blobs whatever the over-splitting', () => {
  const d = 4;
  const { x, w, truth, n } = blobs(5, 60, d, 0.02, 5);
  // pooled sums: each row a "group" with a mass large enough that sampling noise is small
  const D = d + 1;
  const xx = new Float64Array(n * D);
  const comp = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) {
      xx[i * D + t] = x[i * d + t]!;
      comp[i * d + t] = x[i * d + t]! ** 2 * 1e6; // sqrt(comp / mass) = x
    }
  }
  const ones = new Float64Array(n).fill(1);
  const inp = { x: xx, w, n, D, d, comp, mass: new Float64Array(n).fill(1e6), members: ones, cov: ones, red: ones, coverageScale: 0, sqrtTransform: true };
  for (const overSplit of ['bisect', 'grow'] as const) {
    const r = splitMergeK(inp, { ...DEFAULT_SPLIT_MERGE, splitGain: 1e-4, overSplit, kMin: 2, kMax: 20, seed: 0, nInit: 2, maxIter: 100 });
    assert.ok(r.choice.split_k > 5, `${overSplit}: over-split into ${r.choice.split_k}`);
    assert.equal(r.k, 5, `${overSplit}: ${r.choice.reason}`);
    assert.equal(evaluateClustering(r.labels, truth).ari, 1);
  }
});

test('the inertia-elbow K search reports each K it tries, with its inertia', () => {
  const { x, n } = syntheticBlobs(3, 40, 3, 9, 0.2);
  const xx = Float64Array.from(x);
  const w = new Float64Array(n).fill(1);
  const events: KTried[] = [];
  const r = chooseWeightedK(xx, w, n, 3, { kMin: 1, kMax: 8, seed: 0, nInit: 1, maxIter: 50, minGain: 0.5, onK: (e) => events.push(e) });
  assert.deepEqual(events.map((e) => e.k), r.choice.scores.map((s) => s.k));
  assert.deepEqual(events.map((e) => e.inertia), r.choice.scores.map((s) => s.inertia));
  assert.deepEqual(events.map((e) => e.done), events.map((_, i) => i + 1));
  assert.ok(events.length < 8, 'the search stopped at the elbow');
  assert.equal(r.choice.k, 3);
});
