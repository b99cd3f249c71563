import { BASE2 } from '../seq/twoBit.js';
/**
 * Canonical k-mer frequency profile of a whole fragment (both mates), the default embedding.
 * A k-mer and its reverse complement share one dimension; k-mers containing N are skipped.
 * Dimensions: k=3: 32, k=4: 136, k=5: 512, k=6: 2080 (docs/embedding.md).
 */

export type Normalisation = 'freq' | 'clr' | 'hellinger';
export const NORMALISATIONS: readonly Normalisation[] = ['freq', 'clr', 'hellinger'];
/** Pseudocount added before the log in CLR, so absent k-mers have a finite value. */
export const CLR_PSEUDOCOUNT = 0.5;

export interface KmerTable {
  k: number;
  dim: number;
  /** forward 2-bit code -> canonical dimension */
  index: Int32Array;
  /** canonical dimension -> representative k-mer string (the lexicographically smaller strand) */
  names: string[];
}

const tables = new Map<number, KmerTable>();

function revcomp(code: number, k: number): number {
  let rc = 0;
  for (let i = 0; i < k; i++) {
    rc = (rc << 2) | (3 - (code & 3));
    code >>>= 2;
  }
  return rc;
}

function decode(code: number, k: number): string {
  let s = '';
  for (let i = k - 1; i >= 0; i--) s += 'ACGT'[(code >>> (2 * i)) & 3];
  return s;
}

export function kmerTable(k: number): KmerTable {
  const cached = tables.get(k);
  if (cached) return cached;
  if (!Number.isInteger(k) || k < 1 || k > 12) throw new RangeError(`kmer: k=${k} out of range`);
  const size = 1 << (2 * k);
  const index = new Int32Array(size).fill(-1);
  const names: string[] = [];
  for (let c = 0; c < size; c++) {
    const canon = Math.min(c, revcomp(c, k));
    if (index[canon] === -1) {
      index[canon] = names.length;
      names.push(decode(canon, k));
    }
    index[c] = index[canon]!;
  }
  const t = { k, dim: names.length, index, names };
  tables.set(k, t);
  return t;
}

/** Adds the k-mers of s[start, start+len) into counts (a row of `dim` floats). Returns k-mers counted. */
export function countKmers(t: KmerTable, s: Uint8Array, start: number, len: number, counts: Float32Array, row: number): number {
  const k = t.k;
  const mask = (1 << (2 * k)) - 1;
  const index = t.index;
  let code = 0;
  let valid = 0;
  let n = 0;
  const end = start + len;
  for (let i = start; i < end; i++) {
    const c = BASE2[s[i]!]!;
    if (c < 0) {
      valid = 0;
      code = 0;
      continue;
    }
    code = ((code << 2) | c) & mask;
    if (++valid >= k) {
      counts[row + index[code]!]! += 1;
      n++;
    }
  }
  return n;
}

/** Normalises a row of counts in place. A row with no k-mers stays all zero. */
export function normaliseRow(v: Float32Array, row: number, dim: number, total: number, how: Normalisation): void {
  if (total <= 0) return;
  const end = row + dim;
  if (how === 'freq') {
    const inv = 1 / total;
    for (let i = row; i < end; i++) v[i] = v[i]! * inv;
  } else if (how === 'hellinger') {
    const inv = 1 / total;
    for (let i = row; i < end; i++) v[i] = Math.sqrt(v[i]! * inv);
  } else {
    let mean = 0;
    for (let i = row; i < end; i++) {
      const l = Math.log(v[i]! + CLR_PSEUDOCOUNT);
      v[i] = l;
      mean += l;
    }
    mean /= dim;
    for (let i = row; i < end; i++) v[i] = v[i]! - mean;
  }
}

/** The k-mer profile as an embedding stage (both mates counted together, then normalised). */
export class KmerProfileEmbedder {
  readonly dim: number;
  private readonly table: KmerTable;
  constructor(
    k: number,
    private readonly normalisation: Normalisation,
  ) {
    this.table = kmerTable(k);
    this.dim = this.table.dim;
  }
  embed(f: { n: number; bytes1: Uint8Array; start1: Int32Array; len1: Int32Array; bytes2: Uint8Array; start2: Int32Array; len2: Int32Array }, out: Float32Array): void {
    const dim = this.dim;
    for (let i = 0; i < f.n; i++) {
      const row = i * dim;
      let total = countKmers(this.table, f.bytes1, f.start1[i]!, f.len1[i]!, out, row);
      if (f.len2[i]! > 0) total += countKmers(this.table, f.bytes2, f.start2[i]!, f.len2[i]!, out, row);
      normaliseRow(out, row, dim, total, this.normalisation);
    }
  }
}
