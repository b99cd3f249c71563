import { resolveEmbedding } from '../../embed/index.js';
import { LevelSketch, SpectrumMerge } from '../../correct/sketch.js';
import { inputError } from '../../errors.js';
import { shardMetadataFor, type PrepManifest } from '../../io/manifest.js';
import type { BatchParams, PrepBatch } from '../../prep/params.js';
import { readBatches, type SetSummary } from '../../prep/readBatches.js';
import type { PrepEngine, PrepOptions, PrepSummary } from '../../pipeline/prepOptions.js';
import { inputInfo, openInputSets, resolveParameters, sketchBytesFor } from '../../pipeline/prepParams.js';
import { spectrumParams } from '../../correct/params.js';
import { PrepSink, writePrepManifest } from '../../pipeline/prepSink.js';
import { PrepJournal, runKey, skipBatches } from '../../pipeline/prepResume.js';
import { InputPosition } from '../../pipeline/progress.js';
import { reusablePrep, reusedPrepSummary } from '../../pipeline/prepReuse.js';
import { runOrdered } from './ordered.js';
import { LocalPrepEngine } from './prepPool.js';
import { LocalSpectrumEngine } from './spectrumPool.js';

/** Pass 1 of error correction on the local engine; returns the pass-2 parameters (or why correction was skipped). */
async function buildSpectrum(
  opts: PrepOptions,
  batches: AsyncIterable<PrepBatch>,
  tick: (batch: PrepBatch) => void,
  sketchBytes: number,
): Promise<ReturnType<typeof spectrumParams>> {
  const merge = new SpectrumMerge(LevelSketch.allocate(sketchBytes, true).cells);
  const engine = new LocalSpectrumEngine(opts.threads, { onRetry: (m) => opts.progress.log(m) });
  try {
    await runOrdered(
      batches,
      (b) => engine.run(b, opts.correctK, merge.cells),
      engine.queueDepth,
      (r, b) => {
        merge.addCounts(r.keys, r.counts, r.kmers);
        tick(b);
        return Promise.resolve();
      },
    );
  } finally {
    await engine.close();
  }
  return spectrumParams(opts, merge.sub, merge.kmers, merge.cells);
}

/** A local-engine run's identity: the inputs (path, size, mtime) and every option that changes the output. */
async function prepRunKey(opts: PrepOptions): Promise<string> {
  // the engine is not part of a run's identity (every engine gives the same output); PrepOptions.slurm, which this
  // replaced, was absent from a local run's options, so run keys stay those of earlier versions
  const { progress: _p, threads: _t, output: _o, engine: _e, ...rest } = opts;
  return runKey([...opts.inputs, ...opts.inputs2], rest);
}

/** The resume journal of a local-engine run, keyed by prepRunKey. */
function openJournal(opts: PrepOptions, key: string, dim: number): ReturnType<typeof PrepJournal.open> {
  return PrepJournal.open(opts.output, key, dim, (m) => opts.progress.log(m));
}

/** The local engine of Phase 1 (pipeline/prepEngines.ts): worker threads on this machine. */
export const localPrepEngine: PrepEngine = { name: 'local', run: runLocalPrep };

