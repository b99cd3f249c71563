import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trimPolyG, medianCutoff } from '../../../src/qc/quality.js';
import { filterRead } from '../../../src/qc/filters.js';
import { DEFAULT_QC, FilterReason } from '../../../src/qc/params.js';
import { randomSeq, rng } from '../../helpers/fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('poly-G, filters and the median-quality rule', () => {
  const s = enc('ACGTACGTAC' + 'G'.repeat(15));
  const v = { start: 0, len: s.length };
  assert.equal(trimPolyG(s, v, 10), 15);
  const n = enc('NNNNNNNNNNACGTACGTACGTACGTACGTACGT' + 'I'.repeat(34));
  assert.equal(filterRead(n, 34, 0, 34, DEFAULT_QC), FilterReason.TooManyN);
  const lc = enc('A'.repeat(40) + 'I'.repeat(40));
  assert.equal(filterRead(lc, 40, 0, 40, DEFAULT_QC), FilterReason.LowComplexity);
  const lq = enc(randomSeq(40, rng(3)) + '#'.repeat(40));
  assert.equal(filterRead(lq, 40, 0, 40, DEFAULT_QC), FilterReason.LowQuality);
  const hist = new Float64Array(10 * 94);
  for (let pos = 0; pos < 10; pos++) hist[pos * 94 + (pos < 7 ? 35 : 12)] = 5;
  assert.equal(medianCutoff(hist, 10, 20), 7);
});
