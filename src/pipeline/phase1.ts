import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { DuplicateFilter } from '../dedup/bloom.js';
import { kmerTable, type Normalisation } from '../embed/kmerProfile.js';
import { LocalPrepEngine } from '../engines/local/prepPool.js';
import { LocalSpectrumEngine } from '../engines/local/spectrumPool.js';
import { trustThresholds } from '../correct/correct.js';
import { estimateSpectrum, LevelSketch, mergeSubsample } from '../correct/sketch.js';
import { inputError, usageError } from '../errors.js';
import { commitTemp, tempPathFor, writeFileAtomic } from '../io/atomic.js';
import { sha256File } from '../io/checksum.js';
import { PREP_SCHEMA, type ManifestShard, type PrepManifest } from '../io/manifest.js';
import { RecordReader, type SeqFormat } from '../io/recordReader.js';
import { openLocalSource, type ByteSource } from '../io/source.js';
import { ShardWriter } from '../io/shards.js';
import { allocParsed, detectPhredOffset, parseRecords } from '../io/seqParser.js';
import { detectAdapter } from '../qc/adapters.js';
import { DEFAULT_QC, type QcParams } from '../qc/params.js';
import { medianCutoff } from '../qc/quality.js';
import { mergeStats, allocStats, statsToJson } from '../qc/stats.js';
import { ATTRS_PER_FRAGMENT, COUNTER_NAMES, type BatchParams, type PrepBatch, type PrepBatchResult } from '../prep/params.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { ProgressSink } from './progress.js';

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
  dedup: boolean;
  dedupMemBytes: number;
  writeFastq: boolean;
  phred: 'auto' | '33' | '64';
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
  progress: ProgressSink;
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
}

const SAMPLE_RECORDS = 20_000;

interface InputSet {
  r1: ByteSource;
  r2?: ByteSource;
}

async function sampleChunk(src: ByteSource, records: number): Promise<{ bytes: Uint8Array; records: number; format: SeqFormat }> {
  const reader = new RecordReader(src);
  const format = await reader.detect();
  const c = await reader.next(records);
  return { bytes: c?.bytes ?? new Uint8Array(0), records: c?.records ?? 0, format };
}

