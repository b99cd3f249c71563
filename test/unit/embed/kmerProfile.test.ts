import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kmerTable, countKmers, normaliseRow } from '../../../src/embed/kmerProfile.js';
import { randomSeq, revcomp, rng } from '../../helpers/fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('canonical k-mer dimensions and strand symmetry', () => {
  assert.deepEqual([3, 4, 5, 6].map((k) => kmerTable(k).dim), [32, 136, 512, 2080]);
  const t = kmerTable(4);
  const s = randomSeq(300, rng(11));
  const a = new Float32Array(t.dim);
  const b = new Float32Array(t.dim);
  normaliseRow(a, 0, t.dim, countKmers(t, enc(s), 0, 300, a, 0), 'freq');
  normaliseRow(b, 0, t.dim, countKmers(t, enc(revcomp(s)), 0, 300, b, 0), 'freq');
  assert.deepEqual(a, b);
  assert.ok(Math.abs(a.reduce((x, y) => x + y, 0) - 1) < 1e-5);
  const c = new Float32Array(t.dim);
  normaliseRow(c, 0, t.dim, countKmers(t, enc(s), 0, 300, c, 0), 'clr');
  assert.ok(Math.abs(c.reduce((x, y) => x + y, 0)) < 1e-3, 'CLR rows sum to 0');
});
