import { MetavecError } from '../../errors.js';
import { readInput } from '../../io/inputs.js';
import { joinLocation } from '../../io/location.js';
import { openOutputStore } from '../../io/store.js';
import { decodePrepResult, decodeSpectrum } from './codec.js';
import type { SpectrumFile } from './sliceWork.js';
import type { PrepPlan } from '../../prep/plan.js';
import type { PrepSummary } from '../../pipeline/prepOptions.js';
import { spectrumParams } from '../../correct/params.js';
import { SpectrumMerge } from '../../correct/sketch.js';
import { shardMetadataFor } from '../../io/manifest.js';
import { PrepSink, writePrepManifest } from '../../pipeline/prepSink.js';
import type { ProgressSink } from '../../pipeline/progress.js';

/**
 * The reduce side of a distributed Phase 1 run: the slices' partial results, merged exactly as the local
 * engine merges its batches. Pass 1: sketches by element-wise max and subsample counts by addition (both
 * order-independent), then the same pass-2 parameter rule. Prep: results in slice order through the same
 * sink (dedup in input order, shards, qc_stats, manifest last).
 */

/** Merges every slice's spectrum partial (any order) and writes WORK/spectrum.json + WORK/sketch.bin. */
export async function mergeSpectrum(plan: PrepPlan, partials: AsyncIterable<Uint8Array>, workDir: string): Promise<SpectrumFile> {
  const merge = new SpectrumMerge(new Uint8Array(plan.sketchBytes));
  const cells = merge.cells;
  const seen = new Uint8Array(plan.slices.length);
  for await (const bytes of partials) {
    const p = decodeSpectrum(bytes);
    if (!(p.slice >= 0 && p.slice < plan.slices.length)) throw new MetavecError('INTERNAL', `spectrum: partial for slice ${p.slice}, the plan has ${plan.slices.length}`);
    if (seen[p.slice]) throw new MetavecError('INTERNAL', `spectrum: slice ${p.slice} merged twice`);
    seen[p.slice] = 1;
    if (p.cells.length !== cells.length) throw new MetavecError('INTERNAL', `spectrum: slice ${p.slice} sketch has ${p.cells.length} bytes, expected ${cells.length}`);
    merge.addPartial(p.cells, p.keys, p.counts, p.kmers);
  }
  const missing = seen.indexOf(0);
  if (missing >= 0) throw new MetavecError('INTERNAL', `spectrum: no partial for slice ${missing} of ${plan.slices.length}`);
  const s = spectrumParams(plan.options, merge.sub, merge.kmers, cells);
  const file: SpectrumFile = { info: s.info };
  // the work location is a directory or an S3 prefix (the workers of a run with an S3 output read it there)
  const store = await openOutputStore(workDir);
  try {
    if (s.params) {
      const { cells: _cells, ...rest } = s.params;
      file.params = rest;
      await store.putBytes('sketch.bin', cells);
    }
    await store.putBytes('spectrum.json', JSON.stringify(file) + '\n');
  } finally {
    await store.close();
  }
  return file;
}

/** Runs the sink over the slices' prep results, which must arrive in slice order; writes the manifest last. */
export async function mergePrep(
  plan: PrepPlan,
  results: AsyncIterable<Uint8Array>,
  workDir: string,
  opts: { threads: number; progress: ProgressSink },
): Promise<PrepSummary> {
  const t0 = performance.now();
  let correction: Record<string, unknown> = { enabled: false };
  if (plan.options.correct) {
    const path = joinLocation(workDir, 'spectrum.json');
    try {
      const bytes = await readInput(path);
      if (!bytes) throw new Error('no such file');
      correction = (JSON.parse(new TextDecoder().decode(bytes)) as SpectrumFile).info;
    } catch (err) {
      throw new MetavecError('INPUT', `prep-merge: ${path}: cannot read the merged spectrum (${(err as Error).message})`);
    }
  }
  const o = plan.options;
  const sink = await PrepSink.open({
    output: plan.output,
    layout: plan.layout,
    kmer: o.kmer,
    ...(o.embedding ? { dim: o.embedding.dim } : {}),
    rowsPerShard: o.rowsPerShard,
    dedup: o.dedup,
    dedupMemBytes: o.dedupMemBytes,
    writeFastq: o.writeFastq,
    threads: opts.threads,
    ...(o.minimizers ? { minimizers: o.minimizers } : {}),
    shardMetadata: shardMetadataFor({ kmer: o.kmer, normalisation: o.normalisation, ...(o.minimizers ? { minimizers: o.minimizers } : {}), ...(o.embedding ? { embedding: o.embedding } : {}) }),
  });
  opts.progress.phase('prep: merge');
  let next = 0;
  try {
    for await (const bytes of results) {
      const { slice, result } = decodePrepResult(bytes);
      if (slice !== next) throw new MetavecError('INTERNAL', `prep-merge: got slice ${slice}, expected slice ${next} (results must arrive in slice order)`);
      const s = plan.slices[slice];
      if (!s) throw new MetavecError('INTERNAL', `prep-merge: slice ${slice} is not in the plan (${plan.slices.length} slices)`);
      await sink.add(result, s.firstFragment);
      next++;
      opts.progress.update({ fragments: s.firstFragment + s.fragments, bytes: 0, totalBytes: 0 });
    }
    if (next !== plan.slices.length) throw new MetavecError('INTERNAL', `prep-merge: results stopped after ${next} of ${plan.slices.length} slices`);
    await sink.end();
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await sink.close();
    opts.progress.finish();
  }
  await sink.commitFastq();
  const { manifestPath, counts } = await writePrepManifest(sink, {
    output: plan.output,
    layout: plan.layout,
    batchSize: o.batchSize,
    rowsPerShard: o.rowsPerShard,
    dedup: o.dedup,
    phred: o.phred,
    medianQuality: o.medianQuality,
    correction,
    qc: plan.qc,
    inputs: plan.inputs,
    encoding: plan.encoding,
    adapterInfo: plan.adapterInfo,
    kmer: o.kmer,
    normalisation: o.normalisation,
    ...(o.minimizers ? { minimizers: o.minimizers } : {}),
    ...(o.embedding ? { embedding: o.embedding } : {}),
  });
  return {
    output: plan.output,
    manifest: manifestPath,
    fragmentsIn: counts.fragments_in!,
    fragmentsOut: sink.fragmentsOut,
    duplicates: sink.duplicates,
    shards: sink.shards.length,
    seconds: (performance.now() - t0) / 1000,
    counts,
    resumed: sink.reusedShards > 0,
    reusedShards: sink.reusedShards,
  };
}
