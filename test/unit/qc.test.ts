import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findAdapter, findOverlap, detectAdapter, KNOWN_ADAPTERS } from '../../src/qc/adapters.js';
import { cutFront, cutTail, trimPolyG, medianCutoff } from '../../src/qc/quality.js';
import { filterRead } from '../../src/qc/filters.js';
import { DEFAULT_QC, FilterReason } from '../../src/qc/params.js';
import { kmerTable, countKmers, normaliseRow } from '../../src/embed/kmerProfile.js';
import { DuplicateFilter } from '../../src/dedup/bloom.js';
import { randomSeq, revcomp, rng } from '../helpers/fixtures.js';

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

test('overlap analysis clips both mates of a short insert at the insert length', () => {
  const r = rng(7);
  const insert = randomSeq(80, r);
  const a1 = KNOWN_ADAPTERS['Illumina TruSeq R1 (universal)']!;
  const a2 = KNOWN_ADAPTERS['Illumina TruSeq R2']!;
  const r1 = (insert + a1 + randomSeq(100, r)).slice(0, 150);
  const r2 = (revcomp(insert) + a2 + randomSeq(100, r)).slice(0, 150);
  const fit = findOverlap(enc(r1), 0, 150, enc(r2), 0, 150, 30, 5, 0.2);
  assert.ok(fit.found);
  assert.ok(fit.offset < 0);
  assert.equal(fit.overlap, 80);
});

test('overlap analysis finds no adapter for a long insert', () => {
  const r = rng(8);
  const frag = randomSeq(400, r);
  const fit = findOverlap(enc(frag.slice(0, 150)), 0, 150, enc(revcomp(frag).slice(0, 150)), 0, 150, 30, 5, 0.2);
  assert.ok(!fit.found || fit.offset >= 0);
});

test('adapter found by sequence, with one mismatch per 8 bases', () => {
  const r = rng(9);
  const a = KNOWN_ADAPTERS['Illumina TruSeq R1 (universal)']!;
  const read = randomSeq(100, r) + a.slice(0, 10).replace('T', 'A') + a.slice(10, 30);
  assert.equal(findAdapter(enc(read), 0, read.length, enc(a)), 100);
  const clean = randomSeq(130, rng(10));
  assert.equal(findAdapter(enc(clean), 0, clean.length, enc(a)), -1);
  const reads = Array.from({ length: 200 }, (_, i) => enc(i % 10 === 0 ? randomSeq(60, r) + a : randomSeq(90, r)));
  assert.equal(detectAdapter(reads)?.sequence, a);
});

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

test('duplicate filter: repeats are flagged, distinct fingerprints are not', () => {
  const f = new DuplicateFilter(1 << 20);
  let fp = 0;
  for (let i = 0; i < 10000; i++) if (f.testAndSet(Math.imul(i, 2654435761) >>> 0, Math.imul(i + 7, 40503) >>> 0)) fp++;
  assert.ok(fp < 5, `false positives ${fp}`);
  assert.equal(f.testAndSet(2654435761 * 3 >>> 0, Math.imul(10, 40503) >>> 0), true);
});
