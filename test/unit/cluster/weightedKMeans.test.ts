import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KTried } from '../../../src/cluster/types.js';
import { blobs } from '../../../src/cluster/synthetic.js';
import { chooseWeightedK } from '../../../src/cluster/weightedKMeans.js';

test('the inertia-elbow K search reports each K it tries, with its inertia', () => {
  const { x, n } = blobs(3, 40, 3, 9, 0.2);
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
