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

/**
 * Adapters users meet most, named as fastp names them; auto-detection picks among these (see detectAdapter). The
 * two TruSeq adapters share their first 12 bases (AGATCGGAAGAG) and are told apart by the bases after them.
 */
export const KNOWN_ADAPTERS: Record<string, string> = {
  'Illumina TruSeq Adapter Read 1': 'AGATCGGAAGAGCACACGTCTGAACTCCAGTCA',
  'Illumina TruSeq Adapter Read 2': 'AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT',
  'Illumina Nextera / Tn5 (both reads)': 'CTGTCTCTTATACACATCT',
  "Illumina Small RNA 3' Adapter (RA3, read 1)": 'TGGAATTCTCGGGTGCCAAGG',
  "Illumina Small RNA 5' Adapter (RA5 reverse complement, read 2)": 'GATCGTCGGACTGTAGAACTCTGAAC',
  'MGI/BGI Adapter Read 1': 'AAGTCGGAGGCCAAGCGGTCTTAGGAAGACAA',
  'MGI/BGI Adapter Read 2': 'AAGTCGGATCGTAGCCATGTCGTTCTGTGAGCCAAGGAGTTG',
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

/*
 * Fast path (exactly the same decisions as the byte loops in findOverlapReference / findAdapterReference):
 * each sequence is encoded once as "rolling words": word[i] holds bases i..i+15 at 2 bits each (A0 C1 G2 T3,
 * N as 0) and nmask[i] has bit 2j set when base i+j is N. Comparing 16 bases is then one XOR plus a popcount;
 * N equals only N, as in the byte comparison. Sequences with any byte other than A/C/G/T/N (possible only
 * through the exported API, the parser normalises reads) take the reference loops.
 * Measured on the dev community (node --cpu-prof): findOverlap + findAdapter 2.4 -> 0.6 s CPU per worker.
 */
const CODE2 = (() => {
  const t = new Int32Array(256).fill(5);
  t[0x41] = 0;
  t[0x43] = 1;
  t[0x47] = 2;
  t[0x54] = 3;
  t[0x4e] = 4;
  return t;
})();
/** Code of the complement as COMP maps it: any byte other than A/C/G/T becomes N. */
const COMP_CODE2 = (() => {
  const t = new Int32Array(256).fill(4);
  t[0x41] = 3;
  t[0x43] = 2;
  t[0x47] = 1;
  t[0x54] = 0;
  return t;
})();

let wordsA = new Int32Array(1024);
let nmaskA = new Int32Array(1024);
let wordsB = new Int32Array(1024);
let nmaskB = new Int32Array(1024);

function grow(len: number): void {
  if (wordsA.length >= len) return;
  const n = Math.max(len, wordsA.length * 2);
  wordsA = new Int32Array(n);
  nmaskA = new Int32Array(n);
  wordsB = new Int32Array(n);
  nmaskB = new Int32Array(n);
}

/** Rolling words of s[a, a+len) into w/nm[0, len); false if a byte is not A/C/G/T/N. */
function encodeForward(s: Uint8Array, a: number, len: number, w: Int32Array, nm: Int32Array): boolean {
  let c = 0;
  let n = 0;
  for (let i = len - 1; i >= 0; i--) {
    const v = CODE2[s[a + i]!]!;
    if (v > 3) {
      if (v === 5) return false;
      c <<= 2;
      n = (n << 2) | 1;
    } else {
      c = (c << 2) | v;
      n <<= 2;
    }
    w[i] = c;
    nm[i] = n;
  }
  return true;
}

/** Rolling words of rc(s[a, a+len)) (complement through COMP) into w/nm[0, len). */
function encodeRevComp(s: Uint8Array, a: number, len: number, w: Int32Array, nm: Int32Array): void {
  let c = 0;
  let n = 0;
  // rc[i] = comp(s[a + len - 1 - i]); walk i from len-1 down, i.e. s forwards
  for (let k = 0; k < len; k++) {
    const v = COMP_CODE2[s[a + k]!]!;
    if (v > 3) {
      c <<= 2;
      n = (n << 2) | 1;
    } else {
      c = (c << 2) | v;
      n <<= 2;
    }
    w[len - 1 - k] = c;
    nm[len - 1 - k] = n;
  }
}

/** Mismatching bases among the first `l` (1..16) of two rolling words (N == N only). */
function mism(c1: number, n1: number, c2: number, n2: number, l: number): number {
  const x = c1 ^ c2;
  let m = (n1 ^ n2) | ((x | (x >>> 1)) & 0x55555555 & ~(n1 | n2));
  if (l < 16) m &= (1 << (2 * l)) - 1;
  m = (m & 0x33333333) + ((m >>> 2) & 0x33333333);
  m = (m + (m >>> 4)) & 0x0f0f0f0f;
  return Math.imul(m, 0x01010101) >>> 24;
}

/** Mismatches between A[p, p+len) and B[q, q+len), stopping once above `stop`. */
function countMism(wa: Int32Array, na: Int32Array, p: number, wb: Int32Array, nb: Int32Array, q: number, len: number, stop: number): number {
  let d = 0;
  for (let k = 0; k < len; k += 16) {
    d += mism(wa[p + k]!, na[p + k]!, wb[q + k]!, nb[q + k]!, len - k);
    if (d > stop) break;
  }
  return d;
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
  if (l1 <= 0 || l2 <= 0) return findOverlapReference(s1, a1, l1, s2, a2, l2, minLen, diffLimit, diffPercent);
  grow(Math.max(l1, l2));
  const w1 = wordsA;
  const n1 = nmaskA;
  const w2 = wordsB;
  const n2 = nmaskB;
  if (!encodeForward(s1, a1, l1, w1, n1)) return findOverlapReference(s1, a1, l1, s2, a2, l2, minLen, diffLimit, diffPercent);
  encodeRevComp(s2, a2, l2, w2, n2);
  // forward: rc(R2) starts `offset` bases into R1
  for (let offset = 0; offset < l1 - minLen; offset++) {
    const ov = Math.min(l1 - offset, l2);
    const lim = Math.min(diffLimit, Math.floor(ov * diffPercent));
    const diff = countMism(w1, n1, offset, w2, n2, 0, Math.min(ov, COMPLETE_COMPARE), lim);
    if (diff <= lim) return { found: true, offset, overlap: ov };
  }
  // reverse: rc(R2) starts before R1; only happens when the insert is shorter than the reads
  for (let offset = 0; offset > -(l2 - minLen); offset--) {
    const ov = Math.min(l1, l2 + offset);
    const lim = Math.min(diffLimit, Math.floor(ov * diffPercent));
    const diff = countMism(w1, n1, 0, w2, n2, -offset, Math.min(ov, COMPLETE_COMPARE), lim);
    if (diff <= lim) return { found: true, offset, overlap: ov };
  }
  return { found: false, offset: 0, overlap: 0 };
}

/** findOverlap as plain byte loops (the definition; findOverlap must agree with it exactly). */
export function findOverlapReference(
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
  if (len <= 0) return findAdapterReference(s, a, len, adapter, matchReq);
  grow(Math.max(len, alen));
  const wr = wordsA;
  const nr = nmaskA;
  const wa = wordsB;
  const na = nmaskB;
  if (!encodeForward(adapter, 0, alen, wa, na) || !encodeForward(s, a, len, wr, nr)) {
    return findAdapterReference(s, a, len, adapter, matchReq);
  }
  const start = alen >= 16 ? -4 : alen >= 12 ? -3 : alen >= 8 ? -2 : 0;
  for (let pos = start; pos < len - matchReq; pos++) {
    const cmp = Math.min(len - pos, alen);
    const allowed = cmp >> 3;
    const i0 = Math.max(0, -pos);
    if (countMism(wr, nr, pos + i0, wa, na, i0, cmp - i0, allowed) <= allowed) return Math.max(pos, 0);
  }
  return -1;
}

/** findAdapter as a plain byte loop (the definition; findAdapter must agree with it exactly). */
export function findAdapterReference(s: Uint8Array, a: number, len: number, adapter: Uint8Array, matchReq = 4): number {
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

/** Reads containing `probe` (exact bytes), the plain scan used for probes the fast path cannot encode. */
function countProbeHits(reads: Uint8Array[], probe: Uint8Array): number {
  let hits = 0;
  for (const r of reads) if (findProbe(r, probe) >= 0) hits++;
  return hits;
}

const PROBE_LEN = 12;

/**
 * Detects which known adapter is present from a sample of reads of one mate (`mate`: 1 or 2, for ties between
 * adapters that start alike): counts reads containing the first 12 bases of each adapter (exact). An adapter is
 * reported when it occurs in >= minFraction of the reads; the most frequent wins (see pickAdapter for adapters
 * sharing those 12 bases). Reads are upper-case sequences.
 * Each read is scanned once for all probes (rolling 24-bit code of 12-mers, looked up by its low 16 bits)
 * instead of once per adapter: 480 -> 60 ms on the main thread for 2 x 20,000 reads, before any batch starts.
 */
export function detectAdapter(reads: Uint8Array[], minFraction = 0.001, mate?: 1 | 2): DetectedAdapter | undefined {
  const enc = new TextEncoder();
  const entries = Object.entries(KNOWN_ADAPTERS);
  const hits = new Array<number>(entries.length).fill(0);
  // probes of 12 A/C/G/T bases (all known adapters) go through the one-pass scan, others the plain scan
  const fast: { k: number; code: number }[] = [];
  entries.forEach(([, seq], k) => {
    const probe = enc.encode(seq.slice(0, PROBE_LEN));
    let code = 0;
    let ok = probe.length === PROBE_LEN && fast.length < 31;
    for (const b of probe) {
      const v = CODE2[b]!;
      if (v > 3) ok = false;
      code = (code << 2) | (v & 3);
    }
    if (ok) fast.push({ k, code });
    else hits[k] = countProbeHits(reads, probe);
  });
  if (fast.length > 0) {
    const byLow = new Int32Array(1 << 16);
    const codes = new Int32Array(fast.length);
    fast.forEach((f, j) => {
      codes[j] = f.code;
      byLow[f.code & 0xffff]! |= 1 << j;
    });
    const all = fast.length === 31 ? 0x7fffffff : (1 << fast.length) - 1;
    const perProbe = new Int32Array(fast.length);
    for (const r of reads) {
      let code = 0;
      let valid = 0;
      let seen = 0;
      for (let i = 0; i < r.length; i++) {
        const v = CODE2[r[i]!]!;
        if (v > 3) {
          valid = 0;
          continue;
        }
        code = ((code << 2) | v) & 0xffffff;
        if (++valid >= PROBE_LEN) {
          const cand = byLow[code & 0xffff]!;
          if (cand !== 0) {
            for (let j = 0; j < codes.length; j++) if ((cand >>> j) & 1 && codes[j] === code) seen |= 1 << j;
            if (seen === all) break;
          }
        }
      }
      for (let j = 0; seen !== 0; j++, seen >>>= 1) if (seen & 1) perProbe[j]!++;
    }
    fast.forEach((f, j) => (hits[f.k] = perProbe[j]!));
  }
  return pickAdapter(reads, entries, hits, minFraction, mate);
}

export interface DetectedAdapter {
  name: string;
  sequence: string;
  /** fraction of the sampled reads containing the adapter's first 12 bases */
  fraction: number;
}

/**
 * The most frequent adapter seen in >= minFraction of the reads. Adapters sharing the winner's 12-base probe
 * (TruSeq Read 1 and Read 2) are told apart by the reads that go on past the probe to where they differ: each such
 * read votes for the adapter it matches (at most one mismatch per 8 compared bases). With no such read, or a tie,
 * the adapter named for `mate` wins, else the first listed.
 */
function pickAdapter(reads: Uint8Array[], entries: [string, string][], hits: number[], minFraction: number, mate: 1 | 2 | undefined): DetectedAdapter | undefined {
  let best = -1;
  entries.forEach((_, k) => {
    const fraction = reads.length > 0 ? hits[k]! / reads.length : 0;
    if (fraction >= minFraction && (best < 0 || hits[k]! > hits[best]!)) best = k;
  });
  if (best < 0) return undefined;
  const probe = entries[best]![1].slice(0, PROBE_LEN);
  const group = entries.map((e, k) => ({ name: e[0], seq: e[1], k })).filter((e) => e.seq.startsWith(probe));
  let chosen = entries[best]!;
  if (group.length > 1) {
    // first position where any two members differ
    let diff = PROBE_LEN;
    while (group.every((g) => diff < g.seq.length && g.seq[diff] === group[0]!.seq[diff])) diff++;
    const enc = new TextEncoder();
    const seqs = group.map((g) => enc.encode(g.seq));
    const p = enc.encode(probe);
    const votes = new Array<number>(group.length).fill(0);
    for (const r of reads) {
      const at = findProbe(r, p);
      // at least 8 bases from the first difference on
      if (at < 0 || r.length - at < diff + 8) continue;
      seqs.forEach((a, j) => {
        const n = Math.min(a.length, r.length - at);
        if (n < diff + 8) return;
        let mm = 0;
        for (let i = 0; i < n; i++) if (r[at + i] !== a[i]) mm++;
        if (mm <= n >> 3) votes[j]!++;
      });
    }
    const tag = mate === undefined ? undefined : `Read ${mate}`;
    let top = 0;
    group.forEach((g, j) => {
      const better = votes[j]! > votes[top]! || (votes[j] === votes[top] && tag !== undefined && g.name.includes(tag) && !group[top]!.name.includes(tag));
      if (better) top = j;
    });
    chosen = entries[group[top]!.k]!;
  }
  return { name: chosen[0], sequence: chosen[1], fraction: hits[best]! / reads.length };
}

/** First position of `probe` in `r` (exact), or -1. */
function findProbe(r: Uint8Array, probe: Uint8Array): number {
  let i = r.indexOf(probe[0]!);
  while (i >= 0 && i <= r.length - probe.length) {
    let j = 1;
    while (j < probe.length && r[i + j] === probe[j]) j++;
    if (j === probe.length) return i;
    i = r.indexOf(probe[0]!, i + 1);
  }
  return -1;
}

/** detectAdapter as one plain scan per adapter (the definition; detectAdapter must agree with it exactly). */
export function detectAdapterReference(reads: Uint8Array[], minFraction = 0.001, mate?: 1 | 2): DetectedAdapter | undefined {
  const enc = new TextEncoder();
  const entries = Object.entries(KNOWN_ADAPTERS);
  const hits = entries.map(([, seq]) => countProbeHits(reads, enc.encode(seq.slice(0, PROBE_LEN))));
  return pickAdapter(reads, entries, hits, minFraction, mate);
}
