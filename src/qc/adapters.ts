/**
 * Adapter clipping, following fastp's two methods (see docs/qc.md):
 *  - pairs: mate-overlap analysis. R2 is reverse-complemented and slid against R1; a fit needs >= overlapMinLen
 *    bases and at most min(diffLimit, floor(overlap * diffPercent)) mismatches among the first 50 compared
 *    bases (fastp's rule). A fit with R2 shifted left of R1's start means the insert is shorter than the reads:
 *    both mates are cut to the overlap length (the rest is adapter).
 *  - single reads (and pairs without a fit): the 3' adapter sequence is searched with Hamming distance, one
 *    mismatch allowed per 8 compared bases, starting a few bases before the read (A-tailing skips the first
 *    adapter base) and requiring at least 4 matching bases at the read end.
 */

/** Adapters users meet most; auto-detection picks among these (see detectAdapters). */
export const KNOWN_ADAPTERS: Record<string, string> = {
  'Illumina TruSeq R1 (universal)': 'AGATCGGAAGAGCACACGTCTGAACTCCAGTCA',
  'Illumina TruSeq R2': 'AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT',
  'Illumina Nextera / Tn5': 'CTGTCTCTTATACACATCT',
  'Illumina small RNA 3\'': 'TGGAATTCTCGGGTGCCAAGG',
  'MGI/BGI R1': 'AAGTCGGAGGCCAAGCGGTCTTAGGAAGACAA',
  'MGI/BGI R2': 'AAGTCGGATCGTAGCCATGTCGTTCTGTGAGCCAAGGAGTTG',
};

const COMP = (() => {
  const t = new Uint8Array(256).fill(0x4e);
  t[0x41] = 0x54;
  t[0x43] = 0x47;
  t[0x47] = 0x43;
  t[0x54] = 0x41;
  return t;
})();

export interface OverlapFit {
  found: boolean;
  /** >= 0: R2 starts `offset` bases into R1; < 0: R2 (rc) starts before R1 (insert shorter than reads). */
  offset: number;
  overlap: number;
}

const COMPLETE_COMPARE = 50;

function fitOk(mismatchesInHead: number, overlap: number, diffLimit: number, diffPercent: number): boolean {
  return mismatchesInHead <= Math.min(diffLimit, Math.floor(overlap * diffPercent));
}

/**
 * Overlap analysis on two mate views (sequences already upper-case).
 * R1 = s[a1, a1+l1), R2 = s[a2, a2+l2); rc(R2)[i] = comp(R2[l2-1-i]).
 */
export function findOverlap(
  s1: Uint8Array,
  a1: number,
  l1: number,
  s2: Uint8Array,
  a2: number,
  l2: number,
  minLen: number,
  diffLimit: number,
  diffPercent: number,
): OverlapFit {
  const last2 = a2 + l2 - 1;
  // forward: rc(R2) starts `offset` bases into R1
  for (let offset = 0; offset < l1 - minLen; offset++) {
    const ov = Math.min(l1 - offset, l2);
    const lim = Math.min(diffLimit, Math.floor(ov * diffPercent));
    const head = Math.min(ov, COMPLETE_COMPARE);
    let diff = 0;
    const p1 = a1 + offset;
    for (let i = 0; i < head; i++) {
      if (s1[p1 + i] !== COMP[s2[last2 - i]!]) {
        if (++diff > lim) break;
      }
    }
    if (fitOk(diff, ov, diffLimit, diffPercent)) return { found: true, offset, overlap: ov };
  }
  // reverse: rc(R2) starts before R1; only happens when the insert is shorter than the reads
  for (let offset = 0; offset > -(l2 - minLen); offset--) {
    const ov = Math.min(l1, l2 + offset);
    const lim = Math.min(diffLimit, Math.floor(ov * diffPercent));
    const head = Math.min(ov, COMPLETE_COMPARE);
    let diff = 0;
    for (let i = 0; i < head; i++) {
      if (s1[a1 + i] !== COMP[s2[last2 + offset - i]!]) {
        if (++diff > lim) break;
      }
    }
    if (fitOk(diff, ov, diffLimit, diffPercent)) return { found: true, offset, overlap: ov };
  }
  return { found: false, offset: 0, overlap: 0 };
}

/**
 * Position where `adapter` starts in the read s[a, a+len) (Hamming, one mismatch per 8 compared bases),
 * or -1. A return of 0 means the whole read is adapter.
 */
export function findAdapter(s: Uint8Array, a: number, len: number, adapter: Uint8Array, matchReq = 4): number {
  const alen = adapter.length;
  if (alen < matchReq) return -1;
  const start = alen >= 16 ? -4 : alen >= 12 ? -3 : alen >= 8 ? -2 : 0;
  for (let pos = start; pos < len - matchReq; pos++) {
    const cmp = Math.min(len - pos, alen);
    const allowed = cmp >> 3;
    let mm = 0;
    let ok = true;
    for (let i = Math.max(0, -pos); i < cmp; i++) {
      if (adapter[i] !== s[a + pos + i]) {
        if (++mm > allowed) {
          ok = false;
          break;
        }
      }
    }
    if (ok) return Math.max(pos, 0);
  }
  return -1;
}

export function encodeAdapters(list: string[]): Uint8Array[] {
  return list.map((a) => new TextEncoder().encode(a.toUpperCase()));
}

/**
 * Detects which known adapter is present from a sample of reads: counts reads containing the first 12
 * bases of each adapter (exact). An adapter is reported when it occurs in >= minFraction of the reads; the
 * most frequent wins. Reads are upper-case sequences.
 */
export function detectAdapter(
  reads: Uint8Array[],
  minFraction = 0.001,
): { name: string; sequence: string; fraction: number } | undefined {
  let best: { name: string; sequence: string; fraction: number } | undefined;
  const enc = new TextEncoder();
  for (const [name, seq] of Object.entries(KNOWN_ADAPTERS)) {
    const probe = enc.encode(seq.slice(0, 12));
    let hits = 0;
    for (const r of reads) {
      let i = r.indexOf(probe[0]!);
      while (i >= 0 && i <= r.length - probe.length) {
        let j = 1;
        while (j < probe.length && r[i + j] === probe[j]) j++;
        if (j === probe.length) {
          hits++;
          break;
        }
        i = r.indexOf(probe[0]!, i + 1);
      }
    }
    const fraction = reads.length > 0 ? hits / reads.length : 0;
    if (fraction >= minFraction && (!best || fraction > best.fraction)) best = { name, sequence: seq, fraction };
  }
  return best;
}