/** Phase 1: FASTQ/FASTA -> QC -> dedup -> embedding -> Parquet shards + manifest (written last). */
async function runLocalPrep(opts: PrepOptions): Promise<PrepSummary> {
  const t0 = performance.now();
  // A finished, verified result of the same inputs and options is reused (prepReuse.ts, docs/reliability.md).
  const finished = opts.writeFastq ? undefined : await reusablePrep(opts.output, () => prepRunKey(opts), (m) => opts.progress.log(m));
  if (finished) {
    opts.progress.log(`prep: reusing the finished result in ${opts.output} (manifest verified, same inputs and parameters)`);
    return reusedPrepSummary(opts.output, finished, (performance.now() - t0) / 1000);
  }
  const { sets, layout } = await openInputSets(opts);
  const key = await prepRunKey(opts);
  const embedding = await resolveEmbedding(opts.embed ?? { method: 'kmer', k: opts.kmer, normalisation: opts.normalisation });
  const resolved = await resolveParameters(sets[0]!, opts, layout);
  const params: BatchParams = { qc: resolved.qc, kmer: opts.kmer, normalisation: opts.normalisation, embed: embedding.spec, writeFastq: opts.writeFastq };
  if (opts.minimizers) params.minimizers = opts.minimizers;

  // Resume journal (docs/reliability.md) in OUTPUT/_resume, a directory or under the S3 prefix (docs/s3.md);
  // not with --write-fastq (a gzip stream cannot be resumed), nor from a pipe (a later run cannot tell whether
  // the same bytes come through it).
  const fromPipe = sets.some((s) => s.r1.pipe === true || s.r2?.pipe === true);
  const { journal, restored } = opts.writeFastq || fromPipe ? { journal: undefined, restored: undefined } : await openJournal(opts, key, embedding.info.dim);
  if (restored?.sink || restored?.spectrum) {
    const rs = restored.sink;
    opts.progress.log(
      `resume: ${rs ? `${rs.shards.length} shard(s) verified (sha256) and reused, continuing at fragment ${rs.nextFragment}` : 'no shard yet'}${restored.spectrum ? '; correction pass 1 reused' : ''}`,
    );
  }

  const sink = await PrepSink.open({
    output: opts.output,
    layout,
    kmer: opts.kmer,
    dim: embedding.info.dim,
    rowsPerShard: opts.rowsPerShard,
    dedup: opts.dedup,
    dedupMemBytes: opts.dedupMemBytes,
    writeFastq: opts.writeFastq,
    threads: opts.threads,
    ...(opts.minimizers ? { minimizers: opts.minimizers } : {}),
    shardMetadata: shardMetadataFor({ kmer: opts.kmer, normalisation: opts.normalisation, embedding: embedding.info, ...(opts.minimizers ? { minimizers: opts.minimizers } : {}) }),
    ...(journal ? { journal } : {}),
    ...(restored?.sink ? { restore: restored.sink } : {}),
  });
  let correctionInfo: Record<string, unknown> = { enabled: false };
  const totalBytes = sets.reduce((a, s) => a + s.r1.size + (s.r2?.size ?? 0), 0);
  const inputsInfo: PrepManifest['inputs'] = [];
  const resumeAt = restored?.sink?.nextFragment ?? 0;
  // fragments read so far: a run resumed from a checkpoint at the very end of the input reads no batch at all
  let fragmentBase = resumeAt;

  const rawRead = () => sets.reduce((a, st) => a + st.r1.rawBytesRead() + (st.r2?.rawBytesRead() ?? 0), 0);
  // progress follows the batches that are done, not the reader's read-ahead (InputPosition)
  const position = new InputPosition<PrepBatch>(rawRead);
  const batchesOf = (onSet: (setIndex: number, s: SetSummary) => void) =>
    position.track(readBatches(sets, layout, resolved.format, resolved.quality, opts.batchSize, onSet));
  const progressTick = (b: PrepBatch) =>
    opts.progress.update({ fragments: b.firstFragment + b.fragments, bytes: Math.max(0, position.done(b) - rawBase), totalBytes });
  let rawBase = rawRead(); // the first records were read already (resolveParameters)

  // Pass 1 of error correction: the k-mer spectrum of all reads.
  if (opts.correct) {
    opts.progress.phase('correct: k-mer spectrum');
    let spectrum = restored?.spectrum;
    if (!spectrum) {
      const built = await buildSpectrum(opts, batchesOf(() => undefined), progressTick, sketchBytesFor(sets, opts.correctMemBytes));
      await journal?.saveSpectrum(built.params?.cells ?? new Uint8Array(0), built.info, built.params);
      spectrum = built;
    }
    rawBase = rawRead();
    correctionInfo = spectrum.info;
    if (spectrum.params) params.correction = spectrum.params;
    else opts.progress.log(`correct: ${spectrum.info.skipped as string}`);
  }

  opts.progress.phase('prep');
  const engine = new LocalPrepEngine(opts.threads, { onRetry: (m) => opts.progress.log(m) });
  try {
    await runOrdered(
      skipBatches(batchesOf((i, s) => inputsInfo.push(...inputInfo(sets[i]!, resolved.format, s))), resumeAt),
      (batch) => engine.run(batch, params),
      engine.queueDepth,
      async (r, batch) => {
        await sink.add(r, batch.firstFragment, batch.firstFragment + batch.fragments);
        fragmentBase = batch.firstFragment + batch.fragments;
        progressTick(batch);
      },
    );
    await sink.end();
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await engine.close();
    await sink.close();
    opts.progress.finish();
  }
  if (fragmentBase === 0) throw inputError(`${sets[0]!.r1.label}: no records`);

  await sink.commitFastq();
  const { manifestPath, counts } = await writePrepManifest(sink, {
    output: opts.output,
    layout,
    batchSize: opts.batchSize,
    rowsPerShard: opts.rowsPerShard,
    dedup: opts.dedup,
    phred: opts.phred,
    medianQuality: opts.medianQuality,
    correction: correctionInfo,
    qc: resolved.qc,
    inputs: inputsInfo,
    encoding: resolved.encoding,
    adapterInfo: resolved.adapterInfo,
    kmer: opts.kmer,
    normalisation: opts.normalisation,
    ...(opts.minimizers ? { minimizers: opts.minimizers } : {}),
    embedding: embedding.info,
    // not from a pipe: a later run cannot tell whether the same bytes come through it
    ...(fromPipe ? {} : { runKey: key }),
  });
  await journal?.remove();
  return {
    output: opts.output,
    manifest: manifestPath,
    fragmentsIn: counts.fragments_in!,
    fragmentsOut: sink.fragmentsOut,
    duplicates: sink.duplicates,
    shards: sink.shards.length,
    seconds: (performance.now() - t0) / 1000,
    counts,
    resumed: sink.reusedShards > 0 || restored !== undefined,
    reusedShards: sink.reusedShards,
    ...(restored ? { resumedFrom: { fragments: resumeAt, shards: restored.sink?.shards.length ?? 0, spectrum: restored.spectrum !== undefined } } : {}),
  };
}
