import { kmerHashes, MAX_K, MIN_K } from '../correct/kmerCode.js';
import { BASE2 } from '../seq/twoBit.js';

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

/** Scratch space reused across reads (one per worker or batch). */
export class SketchScratch {
  /** hash words (hi, lo) of the current mate's k-mers by k-mer position, sign-flipped (see SIGN) */
  hi = new Int32Array(0);
  lo = new Int32Array(0);
  /** 1 where the k-mer at that position has only A/C/G/T */
  valid = new Uint8Array(0);
  /** the fragment's window minimizers before sorting (sign-flipped hi, lo words) */
  mhi = new Int32Array(0);
  mlo = new Int32Array(0);
  /** sort keys: hi * 2^20 + index into mhi/mlo (exact in a float64) */
  keys = new Float64Array(0);
  ensure(len: number): void {
    if (this.hi.length < len) {
      this.hi = new Int32Array(len);
      this.lo = new Int32Array(len);
      this.valid = new Uint8Array(len);
      this.mhi = new Int32Array(2 * len);
      this.mlo = new Int32Array(2 * len);
      this.keys = new Float64Array(2 * len);
    }
  }
}

/**
 * Hash words are kept as int32 XOR SIGN: signed order of the flipped values is the unsigned order of the words,
 * and the loop never leaves int32 (uint32 values above 2^31 became float64 and cost ~20%).
 */
const SIGN = -0x80000000;
/** Minimizers per fragment up to which the sort key (hi * 2^20 + index) is exact; more use the reference. */
const KEY_INDEX = 1048576;
/** key & KEY_MASK = the index (ToInt32 of an integral float64 below 2^53 keeps its low 32 bits exactly) */
const KEY_MASK = KEY_INDEX - 1;

/**
 * Appends the window minimizers of s[start, start+len) to scratch.mhi/mlo from index `count`; consecutive
 * windows with the same minimizer add it once. Returns the new count. One pass: the 2-bit codes are rolled, the
 * canonical one hashed (kmerCode.ts hashCode, written out) and compared with the window's current minimum; the
 * window is scanned again only when its minimum leaves it. Ties go to the later k-mer, as in the reference's
 * deque (which popped candidates >= the new one); the deque's unpredictable pops cost ~2x the time of this scan.
 */
function mateMinimizers(s: Uint8Array, start: number, len: number, k: number, w: number, sc: SketchScratch, count: number): number {
  const n = len - k + 1;
  if (n <= 0) return count;
  const H = sc.hi;
  const L = sc.lo;
  const V = sc.valid;
  const MH = sc.mhi;
  const ML = sc.mlo;
  const hiMask = (1 << (2 * (k - 16))) - 1; // k <= 31: at most 15 bases (30 bits) in the hi word
  const rcTopShift = 2 * (k - 16) - 2;
  let fh = 0;
  let fl = 0;
  let rh = 0;
  let rl = 0;
  let run = 0;
  let min = -1; // position of the current window's minimum, -1: no valid k-mer in the window
  let last = -1;
  for (let p = 0; p < len; p++) {
    const c = BASE2[s[start + p]!]!;
    if (c < 0) run = 0;
    else {
      fh = ((fh << 2) | (fl >>> 30)) & hiMask;
      fl = (fl << 2) | c;
      rl = (rl >>> 2) | ((rh & 3) << 30);
      rh = (rh >>> 2) | ((3 - c) << rcTopShift);
      run++;
    }
    if (p < k - 1) continue;
    const i = p - k + 1;
    if (c >= 0 && run >= k) {
      // canonical code: the smaller (hi, then lo unsigned) of the two strands
      let a = rh;
      let b = rl;
      if (fh < rh || (fh === rh && (fl ^ SIGN) <= (rl ^ SIGN))) {
        a = fh;
        b = fl;
      }
      let h1 = Math.imul(a ^ 0x9e3779b9, 0x27d4eb2f) ^ b;
      h1 ^= h1 >>> 16;
      h1 = Math.imul(h1, 0x85ebca6b);
      h1 ^= h1 >>> 13;
      h1 = Math.imul(h1, 0xc2b2ae35);
      h1 = h1 ^ (h1 >>> 16) ^ SIGN;
      let h2 = (Math.imul(b ^ 0x7f4a7c15, 0x165667b1) + a) | 0;
      h2 ^= h2 >>> 16;
      h2 = Math.imul(h2, 0x85ebca6b);
      h2 ^= h2 >>> 13;
      h2 = Math.imul(h2, 0xc2b2ae35);
      h2 = h2 ^ (h2 >>> 16) ^ SIGN;
      H[i] = h1;
      L[i] = h2;
      V[i] = 1;
      if (min < 0 || h1 < H[min]! || (h1 === H[min]! && h2 <= L[min]!)) min = i;
    } else V[i] = 0;
    const winStart = i - w + 1;
    if (min >= 0 && min < winStart) {
      // the minimum left the window: scan the window (the new k-mer included) for the next one
      min = -1;
      for (let j = winStart; j <= i; j++) {
        if (V[j] === 1 && (min < 0 || H[j]! < H[min]! || (H[j] === H[min] && L[j]! <= L[min]!))) min = j;
      }
    }
    // a read shorter than one window still gets its smallest k-mer
    if ((winStart >= 0 || i === n - 1) && min >= 0 && min !== last) {
      last = min;
      MH[count] = H[min]!;
      ML[count] = L[min]!;
      count++;
    }
  }
  return count;
}

