import { LevelSketch, SpectrumMerge } from '../../correct/sketch.js';
import { MetavecError } from '../../errors.js';
import { readInput } from '../../io/inputs.js';
import { joinLocation } from '../../io/location.js';
import { bytesSource, openRangeSource } from '../../io/rangeSource.js';
import { processBatch } from '../../prep/batch.js';
import { COUNTER_NAMES, type BatchParams, type PrepBatch, type PrepBatchResult } from '../../prep/params.js';
import { planBatchParams, type PrepPlan, type PrepSlice } from '../../prep/plan.js';
import { readSetBatches } from '../../prep/readBatches.js';
import { spectrumBatch } from '../../prep/spectrumBatch.js';
import { allocStats, mergeStats } from '../../qc/stats.js';

/**
 * What a distributed Phase 1 worker (Ray actor's Node child, Slurm array task) does with one slice of the
 * plan: read its records (byte range, or bytes shipped inline), cut them into the local engine's batches and
 * run the same stage functions on them (prep/spectrumBatch.ts for pass 1, prep/batch.ts for pass 2 and the
 * rest). The results go back to the merge step in slice order.
 */

/** Slice bytes the driver sent along (gzip inputs: no random access), else the worker reads the range. */
export interface InlineSlice {
  r1?: Uint8Array;
  r2?: Uint8Array;
}

export async function* sliceBatches(plan: PrepPlan, slice: PrepSlice, inline: InlineSlice = {}): AsyncGenerator<PrepBatch> {
  const src1 = inline.r1 ? bytesSource(slice.r1, inline.r1) : await openRangeSource(slice.r1);
  const set = slice.r2 ? { r1: src1, r2: inline.r2 ? bytesSource(slice.r2, inline.r2) : await openRangeSource(slice.r2) } : { r1: src1 };
  const base = {
    batch: slice.firstBatch,
    fragment: slice.firstFragment,
    records1: slice.r1.records,
    lines1: slice.r1.lines,
    records2: slice.r2?.records ?? 0,
    lines2: slice.r2?.lines ?? 0,
  };
  let batches = 0;
  let fragments = 0;
  for await (const b of readSetBatches(set, plan.layout, plan.format, plan.quality, plan.options.batchSize, base)) {
    batches++;
    fragments += b.fragments;
    yield b;
  }
  if (batches !== slice.batches || fragments !== slice.fragments) {
    throw new MetavecError('INPUT', `${slice.r1.label}: slice ${slice.index} holds ${fragments} fragments in ${batches} batches, the plan says ${slice.fragments} in ${slice.batches} (input changed since planning?)`);
  }
}

export interface SpectrumPartial {
  slice: number;
  kmers: number;
  /** This slice's level sketch (cells merge by element-wise max). */
  cells: Uint8Array;
  keys: Uint32Array;
  counts: Uint32Array;
}

/** Pass 1 on one slice: its own sketch (merged by max) and its subsample counts (merged by addition). */
export async function sliceSpectrum(plan: PrepPlan, slice: PrepSlice, inline?: InlineSlice): Promise<SpectrumPartial> {
  const merge = new SpectrumMerge(new Uint8Array(plan.sketchBytes));
  for await (const b of sliceBatches(plan, slice, inline)) {
    const r = spectrumBatch(b, plan.options.correctK, merge.cells);
    merge.addCounts(r.keys, r.counts, r.kmers);
  }
  return { slice: slice.index, kmers: merge.kmers, cells: merge.cells, ...merge.subsampleArrays() };
}

/** The merged spectrum the prep stage needs: OUTPUT/_prep_work/spectrum.json + sketch.bin. */
export interface SpectrumFile {
  info: Record<string, unknown>;
  params?: Omit<NonNullable<BatchParams['correction']>, 'cells'>;
}

const paramsCache = new Map<string, BatchParams>();

/** The batch parameters of a plan, with the pass-2 correction parameters and sketch when correction is on. */
export async function sliceParams(plan: PrepPlan, workDir: string): Promise<BatchParams> {
  const hit = paramsCache.get(workDir);
  if (hit) return hit;
  const params = planBatchParams(plan);
  if (plan.options.correct) {
    // a directory or an S3 prefix (io/inputs.ts reads both)
    const specPath = joinLocation(workDir, 'spectrum.json');
    let spec: SpectrumFile;
    try {
      const bytes = await readInput(specPath);
      if (!bytes) throw new Error('no such file');
      spec = JSON.parse(new TextDecoder().decode(bytes)) as SpectrumFile;
    } catch (err) {
      throw new MetavecError('INPUT', `prep: ${specPath}: cannot read the merged k-mer spectrum (run the spectrum stage first): ${(err as Error).message}`);
    }
    if (spec.params) {
      const sketchPath = joinLocation(workDir, 'sketch.bin');
      const bytes = await readInput(sketchPath);
      if (!bytes) throw new MetavecError('INPUT', `prep: ${sketchPath}: missing (run the spectrum stage first)`);
      const cells = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (cells.length !== plan.sketchBytes) throw new MetavecError('INPUT', `prep: ${sketchPath}: ${cells.length} bytes, the plan says ${plan.sketchBytes}`);
      new LevelSketch(cells); // validates the size
      params.correction = { ...spec.params, cells };
    }
  }
  paramsCache.clear();
  paramsCache.set(workDir, params);
  return params;
}

