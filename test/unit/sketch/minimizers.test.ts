import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SKETCH, fragmentSketch, fragmentSketchReference, SketchScratch, type SketchParams } from '../../../src/sketch/minimizers.js';
import { rng } from '../../helpers/fixtures.js';

/**
 * fragmentSketch (one pass per mate: rolling codes, hashing and the window minimum together, float64 sort keys)
 * against the reference (kmerHashes, a monotone deque, an insertion sort of word pairs): the same minimizers, in
 * the same order, on random reads with N bases, repeats (equal k-mers in one window: ties), reads shorter than k
 * or than one window, and k/w over their whole range.
 */

const ALPHABET = 'ACGT';

/** A read mixing random bases, N runs, lower-case-free other bytes, homopolymers and tandem repeats. */
function randomRead(r: () => number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let i = 0;
  while (i < len) {
    const kind = r();
    const run = 1 + Math.floor(r() * 40);
    if (kind < 0.6) {
      for (let j = 0; j < run && i < len; j++) out[i++] = ALPHABET.charCodeAt(Math.floor(r() * 4));
    } else if (kind < 0.7) {
      const b = r() < 0.8 ? 0x4e : 0x2e; // N, or another non-ACGT byte
      for (let j = 0; j < Math.min(run, 3) && i < len; j++) out[i++] = b;
    } else if (kind < 0.85) {
      const b = ALPHABET.charCodeAt(Math.floor(r() * 4));
      for (let j = 0; j < run && i < len; j++) out[i++] = b;
    } else {
      const unit = 1 + Math.floor(r() * 6);
      const motif = Array.from({ length: unit }, () => ALPHABET.charCodeAt(Math.floor(r() * 4)));
      for (let j = 0; j < run * 2 && i < len; j++) out[i++] = motif[j % unit]!;
    }
  }
  return out;
}

function both(p: SketchParams, sc: SketchScratch, a: Uint8Array, b: Uint8Array | undefined, pad: number): { fast: number[]; ref: number[] } {
  // the reads sit at an offset inside a larger buffer, as in a batch
  const buf1 = new Uint8Array(a.length + 2 * pad).fill(0x41);
  buf1.set(a, pad);
  const buf2 = b ? new Uint8Array(b.length + 2 * pad).fill(0x43) : undefined;
  if (b && buf2) buf2.set(b, pad);
  const cap = 2 * (3 + a.length + (b?.length ?? 0));
  const outF = new Uint32Array(cap + 2).fill(7);
  const outR = new Uint32Array(cap + 2).fill(7);
  const mF = fragmentSketch(p, sc, buf1, pad, a.length, buf2, pad, b?.length ?? 0, outF, 1);
  const mR = fragmentSketchReference(p, buf1, pad, a.length, buf2, pad, b?.length ?? 0, outR, 1);
  return { fast: [mF, ...outF], ref: [mR, ...outR] };
}

test('minimizer sketch: the one-pass kernel equals the reference on random reads (N bases, repeats, short reads, k 17..31, w 1..40)', () => {
  const r = rng(2026);
  const sc = new SketchScratch(); // reused across reads of different lengths, as in a batch
  let compared = 0;
  let withTies = 0;
  for (let t = 0; t < 3000; t++) {
    const p: SketchParams = t % 3 === 0 ? DEFAULT_SKETCH : { k: 17 + Math.floor(r() * 15), w: 1 + Math.floor(r() * 40) };
    const lenOf = (): number => {
      const x = r();
      if (x < 0.15) return Math.floor(r() * (p.k + 2)); // shorter than k, or a few k-mers
      if (x < 0.3) return p.k + Math.floor(r() * (p.w + 2)); // shorter than one window
      return Math.floor(r() * 320);
    };
    const a = randomRead(r, lenOf());
    const b = r() < 0.8 ? randomRead(r, lenOf()) : undefined;
    const { fast, ref } = both(p, sc, a, b, Math.floor(r() * 5));
    assert.deepEqual(fast, ref, `read pair ${t} (k ${p.k}, w ${p.w}, lengths ${a.length}/${b?.length ?? '-'})`);
    if (ref[0]! > 0) compared++;
    if (/(A{25}|C{25}|G{25}|T{25})/.test(new TextDecoder().decode(a))) withTies++;
  }
  // the comparison must have exercised sketches and tied windows, not only empty ones
  assert.ok(compared > 2000, `only ${compared} non-empty sketches compared`);
  assert.ok(withTies > 50, `only ${withTies} reads with homopolymer ties`);
});

test('minimizer sketch: equal hash words are ordered by their lo word and removed as duplicates', () => {
  // a homopolymer mate gives one k-mer repeated: one minimizer; the same read twice: still one per distinct value
  const sc = new SketchScratch();
  const a = new Uint8Array(120).fill(0x41);
  const out = new Uint32Array(1000);
  const m = fragmentSketch(DEFAULT_SKETCH, sc, a, 0, a.length, a, 0, a.length, out, 0);
  assert.equal(m, 1);
  const outR = new Uint32Array(1000);
  assert.equal(fragmentSketchReference(DEFAULT_SKETCH, a, 0, a.length, a, 0, a.length, outR, 0), 1);
  assert.deepEqual([...out.subarray(0, 2)], [...outR.subarray(0, 2)]);
});