/**
 * The sketch of one fragment (one or two mates): distinct minimizers sorted by (hi, lo), written to
 * out[2 * at ...] as hi/lo word pairs. Returns the number of minimizers. `out` must hold 2 * (at + len1 + len2).
 * Same output as fragmentSketchReference (randomised test), in one pass per mate and a sort of float64 keys.
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
  sc.ensure(Math.max(len1, len2) + 1);
  let count = mateMinimizers(s1, start1, len1, p.k, p.w, sc, 0);
  if (s2 && len2 > 0) count = mateMinimizers(s2, start2, len2, p.k, p.w, sc, count);
  if (count >= KEY_INDEX) return fragmentSketchReference(p, s1, start1, len1, s2, start2, len2, out, at);
  const MH = sc.mhi;
  const ML = sc.mlo;
  const keys = sc.keys;
  // insertion sort of one float64 key per minimizer (hi word, then position: ~40 keys per 2x150 fragment)
  for (let i = 0; i < count; i++) {
    const key = MH[i]! * KEY_INDEX + i;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  let m = 0;
  let lastHi = 0;
  let lastLo = 0;
  for (let i = 0; i < count; ) {
    const hi = MH[keys[i]! & KEY_MASK]!;
    let g = i + 1;
    while (g < count && MH[keys[g]! & KEY_MASK] === hi) g++;
    if (g - i > 1) {
      // equal hi words (rare): order the group by lo
      for (let x = i + 1; x < g; x++) {
        const kx = keys[x]!;
        const lx = ML[kx & KEY_MASK]!;
        let y = x - 1;
        while (y >= i && ML[keys[y]! & KEY_MASK]! > lx) {
          keys[y + 1] = keys[y]!;
          y--;
        }
        keys[y + 1] = kx;
      }
    }
    for (; i < g; i++) {
      const lo = ML[keys[i]! & KEY_MASK]!;
      if (m > 0 && hi === lastHi && lo === lastLo) continue;
      // the Uint32Array store turns the flipped int32 back into the unsigned word
      out[2 * (at + m)] = hi ^ SIGN;
      out[2 * (at + m) + 1] = lo ^ SIGN;
      lastHi = hi;
      lastLo = lo;
      m++;
    }
  }
  return m;
}

/** Scratch space of the reference implementation. */
class ReferenceScratch {
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
function mateMinimizersReference(s: Uint8Array, start: number, len: number, p: SketchParams, sc: ReferenceScratch, count: number): number {
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
 * The reference implementation of fragmentSketch (kmerHashes, then a deque over the hash array, then an
 * insertion sort of word pairs): kept for the randomised equality test in test/unit/sketch/minimizers.test.ts.
 */
export function fragmentSketchReference(
  p: SketchParams,
  s1: Uint8Array,
  start1: number,
  len1: number,
  s2: Uint8Array | undefined,
  start2: number,
  len2: number,
  out: Uint32Array,
  at: number,
): number {
  return fragmentSketchRef(p, refScratch, s1, start1, len1, s2, start2, len2, out, at);
}
const refScratch = new ReferenceScratch();

function fragmentSketchRef(
  p: SketchParams,
  sc: ReferenceScratch,
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
  let count = mateMinimizersReference(s1, start1, len1, p, sc, 0);
  if (s2 && len2 > 0) count = mateMinimizersReference(s2, start2, len2, p, sc, count);
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