/** Decides Phred offset, adapters and the median-rule cut-offs from the first records of the first input. */
async function resolveParameters(set: InputSet, opts: PrepOptions, layout: PrepBatch['layout']): Promise<{
  format: SeqFormat;
  qualShift: number;
  qc: QcParams;
  encoding: string;
  adapterInfo: Record<string, unknown>;
}> {
  const s1 = await sampleChunk(set.r1, SAMPLE_RECORDS);
  const s2 = set.r2 ? await sampleChunk(set.r2, SAMPLE_RECORDS) : undefined;
  if (s2 && s2.format !== s1.format) {
    throw inputError(`${set.r1.label} is ${s1.format.toUpperCase()} but ${set.r2!.label} is ${s2.format.toUpperCase()}`);
  }
  const format = s1.format;
  let qualShift = 0;
  let encoding = format === 'fasta' ? 'none (FASTA)' : 'phred33';
  if (format === 'fastq') {
    const detected = detectPhredOffset(s1.bytes, s1.records);
    if (opts.phred === '64' || (opts.phred === 'auto' && detected === 64)) {
      qualShift = 31;
      encoding = opts.phred === '64' ? 'phred64 (given; converted to phred33)' : 'phred64 (detected; converted to phred33)';
    } else if (opts.phred === '33' && detected === 64) {
      opts.progress.log(`warning: ${set.r1.label} looks like Phred+64 but --phred 33 was given`);
    }
  }
  const qc: QcParams = { ...DEFAULT_QC, ...opts.qc };
  const adapterInfo: Record<string, unknown> = {};
  // Parse the sample once (in place: these bytes come from a separate reader and are used only here) for
  // adapter detection and the median rule.
  const parseSample = (bytes: Uint8Array, records: number, label: string) =>
    parseRecords(bytes, records, { label, firstRecord: 0, firstLine: 1, format, qualShift }, allocParsed(records));
  type Parsed = ReturnType<typeof parseSample>;
  const readsOf = (bytes: Uint8Array, p: Parsed, step: number, first: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = first; i < p.n; i += step) out.push(bytes.subarray(p.seqStart[i], p.seqStart[i]! + p.seqLen[i]!));
    return out;
  };
  const b1 = s1.bytes;
  const pp1 = parseSample(b1, s1.records, set.r1.label);
  const reads1 = readsOf(b1, pp1, layout === 'interleaved' ? 2 : 1, 0);
  let reads2: Uint8Array[] = [];
  let b2: Uint8Array | undefined;
  let pp2: Parsed | undefined;
  if (layout === 'interleaved') reads2 = readsOf(b1, pp1, 2, 1);
  else if (s2) {
    b2 = s2.bytes;
    pp2 = parseSample(b2, s2.records, set.r2!.label);
    reads2 = readsOf(b2, pp2, 1, 0);
  }
  if (qc.adapterTrim) {
    const pick = (given: string | undefined, reads: Uint8Array[], mate: string): string[] => {
      if (given) {
        adapterInfo[mate] = { sequence: given.toUpperCase(), source: 'given' };
        return [given.toUpperCase()];
      }
      if (!opts.detectAdapters || reads.length === 0) return [];
      const d = detectAdapter(reads);
      if (!d) {
        adapterInfo[mate] = { sequence: null, source: 'detection found none' };
        return [];
      }
      adapterInfo[mate] = { name: d.name, sequence: d.sequence, source: 'detected', sample_fraction: +d.fraction.toFixed(5) };
      return [d.sequence];
    };
    qc.adaptersR1 = pick(opts.adapterR1, reads1, 'read1');
    if (layout !== 'se') qc.adaptersR2 = pick(opts.adapterR2 ?? opts.adapterR1, reads2, 'read2');
    adapterInfo.pair_overlap = layout !== 'se';
  }
  if (opts.medianQuality !== undefined && format === 'fastq') {
    const cut = (bytes: Uint8Array, p: Parsed, step: number, first: number): number => {
      const maxPos = 1024;
      const hist = new Float64Array(maxPos * 94);
      for (let i = first; i < p.n; i += step) {
        const q0 = p.qualStart[i]!;
        const len = Math.min(p.seqLen[i]!, maxPos);
        for (let j = 0; j < len; j++) hist[j * 94 + bytes[q0 + j]! - 33]! += 1;
      }
      return medianCutoff(hist, maxPos, opts.medianQuality!);
    };
    qc.medianCutR1 = cut(b1, pp1, layout === 'interleaved' ? 2 : 1, 0);
    if (layout === 'interleaved') qc.medianCutR2 = cut(b1, pp1, 2, 1);
    else if (b2 && pp2) qc.medianCutR2 = cut(b2, pp2, 1, 0);
  }
  return { format, qualShift, qc, encoding, adapterInfo };
}

/** Shard rows accumulated in memory (fixed capacity: memory does not grow with the input). */
class ShardBuffer {
  rows = 0;
  readonly fragment: Float64Array;
  idBytes: Uint8Array;
  idLen = 0;
  readonly idOffsets: Int32Array;
  readonly lengths: Int32Array;
  readonly attrs: Float32Array;
  readonly embedding: Float32Array;
  constructor(
    readonly capacity: number,
    readonly dim: number,
  ) {
    this.fragment = new Float64Array(capacity);
    this.idBytes = new Uint8Array(capacity * 24);
    this.idOffsets = new Int32Array(capacity + 1);
    this.lengths = new Int32Array(capacity * 2);
    this.attrs = new Float32Array(capacity * ATTRS_PER_FRAGMENT);
    this.embedding = new Float32Array(capacity * dim);
  }
  add(r: PrepBatchResult, k: number, fragment: number): void {
    const row = this.rows++;
    this.fragment[row] = fragment;
    const s = r.idOffsets[k]!;
    const e = r.idOffsets[k + 1]!;
    if (this.idLen + (e - s) > this.idBytes.length) {
      const next = new Uint8Array(Math.max(this.idBytes.length * 2, this.idLen + e - s));
      next.set(this.idBytes.subarray(0, this.idLen));
      this.idBytes = next;
    }
    this.idBytes.set(r.idBytes.subarray(s, e), this.idLen);
    this.idLen += e - s;
    this.idOffsets[row + 1] = this.idLen;
    this.lengths[2 * row] = r.lengths[2 * k]!;
    this.lengths[2 * row + 1] = r.lengths[2 * k + 1]!;
    this.attrs.set(r.attrs.subarray(k * ATTRS_PER_FRAGMENT, (k + 1) * ATTRS_PER_FRAGMENT), row * ATTRS_PER_FRAGMENT);
    this.embedding.set(r.embedding.subarray(k * this.dim, (k + 1) * this.dim), row * this.dim);
  }
  reset(): void {
    this.rows = 0;
    this.idLen = 0;
  }
}

