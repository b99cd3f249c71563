/**
 * QC statistics kept for the report, as one flat Float64Array so batches merge by element-wise addition
 * (exact integer sums below 2^53, so the merge order cannot change the result).
 *
 * Per mate (R1, R2) and per phase (before / after QC):
 *   reads, bases, per-cycle quality sum and count, per-cycle base counts (A,C,G,T,N),
 *   GC-percent histogram (0..100), length histogram (0..MAX_CYCLES, longer reads in the last bin),
 *   mean-quality histogram (0..MAX_Q).
 */
export const MAX_CYCLES = 512;
export const MAX_Q = 60;

const HEADER = 2; // reads, bases
const QSUM = HEADER;
// Per-cycle quality counts are not stored per base: cycle c (< MAX_CYCLES - 1) has one quality value per read
// with qualities longer than c, so the length histogram of those reads (QLEN_HIST) plus the bases past the
// last cycle (QTAIL, all counted in the last cycle) give the same counts in statsToJson. One array write
// per base less: addRead 0.75 -> 0.4 s per worker on the dev community (with the table changes below).
const QLEN_HIST = QSUM + MAX_CYCLES; // bins 0..MAX_CYCLES - 1: min(length, MAX_CYCLES - 1)
const QTAIL = QLEN_HIST + MAX_CYCLES;
const BASES = QTAIL + 1; // 5 * MAX_CYCLES
const GC_HIST = BASES + 5 * MAX_CYCLES;
const LEN_HIST = GC_HIST + 101;
const MQ_HIST = LEN_HIST + MAX_CYCLES + 1;
export const BLOCK = MQ_HIST + MAX_Q + 1;

/** Block index: mate (0|1) * 2 + phase (0 before, 1 after). */
export function blockOffset(mate: number, phase: number): number {
  return (mate * 2 + phase) * BLOCK;
}

export function allocStats(): Float64Array {
  return new Float64Array(4 * BLOCK);
}

export function mergeStats(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}

/** byte -> offset of its base row in the per-cycle base counts (A, C, G, T, other = N). */
const BASE_ROW = (() => {
  const t = new Int32Array(256).fill(4 * MAX_CYCLES);
  t[0x41] = 0;
  t[0x43] = MAX_CYCLES;
  t[0x47] = 2 * MAX_CYCLES;
  t[0x54] = 3 * MAX_CYCLES;
  return t;
})();
/** 1 for G/C, and 1 for any of A/C/G/T (so AT = ACGT - GC). */
const IS_GC = (() => {
  const t = new Int32Array(256);
  t[0x43] = 1;
  t[0x47] = 1;
  return t;
})();
const IS_ACGT = (() => {
  const t = new Int32Array(256);
  for (const b of [0x41, 0x43, 0x47, 0x54]) t[b] = 1;
  return t;
})();

/**
 * Adds one read view. Returns [gcFraction, meanQuality] through `out` (NaN mean quality for FASTA).
 */
