import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LshSketch, LSH_DEFAULTS } from '../../../src/embed/lsh.js';
import type { LshSpec } from '../../../src/embed/types.js';
import { randomSeq, revcomp, rng } from '../../helpers/fixtures.js';

const enc = new TextEncoder();
const spec = (over: Partial<LshSpec> = {}): LshSpec => ({ method: 'lsh', ...LSH_DEFAULTS, ...over });

function embedOne(s: LshSketch, a: string, b = ''): Float32Array {
  const b1 = enc.encode(a);
  const b2 = enc.encode(b);
  const out = new Float32Array(s.dim);
  s.embed({ n: 1, bytes1: b1, start1: Int32Array.of(0), len1: Int32Array.of(b1.length), bytes2: b2, start2: Int32Array.of(0), len2: Int32Array.of(b2.length) }, out);
  return out;
}

function raw(s: LshSketch, a: string): { v: Float32Array; n: number } {
  const v = new Float32Array(s.dim);
  const n = s.addRead(enc.encode(a), 0, a.length, v, 0);
  return { v, n };
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);

function mutate(s: string, n: number, r: () => number): string {
  const a = [...s];
  for (let i = 0; i < n; i++) {
    const p = Math.floor(r() * a.length);
    a[p] = 'ACGT'.replace(a[p]!, '')[Math.floor(r() * 3)]!;
  }
  return a.join('');
}

test('lsh sketch: fixed dimension, unit length, deterministic for a seed, different for another seed', () => {
  const r = rng(5);
  const read = randomSeq(150, r);
  for (const dim of [16, 256, 1000]) {
    const a = embedOne(new LshSketch(spec({ dim })), read);
    assert.equal(a.length, dim);
    assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-5);
    assert.deepEqual(embedOne(new LshSketch(spec({ dim })), read), a);
  }
  assert.notDeepEqual(embedOne(new LshSketch(spec({ seed: 2 })), read), embedOne(new LshSketch(spec({ seed: 1 })), read));
});

test('lsh sketch: strand-independent (canonical k-mers) and mates add up', () => {
  const r = rng(6);
  for (const k of [8, 11, 15]) {
    const s = new LshSketch(spec({ k }));
    const read = randomSeq(120, r);
    assert.deepEqual(embedOne(s, revcomp(read)), embedOne(s, read));
    const m2 = randomSeq(100, r);
    const pair = embedOne(s, read, m2);
    const sum = raw(s, read).v.map((x, i) => x + raw(s, m2).v[i]!);
    const norm = Math.hypot(...sum);
    pair.forEach((x, i) => assert.ok(Math.abs(x - sum[i]! / norm) < 1e-6));
  }
});

test('lsh sketch: k-mers spanning N are skipped; every other k-mer is counted once', () => {
  const r = rng(7);
  const s = new LshSketch(spec({ k: 10, nnz: 3 }));
  const a = randomSeq(40, r);
  const b = randomSeq(35, r);
  const joined = raw(s, `${a}N${b}`);
  assert.equal(joined.n, 40 - 10 + 1 + (35 - 10 + 1));
  const ra = raw(s, a);
  const rb = raw(s, b);
  joined.v.forEach((x, i) => assert.equal(x, ra.v[i]! + rb.v[i]!));
  assert.equal(raw(s, 'ACGTNACGTN').n, 0);
  assert.deepEqual([...embedOne(s, 'ACGTN')], new Array<number>(s.dim).fill(0));
  // each k-mer adds nnz signed units (collisions may cancel): the L1 mass is at most nnz per k-mer
  assert.ok(ra.v.reduce((acc, x) => acc + Math.abs(x), 0) <= 3 * ra.n);
});

test('lsh sketch: reads with a few substitutions and overlapping reads are closer than unrelated reads', () => {
  const r = rng(8);
  for (const k of [8, 12, 15]) {
    const s = new LshSketch(spec({ k }));
    let closer = 0;
    let overlapCloser = 0;
    const trials = 40;
    for (let t = 0; t < trials; t++) {
      const genome = randomSeq(400, r);
      const read = genome.slice(0, 150);
      const e = embedOne(s, read);
      const near = embedOne(s, mutate(read, 3, r));
      const shifted = embedOne(s, genome.slice(50, 200));
      const other = embedOne(s, randomSeq(150, r));
      if (dot(e, near) > dot(e, other)) closer++;
      if (dot(e, shifted) > dot(e, other)) overlapCloser++;
    }
    assert.equal(closer, trials, `k=${k}: mutated copies`);
    assert.equal(overlapCloser, trials, `k=${k}: overlapping reads`);
  }
});

test('lsh sketch: parameters out of range are refused', () => {
  assert.throws(() => new LshSketch(spec({ k: 7 })), /lsh: k=7 out of range 8\.\.15/);
  assert.throws(() => new LshSketch(spec({ k: 16 })), /lsh: k=16 out of range/);
  assert.throws(() => new LshSketch(spec({ bits: 31 })), /lsh: bits=31 out of range 4\.\.30/);
  assert.throws(() => new LshSketch(spec({ dim: 1 })), /lsh: dim=1 out of range/);
});