function gzipSink(path: string): { tmp: string; gz: ReturnType<typeof createGzip>; file: WriteStream } {
  const tmp = tempPathFor(path);
  const gz = createGzip({ level: 4 });
  const file = createWriteStream(tmp);
  gz.pipe(file);
  return { tmp, gz, file };
}

async function clearPreviousOutput(dir: string): Promise<void> {
  await rm(join(dir, 'manifest.json'), { force: true });
  const shardDir = join(dir, 'shards');
  try {
    for (const f of await readdir(shardDir)) if (/^part-\d+\.parquet$/.test(f) || f.endsWith('.tmp')) await rm(join(shardDir, f), { force: true });
  } catch {
    // no shards yet
  }
}


/** Reads all inputs as record-aligned batches (mates checked for equal counts); reports each input when done. */
async function* readBatches(
  sets: InputSet[],
  layout: PrepBatch['layout'],
  format: SeqFormat,
  qualShift: number,
  batchSize: number,
  onInput: (info: PrepManifest['inputs']) => void,
): AsyncGenerator<PrepBatch> {
  let index = 0;
  let fragmentBase = 0;
  for (const set of sets) {
    const rd1 = new RecordReader(set.r1);
    const rd2 = set.r2 ? new RecordReader(set.r2) : undefined;
    const f1 = await rd1.detect();
    if (f1 !== format) throw inputError(`${set.r1.label}: is ${f1.toUpperCase()} but the first input is ${format.toUpperCase()}`);
    if (rd2) await rd2.detect();
    const perBatch = layout === 'interleaved' ? batchSize * 2 : batchSize;
    for (;;) {
      const c1 = await rd1.next(perBatch);
      if (!c1) {
        if (rd2) {
          const extra = await rd2.next(1);
          if (extra) {
            throw inputError(
              `${format}: ${set.r1.label} ends after ${rd1.recordsRead} records but ${set.r2!.label} continues (record ${rd2.recordsRead}, line ${extra.firstLine}): mate files have different numbers of reads`,
            );
          }
        }
        break;
      }
      if (layout === 'interleaved' && c1.records % 2 === 1) {
        throw inputError(
          `${format}: ${set.r1.label} record ${c1.firstRecord + c1.records}: interleaved input has an odd number of records (the last read has no mate)`,
        );
      }
      const fragments = layout === 'interleaved' ? c1.records / 2 : c1.records;
      let c2;
      if (rd2) {
        c2 = await rd2.next(c1.records);
        const got = c2?.records ?? 0;
        if (got < c1.records) {
          throw inputError(
            `${format}: ${set.r2!.label} ends after ${rd2.recordsRead} records but ${set.r1.label} continues (record ${c1.firstRecord + got + 1}): mate files have different numbers of reads`,
          );
        }
      }
      const batch: PrepBatch = {
        index: index++,
        firstFragment: fragmentBase,
        format,
        qualShift,
        fragments,
        layout,
        r1: { label: set.r1.label, bytes: c1.bytes, records: c1.records, firstRecord: c1.firstRecord, firstLine: c1.firstLine },
      };
      if (c2 && set.r2) batch.r2 = { label: set.r2.label, bytes: c2.bytes, records: c2.records, firstRecord: c2.firstRecord, firstLine: c2.firstLine };
      fragmentBase += fragments;
      yield batch;
    }
    const info: PrepManifest['inputs'] = [{ uri: set.r1.uri, bytes: set.r1.size, format, compression: set.r1.compression, mate: 1, records: rd1.recordsRead }];
    if (set.r2 && rd2) info.push({ uri: set.r2.uri, bytes: set.r2.size, format, compression: set.r2.compression, mate: 2, records: rd2.recordsRead });
    onInput(info);
  }
}

/**
 * Runs batches on an engine with at most `depth` in flight and hands results to `consume` in batch order
 * (so everything downstream is independent of the thread count).
 */
