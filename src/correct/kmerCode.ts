import { BASE2 } from '../seq/twoBit.js';

/**
 * Canonical k-mer fingerprints for error correction, k in 17..31: the 2-bit code is kept in two 32-bit
 * words (hi = first k-16 bases, lo = last 16), rolled forward and as reverse complement, and the smaller
 * strand is hashed to two independent 32-bit values.
 */
export const MIN_K = 17;
export const MAX_K = 31;


function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes of a canonical code (hi, lo). */
export function hashCode(hi: number, lo: number, out: Uint32Array, o: number): void {
  out[o] = fmix(Math.imul(hi ^ 0x9e3779b9, 0x27d4eb2f) ^ lo);
  out[o + 1] = fmix(Math.imul(lo ^ 0x7f4a7c15, 0x165667b1) + hi);
}

/**
 * Fingerprints of every k-mer of s[start, start+len): out[2i], out[2i+1] are the two hashes of the k-mer
 * starting at i, or both 0 with valid[i] = 0 when it contains a non-ACGT base. Returns the number of k-mers.
 */
export function kmerHashes(s: Uint8Array, start: number, len: number, k: number, out: Uint32Array, valid: Uint8Array): number {
  const n = len - k + 1;
  if (n <= 0) return 0;
  const hiBases = k - 16;
  const hiMask = hiBases >= 16 ? 0xffffffff : (1 << (2 * hiBases)) - 1;
  const rcTopShift = 2 * hiBases - 2;
  let hi = 0;
  let lo = 0;
  let rhi = 0;
  let rlo = 0;
  let run = 0;
  for (let p = 0; p < len; p++) {
    const c = BASE2[s[start + p]!]!;
    if (c < 0) {
      run = 0;
      if (p >= k - 1) {
        out[2 * (p - k + 1)] = 0;
        out[2 * (p - k + 1) + 1] = 0;
        valid[p - k + 1] = 0;
      }
      continue;
    }
    hi = (((hi << 2) | (lo >>> 30)) & hiMask) >>> 0;
    lo = ((lo << 2) | c) >>> 0;
    rlo = ((rlo >>> 2) | ((rhi & 3) << 30)) >>> 0;
    rhi = ((rhi >>> 2) | ((3 - c) << rcTopShift)) >>> 0;
    run++;
    if (p >= k - 1) {
      const i = p - k + 1;
      if (run >= k) {
        if (hi < rhi || (hi === rhi && lo <= rlo)) hashCode(hi, lo, out, 2 * i);
        else hashCode(rhi, rlo, out, 2 * i);
        valid[i] = 1;
      } else {
        out[2 * i] = 0;
        out[2 * i + 1] = 0;
        valid[i] = 0;
      }
    }
  }
  return n;
}

/**
 * The forward and reverse-complement codes of every k-mer (for in-place substitution tests: changing one
 * base changes each code by one XOR). valid[i] = 0 where the k-mer contains a non-ACGT base.
 */
export function kmerCodes(
  s: Uint8Array,
  start: number,
  len: number,
  k: number,
  fhi: Uint32Array,
  flo: Uint32Array,
  rhi: Uint32Array,
  rlo: Uint32Array,
  valid: Uint8Array,
): number {
  const n = len - k + 1;
  if (n <= 0) return 0;
  const hiBases = k - 16;
  const hiMask = (1 << (2 * hiBases)) - 1;
  const rcTopShift = 2 * hiBases - 2;
  let hi = 0;
  let lo = 0;
  let rh = 0;
  let rl = 0;
  let run = 0;
  for (let p = 0; p < len; p++) {
    const c = BASE2[s[start + p]!]!;
    if (c < 0) {
      run = 0;
      if (p >= k - 1) valid[p - k + 1] = 0;
      continue;
    }
    hi = (((hi << 2) | (lo >>> 30)) & hiMask) >>> 0;
    lo = ((lo << 2) | c) >>> 0;
    rl = ((rl >>> 2) | ((rh & 3) << 30)) >>> 0;
    rh = ((rh >>> 2) | ((3 - c) << rcTopShift)) >>> 0;
    run++;
    if (p >= k - 1) {
      const i = p - k + 1;
      fhi[i] = hi;
      flo[i] = lo;
      rhi[i] = rh;
      rlo[i] = rl;
      valid[i] = run >= k ? 1 : 0;
    }
  }
  return n;
}
