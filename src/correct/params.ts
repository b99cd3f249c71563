import { trustThresholds, type CorrectionParams } from './correct.js';
import { estimateSpectrum, LevelSketch } from './sketch.js';

/** Below this k-mer coverage the spectrum cannot separate errors from rare k-mers. */
const MIN_CORRECTION_COVERAGE = 4;

/** The pass-2 parameters from the merged pass-1 spectrum (or why correction is skipped). */
export function spectrumParams(
  opts: { correctK: number; maxCorrections: number; genomeSize?: number | undefined },
  sub: Map<number, number>,
  kmers: number,
  cells: Uint8Array,
): { params?: CorrectionParams & { cells: Uint8Array }; info: Record<string, unknown> } {
  const k = opts.correctK;
  const sketch = new LevelSketch(cells);
  const est = estimateSpectrum(sub);
  const genomeSize = opts.genomeSize ?? est.genomeSize;
  const coverage = opts.genomeSize ? kmers / opts.genomeSize : est.kmerCoverage;
  const info: Record<string, unknown> = {
    enabled: true,
    k,
    sketch_bytes: cells.length,
    kmer_occurrences: kmers,
    genome_size: genomeSize,
    genome_size_source: opts.genomeSize ? 'given' : 'estimated from the subsampled k-mer spectrum',
    kmer_coverage: +coverage.toFixed(2),
    solid_threshold: est.solidThreshold,
  };
  if (!(coverage >= MIN_CORRECTION_COVERAGE)) {
    info.skipped = `k-mer coverage ${coverage.toFixed(1)} is below ${MIN_CORRECTION_COVERAGE}: too low to tell errors from rare k-mers; reads left uncorrected`;
    return { info };
  }
  // Lighter's sampling rate alpha = 7 / coverage, rounded to a power of two (sketch levels).
  const level = Math.max(1, Math.min(20, Math.round(Math.log2(coverage / 7))));
  const alpha = 2 ** -level;
  const occupancy = sketch.occupancy(level);
  const falseMembership = occupancy ** 3;
  const trustThreshold = trustThresholds(k, Math.min(0.99, alpha + falseMembership));
  Object.assign(info, {
    alpha,
    level,
    sketch_occupancy: +occupancy.toFixed(4),
    false_membership: +falseMembership.toExponential(3),
    trust_threshold: trustThreshold,
    max_corrections_per_read: opts.maxCorrections,
  });
  return { params: { k, level, trustThreshold, maxCorrections: opts.maxCorrections, cells }, info };
}
