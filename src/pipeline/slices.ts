import { rename, rm } from 'node:fs/promises';
import { inputError } from '../errors.js';
import { baseName, isS3Uri, joinLocation } from '../io/location.js';
import { openOutputStore } from '../io/store.js';
import type { PrepManifest } from '../io/manifest.js';
import { PLAN_SCHEMA, type PrepPlan, type PrepSlice } from '../prep/plan.js';
import { readBatches, type SetSummary } from '../prep/readBatches.js';
import type { PrepOptions } from './prepOptions.js';
import { resolveEmbedding } from '../embed/index.js';
import { inputInfo, openInputSets, resolveParameters, sketchBytesFor } from './prepParams.js';
import { clearPreviousOutput } from './prepSink.js';

/**
 * Planning a distributed Phase 1 run: parameters are resolved once (as the local engine does), and the inputs
 * are cut into record-aligned slices of whole batches. A slice starts at a multiple of --batch-size fragments
 * of its input, so a worker reading it produces exactly the local engine's batches (same record and line
 * numbers in errors, same fragment numbers), and the merge of the slices' results in slice order is the local
 * engine's output. Finding the cut points of a paired input needs the record boundaries of both mate files,
 * so planning reads every input once (a newline scan; gzip inputs are decompressed).
 */

/** Default fragments per slice (a whole number of batches). */
export const DEFAULT_SLICE_FRAGMENTS = 262_144;

export const WORK_DIR = '_prep_work';

/**
 * The work location of a run (plan.json, spectrum.json, sketch.bin, slice parts): ROOT/_prep_work, where ROOT
 * is the output (a shared directory, or an S3 prefix: every worker reads the plan and the merged sketch from
 * there) or, for Slurm with an S3 output, the shared --work-dir. Removed by the merge after the manifest.
 */
export function workDir(root: string): string {
  return joinLocation(root, WORK_DIR);
}

export function isWorkDir(location: string): boolean {
  return baseName(location) === WORK_DIR;
}

export async function planPrep(opts: PrepOptions, sliceFragments: number): Promise<PrepPlan> {
  const { sets, layout } = await openInputSets(opts);
  const embedding = await resolveEmbedding(opts.embed ?? { method: 'kmer', k: opts.kmer, normalisation: opts.normalisation });
  const resolved = await resolveParameters(sets[0]!, opts, layout);
  const sliceBatches = Math.max(1, Math.ceil(sliceFragments / opts.batchSize));
  const slices: PrepSlice[] = [];
  const inputs: PrepManifest['inputs'] = [];
  let setIndex = 0;
  let off1 = 0;
  let off2 = 0;
  let cur: PrepSlice | undefined;
  let fragments = 0;
  const onSet = (i: number, s: SetSummary) => {
    inputs.push(...inputInfo(sets[i]!, resolved.format, s));
    setIndex = i + 1;
    off1 = 0;
    off2 = 0;
    cur = undefined;
  };
  for await (const b of readBatches(sets, layout, resolved.format, resolved.quality, opts.batchSize, onSet)) {
    const set = sets[setIndex]!;
    if (!cur || cur.batches === sliceBatches) {
      cur = {
        index: slices.length,
        set: setIndex,
        firstBatch: b.index,
        batches: 0,
        firstFragment: b.firstFragment,
        fragments: 0,
        r1: { uri: set.r1.uri, label: set.r1.label, compression: set.r1.compression, start: off1, end: off1, records: b.r1.firstRecord, lines: b.r1.firstLine - 1 },
      };
      if (b.r2 && set.r2) cur.r2 = { uri: set.r2.uri, label: set.r2.label, compression: set.r2.compression, start: off2, end: off2, records: b.r2.firstRecord, lines: b.r2.firstLine - 1 };
      slices.push(cur);
    }
    off1 += b.r1.bytes.length;
    cur.r1.end = off1;
    if (b.r2 && cur.r2) {
      off2 += b.r2.bytes.length;
      cur.r2.end = off2;
    }
    cur.batches++;
    cur.fragments += b.fragments;
    fragments = b.firstFragment + b.fragments;
  }
  if (fragments === 0) throw inputError(`${sets[0]!.r1.label}: no records`);
  return {
    schema: PLAN_SCHEMA,
    output: opts.output,
    layout,
    format: resolved.format,
    quality: resolved.quality,
    qc: resolved.qc,
    encoding: resolved.encoding,
    adapterInfo: resolved.adapterInfo,
    options: {
      batchSize: opts.batchSize,
      rowsPerShard: opts.rowsPerShard,
      kmer: opts.kmer,
      normalisation: opts.normalisation,
      embed: embedding.spec,
      embedding: embedding.info,
      dedup: opts.dedup,
      dedupMemBytes: opts.dedupMemBytes,
      writeFastq: opts.writeFastq,
      phred: opts.phred,
      ...(opts.medianQuality !== undefined ? { medianQuality: opts.medianQuality } : {}),
      correct: opts.correct,
      correctK: opts.correctK,
      correctMemBytes: opts.correctMemBytes,
      maxCorrections: opts.maxCorrections,
      ...(opts.minimizers ? { minimizers: opts.minimizers } : {}),
      ...(opts.genomeSize !== undefined ? { genomeSize: opts.genomeSize } : {}),
    },
    inputs,
    fragments,
    sketchBytes: sketchBytesFor(sets, opts.correctMemBytes),
    slices,
  };
}

/**
 * Plans the run and writes WORK/plan.json (default WORK = OUTPUT/_prep_work; a previous run's manifest is
 * removed first). An S3 output is opened first, so a missing bucket or wrong credentials fail before planning.
 */
export async function writePlan(opts: PrepOptions, sliceFragments: number, work = workDir(opts.output)): Promise<{ path: string; plan: PrepPlan }> {
  if (isS3Uri(opts.output)) {
    const out = await openOutputStore(opts.output);
    try {
      await out.remove('manifest.json');
    } finally {
      await out.close();
    }
  } else await clearPreviousOutput(opts.output);
  const plan = await planPrep(opts, sliceFragments);
  const store = await openOutputStore(work);
  try {
    await store.putBytes('plan.json', JSON.stringify(plan) + '\n');
  } finally {
    await store.close();
  }
  return { path: joinLocation(work, 'plan.json'), plan };
}

/** Removes a run's work location after the manifest is written (a directory, or every object under the S3 prefix). */
export async function removeWorkDir(work: string): Promise<void> {
  if (isS3Uri(work)) {
    const store = await openOutputStore(work);
    try {
      for (const o of await store.list('')) await store.remove(o.rel);
    } finally {
      await store.close();
    }
    return;
  }
  // not part of the output: moved aside, then deleted (a crash in between leaves no half-deleted _prep_work)
  const gone = `${work}.done-${process.pid}`;
  await rename(work, gone);
  await rm(gone, { recursive: true, force: true });
}
