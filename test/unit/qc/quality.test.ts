import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutFront, cutTail } from '../../../src/qc/quality.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('fastp reference case: cut_front + cut_tail, window 4, Q20', () => {
  // fastp's own unit test (Filter::test): trimAndCut with front=0, tail=1.
  const seq = 'TTTTAACCCCCCCCCCCCCCCCCCCCCCCCCCCCAATTTT';
  const qual = '/////CCCCCCCCCCCC////CCCCCCCCCCCCCC////E';
  const b = enc(seq + qual);
  const len = seq.length - 1; // fastp's test trims one tail base first
  const q0 = seq.length;
  const front = cutFront(b, 0, q0, len, 4, 20);
  const keep = cutTail(b, front, q0 + front, len - front, 4, 20);
  assert.equal(seq.slice(front, front + keep), 'CCCCCCCCCCCCCCCCCCCCCCCCCCCC');
  assert.equal(qual.slice(front, front + keep), 'CCCCCCCCCCC////CCCCCCCCCCCCC');
});
