import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runCli, TempDir } from '../helpers/fixtures.js';
import { ERRORS, fastq, NAMES, PHRED64, READS, SOLEXA } from '../helpers/fastqVariants.js';

/** `metavec prep` end to end over FASTQ variants of the FASTQ paper's corpus (hand-made: test/helpers/fastqVariants.ts). */

const tmp = new TempDir();
after(() => tmp.remove());

// no trimming or filtering: the cleaned FASTQ shows the qualities as parsed
const AS_READ = ['--quiet', '--threads', '1', '--write-fastq', '--no-adapter-trim', '--no-cut-front', '--no-cut-tail', '--min-length', '1', '--max-n-frac', '1',
  '--qualified-quality', '0', '--unqualified-percent', '100', '--complexity-threshold', '0', '--no-dedup', '--no-correct', '--no-sketch'];

function prep(name: string, text: string, extra: string[] = []): { status: number; stderr: string; out: string } {
  const out = tmp.join(name);
  const r = runCli(['prep', '--input', tmp.file(`${name}.fq`, text), '--output', out, ...AS_READ, ...extra]);
  return { status: r.status, stderr: r.stderr, out };
}

function cleaned(out: string): { ids: string[]; seqs: string[]; quals: number[][]; encoding: string } {
  const lines = gunzipSync(readFileSync(join(out, 'clean.fastq.gz'))).toString('latin1').trimEnd().split('\n');
  const got = { ids: [] as string[], seqs: [] as string[], quals: [] as number[][], encoding: '' };
  for (let i = 0; i + 3 < lines.length; i += 4) {
    got.ids.push(lines[i]!.slice(1).split(/\s/)[0]!.replace(/\/[12]$/, ''));
    got.seqs.push(lines[i + 1]!);
    got.quals.push([...lines[i + 3]!].map((c) => c.charCodeAt(0) - 33));
  }
  got.encoding = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { quality_encoding: string }).quality_encoding;
  return got;
}

test('prep reads wrapped FASTQ (quality lines starting with @ and +) as its 4-line form', () => {
  const a = prep('wrapped', fastq(READS, 10, true));
  assert.equal(a.status, 0, a.stderr);
  const b = prep('four-line', fastq(READS));
  assert.equal(b.status, 0, b.stderr);
  const got = cleaned(a.out);
  assert.deepEqual(got.ids, NAMES);
  assert.deepEqual(got.seqs, READS.map((r) => r.seq));
  assert.deepEqual(got.quals, READS.map((r) => [...r.qual].map((c) => c.charCodeAt(0) - 33)));
  assert.deepEqual(got, cleaned(b.out));
});

test('prep detects Solexa+64 and Phred+64 and writes Phred+33', () => {
  const s = prep('solexa', SOLEXA.text);
  assert.equal(s.status, 0, s.stderr);
  const sg = cleaned(s.out);
  assert.equal(sg.encoding, 'solexa64 (detected; converted to phred33)');
  assert.deepEqual(sg.quals, SOLEXA.phred);
  const p = prep('phred64', PHRED64.text);
  assert.equal(p.status, 0, p.stderr);
  const pg = cleaned(p.out);
  assert.equal(pg.encoding, 'phred64 (detected; converted to phred33)');
  assert.deepEqual(pg.quals, PHRED64.phred);
  // forced: --phred solexa on a file detection would call Phred+64
  const f = prep('forced-solexa', PHRED64.text, ['--phred', 'solexa']);
  assert.equal(f.status, 0, f.stderr);
  assert.equal(cleaned(f.out).encoding, 'solexa64 (given; converted to phred33)');
});

for (const name of ["'+' line naming another read", 'short quality', 'truncated in the quality', 'sequence twice (header and sequence repeated)']) {
  test(`prep refuses: ${name}`, () => {
    const c = ERRORS.find((e) => e.name === name)!;
    const r = prep(`err-${name.replace(/\W+/g, '-')}`, c.text);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^metavec: error: fastq: err-\S+\.fq record \d+ \(line \d+\): /);
    assert.match(r.stderr, c.expect);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(existsSync(join(r.out, 'manifest.json')), false, 'no manifest');
  });
}
