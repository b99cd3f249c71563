import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordReader } from '../../src/io/recordReader.js';
import type { ByteSource } from '../../src/io/source.js';
import { allocParsed, parseRecords } from '../../src/io/seqParser.js';
import { makePairs } from '../helpers/fixtures.js';

function memSource(text: string | Uint8Array, chunk: number): ByteSource {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  return {
    uri: 'mem',
    label: 'mem.fq',
    size: bytes.length,
    compression: 'none',
    rawBytesRead: () => 0,
    chunks: async function* () {
      await Promise.resolve();
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.slice(i, i + chunk);
    },
  };
}

async function readAll(src: ByteSource, per: number): Promise<{ ids: string[]; seqs: string[] }> {
  const rd = new RecordReader(src);
  const format = await rd.detect();
  const ids: string[] = [];
  const seqs: string[] = [];
  const dec = new TextDecoder();
  for (;;) {
    const c = await rd.next(per);
    if (!c) break;
    const p = parseRecords(c.bytes, c.records, { label: src.label, firstRecord: c.firstRecord, firstLine: c.firstLine, format, qualShift: 0 }, allocParsed(c.records));
    for (let i = 0; i < p.n; i++) {
      ids.push(dec.decode(c.bytes.subarray(p.idStart[i], p.idEnd[i])));
      seqs.push(dec.decode(c.bytes.subarray(p.seqStart[i], p.seqStart[i]! + p.seqLen[i]!)));
    }
  }
  return { ids, seqs };
}

const fx = makePairs(57, 3, { readLen: 37 });

for (const chunk of [1, 2, 3, 7, 61, 4096]) {
  test(`FASTQ records survive ${chunk}-byte chunks`, async () => {
    const got = await readAll(memSource(fx.r1, chunk), 10);
    assert.deepEqual(got.ids, fx.ids);
    assert.equal(got.seqs.length, 57);
  });
  test(`CRLF, lowercase and no final newline with ${chunk}-byte chunks`, async () => {
    const text = fx.r1.toLowerCase().replaceAll('@frag', '@FRAG').replaceAll('\n', '\r\n').replace(/\r\n$/, '');
    const got = await readAll(memSource(text, chunk), 8);
    assert.equal(got.ids.length, 57);
    assert.ok(got.seqs.every((s) => /^[ACGT]+$/.test(s)), 'bases upper-cased, CR stripped');
  });
  test(`multi-line FASTA with ${chunk}-byte chunks`, async () => {
    const fasta = '>a desc\nACGT\nacgt\n>b\nNNNN\n\n>c\nGG';
    const got = await readAll(memSource(fasta, chunk), 2);
    assert.deepEqual(got.ids, ['a', 'b', 'c']);
    assert.deepEqual(got.seqs, ['ACGTACGT', 'NNNN', 'GG']);
  });
}

test('truncated final record names record and line', async () => {
  const text = fx.r1.split('\n').slice(0, 4 * 5 + 2).join('\n') + '\n';
  await assert.rejects(readAll(memSource(text, 5), 3), /record 6 \(line 21\): truncated record/);
});

test('quality/sequence length mismatch names record and line', async () => {
  const lines = fx.r1.split('\n');
  lines[4 * 9 + 3] = lines[4 * 9 + 3]!.slice(1);
  await assert.rejects(readAll(memSource(lines.join('\n'), 100), 4), /mem\.fq record 10 \(line 40\): quality length 36 != sequence length 37/);
});

test('invalid sequence character and missing + line', async () => {
  const lines = fx.r1.split('\n');
  const bad = [...lines];
  bad[1] = 'ACGTX' + bad[1]!.slice(5);
  await assert.rejects(readAll(memSource(bad.join('\n'), 64), 4), /record 1 \(line 2\): invalid character 'X' in sequence at position 5/);
  const noPlus = [...lines];
  noPlus[4 * 2 + 2] = 'IIII';
  await assert.rejects(readAll(memSource(noPlus.join('\n'), 64), 4), /record 3 \(line 11\): missing '\+' separator line/);
});

test('empty and non-FASTQ inputs', async () => {
  await assert.rejects(readAll(memSource('', 10), 4), /empty file/);
  await assert.rejects(readAll(memSource('\n\n', 10), 4), /empty file/);
  await assert.rejects(readAll(memSource('%PDF-1.4 garbage', 10), 4), /not FASTQ or FASTA/);
  await assert.rejects(readAll(memSource(new Uint8Array([0, 1, 2, 3]), 10), 4), /not FASTQ or FASTA.*byte 0x00/);
});
