import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCorrector, trustThresholds } from '../../../src/correct/correct.js';
import { kmerCodes, kmerHashes } from '../../../src/correct/kmerCode.js';
import { estimateSpectrum, LevelSketch } from '../../../src/correct/sketch.js';
import { SpectrumBuilder } from '../../../src/correct/spectrum.js';
import { randomSeq, revcomp, rng } from '../../helpers/fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const K = 21;

/** Error-free reads (both strands) sampled from genomes; returns the reads and a corrector built from them. */
function setup(genomes: string[], readsPerGenome: number, seed: number) {
  const r = rng(seed);
  const reads: string[] = [];
  for (const g of genomes) {
    for (let i = 0; i < readsPerGenome; i++) {
      const p = Math.floor(r() * (g.length - 100));
      const s = g.slice(p, p + 100);
      reads.push(r() < 0.5 ? s : revcomp(s));
    }
  }
  const sketch = LevelSketch.allocate(1 << 20, false);
  const builder = new SpectrumBuilder(sketch, K, new Map());
  reads.forEach((s, i) => builder.addRead(enc(s), 0, s.length, i));
  const coverage = (builder.kmers / genomes.reduce((a, g) => a + g.length, 0));
  const level = Math.max(1, Math.round(Math.log2(coverage / 7)));
  const occ = sketch.occupancy(level);
  const params = { k: K, level, trustThreshold: trustThresholds(K, 2 ** -level + occ ** 3), maxCorrections: 4 };
  return { reads, corrector: new ReadCorrector(sketch, params), sketch, builder };
}

test('canonical k-mer hashes are strand-independent and codes agree with hashes', () => {
  const s = randomSeq(120, rng(1));
  const a = new Uint32Array(2 * 100);
  const b = new Uint32Array(2 * 100);
  const va = new Uint8Array(100);
  const vb = new Uint8Array(100);
  const n = kmerHashes(enc(s), 0, 120, K, a, va);
  kmerHashes(enc(revcomp(s)), 0, 120, K, b, vb);
  for (let i = 0; i < n; i++) {
    const j = n - 1 - i;
    assert.equal(a[2 * i], b[2 * j]);
    assert.equal(a[2 * i + 1], b[2 * j + 1]);
  }
  const f = [new Uint32Array(100), new Uint32Array(100), new Uint32Array(100), new Uint32Array(100)] as const;
  assert.equal(kmerCodes(enc(s), 0, 120, K, f[0], f[1], f[2], f[3], va), n);
  assert.ok(va.subarray(0, n).every((v) => v === 1));
});

test('a planted single error in a high-coverage read set is fixed', () => {
  const genome = randomSeq(5000, rng(2));
  const { reads, corrector } = setup([genome], 2000, 3);
  let fixed = 0;
  for (let t = 0; t < 20; t++) {
    // reads from the middle of the genome (the ends are covered less: sampled reads cannot start past them)
    const read = genome.slice(1000 + 150 * t, 1100 + 150 * t);
    const pos = 10 + t * 4;
    const wrong = read[pos] === 'A' ? 'C' : 'A';
    const bytes = enc(read.slice(0, pos) + wrong + read.slice(pos + 1));
    const q = enc('I'.repeat(100));
    const buf = new Uint8Array(200);
    buf.set(bytes);
    buf.set(q, 100);
    const changed = corrector.correct(buf, 0, 100, 100);
    if (changed === 1 && dec(buf.subarray(0, 100)) === read) fixed++;
  }
  assert.equal(fixed, 20, 'every planted error is corrected back to the true base');
  // an error-free read is left alone
  const clean = enc(reads[100]!);
  assert.equal(corrector.correct(clean, 0, 100, -1), 0);
  assert.equal(dec(clean), reads[100]);
});

test('a true SNP between two strains present at high coverage is not corrected away', () => {
  const a = randomSeq(4000, rng(4));
  const snp = 2000;
  const b = a.slice(0, snp) + (a[snp] === 'G' ? 'T' : 'G') + a.slice(snp + 1);
  const { corrector } = setup([a, b], 1600, 5);
  for (const [g, label] of [
    [a, 'strain A'],
    [b, 'strain B'],
  ] as const) {
    for (const off of [5, 40, 77]) {
      const read = g.slice(snp - off, snp - off + 100);
      const buf = enc(read);
      assert.equal(corrector.correct(buf, 0, 100, -1), 0, `${label} read at offset ${off} unchanged`);
      assert.equal(dec(buf), read);
    }
  }
});

test('spectrum estimate finds the genome size and coverage of a simulated genome with errors', () => {
  const genome = randomSeq(200_000, rng(6));
  const r = rng(7);
  const sketch = LevelSketch.allocate(1 << 22, false);
  const builder = new SpectrumBuilder(sketch, K, new Map());
  for (let i = 0; i < 60_000; i++) {
    const p = Math.floor(r() * (genome.length - 100));
    let s = genome.slice(p, p + 100);
    if (r() < 0.5) {
      const e = Math.floor(r() * 100);
      s = s.slice(0, e) + (s[e] === 'A' ? 'C' : 'A') + s.slice(e + 1);
    }
    builder.addRead(enc(s), 0, 100, i);
  }
  const est = estimateSpectrum(builder.sub);
  // 60k reads x 80 k-mers / 200 kb = 24x k-mer coverage
  assert.ok(est.genomeSize > 150_000 && est.genomeSize < 260_000, `genome size ${est.genomeSize}`);
  assert.ok(est.kmerCoverage > 18 && est.kmerCoverage < 30, `coverage ${est.kmerCoverage}`);
  assert.ok(est.solidThreshold >= 2 && est.solidThreshold < 12, `threshold ${est.solidThreshold}`);
});
