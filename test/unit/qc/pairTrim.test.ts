// The pair clipping rule (fastp's adapter trimmer): a pair whose insert is shorter than its reads is cut to the
// overlap; otherwise, and for single reads, each mate is cut at its adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodedAdapters } from '../../../src/qc/adapterChoice.js';
import { DEFAULT_QC } from '../../../src/qc/params.js';
import { clipAdapters, newTrimTally } from '../../../src/qc/pairTrim.js';
import { allocStats } from '../../../src/qc/stats.js';
import { randomSeq, revcomp, rng } from '../../helpers/fixtures.js';

const A1 = 'AGATCGGAAGAGCACACGTCTGAACTCCAGTCA';
const A2 = 'AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT';
const bytes = (s: string) => new TextEncoder().encode(s);

test('clipAdapters: a pair with an 80 bp insert in 100 bp reads is cut to the insert by its overlap', () => {
  const insert = randomSeq(80, rng(3));
  const b1 = bytes(insert + A1.slice(0, 20));
  const b2 = bytes(revcomp(insert) + A2.slice(0, 20));
  const v1 = { start: 0, len: 100 };
  const v2 = { start: 0, len: 100 };
  const tally = newTrimTally();
  clipAdapters(b1, v1, 0, [], b2, v2, 0, [], { ...DEFAULT_QC }, allocStats(), tally);
  assert.deepEqual([v1.len, v2.len], [80, 80]);
  assert.equal(tally.overlapFragments, 1);
  assert.equal(tally.sequenceFragments, 0);
  assert.equal(tally.adapterBases, 40);
});

test('clipAdapters: without an overlap (single read) the adapter sequence cuts; no adapter, no cut', () => {
  const insert = randomSeq(80, rng(4));
  const v = { start: 0, len: 100 };
  const none = { start: 0, len: 0 };
  const tally = newTrimTally();
  clipAdapters(bytes(insert + A1.slice(0, 20)), v, 0, encodedAdapters([A1]), undefined, none, 0, [], { ...DEFAULT_QC }, allocStats(), tally);
  assert.equal(v.len, 80);
  assert.deepEqual([tally.sequenceFragments, tally.adapterBases, tally.overlapFragments], [1, 20, 0]);
  const clean = { start: 0, len: 100 };
  clipAdapters(bytes(randomSeq(100, rng(5))), clean, 0, encodedAdapters([A1]), undefined, none, 0, [], { ...DEFAULT_QC }, allocStats(), tally);
  assert.equal(clean.len, 100);
  assert.equal(tally.sequenceFragments, 1);
});
