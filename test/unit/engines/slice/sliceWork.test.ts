import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatResults } from '../../../../src/engines/slice/sliceWork.js';
import { COUNTER_NAMES, type PrepBatchResult } from '../../../../src/prep/params.js';
import { allocStats } from '../../../../src/qc/stats.js';

const enc = new TextEncoder();
const DIM = 2;

/** A batch result whose kept fragments are `ids` at `positions`, with recognisable per-fragment values. */
function result(index: number, ids: string[], positions: number[], opts: { fastq?: boolean; minimizers?: number[] } = {}): PrepBatchResult {
  const kept = ids.length;
  const idOffsets = new Int32Array(kept + 1);
  ids.forEach((id, i) => (idOffsets[i + 1] = idOffsets[i]! + enc.encode(id).length));
  const counters = new Float64Array(COUNTER_NAMES.length).fill(index + 1);
  const stats = allocStats();
  stats[0] = index + 1;
  const r: PrepBatchResult = {
    index, kept,
    positions: Int32Array.from(positions),
    // buffers may be longer than what the kept fragments use (batches allocate for every input fragment)
    idBytes: enc.encode(ids.join('') + 'JUNK'),
    idOffsets,
    lengths: Int32Array.from(ids.flatMap((_, i) => [100 + i, 90 + i]).concat([-1, -1])),
    attrs: Float32Array.from(ids.flatMap((_, i) => [i, i, 30, 30])),
    hashes: Uint32Array.from(ids.flatMap((_, i) => [index, i])),
    embedding: Float32Array.from(ids.flatMap((_, i) => [index, i])),
    counters,
    stats,
  };
  if (opts.fastq) {
    const text = ids.map((id) => `@${id}\nACGT\n+\nIIII\n`);
    r.fastq1 = enc.encode(text.join(''));
    r.fastqOffsets1 = Int32Array.from([0, ...text.map((_, i) => text.slice(0, i + 1).join('').length)]);
  }
  if (opts.minimizers) {
    const m = opts.minimizers;
    r.minimizerOffsets = Int32Array.from([0, ...m.map((_, i) => m.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
    const total = m.reduce((a, b) => a + b, 0);
    r.minimizers = Uint32Array.from({ length: 2 * total }, (_, i) => index * 1000 + i);
  }
  return r;
}

void test('concatResults: batches in order, positions shifted by each batch\'s offset, offsets rebased, counters and stats summed', () => {
  const a = result(0, ['r1', 'r3'], [0, 2], { fastq: true, minimizers: [2, 1] });
  const b = result(1, ['r5', 'r6', 'long-name-7'], [0, 1, 3], { fastq: true, minimizers: [0, 3, 1] });
  const c = concatResults([{ r: a, offset: 0 }, { r: b, offset: 4 }], DIM, 9);
  assert.equal(c.index, 9);
  assert.equal(c.kept, 5);
  assert.deepEqual(Array.from(c.positions), [0, 2, 4, 5, 7]);
  const ids = Array.from({ length: c.kept }, (_, i) => new TextDecoder().decode(c.idBytes.subarray(c.idOffsets[i], c.idOffsets[i + 1])));
  assert.deepEqual(ids, ['r1', 'r3', 'r5', 'r6', 'long-name-7']);
  assert.equal(c.idBytes.length, 'r1r3r5r6long-name-7'.length, 'no junk past the kept fragments');
  assert.deepEqual(Array.from(c.lengths), [100, 90, 101, 91, 100, 90, 101, 91, 102, 92]);
  assert.deepEqual(Array.from(c.embedding), [0, 0, 0, 1, 1, 0, 1, 1, 1, 2]);
  assert.deepEqual(Array.from(c.hashes), [0, 0, 0, 1, 1, 0, 1, 1, 1, 2]);
  assert.equal(c.attrs.length, 20);
  const fq = Array.from({ length: c.kept }, (_, i) => new TextDecoder().decode(c.fastq1!.subarray(c.fastqOffsets1![i], c.fastqOffsets1![i + 1])).split('\n')[0]);
  assert.deepEqual(fq, ['@r1', '@r3', '@r5', '@r6', '@long-name-7']);
  assert.equal(c.fastq2, undefined);
  assert.deepEqual(Array.from(c.minimizerOffsets!), [0, 2, 3, 3, 6, 7]);
  assert.deepEqual(Array.from(c.minimizers!.subarray(0, 6)), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(c.minimizers!.subarray(6)), [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
  assert.ok(c.counters.every((v) => v === 3));
  assert.equal(c.stats[0], 3);
});

void test('concatResults: no batches, or batches that kept nothing, give an empty result', () => {
  const e = concatResults([], DIM, 0);
  assert.equal(e.kept, 0);
  assert.deepEqual(Array.from(e.idOffsets), [0]);
  const z = concatResults([{ r: result(0, [], []), offset: 0 }, { r: result(1, [], []), offset: 8 }], DIM, 1);
  assert.equal(z.kept, 0);
  assert.equal(z.embedding.length, 0);
  assert.ok(z.counters.every((v) => v === 3));
});
