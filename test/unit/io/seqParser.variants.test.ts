import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordReader } from '../../../src/io/recordReader.js';
import type { ByteSource } from '../../../src/io/source.js';
import { allocParsed, detectQualityEncoding, parseRecords, phredFromSolexa, type QualityEncoding } from '../../../src/io/seqParser.js';
import { ERRORS, fastq, longReads, NAMES, PHRED64, READS, SOLEXA } from '../../helpers/fastqVariants.js';

/** The FASTQ variants of the FASTQ paper's corpus (hand-made equivalents in test/helpers/fastqVariants.ts). */

function memSource(text: string, chunk: number, label = 'err.fq'): ByteSource {
  const bytes = new TextEncoder().encode(text);
  return {
    uri: 'mem',
    label,
    size: bytes.length,
    compression: 'none',
    rawBytesRead: () => 0,
    chunks: async function* () {
      await Promise.resolve();
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.slice(i, i + chunk);
    },
  };
}

interface Got {
  ids: string[];
  seqs: string[];
  quals: number[][];
}

async function readAll(text: string, chunk: number, quality: QualityEncoding = 'phred33', per = 2): Promise<Got> {
  const src = memSource(text, chunk);
  const rd = new RecordReader(src);
  const format = await rd.detect();
  const got: Got = { ids: [], seqs: [], quals: [] };
  const dec = new TextDecoder();
  for (;;) {
    const c = await rd.next(per);
    if (!c) break;
    const p = parseRecords(c.bytes, c.records, { label: src.label, firstRecord: c.firstRecord, firstLine: c.firstLine, format, quality }, allocParsed(c.records));
    for (let i = 0; i < p.n; i++) {
      const s = p.seqStart[i]!;
      const len = p.seqLen[i]!;
      got.ids.push(dec.decode(c.bytes.subarray(p.idStart[i], p.idEnd[i])));
      got.seqs.push(dec.decode(c.bytes.subarray(s, s + len)));
      got.quals.push(Array.from(c.bytes.subarray(p.qualStart[i], p.qualStart[i]! + len), (b) => b - 33));
    }
  }
  return got;
}

const CHUNKS = [1, 2, 3, 7, 61, 1 << 20];
const phred33 = (q: string): number[] => [...q].map((c) => c.charCodeAt(0) - 33);
const expected: Got = { ids: NAMES, seqs: READS.map((r) => r.seq), quals: READS.map((r) => phred33(r.qual)) };

for (const chunk of CHUNKS) {
  test(`wrapped sequence and quality, quality lines starting with '@' and '+' (${chunk}-byte chunks)`, async () => {
    assert.deepEqual(await readAll(fastq(READS), chunk), expected, '4-line');
    for (const wrap of [1, 3, 10]) {
      assert.deepEqual(await readAll(fastq(READS, wrap), chunk), expected, `wrapped at ${wrap}`);
      assert.deepEqual(await readAll(fastq(READS, wrap, true), chunk, 'phred33', 1), expected, `wrapped at ${wrap}, '+' repeating the title`);
    }
    assert.deepEqual(await readAll(fastq(READS, 10).replaceAll('\n', '\r\n'), chunk), expected, 'wrapped, CRLF');
  });

  test(`long reads wrapped at 60 columns read as their 4-line form (${chunk}-byte chunks)`, async () => {
    const l = longReads();
    const four = await readAll(l.fourLine, chunk);
    assert.deepEqual(four.seqs, l.reads.map((r) => r.seq));
    assert.deepEqual(await readAll(l.wrapped, chunk), four);
  });

  test(`zero-length reads among wrapped ones (${chunk}-byte chunks)`, async () => {
    const text = `@z1\n\n+\n\n${fastq(READS.slice(0, 2), 7)}@z2\n\n+z2\n\n@z3\n\n+`;
    const got = await readAll(text, chunk);
    assert.deepEqual(got.ids, ['z1', 'v1', 'v2', 'z2', 'z3']);
    assert.deepEqual(got.seqs, ['', READS[0]!.seq, READS[1]!.seq, '', '']);
  });

  test(`Solexa+64 scores are converted to Phred, Phred+64 shifted (${chunk}-byte chunks)`, async () => {
    assert.deepEqual((await readAll(SOLEXA.text, chunk, 'solexa64')).quals, SOLEXA.phred);
    assert.deepEqual((await readAll(PHRED64.text, chunk, 'phred64')).quals, PHRED64.phred);
  });
}

