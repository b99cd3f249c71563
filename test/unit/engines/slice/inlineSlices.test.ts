import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { MetavecError } from '../../../../src/errors.js';
import { inlineSlices } from '../../../../src/engines/slice/inlineSlices.js';
import type { PrepPlan, PrepSlice, SliceRange } from '../../../../src/prep/plan.js';
import { TempDir } from '../../../helpers/fixtures.js';

function range(uri: string, compression: 'gzip' | 'none', start: number, end: number): SliceRange {
  return { uri, label: uri.slice(uri.lastIndexOf('/') + 1), compression, start, end, records: 0, lines: 0 };
}

function slice(index: number, r1: SliceRange, r2?: SliceRange): PrepSlice {
  return { index, set: 0, firstBatch: index, batches: 1, firstFragment: 0, fragments: 1, r1, ...(r2 ? { r2 } : {}) };
}

async function collect(plan: PrepPlan): Promise<{ slice: number; mate: string; bytes: Uint8Array }[]> {
  const out = [];
  for await (const p of inlineSlices(plan)) out.push(p);
  return out;
}

void test('inlineSlices: each gzip slice\'s decompressed bytes, exactly, across chunk boundaries; plain inputs are left to the workers', async () => {
  const dir = new TempDir('metavec-inline-');
  try {
    // 3 MB decompressed: the source's chunks end inside slices
    const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `@r${i}\nACGTACGTACGTACGTACGT\n+\nIIIIIIIIIIIIIIIIIIII\n`).join(''));
    const gz = dir.file('r1.fq.gz', gzipSync(text));
    const plain = dir.file('r2.fq', text);
    const cuts = [0, 17, 1_000_003, 1_000_004, 2_500_000, text.length];
    // slices listed out of file order; one gap (bytes nobody asked for) between 1,000,003 and 1,000,004 is skipped
    const order = [3, 0, 1, 4];
    const slices = order.map((k) => slice(k, range(gz, 'gzip', cuts[k]!, cuts[k + 1]!), range(plain, 'none', 0, 10)));
    const got = await collect({ slices } as unknown as PrepPlan);
    assert.deepEqual(got.map((p) => [p.slice, p.mate]), [[0, 'r1'], [1, 'r1'], [3, 'r1'], [4, 'r1']]);
    for (const p of got) assert.ok(Buffer.from(p.bytes).equals(text.subarray(cuts[p.slice], cuts[p.slice + 1])), `slice ${p.slice}`);
  } finally {
    dir.remove();
  }
});

void test('inlineSlices: a gzip input shorter than planned is an input error naming the file and the offsets', async () => {
  const dir = new TempDir('metavec-inline-');
  try {
    const gz = dir.file('r1.fq.gz', gzipSync(Buffer.from('@a\nAC\n+\nII\n')));
    const plan = { slices: [slice(0, range(gz, 'gzip', 0, 5)), slice(1, range(gz, 'gzip', 5, 100))] } as unknown as PrepPlan;
    await assert.rejects(collect(plan), (e: unknown) => e instanceof MetavecError && e.code === 'INPUT' && /^r1\.fq\.gz: decompressed stream ends at byte 11, expected at least 100 \(changed since planning\?\)$/.test(e.message));
  } finally {
    dir.remove();
  }
});
