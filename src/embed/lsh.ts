import { BASE2 } from '../seq/twoBit.js';
import type { Embedder, FragmentSeqs, LshSpec } from './types.js';

/**
 * LSHvec-style read sketch (docs/embedding.md). Every canonical k-mer (k 8..15; a k-mer and its reverse
 * complement are one token, reads come from either strand) is hashed with random-hyperplane LSH on its
 * one-hot encoding (`bits` hyperplanes -> bucket id), so k-mers that differ in a few positions tend to share
 * a bucket. Each bucket adds `nnz` signed unit entries at seeded pseudo-random coordinates of a `dim`-long
 * vector (a sparse random projection of the fragment's bucket histogram); the row is then L2-normalised.
 * LSHvec trains fastText vectors on these bucket tokens; metavec stops at the untrained random projection,
 * so the sketch is deterministic for a seed and needs no model.
 */

export const LSH_DEFAULTS = { k: 8, dim: 256, bits: 8, nnz: 4, seed: 1 } as const;
export const LSH_K_RANGE = [8, 15] as const;
export const LSH_BITS_RANGE = [4, 30] as const;

/** Bases per hyperplane lookup table: 4^5 entries x bits floats each (a few hundred KB, cache-resident). */
const CHUNK = 5;

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** murmur3 finaliser: a 32-bit mix, integer-only so every platform gets the same sketch. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function validateLsh(spec: LshSpec): void {
  if (!Number.isInteger(spec.k) || spec.k < LSH_K_RANGE[0] || spec.k > LSH_K_RANGE[1]) throw new RangeError(`lsh: k=${spec.k} out of range ${LSH_K_RANGE.join('..')}`);
  if (!Number.isInteger(spec.bits) || spec.bits < LSH_BITS_RANGE[0] || spec.bits > LSH_BITS_RANGE[1]) throw new RangeError(`lsh: bits=${spec.bits} out of range ${LSH_BITS_RANGE.join('..')}`);
  if (!Number.isInteger(spec.dim) || spec.dim < 2 || spec.dim > 65536) throw new RangeError(`lsh: dim=${spec.dim} out of range 2..65536`);
  if (!Number.isInteger(spec.nnz) || spec.nnz < 1 || spec.nnz > 64) throw new RangeError(`lsh: nnz=${spec.nnz} out of range 1..64`);
}

export class LshSketch implements Embedder {
  readonly dim: number;
  private readonly k: number;
  private readonly bits: number;
  private readonly nnz: number;
  private readonly seedMix: number;
  /** per chunk of CHUNK bases: (4^len x bits) partial hyperplane projections */
  private readonly tables: Int32Array[] = [];

  constructor(spec: LshSpec) {
    validateLsh(spec);
    this.k = spec.k;
    this.dim = spec.dim;
    this.bits = spec.bits;
    this.nnz = spec.nnz;
    const next = splitmix32(spec.seed);
    this.seedMix = next();
    // Hyperplane weights W[h][position][base]: uniform signed 21-bit integers, so sums over a k-mer stay exact
    // in int32 and the hash is the same on every platform.
    const w = new Int32Array(spec.bits * spec.k * 4);
    for (let i = 0; i < w.length; i++) w[i] = (next() | 0) >> 11;
    // Position p counts from the k-mer's last base (the lowest 2 bits of the code) so chunks are bit ranges.
    for (let c0 = 0; c0 < spec.k; c0 += CHUNK) {
      const len = Math.min(CHUNK, spec.k - c0);
      const size = 1 << (2 * len);
      const t = new Int32Array(size * spec.bits);
      for (let code = 0; code < size; code++) {
        for (let h = 0; h < spec.bits; h++) {
          let s = 0;
          for (let j = 0; j < len; j++) s += w[(h * spec.k + c0 + j) * 4 + ((code >>> (2 * j)) & 3)]!;
          t[code * spec.bits + h] = s;
        }
      }
      this.tables.push(t);
    }
  }

  /** Adds the k-mers of s[start, start+len) to out[row, row+dim). Returns the k-mers counted. */
  addRead(s: Uint8Array, start: number, len: number, out: Float32Array, row: number): number {
    const k = this.k;
    const mask = (1 << (2 * k)) - 1;
    const rcShift = 2 * (k - 1);
    const bits = this.bits;
    const nt = this.tables.length;
    const t0 = this.tables[0]!;
    const t1 = this.tables[1] ?? t0;
    const t2 = this.tables[2] ?? t0;
    const nnz = this.nnz;
    const dim = this.dim;
    const seedMix = this.seedMix;
    let fwd = 0;
    let rc = 0;
    let valid = 0;
    let n = 0;
    const end = start + len;
    for (let i = start; i < end; i++) {
      const c = BASE2[s[i]!]!;
      if (c < 0) {
        valid = 0;
        fwd = 0;
        rc = 0;
        continue;
      }
      fwd = ((fwd << 2) | c) & mask;
      rc = (rc >>> 2) | ((3 - c) << rcShift);
      if (++valid < k) continue;
      const canon = fwd < rc ? fwd : rc;
      // random-hyperplane hash: the sign of each projection, summed over the (at most 3) chunk tables
      const b0 = (canon & 1023) * bits;
      const b1 = ((canon >>> 10) & 1023) * bits;
      const b2 = ((canon >>> 20) & 1023) * bits;
      let bucket = 0;
      // branch-free: the bit is set when the projection is >= 0 (sign bit of the int32 sum, inverted)
      if (nt === 3) {
        for (let h = 0; h < bits; h++) bucket |= (~(t0[b0 + h]! + t1[b1 + h]! + t2[b2 + h]!) >>> 31) << h;
      } else if (nt === 2) {
        for (let h = 0; h < bits; h++) bucket |= (~(t0[b0 + h]! + t1[b1 + h]!) >>> 31) << h;
      } else {
        for (let h = 0; h < bits; h++) bucket |= (~t0[b0 + h]! >>> 31) << h;
      }
      // sparse random projection of the bucket: nnz signed unit entries
      const key = Math.imul(bucket >>> 0, nnz) ^ seedMix;
      for (let j = 0; j < nnz; j++) {
        const x = fmix32(key + j);
        // coordinate from the high 16 bits (multiply-shift, dim <= 65536), sign from the lowest bit
        out[row + (((x >>> 16) * dim) >>> 16)]! += 1 - 2 * (x & 1);
      }
      n++;
    }
    return n;
  }

  embed(f: FragmentSeqs, out: Float32Array): void {
    const dim = this.dim;
    for (let i = 0; i < f.n; i++) {
      const row = i * dim;
      this.addRead(f.bytes1, f.start1[i]!, f.len1[i]!, out, row);
      if (f.len2[i]! > 0) this.addRead(f.bytes2, f.start2[i]!, f.len2[i]!, out, row);
      l2NormaliseRow(out, row, dim);
    }
  }
}

/** Scales a row to unit Euclidean length; an all-zero row stays zero. */
export function l2NormaliseRow(v: Float32Array, row: number, dim: number): void {
  let ss = 0;
  for (let i = row; i < row + dim; i++) ss += v[i]! * v[i]!;
  if (ss <= 0) return;
  const inv = 1 / Math.sqrt(ss);
  for (let i = row; i < row + dim; i++) v[i] = v[i]! * inv;
}
