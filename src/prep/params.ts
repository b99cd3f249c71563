import type { Normalisation } from '../embed/kmerProfile.js';
import type { EmbedSpec } from '../embed/types.js';
import type { QcParams } from '../qc/params.js';
import type { CorrectionParams } from '../correct/correct.js';
import type { SeqFormat } from '../io/recordReader.js';
import type { QualityEncoding } from '../io/seqParser.js';
import type { SketchParams } from '../sketch/minimizers.js';

/** Everything a worker needs to process a batch; plain data so it crosses thread/process boundaries. */
export interface BatchParams {
  qc: QcParams;
  /** Error correction (pass 2), with the pass-1 sketch cells (shared memory in the local engine). */
  correction?: CorrectionParams & { cells: Uint8Array };
  kmer: number;
  normalisation: Normalisation;
  /** The embedding stage; absent = the k-mer profile given by kmer + normalisation. */
  embed?: EmbedSpec;
  writeFastq: boolean;
  /** Minimizer sketch per fragment for the graph method (undefined = none). */
  minimizers?: SketchParams;
}

/** One unit of work: `records` fragments from one or two inputs, with positions for error messages. */
export interface PrepBatch {
  index: number;
  /** Run-wide index of the batch's first fragment (input order). */
  firstFragment: number;
  format: SeqFormat;
  /** Encoding of the quality bytes (converted to Phred+33 by the parser). */
  quality: QualityEncoding;
  /** Fragments in this batch. */
  fragments: number;
  /** 'se': r1 only; 'pe': r1 and r2; 'interleaved': r1 holds mates alternately. */
  layout: 'se' | 'pe' | 'interleaved';
  r1: { label: string; bytes: Uint8Array; records: number; firstRecord: number; firstLine: number };
  r2?: { label: string; bytes: Uint8Array; records: number; firstRecord: number; firstLine: number };
}

/** Counters, summed over batches. Index names in COUNTER_NAMES. */
export const COUNTER_NAMES = [
  'fragments_in',
  'reads_in',
  'bases_in',
  'adapter_fragments_overlap',
  'adapter_fragments_sequence',
  'adapter_bases_trimmed',
  'quality_bases_trimmed',
  'median_rule_bases_trimmed',
  'polyg_bases_trimmed',
  'filtered_too_short',
  'filtered_too_many_n',
  'filtered_low_quality',
  'filtered_low_complexity',
  'fragments_passed_qc',
  'bases_passed_qc',
  'bases_corrected',
  'reads_corrected',
  'reads_uncorrectable',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export const C = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as Record<CounterName, number>;

/** What a batch produces: fragments that passed QC, in input order, not yet de-duplicated. */
export interface PrepBatchResult {
  index: number;
  /** fragments passing QC */
  kept: number;
  /** position of each kept fragment within the batch */
  positions: Int32Array;
  /** read_id bytes (UTF-8), kept fragment i is idBytes[idOffsets[i], idOffsets[i+1]) */
  idBytes: Uint8Array;
  idOffsets: Int32Array;
  /** per kept fragment: len1, len2 (0 for single-end) */
  lengths: Int32Array;
  /** per kept fragment: gc1, gc2, meanq1, meanq2 (NaN where absent) */
  attrs: Float32Array;
  /** dedup fingerprints, 2 x uint32 per kept fragment */
  hashes: Uint32Array;
  embedding: Float32Array;
  /** minimizer sketch (when params.minimizers): hi/lo word pairs; kept fragment i has [minimizerOffsets[i], minimizerOffsets[i+1]) */
  minimizers?: Uint32Array;
  minimizerOffsets?: Int32Array;
  counters: Float64Array;
  stats: Float64Array;
  /** cleaned FASTQ text per kept fragment (when writeFastq): fastqOffsets has 2 entries per fragment boundary */
  fastq1?: Uint8Array;
  fastq2?: Uint8Array;
  fastqOffsets1?: Int32Array;
  fastqOffsets2?: Int32Array;
}

export const ATTRS_PER_FRAGMENT = 4;

/** Pass 1 of error correction: what one batch contributes to the spectrum (the sketch is updated in place). */
export interface SpectrumBatchResult {
  index: number;
  kmers: number;
  /** subsampled k-mer keys and their counts in this batch */
  keys: Uint32Array;
  counts: Uint32Array;
}
