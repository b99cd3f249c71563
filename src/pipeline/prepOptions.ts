import type { EmbedChoice, Normalisation } from '../embed/index.js';
import type { SlurmJobOptions } from '../engines/slurm/script.js';
import type { QcParams } from '../qc/params.js';
import type { SketchParams } from '../sketch/minimizers.js';
import type { ProgressSink } from './progress.js';

/** What a Phase 1 run is asked to do (built by the CLI, read by every engine) and what it reports. */

export interface PrepOptions {
  inputs: string[];
  inputs2: string[];
  interleaved: boolean;
  output: string;
  threads: number;
  batchSize: number;
  rowsPerShard: number;
  kmer: number;
  normalisation: Normalisation;
  /** Embedding stage (docs/embedding.md); absent = k-mer profile from kmer + normalisation. */
  embed?: EmbedChoice;
  dedup: boolean;
  dedupMemBytes: number;
  writeFastq: boolean;
  phred: 'auto' | '33' | '64' | 'solexa';
  qc: Partial<QcParams>;
  adapterR1?: string;
  adapterR2?: string;
  detectAdapters: boolean;
  /** Median-quality rule threshold (Phred), undefined = off. */
  medianQuality?: number;
  /** k-mer spectrum error correction between QC and dedup. */
  correct: boolean;
  correctK: number;
  correctMemBytes: number;
  maxCorrections: number;
  /** Genome size (sum over the community) if known; estimated from the data otherwise. */
  genomeSize?: number;
  /** Minimizer sketch per fragment (for `cluster --method graph`); undefined = none. */
  minimizers?: SketchParams;
  progress: ProgressSink;
  /** --engine slurm: the jobs (Phase 1 as job arrays over slices + a merge job; pipeline/phase1Slurm.ts). */
  slurm?: SlurmJobOptions & { sliceFragments?: number };
}

export interface PrepSummary {
  output: string;
  manifest: string;
  fragmentsIn: number;
  fragmentsOut: number;
  duplicates: number;
  shards: number;
  seconds: number;
  counts: Record<string, number>;
  resumed: boolean;
  /** Shards an interrupted earlier run had already stored (S3), identical, and that were not written again. */
  reusedShards: number;
  /** A finished result of the same inputs and options was reused (nothing recomputed). */
  reused?: boolean;
  /** When resumed: fragments whose work a checkpoint saved, and whether pass 1 of correction was reused. */
  resumedFrom?: { fragments: number; shards: number; spectrum: boolean };
}
