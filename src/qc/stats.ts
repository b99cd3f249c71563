/**
 * QC statistics kept for the report, as one flat Float64Array so batches merge by element-wise addition
 * (exact integer sums below 2^53, so the merge order cannot change the result).
 *
 * Per mate (R1, R2) and per phase (before / after QC):
 *   reads, bases, per-cycle quality sum and count, per-cycle base counts (A,C,G,T,N),
 *   GC histogram (100 bins of 1%, in hundredths of a read: see addGc), length histogram (0..MAX_CYCLES,
 *   longer reads in the last bin), mean-quality histogram (0..MAX_Q).
 * Once per run (after the four blocks): the insert-size histogram of pairs whose mates overlap (0..MAX_INSERT,
 * larger inserts in the last bin) and the number of pairs whose mates were compared but do not overlap.
 */
export const MAX_CYCLES = 512;
export const MAX_Q = 60;
/** Largest insert size binned (fastp's --insert_size_max default); larger ones are counted in this bin. */
export const MAX_INSERT = 512;
/** GC histogram bins (1% each) and the units of one read in them (hundredths: see addGc). */
export const GC_BINS = 100;
export const GC_UNITS = 100;

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
const LEN_HIST = GC_HIST + GC_BINS;
const MQ_HIST = LEN_HIST + MAX_CYCLES + 1;
export const BLOCK = MQ_HIST + MAX_Q + 1;
const INSERT_HIST = 4 * BLOCK; // 0..MAX_INSERT
const INSERT_NONE = INSERT_HIST + MAX_INSERT + 1;
const STATS_LENGTH = INSERT_NONE + 1;

/** Block index: mate (0|1) * 2 + phase (0 before, 1 after). */
export function blockOffset(mate: number, phase: number): number {
  return (mate * 2 + phase) * BLOCK;
}

export function allocStats(): Float64Array {
  return new Float64Array(STATS_LENGTH);
}

/**
 * Insert size of a pair from the mate-overlap fit (findOverlap on the mates after quality trimming), as fastp
 * computes it: R1 length + R2 length - overlap when R2 starts inside R1, the overlap when R2 starts before R1
 * (the insert is shorter than the reads), plus the bases quality-trimmed from both 5' ends. `found` false: the
 * mates were compared and do not overlap (the insert is longer than both reads minus the minimum overlap).
 */
export function addInsert(stats: Float64Array, found: boolean, offset: number, overlap: number, len1: number, len2: number, front1: number, front2: number): void {
  if (!found) {
    stats[INSERT_NONE]! += 1;
    return;
  }
  const size = (offset >= 0 ? len1 + len2 - overlap : overlap) + front1 + front2;
  stats[INSERT_HIST + Math.min(size, MAX_INSERT)]! += 1;
}

/**
 * GC histogram of one read with `acgt` A/C/G/T bases, `gc` of them G or C. A read of n bases can only have
 * GC fractions 0, 1/n, ..., n/n: with 150 bp reads those are 0.67% apart, and rounding them to 1% bins gives
 * bins holding one or two possible values alternately (a comb, bars ~2:1). Instead the n + 1 possible values
 * split [0, 1] into n + 1 cells of equal width (value g owns [g, g + 1) / (n + 1)), and the read adds its
 * unit to the 1% bins in proportion to its cell's overlap with them (FastQC's GC model does the same). Every
 * bin then covers the same width of possible values, and reads spread uniformly over their possible values
 * give a flat histogram. Integer arithmetic: the cell is [100 g, 100 g + 100) and bin b is
 * [b (n + 1), (b + 1)(n + 1)) in units of 1 / (100 (n + 1)), so a read adds GC_UNITS (= 100) hundredths in
 * total, exactly, and merging stays order-independent. Reads without any A/C/G/T base are not counted.
 */
export function addGc(stats: Float64Array, hist: number, gc: number, acgt: number): void {
  if (acgt <= 0) return;
  const width = acgt + 1;
  const lo = GC_UNITS * gc;
  const hi = lo + GC_UNITS;
  for (let b = Math.floor(lo / width); b < GC_BINS && b * width < hi; b++) {
    const start = b * width;
    const end = start + width;
    stats[hist + b]! += (end < hi ? end : hi) - (start > lo ? start : lo);
  }
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
  addGc(stats, block + GC_HIST, gc, acgt);
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
        // reads per 1% GC bin (bin i: [i, i + 1)%), fractional: see addGc
        gc_histogram: Array.from(stats.subarray(o + GC_HIST, o + GC_HIST + GC_BINS), (u) => u / GC_UNITS),
        length_histogram: lenHist.slice(0, maxLen + 1),
        mean_quality_histogram: Array.from(stats.subarray(o + MQ_HIST, o + MQ_HIST + MAX_Q + 1)),
      };
    }
  });
  if (paired) {
    const hist = Array.from(stats.subarray(INSERT_HIST, INSERT_HIST + MAX_INSERT + 1));
    let last = -1;
    hist.forEach((c, i) => {
      if (c > 0) last = i;
    });
    let peak = -1;
    hist.forEach((c, i) => {
      if (c > 0 && (peak < 0 || c > hist[peak]!)) peak = i;
    });
    res.insert_size = {
      histogram: hist.slice(0, last + 1),
      overlapping_pairs: hist.reduce((a, b) => a + b, 0),
      not_overlapping_pairs: stats[INSERT_NONE],
      peak: peak >= 0 ? peak : null,
      max: MAX_INSERT,
    };
  }
  return res;
}
