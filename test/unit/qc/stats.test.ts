/**
 * Statistics kept for the report: the GC histogram without the comb artifact, the insert size from the mate
 * overlap, and the duplication levels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findOverlap, KNOWN_ADAPTERS } from '../../../src/qc/adapters.js';
import { addGc, addInsert, addRead, allocStats, blockOffset, GC_BINS, statsToJson } from '../../../src/qc/stats.js';
import { DuplicationSample, MAX_SAMPLED } from '../../../src/dedup/levels.js';
import { randomSeq, revcomp, rng } from '../../helpers/fixtures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('GC histogram: reads spread uniformly over their possible GC values give a flat histogram (no comb)', () => {
  for (const len of [150, 101, 100, 250, 37, 7]) {
    const stats = allocStats();
    const out = new Float64Array(2);
    // one read of each possible GC count 0..len, through addRead as prep counts it
    for (let g = 0; g <= len; g++) {
      const seq = 'G'.repeat(g) + 'A'.repeat(len - g);
      addRead(stats, blockOffset(0, 0), enc(seq + 'I'.repeat(len)), 0, len, len, out);
    }
    const j = statsToJson(stats, false) as Record<string, { gc_histogram: number[]; reads: number }>;
    const h = j.read1_before!.gc_histogram;
    assert.equal(h.length, GC_BINS);
    const expect = (len + 1) / GC_BINS;
    for (let b = 0; b < GC_BINS; b++) assert.ok(Math.abs(h[b]! - expect) < 1e-9, `length ${len}: bin ${b} holds ${h[b]} reads, expected ${expect}`);
    assert.ok(Math.abs(h.reduce((a, x) => a + x, 0) - (len + 1)) < 1e-9, 'every read counted once');
  }
});

test('GC histogram: one read adds exactly one read, near its GC fraction; reads without A/C/G/T are not counted', () => {
  const h = new Float64Array(GC_BINS);
  addGc(h, 0, 60, 150); // 40%: cell [60, 61)/151 = [39.74%, 40.40%)
  assert.equal(h.reduce((a, x) => a + x, 0), 100);
  assert.deepEqual([...h.keys()].filter((b) => h[b]! > 0), [39, 40]);
  const none = new Float64Array(GC_BINS);
  addGc(none, 0, 0, 0);
  assert.equal(none.reduce((a, x) => a + x, 0), 0);
});

test('insert size: fastp formula from the overlap fit, short and long inserts, and pairs that do not overlap', () => {
  const r = rng(11);
  const a1 = KNOWN_ADAPTERS['Illumina TruSeq Adapter Read 1']!;
  const a2 = KNOWN_ADAPTERS['Illumina TruSeq Adapter Read 2']!;
  const stats = allocStats();
  const pair = (insertLen: number, front1 = 0, front2 = 0): void => {
    const ins = randomSeq(insertLen, r);
    const r1 = (ins + a1 + randomSeq(200, r)).slice(0, 150);
    const r2 = (revcomp(ins) + a2 + randomSeq(200, r)).slice(0, 150);
    // the mates as QC sees them after cutting `front` bases from their 5' ends
    const fit = findOverlap(enc(r1), front1, 150 - front1, enc(r2), front2, 150 - front2, 30, 5, 0.2);
    addInsert(stats, fit.found, fit.offset, fit.overlap, 150 - front1, 150 - front2, front1, front2);
  };
  pair(80); // shorter than the reads: the adapters are clipped
  pair(220); // the mates overlap by 80 bases
  pair(220, 5, 3);
  pair(400); // no overlap
  const ins = (statsToJson(stats, true) as { insert_size: { histogram: number[]; overlapping_pairs: number; not_overlapping_pairs: number; peak: number } }).insert_size;
  assert.equal(ins.histogram[80], 1);
  assert.equal(ins.histogram[220], 2);
  assert.equal(ins.overlapping_pairs, 3);
  assert.equal(ins.not_overlapping_pairs, 1);
  assert.equal(ins.peak, 220);
  assert.equal(ins.histogram.length, 221);
  assert.equal((statsToJson(stats, false) as { insert_size?: unknown }).insert_size, undefined, 'no insert size for single-end reads');
});

test('duplication levels: exact below the sample cap, a uniform estimate above it, resumable', () => {
  const small = new DuplicationSample();
  // 100 fragments once, 20 twice, 5 three times, 2 twelve times
  let id = 1;
  const fp = (i: number): [number, number] => [Math.imul(i, 0x9e3779b1) >>> 0, Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0];
  const offer = (s: DuplicationSample, copies: number, n: number): void => {
    for (let k = 0; k < n; k++, id++) for (let c = 0; c < copies; c++) s.add(...fp(id));
  };
  offer(small, 1, 100);
  offer(small, 2, 20);
  offer(small, 3, 5);
  offer(small, 12, 2);
  const lv = small.levels();
  assert.equal(lv.shift, 0);
  assert.deepEqual(lv.levels.slice(0, 3).map((l) => [l.level, l.distinct, l.fragments]), [['1', 100, 100], ['2', 20, 40], ['3', 5, 15]]);
  assert.deepEqual([lv.levels[9]!.level, lv.levels[9]!.distinct, lv.levels[9]!.fragments], ['10+', 2, 24]);
  assert.equal(lv.duplicate_fraction, +(1 - 127 / 179).toFixed(6));

  // 200,000 distinct fragments, a fifth of them twice: sampled, memory bounded, the estimate close
  const big = new DuplicationSample();
  const copy = new DuplicationSample();
  for (let i = 0; i < 200_000; i++) {
    const n = i % 5 === 0 ? 2 : 1;
    for (let c = 0; c < n; c++) {
      big.add(...fp(1_000_000 + i));
      if (i < 100_000) copy.add(...fp(1_000_000 + i));
    }
    if (i === 99_999) {
      // a resumed run continues from the journal's copy
      const resumed = DuplicationSample.decode(copy.encode());
      for (let j = 100_000; j < 200_000; j++) for (let c = 0; c < (j % 5 === 0 ? 2 : 1); c++) resumed.add(...fp(1_000_000 + j));
      assert.deepEqual(resumed.levels(), (() => {
        const full = new DuplicationSample();
        for (let j = 0; j < 200_000; j++) for (let c = 0; c < (j % 5 === 0 ? 2 : 1); c++) full.add(...fp(1_000_000 + j));
        return full.levels();
      })());
    }
  }
  const b = big.levels();
  assert.ok(b.shift > 0 && b.sampled_distinct <= MAX_SAMPLED, `shift ${b.shift}, ${b.sampled_distinct} sampled`);
  const twice = b.levels[1]!.distinct;
  assert.ok(Math.abs(twice - 40_000) < 40_000 * 0.1, `level 2: ${twice} of 40,000`);
  assert.ok(Math.abs(b.duplicate_fraction - 40_000 / 240_000) < 0.02, `duplicate fraction ${b.duplicate_fraction}`);
});

test('QC statistics: per-cycle quality counts, long reads and FASTA', () => {
  const stats = allocStats();
  const out = new Float64Array(2);
  const read = (len: number, q: number) => enc('ACGTN'.repeat(Math.ceil(len / 5)).slice(0, len) + String.fromCharCode(33 + q).repeat(len));
  addRead(stats, blockOffset(0, 0), read(3, 30), 0, 3, 3, out);
  addRead(stats, blockOffset(0, 0), read(600, 10), 0, 600, 600, out);
  assert.equal(out[1], 10);
  addRead(stats, blockOffset(1, 0), read(4, 0), 0, 4, -1, out); // FASTA: no qualities
  assert.ok(Number.isNaN(out[1]));
  const j = statsToJson(stats, true) as Record<string, { mean_quality_by_cycle: (number | null)[]; base_count_by_cycle: Record<string, number[]> }>;
  const mq = j.read1_before!.mean_quality_by_cycle;
  assert.equal(mq.length, 512);
  assert.deepEqual(mq.slice(0, 4), [20, 20, 20, 10]);
  assert.equal(mq[511], 10);
  assert.equal(j.read1_before!.base_count_by_cycle.A![511], 17); // bases 511..599 of ACGTN... counted in the last cycle
  assert.deepEqual(j.read2_before!.mean_quality_by_cycle, [null, null, null, null]);
});
