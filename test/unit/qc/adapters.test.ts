import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findAdapter, findAdapterReference, findOverlap, findOverlapReference, detectAdapter, detectAdapterReference, KNOWN_ADAPTERS } from '../../../src/qc/adapters.js';
import { randomSeq, revcomp, rng } from '../../helpers/fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);

function noisy(r: () => number, len: number, nRate: number, odd = 0): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const x = r();
    b[i] = x < nRate ? 0x4e : x < nRate + odd ? 0x61 : 'ACGT'.charCodeAt(Math.floor(r() * 4));
  }
  return b;
}

function mutate(b: Uint8Array, rate: number, r: () => number): Uint8Array {
  const c = b.slice();
  for (let i = 0; i < c.length; i++) if (r() < rate) c[i] = 'ACGTN'.charCodeAt(Math.floor(r() * 5));
  return c;
}

test('overlap analysis clips both mates of a short insert at the insert length', () => {
  const r = rng(7);
  const insert = randomSeq(80, r);
  const a1 = KNOWN_ADAPTERS['Illumina TruSeq Adapter Read 1']!;
  const a2 = KNOWN_ADAPTERS['Illumina TruSeq Adapter Read 2']!;
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
  const a = KNOWN_ADAPTERS['Illumina TruSeq Adapter Read 1']!;
  const read = randomSeq(100, r) + a.slice(0, 10).replace('T', 'A') + a.slice(10, 30);
  assert.equal(findAdapter(enc(read), 0, read.length, enc(a)), 100);
  const clean = randomSeq(130, rng(10));
  assert.equal(findAdapter(enc(clean), 0, clean.length, enc(a)), -1);
  const reads = Array.from({ length: 200 }, (_, i) => enc(i % 10 === 0 ? randomSeq(60, r) + a : randomSeq(90, r)));
  assert.equal(detectAdapter(reads)?.sequence, a);
});

test('word-parallel overlap and adapter search agree exactly with the byte loops', () => {
  const r = rng(21);
  const comp: Record<number, number> = { 65: 84, 67: 71, 71: 67, 84: 65 };
  const adapter = enc(KNOWN_ADAPTERS['Illumina TruSeq Adapter Read 1']!);
  for (let t = 0; t < 20000; t++) {
    const insert = noisy(r, 20 + Math.floor(r() * 300), r() < 0.3 ? 0.05 : 0, r() < 0.02 ? 0.01 : 0);
    const l1 = 1 + Math.floor(r() * 160);
    const l2 = 1 + Math.floor(r() * 160);
    const s1 = new Uint8Array(l1 + 10);
    s1.set(mutate(insert.subarray(0, l1), r() * 0.1, r), 5);
    for (let i = Math.min(insert.length, l1); i < l1; i++) s1[5 + i] = adapter[i % adapter.length]!;
    const rc = insert.map((_, i) => comp[insert[insert.length - 1 - i]!] ?? 0x4e);
    const s2 = new Uint8Array(l2 + 10);
    s2.set(mutate(rc.subarray(0, l2), r() * 0.1, r), 3);
    const minLen = [30, 10, 0, 200][t % 4]!;
    const diffLimit = [5, 0, 3, 50, 5.5][t % 5]!;
    const diffPercent = [0.2, 0.1, 1, 0.05][t % 7 % 4]!;
    assert.deepEqual(
      findOverlap(s1, 5, l1, s2, 3, l2, minLen, diffLimit, diffPercent),
      findOverlapReference(s1, 5, l1, s2, 3, l2, minLen, diffLimit, diffPercent),
    );
    const a = r() < 0.1 ? mutate(adapter.subarray(0, 1 + Math.floor(r() * 33)), 0.05, r) : adapter;
    const matchReq = [4, 1, 0, 10][t % 4]!;
    assert.equal(findAdapter(s1, 5, l1, a, matchReq), findAdapterReference(s1, 5, l1, a, matchReq));
  }
});

