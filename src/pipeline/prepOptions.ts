import type { EmbedChoice, Normalisation } from '../embed/index.js';
import type { RayJobOptions } from '../engines/ray/jobOptions.js';
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
  /** Where Phase 1 runs (pipeline/prepEngines.ts); not part of the run's identity: every engine gives the same output. */
  engine: PrepEngineChoice;
}

export type PrepEngineName = 'local' | 'ray' | 'slurm';

/** The engine and its own settings, as the CLI chose them. */
export type PrepEngineChoice =
  | { name: 'local' }
  /** a job on a Ray cluster through its Jobs API (engines/ray/prepJob.ts) */
  | { name: 'ray'; ray: RayJobOptions }
  /** job arrays over input slices + a merge job (engines/slurm/prepJobs.ts) */
  | { name: 'slurm'; slurm: SlurmJobOptions & { sliceFragments?: number } };

/** A dry run (`--dry-run`): what the engine would submit, nothing submitted. */
export interface PrepDryRun {
  dryRun: string;
}

/** One way to run Phase 1; every engine gives the local engine's output for the same inputs and options. */
export interface PrepEngine {
  readonly name: PrepEngineName;
  run(opts: PrepOptions): Promise<PrepSummary | PrepDryRun>;
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