/** Concatenates batch results (in order) into one; positions become relative to the first batch's start. */
export function concatResults(parts: { r: PrepBatchResult; offset: number }[], dim: number, index: number): PrepBatchResult {
  let kept = 0;
  let idLen = 0;
  let fq1 = 0;
  let fq2 = 0;
  let mins = 0;
  for (const { r } of parts) {
    kept += r.kept;
    idLen += r.idOffsets[r.kept]!;
    if (r.minimizerOffsets) mins += r.minimizerOffsets[r.kept]!;
    if (r.fastqOffsets1) fq1 += r.fastqOffsets1[r.kept]!;
    if (r.fastqOffsets2) fq2 += r.fastqOffsets2[r.kept]!;
  }
  const hasFq1 = parts.some((p) => p.r.fastq1);
  const hasFq2 = parts.some((p) => p.r.fastq2);
  const out: PrepBatchResult = {
    index,
    kept,
    positions: new Int32Array(kept),
    idBytes: new Uint8Array(idLen),
    idOffsets: new Int32Array(kept + 1),
    lengths: new Int32Array(2 * kept),
    attrs: new Float32Array(4 * kept),
    hashes: new Uint32Array(2 * kept),
    embedding: new Float32Array(dim * kept),
    counters: new Float64Array(COUNTER_NAMES.length),
    stats: allocStats(),
  };
  if (parts.some((p) => p.r.minimizers)) {
    out.minimizers = new Uint32Array(2 * mins);
    out.minimizerOffsets = new Int32Array(kept + 1);
  }
  if (hasFq1) {
    out.fastq1 = new Uint8Array(fq1);
    out.fastqOffsets1 = new Int32Array(kept + 1);
  }
  if (hasFq2) {
    out.fastq2 = new Uint8Array(fq2);
    out.fastqOffsets2 = new Int32Array(kept + 1);
  }
  let k0 = 0;
  let id0 = 0;
  let f10 = 0;
  let f20 = 0;
  let m0 = 0;
  for (const { r, offset } of parts) {
    for (let k = 0; k < r.kept; k++) {
      out.positions[k0 + k] = r.positions[k]! + offset;
      if (out.minimizerOffsets && r.minimizerOffsets) out.minimizerOffsets[k0 + k + 1] = m0 + r.minimizerOffsets[k + 1]!;
      out.idOffsets[k0 + k + 1] = id0 + r.idOffsets[k + 1]!;
      if (out.fastqOffsets1 && r.fastqOffsets1) out.fastqOffsets1[k0 + k + 1] = f10 + r.fastqOffsets1[k + 1]!;
      if (out.fastqOffsets2 && r.fastqOffsets2) out.fastqOffsets2[k0 + k + 1] = f20 + r.fastqOffsets2[k + 1]!;
    }
    out.idBytes.set(r.idBytes.subarray(0, r.idOffsets[r.kept]), id0);
    out.lengths.set(r.lengths.subarray(0, 2 * r.kept), 2 * k0);
    out.attrs.set(r.attrs.subarray(0, 4 * r.kept), 4 * k0);
    out.hashes.set(r.hashes.subarray(0, 2 * r.kept), 2 * k0);
    out.embedding.set(r.embedding.subarray(0, dim * r.kept), dim * k0);
    if (out.minimizers && r.minimizers && r.minimizerOffsets) out.minimizers.set(r.minimizers.subarray(0, 2 * r.minimizerOffsets[r.kept]!), 2 * m0);
    if (out.fastq1 && r.fastq1 && r.fastqOffsets1) out.fastq1.set(r.fastq1.subarray(0, r.fastqOffsets1[r.kept]), f10);
    if (out.fastq2 && r.fastq2 && r.fastqOffsets2) out.fastq2.set(r.fastq2.subarray(0, r.fastqOffsets2[r.kept]), f20);
    for (let i = 0; i < out.counters.length; i++) out.counters[i]! += r.counters[i]!;
    mergeStats(out.stats, r.stats);
    k0 += r.kept;
    id0 += r.idOffsets[r.kept]!;
    if (r.fastqOffsets1) f10 += r.fastqOffsets1[r.kept]!;
    if (r.fastqOffsets2) f20 += r.fastqOffsets2[r.kept]!;
    if (r.minimizerOffsets) m0 += r.minimizerOffsets[r.kept]!;
  }
  return out;
}

/** Pass 2 and the rest of the stages on one slice: one result, positions relative to the slice's first fragment. */
export async function slicePrep(plan: PrepPlan, slice: PrepSlice, params: BatchParams, dim: number, inline?: InlineSlice): Promise<PrepBatchResult> {
  const parts: { r: PrepBatchResult; offset: number }[] = [];
  for await (const b of sliceBatches(plan, slice, inline)) parts.push({ r: await processBatch(b, params), offset: b.firstFragment - slice.firstFragment });
  return concatResults(parts, dim, slice.index);
}