test('Solexa conversion follows 10 log10(10^(Q/10) + 1) at every score', async () => {
  const want: number[] = [];
  for (let q = -5; q <= 62; q++) want.push(Math.round(phredFromSolexa(q)));
  const text = `@all\n${'A'.repeat(68)}\n+\n${want.map((_, i) => String.fromCharCode(59 + i)).join('')}\n`;
  assert.deepEqual((await readAll(text, 5, 'solexa64')).quals, [want]);
  // fixed points of the formula (Cock et al. 2010, figure 1)
  assert.ok(Math.abs(phredFromSolexa(-5) - 1.19) < 0.01 && Math.abs(phredFromSolexa(0) - 3.01) < 0.01 && Math.abs(phredFromSolexa(10) - 10.41) < 0.01);
});

test('quality encoding detection: Phred+33, Phred+64 (Illumina 1.3+/1.5+), Solexa+64; wrapped input too', async () => {
  const detect = async (text: string): Promise<QualityEncoding | undefined> => {
    const rd = new RecordReader(memSource(text, 4096));
    await rd.detect();
    return detectQualityEncoding((await rd.next(1000))!.bytes);
  };
  assert.equal(await detect(fastq(READS)), 'phred33');
  assert.equal(await detect(fastq(READS, 10)), 'phred33');
  assert.equal(await detect(PHRED64.text), 'phred64');
  assert.equal(await detect(SOLEXA.text), 'solexa64');
  // Solexa scores -5..-1 wrapped onto a line of their own
  assert.equal(await detect('@w\nACGTACGTAC\nGT\n+\nhhhhhhhhhh\n;?\n'), 'solexa64');
  // all bytes in ';'..'J' is Illumina 1.8+ Phred+33 (Q26..41), not Solexa
  assert.equal(await detect('@h\nACGT\n+\n;AFJ\n'), 'phred33');
  assert.equal(await detect('@e\n\n+\n\n'), undefined);
  // a malformed record (DEL in a quality) does not stop the guess: the parser reports it in the right encoding
  assert.equal(await detect(PHRED64.text.replace('hhhhgfe', 'hh\x7fhgfe')), 'phred64');
});

test('a Phred+33 byte in a Solexa+64 file is named', async () => {
  await assert.rejects(readAll('@s\nACGT\n+\nhh5h\n', 3, 'solexa64'), /err\.fq record 1 \(line 4\): quality character '5' at position 3 is below the Solexa\+64 range \(is the input Phred\+33\?\)/);
});

for (const c of ERRORS) {
  test(`refused with record and line: ${c.name}`, async () => {
    const messages = new Set<string>();
    for (const chunk of CHUNKS) {
      for (const per of [1, 3, 100]) {
        await assert.rejects(readAll(c.text, chunk, 'phred33', per), (err: Error) => {
          assert.match(err.message, /^fastq: err\.fq record \d+ \(line \d+\): /);
          assert.match(err.message, c.expect);
          messages.add(err.message);
          return true;
        });
      }
    }
    assert.equal(messages.size, 1, `the same error whatever the chunking: ${[...messages].join(' | ')}`);
  });
}

test('unread() of wrapped records gives back whole records with their record and line numbers', async () => {
  const text = fastq(READS, 10);
  const rd = new RecordReader(memSource(text, 13));
  await rd.detect();
  const c = (await rd.next(10))!;
  assert.equal(c.records, 5);
  const kept = rd.unread(c, 2);
  assert.equal(kept.records, 2);
  const again = (await rd.next(10))!;
  assert.equal(again.firstRecord, 2);
  // records 1 and 2 take 6 lines each at 10 columns (20 bases): header, 2 sequence lines, '+', 2 quality lines
  assert.equal(again.firstLine, 13);
  const p = parseRecords(again.bytes, again.records, { label: 'x', firstRecord: 2, firstLine: again.firstLine, format: 'fastq', quality: 'phred33' }, allocParsed(3));
  assert.equal(new TextDecoder().decode(again.bytes.subarray(p.idStart[0], p.idEnd[0])), 'v3');
  assert.equal(p.seqLen[2], READS[4]!.seq.length);
});