test('one-pass adapter detection agrees exactly with the per-adapter scan', () => {
  const r = rng(22);
  const known = Object.values(KNOWN_ADAPTERS);
  for (let t = 0; t < 60; t++) {
    const rates = known.map(() => (r() < 0.5 ? 0 : r() * 0.01));
    const reads = Array.from({ length: Math.floor(r() * 2000) }, () => {
      let s = new TextDecoder().decode(noisy(r, Math.floor(r() * 160), 0.02, 0.01));
      known.forEach((a, k) => {
        if (r() < rates[k]!) {
          const p = Math.floor(r() * (s.length + 1));
          s = s.slice(0, p) + a.slice(0, 8 + Math.floor(r() * 10)) + s.slice(p);
        }
      });
      return enc(s);
    });
    const minFraction = [0.001, 0, 0.002][t % 3]!;
    const mate = ([undefined, 1, 2] as const)[t % 3];
    assert.deepEqual(detectAdapter(reads, minFraction, mate), detectAdapterReference(reads, minFraction, mate));
  }
});

test('adapter names per mate: TruSeq Read 1 and Read 2 (same first 12 bases) told apart, as fastp names them', () => {
  const r = rng(18);
  const K = KNOWN_ADAPTERS;
  // 5% of reads run into the adapter, with 10..33 of its bases at the 3' end
  const sample = (adapter: string, keep = (i: number) => 10 + (i % 24)): Uint8Array[] =>
    Array.from({ length: 2000 }, (_, i) => enc(i % 20 === 0 ? randomSeq(150 - keep(i), r) + adapter.slice(0, keep(i)) : randomSeq(150, r)));
  const r1 = K['Illumina TruSeq Adapter Read 1']!;
  const r2 = K['Illumina TruSeq Adapter Read 2']!;
  assert.equal(r1.slice(0, 12), r2.slice(0, 12), 'the shared probe this test is about');
  for (const [seq, mate, name] of [
    [r1, 1, 'Illumina TruSeq Adapter Read 1'],
    [r2, 2, 'Illumina TruSeq Adapter Read 2'],
    // the bases after the probe decide, not the mate
    [r2, 1, 'Illumina TruSeq Adapter Read 2'],
    [r1, 2, 'Illumina TruSeq Adapter Read 1'],
    [K['Illumina Nextera / Tn5 (both reads)']!, 1, 'Illumina Nextera / Tn5 (both reads)'],
    [K['Illumina Nextera / Tn5 (both reads)']!, 2, 'Illumina Nextera / Tn5 (both reads)'],
    [K["Illumina Small RNA 3' Adapter (RA3, read 1)"]!, 1, "Illumina Small RNA 3' Adapter (RA3, read 1)"],
    [K["Illumina Small RNA 5' Adapter (RA5 reverse complement, read 2)"]!, 2, "Illumina Small RNA 5' Adapter (RA5 reverse complement, read 2)"],
    [K['MGI/BGI Adapter Read 1']!, 1, 'MGI/BGI Adapter Read 1'],
    [K['MGI/BGI Adapter Read 2']!, 2, 'MGI/BGI Adapter Read 2'],
  ] as const) {
    const reads = sample(seq);
    for (const d of [detectAdapter(reads, 0.001, mate), detectAdapterReference(reads, 0.001, mate)]) {
      assert.equal(d?.name, name, `mate ${mate}`);
      assert.equal(d?.sequence, seq);
      // reads with 12 or more adapter bases: about 5% x 22/24
      assert.ok(d.fraction > 0.035 && d.fraction <= 0.05, `fraction ${d.fraction}`);
    }
  }
  // a sequencing error in the discriminating bases does not flip the vote
  const noisy = sample(r2.slice(0, 15) + 'A' + r2.slice(16), () => 30);
  assert.equal(detectAdapter(noisy, 0.001, 1)?.name, 'Illumina TruSeq Adapter Read 2');
  // only the shared 12 bases visible (reads end inside the probe region + 3): the mate decides
  const short = sample(r2, () => 15);
  assert.equal(detectAdapter(short, 0.001, 2)?.name, 'Illumina TruSeq Adapter Read 2');
  assert.equal(detectAdapter(short, 0.001, 1)?.name, 'Illumina TruSeq Adapter Read 1');
});
