import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateFilter } from '../../../src/dedup/bloom.js';

test('duplicate filter: repeats are flagged, distinct fingerprints are not', () => {
  const f = new DuplicateFilter(1 << 20);
  let fp = 0;
  for (let i = 0; i < 10000; i++) if (f.testAndSet(Math.imul(i, 2654435761) >>> 0, Math.imul(i + 7, 40503) >>> 0)) fp++;
  assert.ok(fp < 5, `false positives ${fp}`);
  assert.equal(f.testAndSet(2654435761 * 3 >>> 0, Math.imul(10, 40503) >>> 0), true);
});

/** Random bases with N (and, with `odd`, a byte the fast paths cannot encode), and point mutations. */
