// Correction pass 1 over a batch (prep/spectrumBatch.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetavecError } from '../../../src/errors.js';
import { spectrumBatch } from '../../../src/prep/spectrumBatch.js';
import type { PrepBatch } from '../../../src/prep/params.js';

const enc = new TextEncoder();

function fastq(names: string[]): Uint8Array {
  return enc.encode(names.map((n) => `@${n}\n${'ACGTACGTACGTACGTACGTACGTA'}\n+\n${'I'.repeat(25)}\n`).join(''));
}

function pairBatch(n1: string[], n2: string[]): PrepBatch {
  return {
    index: 0, firstFragment: 0, format: 'fastq', quality: 'phred33', fragments: n1.length, layout: 'pe',
    r1: { label: 'a_R1.fq', bytes: fastq(n1), records: n1.length, firstRecord: 0, firstLine: 1 },
    r2: { label: 'a_R2.fq', bytes: fastq(n2), records: n2.length, firstRecord: 0, firstLine: 1 },
  };
}

test('correction pass 1 checks mate pairing (the first pass over the input fails at the first bad pair)', () => {
  const cells = new Uint8Array(1 << 12);
  assert.doesNotThrow(() => spectrumBatch(pairBatch(['r1/1', 'r2/1 x'], ['r1/2', 'r2/2 y']), 21, cells));
  assert.throws(
    () => spectrumBatch(pairBatch(['r1/1', 'r2/1', 'r3/1'], ['r1/2', 'rX/2', 'r3/2']), 21, cells),
    (err: unknown) => err instanceof MetavecError && err.code === 'INPUT' &&
      /^fastq: a_R1\.fq \/ a_R2\.fq record 2 \(R1 line 5, R2 line 5\): mate names differ \('r2' vs 'rX'\)$/.test(err.message),
  );
  const { r2: _r2, ...single } = pairBatch(['p/1', 'q/2'], []);
  const inter: PrepBatch = { ...single, layout: 'interleaved', fragments: 1, r1: { ...single.r1, records: 2 } };
  assert.throws(() => spectrumBatch(inter, 21, cells), /records 1 and 2: mate names differ \('p' vs 'q'\)/);
});
