import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RECORD_BYTES, RecordReader } from '../../../src/io/recordReader.js';
import type { ByteSource } from '../../../src/io/source.js';
import { allocParsed, parseRecords } from '../../../src/io/seqParser.js';
import { makePairs } from '../../helpers/fixtures.js';

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
    const p = parseRecords(c.bytes, c.records, { label: src.label, firstRecord: c.firstRecord, firstLine: c.firstLine, format, quality: 'phred33' }, allocParsed(c.records));
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

test('a chunk stops at the byte cap (at least one record; a multiple of the unit), and records stay whole', async () => {
  const rd = new RecordReader(memSource(fx.r1, 13));
  const sizes: number[] = [];
  for (;;) {
    const c = await rd.next(1000, 200);
    if (!c) break;
    sizes.push(c.records);
  }
  assert.equal(sizes.reduce((a, b) => a + b, 0), 57);
  assert.ok(sizes.every((n) => n >= 1 && n <= 3), `records per 200-byte chunk: ${sizes.join(',')}`);
  const rd2 = new RecordReader(memSource(fx.r1, 7));
  let total = 0;
  for (;;) {
    const c = await rd2.next(1000, 1, 2);
    if (!c) break;
    assert.ok(c.records === 2 || total + c.records === 57, `pairs of records (got ${c.records})`);
    total += c.records;
  }
  assert.equal(total, 57);
});

test('unread() gives back the tail of the last chunk with its record and line numbers', async () => {
  for (const [text, format] of [[fx.r1, 'fastq'], [fx.r1.split('\n').filter((_, i) => i % 4 < 2).map((l) => l.replace(/^@/, '>')).join('\n'), 'fasta']] as const) {
    const rd = new RecordReader(memSource(text, 64));
    assert.equal(await rd.detect(), format);
    const c = await rd.next(10);
    assert.ok(c);
    const kept = rd.unread(c, 4);
    assert.equal(kept.records, 4);
    const again = await rd.next(3);
    assert.ok(again);
    assert.equal(again.firstRecord, 4);
    assert.equal(again.firstLine, format === 'fastq' ? 17 : 9);
    const got = await readAll(memSource(text, 64), 10);
    const dec = new TextDecoder();
    const p = parseRecords(again.bytes, again.records, { label: 'x', firstRecord: 4, firstLine: again.firstLine, format, quality: 'phred33' }, allocParsed(3));
    assert.equal(dec.decode(again.bytes.subarray(p.idStart[0], p.idEnd[0])), got.ids[4]);
  }
});

test('a truncated final record is reported after the whole records before it', async () => {
  const text = fx.r1.split('\n').slice(0, 4 * 5 + 2).join('\n') + '\n';
  const rd = new RecordReader(memSource(text, 9));
  const c = await rd.next(100);
  assert.equal(c?.records, 5);
  await assert.rejects(rd.next(100), /record 6 \(line 21\): truncated record/);
});

test('leading blank lines are skipped and counted; compressed or binary formats are named', async () => {
  const lines = fx.r1.split('\n');
  lines[4 * 2 + 1] = 'ACGTX' + lines[4 * 2 + 1]!.slice(5);
  await assert.rejects(readAll(memSource('\n\r\n' + lines.join('\n'), 5), 4), /record 3 \(line 12\): invalid character 'X'/);
  assert.equal((await readAll(memSource('\n\n' + fx.r1, 5), 4)).ids.length, 57);
  await assert.rejects(readAll(memSource(new Uint8Array([0x42, 0x5a, 0x68, 0x39, 0x31]), 2), 4), /looks like bzip2-compressed/);
  await assert.rejects(readAll(memSource(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0]), 1), 4), /looks like zstd-compressed/);
  await assert.rejects(readAll(memSource(new Uint8Array([0x1f, 0x8b, 8, 0]), 3), 4), /gzip data inside gzip/);
});

test('a record longer than MAX_RECORD_BYTES is refused without holding much more than it', async () => {
  const mib = new Uint8Array(1 << 20).fill(0x41);
  const src: ByteSource = {
    uri: 'mem', label: 'huge.fq', size: 0, compression: 'none', rawBytesRead: () => 0,
    chunks: async function* () {
      yield new TextEncoder().encode('@r1\n');
      for (let i = 0; i < (MAX_RECORD_BYTES >> 20) + 8; i++) {
        await Promise.resolve();
        yield mib;
      }
    },
  };
  await assert.rejects(new RecordReader(src).next(10), /huge\.fq: record 1 \(line 1\): a single record exceeds 256 MiB/);
});