async function runOrdered<R>(
  batches: AsyncIterable<PrepBatch>,
  run: (b: PrepBatch) => Promise<R>,
  depth: number,
  consume: (r: R, b: PrepBatch) => Promise<void>,
): Promise<void> {
  // The engine transfers a batch's byte buffers away; its metadata fields stay readable for consume().
  const pending: { promise: Promise<R>; batch: PrepBatch }[] = [];
  try {
    for await (const batch of batches) {
      const promise = run(batch);
      promise.catch(() => undefined); // awaited in order below
      pending.push({ promise, batch });
      while (pending.length >= depth) {
        const head = pending.shift()!;
        await consume(await head.promise, head.batch);
      }
    }
    while (pending.length > 0) {
      const head = pending.shift()!;
      await consume(await head.promise, head.batch);
    }
  } finally {
    for (const p of pending) p.promise.catch(() => undefined);
  }
}

/** Pass 1 of error correction; returns the pass-2 parameters (or why correction was skipped). */
async function buildSpectrum(
  opts: PrepOptions,
  batches: AsyncIterable<PrepBatch>,
  tick: (fragments: number) => void,
  inputBases: number,
): Promise<{ params?: NonNullable<BatchParams['correction']>; info: Record<string, unknown> }> {
  const k = opts.correctK;
  // One byte per expected k-mer occurrence (an upper bound of the distinct k-mers), at least 16 MiB, at most
  // --correct-mem: a small run gets a small, cache-friendly sketch.
  const sketch = LevelSketch.allocate(Math.min(opts.correctMemBytes, Math.max(16 << 20, 2 * inputBases)), true);
  const sub = new Map<number, number>();
  let kmers = 0;
  const engine = new LocalSpectrumEngine(opts.threads);
  try {
    await runOrdered(
      batches,
      (b) => engine.run(b, k, sketch.cells),
      engine.queueDepth,
      (r, b) => {
        mergeSubsample(sub, r.keys, r.counts);
        kmers += r.kmers;
        tick(b.firstFragment + b.fragments);
        return Promise.resolve();
      },
    );
  } finally {
    await engine.close();
  }
  const est = estimateSpectrum(sub);
  const genomeSize = opts.genomeSize ?? est.genomeSize;
  const coverage = opts.genomeSize ? kmers / opts.genomeSize : est.kmerCoverage;
  const info: Record<string, unknown> = {
    enabled: true,
    k,
    sketch_bytes: sketch.cells.length,
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
  Object.assign(info, { alpha, level, sketch_occupancy: +occupancy.toFixed(4), false_membership: +falseMembership.toExponential(3), trust_threshold: trustThreshold, max_corrections_per_read: opts.maxCorrections });
  return { params: { k, level, trustThreshold, maxCorrections: opts.maxCorrections, cells: sketch.cells }, info };
}

/** Below this k-mer coverage the spectrum cannot separate errors from rare k-mers. */
const MIN_CORRECTION_COVERAGE = 4;

/** Phase 1: FASTQ/FASTA -> QC -> dedup -> embedding -> Parquet shards + manifest (written last). */
export async function runPrep(opts: PrepOptions): Promise<PrepSummary> {
  const t0 = performance.now();
  if (opts.inputs.length === 0) throw usageError('prep: --input is required');
  if (opts.inputs2.length > 0 && opts.inputs2.length !== opts.inputs.length) {
    throw usageError(`prep: ${opts.inputs.length} --input but ${opts.inputs2.length} --input2 (give one --input2 per --input)`);
  }
  if (opts.interleaved && opts.inputs2.length > 0) throw usageError('prep: --interleaved and --input2 are exclusive');
  const layout: PrepBatch['layout'] = opts.inputs2.length > 0 ? 'pe' : opts.interleaved ? 'interleaved' : 'se';
  const sets: InputSet[] = [];
  for (const [i, p] of opts.inputs.entries()) {
    const r1 = await openLocalSource(p);
    const r2 = layout === 'pe' ? await openLocalSource(opts.inputs2[i]!) : undefined;
    sets.push(r2 ? { r1, r2 } : { r1 });
  }
  const table = kmerTable(opts.kmer);
  const dim = table.dim;
  const resolved = await resolveParameters(sets[0]!, opts, layout);
  const params: BatchParams = { qc: resolved.qc, kmer: opts.kmer, normalisation: opts.normalisation, writeFastq: opts.writeFastq };

  await mkdir(join(opts.output, 'shards'), { recursive: true });
  await clearPreviousOutput(opts.output);

  const writer = await ShardWriter.open(dim, opts.threads);
  let correctionInfo: Record<string, unknown> = { enabled: false };
  const dedup = opts.dedup ? new DuplicateFilter(opts.dedupMemBytes) : undefined;
  const counters = new Float64Array(COUNTER_NAMES.length);
  const stats = allocStats();
  const shards: ManifestShard[] = [];
  const buffer = new ShardBuffer(opts.rowsPerShard, dim);
  const totalBytes = sets.reduce((a, s) => a + s.r1.size + (s.r2?.size ?? 0), 0);
  const inputsInfo: PrepManifest['inputs'] = [];
  let duplicates = 0;
  let fragmentsOut = 0;
  let fragmentBase = 0;
  const fq =
    opts.writeFastq
      ? {
          r1: gzipSink(join(opts.output, layout === 'se' ? 'clean.fastq.gz' : 'clean_R1.fastq.gz')),
          r2: layout !== 'se' ? gzipSink(join(opts.output, 'clean_R2.fastq.gz')) : undefined,
        }
      : undefined;

  // ShardWriter.write takes the rows synchronously: the buffer refills while DuckDB encodes the shard.
  let writing: Promise<void> | undefined;
  const flushShard = async (): Promise<void> => {
    if (buffer.rows === 0) return;
    await writing; // one shard write at a time
    const rel = `shards/part-${String(shards.length).padStart(5, '0')}.parquet`;
    const entry: ManifestShard = { path: rel, rows: buffer.rows, bytes: 0, sha256: '' };
    shards.push(entry);
    writing = writer.write(join(opts.output, rel), {
      rows: buffer.rows,
      dim,
      fragment: buffer.fragment,
      idBytes: buffer.idBytes,
      idOffsets: buffer.idOffsets,
      lengths: buffer.lengths,
      attrs: buffer.attrs,
      embedding: buffer.embedding,
      paired: layout !== 'se',
    }).then((info) => {
      entry.bytes = info.bytes;
      entry.sha256 = info.sha256;
    });
    writing.catch(() => undefined); // awaited at the next flush, at the end, or before closing
    buffer.reset();
  };

  const writeFq = async (sink: { gz: ReturnType<typeof createGzip> } | undefined, data: Uint8Array | undefined, offs: Int32Array | undefined, keep: Uint8Array, n: number): Promise<void> => {
    if (!sink || !data || !offs) return;
    const parts: Uint8Array[] = [];
    let runStart = -1;
    for (let k = 0; k <= n; k++) {
      if (k < n && keep[k]) {
        if (runStart < 0) runStart = k;
      } else if (runStart >= 0) {
        parts.push(data.subarray(offs[runStart], offs[k]));
        runStart = -1;
      }
    }
    const ok = sink.gz.write(Buffer.concat(parts));
    if (!ok) await once(sink.gz, 'drain');
  };

  const consume = async (r: PrepBatchResult, batchStart: number): Promise<void> => {
    for (let i = 0; i < counters.length; i++) counters[i]! += r.counters[i]!;
    mergeStats(stats, r.stats);
    const keep = new Uint8Array(r.kept);
    for (let k = 0; k < r.kept; k++) {
      if (dedup && dedup.testAndSet(r.hashes[2 * k]!, r.hashes[2 * k + 1]!)) {
        duplicates++;
        continue;
      }
      keep[k] = 1;
      buffer.add(r, k, batchStart + r.positions[k]!);
      fragmentsOut++;
      if (buffer.rows === buffer.capacity) await flushShard();
    }
    if (fq) {
      await writeFq(fq.r1, r.fastq1, r.fastqOffsets1, keep, r.kept);
      await writeFq(fq.r2, r.fastq2, r.fastqOffsets2, keep, r.kept);
    }
  };

  const batchesOf = (onInput: (info: PrepManifest['inputs']) => void) =>
    readBatches(sets, layout, resolved.format, resolved.qualShift, opts.batchSize, onInput);
  const progressTick = (fragments: number) =>
    opts.progress.update({ fragments, bytes: sets.reduce((a, st) => a + st.r1.rawBytesRead() + (st.r2?.rawBytesRead() ?? 0), 0) - rawBase, totalBytes });
  let rawBase = 0;

  // Pass 1 of error correction: the k-mer spectrum of all reads.
  if (opts.correct) {
    opts.progress.phase('correct: k-mer spectrum');
    // bases in the input, roughly: FASTQ is about half bases; gzip compresses FASTQ about 4x
    const inputBases = sets.reduce((a, st) => a + [st.r1, st.r2].reduce((b, src) => b + (src ? (src.size * (src.compression === 'gzip' ? 4 : 1)) / 2 : 0), 0), 0);
    const spectrum = await buildSpectrum(opts, batchesOf(() => undefined), progressTick, inputBases);
    rawBase = sets.reduce((a, st) => a + st.r1.rawBytesRead() + (st.r2?.rawBytesRead() ?? 0), 0);
    correctionInfo = spectrum.info;
    if (spectrum.params) params.correction = spectrum.params;
    else opts.progress.log(`correct: ${spectrum.info.skipped as string}`);
  }

  opts.progress.phase('prep');
  const engine = new LocalPrepEngine(opts.threads);
  try {
    await runOrdered(
      batchesOf((info) => inputsInfo.push(...info)),
      (batch) => engine.run(batch, params),
      engine.queueDepth,
      async (r, batch) => {
        await consume(r, batch.firstFragment);
        fragmentBase = batch.firstFragment + batch.fragments;
        progressTick(fragmentBase);
      },
    );
    await flushShard();
    await writing;
    if (fq) {
      for (const sink of [fq.r1, fq.r2]) {
        if (!sink) continue;
        sink.gz.end();
        await once(sink.file, 'close');
      }
    }
  } catch (err) {
    if (fq) for (const sink of [fq.r1, fq.r2]) if (sink) {
      sink.gz.destroy();
      sink.file.destroy();
      await rm(sink.tmp, { force: true });
    }
    throw err;
  } finally {
    await engine.close();
    await writing?.catch(() => undefined);
    writer.close();
    opts.progress.finish();
  }
  if (fragmentBase === 0) throw inputError(`${sets[0]!.r1.label}: no records`);

  const counts: Record<string, number> = {};
  COUNTER_NAMES.forEach((n, i) => (counts[n] = counters[i]!));
  counts.duplicates_removed = duplicates;
  counts.fragments_out = fragmentsOut;
  counts.filtered_total = counts.fragments_in! - counts.fragments_passed_qc!;

  const outputs: Record<string, string> = {};
  if (fq) {
    const r1Name = layout === 'se' ? 'clean.fastq.gz' : 'clean_R1.fastq.gz';
    await commitTemp(fq.r1.tmp, join(opts.output, r1Name));
    outputs.fastq_r1 = r1Name;
    if (fq.r2) {
      await commitTemp(fq.r2.tmp, join(opts.output, 'clean_R2.fastq.gz'));
      outputs.fastq_r2 = 'clean_R2.fastq.gz';
    }
  }
  const qcPath = join(opts.output, 'qc_stats.json');
  await writeFileAtomic(qcPath, JSON.stringify({ layout, ...statsToJson(stats, layout !== 'se') }) + '\n');

  const manifest: PrepManifest = {
    schema: PREP_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    created: new Date().toISOString(),
    parameters: {
      layout,
      batch_size: opts.batchSize,
      rows_per_shard: opts.rowsPerShard,
      dedup: opts.dedup,
      dedup_memory_bytes: dedup?.bytes ?? 0,
      phred: opts.phred,
      median_quality: opts.medianQuality ?? null,
      correction: correctionInfo,
      qc: resolved.qc,
      ...(Object.keys(outputs).length > 0 ? { outputs } : {}),
    },
    inputs: inputsInfo,
    layout,
    quality_encoding: resolved.encoding,
    adapters: resolved.adapterInfo,
    counts,
    embedding: { method: 'kmer', k: opts.kmer, dim, normalisation: opts.normalisation, columns: table.names },
    shard_schema: {
      fragment: 'BIGINT',
      read_id: 'VARCHAR',
      len_r1: 'INTEGER',
      len_r2: 'INTEGER',
      gc_r1: 'FLOAT',
      gc_r2: 'FLOAT',
      meanq_r1: 'FLOAT',
      meanq_r2: 'FLOAT',
      embedding: `FLOAT[${dim}]`,
    },
    shards,
    qc_stats: { path: 'qc_stats.json', sha256: await sha256File(qcPath) },
  };
  const manifestPath = join(opts.output, 'manifest.json');
  await writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return {
    output: opts.output,
    manifest: manifestPath,
    fragmentsIn: counts.fragments_in!,
    fragmentsOut: fragmentsOut,
    duplicates,
    shards: shards.length,
    seconds: (performance.now() - t0) / 1000,
    counts,
    resumed: false,
  };
}

