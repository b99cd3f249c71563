import { kmerHashes, MAX_K, MIN_K } from '../correct/kmerCode.js';

/**
 * Minimizer sketch of a fragment, for the overlap graph of Phase 2 (docs/graph.md).
 *
 * Every canonical k-mer of each mate is hashed to 64 bits (two 32-bit words, src/correct/kmerCode.ts); in every
 * window of `w` consecutive k-mers the one with the smallest hash (hi word first, then lo) is the window's
 * minimizer (windows that contain a k-mer with a non-ACGT base use only the valid k-mers). Two reads that
 * overlap by at least w + k - 1 bases share at least one minimizer, and about 2 / (w + 1) of the overlap's
 * k-mers on average; the sketch of a fragment is the sorted set of distinct minimizers of both mates.
 * Canonical k-mers make the sketch independent of the strand a read came from.
 */
export interface SketchParams {
  k: number;
  w: number;
}

/** How the 64-bit minimizer values are made (recorded in the manifest so runs with other hashes are refused). */
export const SKETCH_HASH = 'canonical-2bit-fmix32x2/1';

export const DEFAULT_SKETCH: SketchParams = { k: 21, w: 12 };
export const MIN_SKETCH_K = MIN_K;
export const MAX_SKETCH_K = MAX_K;

/** Scratch space reused across reads (one per batch). */
export class SketchScratch {
  hashes = new Uint32Array(0);
  valid = new Uint8Array(0);
  /** positions of the current window's candidates (monotone deque) */
  deque = new Int32Array(0);
  /** minimizers of the fragment, hi/lo pairs, before sorting */
  pairs = new Uint32Array(0);
  ensure(len: number, w: number): void {
    if (this.valid.length < len) {
      this.hashes = new Uint32Array(2 * len);
      this.valid = new Uint8Array(len);
      this.deque = new Int32Array(len + w);
      this.pairs = new Uint32Array(4 * len);
    }
  }
}

function less(h: Uint32Array, a: number, b: number): boolean {
  const ah = h[2 * a]!;
  const bh = h[2 * b]!;
  return ah < bh || (ah === bh && h[2 * a + 1]! < h[2 * b + 1]!);
}

/**
 * Appends the window minimizers of s[start, start+len) to scratch.pairs from index `count` (pairs of words);
 * consecutive windows with the same minimizer add it once. Returns the new count.
 */
function mateMinimizers(s: Uint8Array, start: number, len: number, p: SketchParams, sc: SketchScratch, count: number): number {
  const n = kmerHashes(s, start, len, p.k, sc.hashes, sc.valid);
  if (n <= 0) return count;
  const h = sc.hashes;
  const valid = sc.valid;
  const dq = sc.deque;
  const w = p.w;
  let head = 0;
  let tail = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (valid[i]) {
      while (tail > head && !less(h, dq[tail - 1]!, i)) tail--;
      dq[tail++] = i;
    }
    const winStart = i - w + 1;
    while (tail > head && dq[head]! < winStart) head++;
    if (winStart >= 0 || i === n - 1) {
      // a read shorter than one window still gets its smallest k-mer
      if (tail > head) {
        const m = dq[head]!;
        if (m !== last) {
          last = m;
          sc.pairs[2 * count] = h[2 * m]!;
          sc.pairs[2 * count + 1] = h[2 * m + 1]!;
          count++;
        }
      }
    }
  }
  return count;
}

/**
 * The sketch of one fragment (one or two mates): distinct minimizers sorted by (hi, lo), written to
 * out[2 * at ...] as hi/lo word pairs. Returns the number of minimizers. `out` must hold 2 * (at + len1 + len2).
 */
export function fragmentSketch(
  p: SketchParams,
  sc: SketchScratch,
  s1: Uint8Array,
  start1: number,
  len1: number,
  s2: Uint8Array | undefined,
  start2: number,
  len2: number,
  out: Uint32Array,
  at: number,
): number {
  sc.ensure(Math.max(len1, len2) + 1, p.w);
  let count = mateMinimizers(s1, start1, len1, p, sc, 0);
  if (s2 && len2 > 0) count = mateMinimizers(s2, start2, len2, p, sc, count);
  // insertion sort by (hi, lo) + dedup: a fragment has ~2 * len / (w + 1) minimizers
  const a = sc.pairs;
  for (let i = 1; i < count; i++) {
    const hi = a[2 * i]!;
    const lo = a[2 * i + 1]!;
    let j = i - 1;
    while (j >= 0 && (a[2 * j]! > hi || (a[2 * j] === hi && a[2 * j + 1]! > lo))) {
      a[2 * j + 2] = a[2 * j]!;
      a[2 * j + 3] = a[2 * j + 1]!;
      j--;
    }
    a[2 * j + 2] = hi;
    a[2 * j + 3] = lo;
  }
  let m = 0;
  for (let i = 0; i < count; i++) {
    const hi = a[2 * i]!;
    const lo = a[2 * i + 1]!;
    if (m > 0 && out[2 * (at + m - 1)] === hi && out[2 * (at + m - 1) + 1] === lo) continue;
    out[2 * (at + m)] = hi;
    out[2 * (at + m) + 1] = lo;
    m++;
  }
  return m;
}

export function checkSketchParams(p: SketchParams): void {
  if (!Number.isInteger(p.k) || p.k < MIN_SKETCH_K || p.k > MAX_SKETCH_K) throw new RangeError(`sketch: k=${p.k} must be in ${MIN_SKETCH_K}..${MAX_SKETCH_K}`);
  if (!Number.isInteger(p.w) || p.w < 1 || p.w > 256) throw new RangeError(`sketch: w=${p.w} must be in 1..256`);
}
