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
const QCOUNT = QSUM + MAX_CYCLES;
const BASES = QCOUNT + MAX_CYCLES; // 5 * MAX_CYCLES
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

const BASE_INDEX = (() => {
  const t = new Uint8Array(256).fill(4);
  t[0x41] = 0;
  t[0x43] = 1;
  t[0x47] = 2;
  t[0x54] = 3;
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
  let at = 0;
  let qsum = 0;
  const hasQ = qualStart >= 0;
  for (let i = 0; i < len; i++) {
    const b = BASE_INDEX[seq[start + i]!]!;
    const cyc = i < MAX_CYCLES ? i : MAX_CYCLES - 1;
    stats[block + BASES + b * MAX_CYCLES + cyc]! += 1;
    if (b === 1 || b === 2) gc++;
    else if (b !== 4) at++;
    if (hasQ) {
      const q = seq[qualStart + i]! - 33;
      qsum += q;
      stats[block + QSUM + cyc]! += q;
      stats[block + QCOUNT + cyc]! += 1;
    }
  }
  const gcFrac = gc + at > 0 ? gc / (gc + at) : 0;
  stats[block + GC_HIST + Math.round(gcFrac * 100)]! += 1;
  stats[block + LEN_HIST + Math.min(len, MAX_CYCLES)]! += 1;
  const mq = hasQ && len > 0 ? qsum / len : NaN;
  if (hasQ && len > 0) stats[block + MQ_HIST + Math.min(Math.round(mq), MAX_Q)]! += 1;
  out[0] = gcFrac;
  out[1] = mq;
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
      const qcount = stats.subarray(o + QCOUNT, o + QCOUNT + cycles);
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
