import { MetavecError } from '../errors.js';
import { readInput } from '../io/inputs.js';
import type { SeqFormat } from '../io/recordReader.js';
import type { QualityEncoding } from '../io/seqParser.js';
import type { QcParams } from '../qc/params.js';
import type { BatchParams, PrepBatch } from './params.js';
import type { SketchParams } from '../sketch/minimizers.js';
import type { EmbeddingInfo, EmbedSpec } from '../embed/types.js';

/**
 * A distributed Phase 1 run, decided once before any slice runs (docs/distributed-prep.md): the resolved
 * parameters (Phred offset, adapters, median-rule cut-offs from the first records), the record-aligned input
 * slices, and what the sink needs for the manifest. Plain JSON: written by `metavec prep-plan`, read by every
 * slice worker (Ray actor, Slurm array task) and by the merge step.
 */
export const PLAN_SCHEMA = 'metavec.prep-plan/1';

export interface SliceRange {
  /** Path of the input file (read by the worker). */
  uri: string;
  label: string;
  compression: 'gzip' | 'none';
  /** Offsets in the decompressed stream: [start, end). For plain files these are file byte offsets. */
  start: number;
  end: number;
  /** Records and lines of this file before the slice (for whole-file positions in error messages). */
  records: number;
  lines: number;
}

export interface PrepSlice {
  index: number;
  /** Input set the slice belongs to (a slice never spans two inputs). */
  set: number;
  firstBatch: number;
  batches: number;
  firstFragment: number;
  fragments: number;
  r1: SliceRange;
  r2?: SliceRange;
}

/** Everything besides the slices that the sink and the manifest need (a subset of PrepOptions). */
export interface PlanOptions {
  batchSize: number;
  rowsPerShard: number;
  kmer: number;
  normalisation: BatchParams['normalisation'];
  /** The resolved embedding stage and its manifest description (absent in plans from before: k-mer profile). */
  embed?: EmbedSpec;
  embedding?: EmbeddingInfo;
  dedup: boolean;
  dedupMemBytes: number;
  writeFastq: boolean;
  phred: 'auto' | '33' | '64' | 'solexa';
  medianQuality?: number;
  correct: boolean;
  correctK: number;
  correctMemBytes: number;
  maxCorrections: number;
  genomeSize?: number;
  /** minimizer sketch for the graph method (absent: none) */
  minimizers?: SketchParams;
}

export interface PrepPlan {
  schema: string;
  output: string;
  layout: PrepBatch['layout'];
  format: SeqFormat;
  quality: QualityEncoding;
  qc: QcParams;
  encoding: string;
  adapterInfo: Record<string, unknown>;
  options: PlanOptions;
  /** Manifest `inputs` entries (records counted while planning). */
  inputs: { uri: string; bytes: number; format: string; compression: string; mate: number; records: number }[];
  fragments: number;
  /** Size of the pass-1 k-mer sketch (the same rule as the local engine). */
  sketchBytes: number;
  slices: PrepSlice[];
}

/** The batch parameters of a plan (pass-2 correction is added after the spectrum stage). */
export function planBatchParams(plan: PrepPlan): BatchParams {
  return {
    qc: plan.qc,
    kmer: plan.options.kmer,
    normalisation: plan.options.normalisation,
    writeFastq: plan.options.writeFastq,
    ...(plan.options.embed ? { embed: plan.options.embed } : {}),
    ...(plan.options.minimizers ? { minimizers: plan.options.minimizers } : {}),
  };
}

/** Reads a plan written by `metavec prep-plan`. */
/** Reads a plan from a local path or an s3:// URI (a run whose output is an S3 prefix keeps its plan there). */
export async function readPlan(path: string): Promise<PrepPlan> {
  let plan: PrepPlan;
  try {
    const bytes = await readInput(path);
    if (!bytes) throw new Error('no such file');
    plan = JSON.parse(new TextDecoder().decode(bytes)) as PrepPlan;
  } catch (err) {
    throw new MetavecError('INPUT', `plan: ${path}: cannot read (${(err as Error).message})`);
  }
  if (plan.schema !== PLAN_SCHEMA) throw new MetavecError('INPUT', `plan: ${path}: unknown schema ${JSON.stringify(plan.schema)} (expected ${PLAN_SCHEMA})`);
  // plans written before Solexa support carried the Phred offset as qualShift (0 or 31)
  const legacy = plan as PrepPlan & { qualShift?: number };
  if (plan.quality === undefined && legacy.qualShift !== undefined) plan.quality = legacy.qualShift === 31 ? 'phred64' : 'phred33';
  return plan;
}

/** File name of a slice's result in a parts directory (the Slurm engine's OUTPUT/_prep_work/parts). */
export function partName(op: 'spectrum' | 'prep', slice: number): string {
  return `${op}-${String(slice).padStart(5, '0')}.arrow`;
}