export function addRead(
  stats: Float64Array,
  block: number,
  seq: Uint8Array,
  start: number,
  len: number,
  qualStart: number,
  out: Float64Array,
): void {
  stats[block]! += 1;
  stats[block + 1]! += len;
  let gc = 0;
  let acgt = 0;
  let qsum = 0;
  const hasQ = qualStart >= 0;
  const bases = block + BASES;
  const head = len < MAX_CYCLES ? len : MAX_CYCLES - 1; // cycles below the last one
  if (hasQ) {
    const qrow = block + QSUM;
    const qOff = qualStart - start;
    const end = start + head;
    for (let i = start, cyc = 0; i < end; i++, cyc++) {
      const b = seq[i]!;
      stats[bases + BASE_ROW[b]! + cyc]! += 1;
      gc += IS_GC[b]!;
      acgt += IS_ACGT[b]!;
      const q = seq[i + qOff]! - 33;
      qsum += q;
      stats[qrow + cyc]! += q;
    }
    // bases from the last cycle on are all counted in the last cycle
    let tailQ = 0;
    for (let i = end; i < start + len; i++) {
      const b = seq[i]!;
      stats[bases + BASE_ROW[b]! + MAX_CYCLES - 1]! += 1;
      gc += IS_GC[b]!;
      acgt += IS_ACGT[b]!;
      const q = seq[i + qOff]! - 33;
      qsum += q;
      tailQ += q;
    }
    if (len > head) {
      stats[qrow + MAX_CYCLES - 1]! += tailQ;
      stats[block + QTAIL]! += len - head;
    }
    stats[block + QLEN_HIST + head]! += 1;
  } else {
    for (let i = 0; i < len; i++) {
      const b = seq[start + i]!;
      stats[bases + BASE_ROW[b]! + (i < MAX_CYCLES ? i : MAX_CYCLES - 1)]! += 1;
      gc += IS_GC[b]!;
      acgt += IS_ACGT[b]!;
    }
  }
  const at = acgt - gc;
  const gcFrac = gc + at > 0 ? gc / (gc + at) : 0;
  stats[block + GC_HIST + Math.round(gcFrac * 100)]! += 1;
  stats[block + LEN_HIST + Math.min(len, MAX_CYCLES)]! += 1;
  const mq = hasQ && len > 0 ? qsum / len : NaN;
  if (hasQ && len > 0) stats[block + MQ_HIST + Math.min(Math.round(mq), MAX_Q)]! += 1;
  out[0] = gcFrac;
  out[1] = mq;
}

/** Per-cycle quality counts (see QLEN_HIST): reads with qualities longer than each cycle, the tail in the last. */
function qualityCounts(stats: Float64Array, o: number, cycles: number): Float64Array {
  const counts = new Float64Array(cycles);
  // reads whose quality covers cycle c (< MAX_CYCLES - 1): head lengths > c; bin MAX_CYCLES - 1 holds reads
  // of MAX_CYCLES - 1 bases or more (their bases from there on are in QTAIL)
  let longer = stats[o + QLEN_HIST + MAX_CYCLES - 1]!;
  const all = new Float64Array(MAX_CYCLES);
  for (let c = MAX_CYCLES - 2; c >= 0; c--) {
    all[c] = longer;
    longer += stats[o + QLEN_HIST + c]!;
  }
  all[MAX_CYCLES - 1] = stats[o + QTAIL]!;
  counts.set(all.subarray(0, cycles));
  return counts;
}

/** Plain-object view of the statistics for manifest/report JSON (trailing empty cycles dropped). */
export function statsToJson(stats: Float64Array, paired: boolean): Record<string, unknown> {
  const mates = paired ? ['read1', 'read2'] : ['read1'];
  const res: Record<string, unknown> = {};
  mates.forEach((mate, m) => {
    for (const [p, phase] of ['before', 'after'].entries()) {
      const o = blockOffset(m, p);
      const lenHist = Array.from(stats.subarray(o + LEN_HIST, o + LEN_HIST + MAX_CYCLES + 1));
      let maxLen = 0;
      lenHist.forEach((c, i) => {
        if (c > 0) maxLen = i;
      });
      const cycles = Math.min(maxLen, MAX_CYCLES);
      const qsum = stats.subarray(o + QSUM, o + QSUM + cycles);
      const qcount = qualityCounts(stats, o, cycles);
      const baseRows: [string, number[]][] = ['A', 'C', 'G', 'T', 'N'].map((b, bi) => [
        b,
        Array.from(stats.subarray(o + BASES + bi * MAX_CYCLES, o + BASES + bi * MAX_CYCLES + cycles)),
      ]);
      res[`${mate}_${phase}`] = {
        reads: stats[o],
        bases: stats[o + 1],
        mean_quality_by_cycle: Array.from(qsum, (s, i) => (qcount[i]! > 0 ? +(s / qcount[i]!).toFixed(3) : null)),
        base_count_by_cycle: Object.fromEntries(baseRows),
        gc_percent_histogram: Array.from(stats.subarray(o + GC_HIST, o + GC_HIST + 101)),
        length_histogram: lenHist.slice(0, maxLen + 1),
        mean_quality_histogram: Array.from(stats.subarray(o + MQ_HIST, o + MQ_HIST + MAX_Q + 1)),
      };
    }
  });
  return res;
}
