import { join } from 'node:path';
import { inputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { PrepManifest } from '../io/manifest.js';
import { PLAN_SCHEMA, type PrepPlan, type PrepSlice } from '../prep/plan.js';
import { readBatches, type SetSummary } from '../prep/readBatches.js';
import type { PrepOptions } from './phase1.js';
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

export function workDir(output: string): string {
  return join(output, WORK_DIR);
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
  for await (const b of readBatches(sets, layout, resolved.format, resolved.qualShift, opts.batchSize, onSet)) {
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
    qualShift: resolved.qualShift,
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

/** Plans the run and writes OUTPUT/_prep_work/plan.json (a previous run's manifest is removed first). */
export async function writePlan(opts: PrepOptions, sliceFragments: number): Promise<{ path: string; plan: PrepPlan }> {
  await clearPreviousOutput(opts.output);
  const plan = await planPrep(opts, sliceFragments);
  const path = join(workDir(opts.output), 'plan.json');
  await writeFileAtomic(path, JSON.stringify(plan) + '\n');
  return { path, plan };
}
