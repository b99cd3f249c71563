import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fragmentHash } from '../../../src/dedup/hash.js';
import { randomSeq, rng } from '../../helpers/fixtures.js';

const enc = new TextEncoder();

function hashOf(r1: string, r2?: string): string {
  const out = new Uint32Array(2);
  const b1 = enc.encode(r1);
  const b2 = r2 === undefined ? undefined : enc.encode(r2);
  fragmentHash(b1, 0, b1.length, b2, 0, b2?.length ?? 0, out, 0);
  return `${out[0]}:${out[1]}`;
}

void test('fragmentHash reads the given ranges and writes at the given offset', () => {
  const bytes = enc.encode('xxACGTyyTTGGzz');
  const out = new Uint32Array(6);
  fragmentHash(bytes, 2, 4, bytes, 8, 4, out, 2);
  assert.equal(`${out[2]}:${out[3]}`, hashOf('ACGT', 'TTGG'));
  assert.deepEqual([out[0], out[1], out[4], out[5]], [0, 0, 0, 0]);
});

void test('fragmentHash tells mates apart: order, the boundary between them, single-end vs empty mate 2', () => {
  const seen = new Set([hashOf('ACGT', 'TTGG'), hashOf('TTGG', 'ACGT'), hashOf('ACG', 'TTTGG'), hashOf('ACGTTTGG', ''), hashOf('ACGTTTGG')]);
  // the last two are the same fragment (no mate 2 bytes) and hash alike; the others differ
  assert.equal(hashOf('ACGTTTGG', ''), hashOf('ACGTTTGG'));
  assert.equal(seen.size, 4);
  assert.notEqual(hashOf('ACGT', 'TTGG'), hashOf('ACG', 'TTGG'));
  assert.equal(hashOf('ACGT', 'TTGG'), hashOf('ACGT', 'TTGG'));
});

void test('fragmentHash: no collision of the 64-bit value and at most 2 of either 32-bit half over 50,000 distinct pairs', () => {
  const r = rng(42);
  const full = new Set<string>();
  const h1 = new Set<number>();
  const h2 = new Set<number>();
  const out = new Uint32Array(2);
  for (let i = 0; i < 50_000; i++) {
    // near-identical fragments (one base apart) are the hard case for a duplicate filter
    const base = randomSeq(100, r);
    const s1 = enc.encode(i % 2 === 0 ? base : base.slice(0, 50) + 'ACGT'[i % 4] + base.slice(51));
    const s2 = enc.encode(randomSeq(100, r));
    fragmentHash(s1, 0, s1.length, s2, 0, s2.length, out, 0);
    full.add(`${out[0]}:${out[1]}`);
    h1.add(out[0] as number);
    h2.add(out[1] as number);
  }
  assert.equal(full.size, 50_000);
  // 50,000 values in 2^32: a collision of one half has probability ~0.3, so allow at most 2 per half
  assert.ok(h1.size >= 49_998 && h2.size >= 49_998, `${h1.size}, ${h2.size}`);
});
