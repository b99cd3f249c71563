import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseK, createInProcessExecutor } from '../../../src/cluster/index.js';
import type { KTried } from '../../../src/cluster/types.js';
import { blobs } from '../../../src/cluster/synthetic.js';

test('chooseK (gap and silhouette) reports every K once, when its runs are done', async () => {
  const { x, n } = blobs(3, 60, 4, 5);
  for (const method of ['gap', 'silhouette'] as const) {
    const events: KTried[] = [];
    const r = await chooseK(createInProcessExecutor(x, n, 4), { kMin: 2, kMax: 6, seed: 1, nInit: 1, maxIter: 50, tol: 1e-4, method, onK: (e) => events.push(e) });
    assert.deepEqual(events.map((e) => e.k).sort(), [2, 3, 4, 5, 6], method);
    assert.deepEqual(events.map((e) => e.done), [1, 2, 3, 4, 5]);
    assert.ok(events.every((e) => e.total === 5));
    // reporting changes nothing
    const quiet = await chooseK(createInProcessExecutor(x, n, 4), { kMin: 2, kMax: 6, seed: 1, nInit: 1, maxIter: 50, tol: 1e-4, method });
    assert.deepEqual(r, quiet);
  }
});
