import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { DuplicateFilter } from '../dedup/bloom.js';
import { DuplicationSample } from '../dedup/levels.js';
import { kmerTable, type Normalisation } from '../embed/kmerProfile.js';
import type { EmbeddingInfo } from '../embed/types.js';
import { shardKeyValueMetadata } from '../embed/describe.js';
import { commitTemp, outputError, tempPathFor } from '../io/atomic.js';
import type { MetavecError } from '../errors.js';
import { joinLocation } from '../io/location.js';
import { openOutputStore, type OutputStore } from '../io/store.js';
import { PREP_SCHEMA, type ManifestShard, type PrepManifest } from '../io/manifest.js';
import { ShardWriter } from '../io/shards.js';
import { allocStats, mergeStats, statsToJson } from '../qc/stats.js';
import type { QcParams } from '../qc/params.js';
import { ATTRS_PER_FRAGMENT, COUNTER_NAMES, type PrepBatch, type PrepBatchResult } from '../prep/params.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { SKETCH_HASH, type SketchParams } from '../sketch/minimizers.js';
import type { PrepJournal, Restored, SinkSnapshot, SpillRows } from './prepResume.js';

/**
 * The sink side of Phase 1, shared by every engine: batch results arrive in input order; exact duplicates are
 * removed (dedup/bloom.ts) in that order, kept rows fill fixed-size shards, the optional clean FASTQ is
 * written, and at the end qc_stats.json and manifest.json (last, atomically). Because everything here depends
 * only on the order of the fragments, not on how they were batched or where they ran, any engine that hands
 * results over in fragment order produces byte-identical shards.
 */

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
  /** minimizer sketch (hi/lo pairs) and per-row offsets, when the run stores one */
  minimizers: Uint32Array;
  minimizerLen = 0;
  readonly minimizerOffsets: Int32Array | undefined;
  /** dedup fingerprints of the rows (for the resume journal: the Bloom filter is re-derived from them) */
  readonly hashes: Uint32Array;
  constructor(
    readonly capacity: number,
    readonly dim: number,
    withMinimizers: boolean,
  ) {
    this.minimizers = new Uint32Array(withMinimizers ? capacity * 64 : 0);
    this.minimizerOffsets = withMinimizers ? new Int32Array(capacity + 1) : undefined;
    this.fragment = new Float64Array(capacity);
    this.idBytes = new Uint8Array(capacity * 24);
    this.idOffsets = new Int32Array(capacity + 1);
    this.lengths = new Int32Array(capacity * 2);
    this.attrs = new Float32Array(capacity * ATTRS_PER_FRAGMENT);
    this.embedding = new Float32Array(capacity * dim);
    this.hashes = new Uint32Array(capacity * 2);
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
    if (this.minimizerOffsets) {
      if (!r.minimizers || !r.minimizerOffsets) throw new Error('prep: batch result without the minimizer sketch');
      const a = r.minimizerOffsets[k]!;
      const b = r.minimizerOffsets[k + 1]!;
      if (2 * (this.minimizerLen + b - a) > this.minimizers.length) {
        const next = new Uint32Array(Math.max(this.minimizers.length * 2, 2 * (this.minimizerLen + b - a)));
        next.set(this.minimizers.subarray(0, 2 * this.minimizerLen));
        this.minimizers = next;
      }
      this.minimizers.set(r.minimizers.subarray(2 * a, 2 * b), 2 * this.minimizerLen);
      this.minimizerLen += b - a;
      this.minimizerOffsets[row + 1] = this.minimizerLen;
    }
    this.hashes[2 * row] = r.hashes[2 * k]!;
    this.hashes[2 * row + 1] = r.hashes[2 * k + 1]!;
  }
  /** The rows as a self-contained copy (a resume checkpoint). */
  snapshot(): SpillRows {
    const n = this.rows;
    return {
      rows: n,
      idLen: this.idLen,
      fragment: this.fragment.slice(0, n),
      idBytes: this.idBytes.slice(0, this.idLen),
      idOffsets: this.idOffsets.slice(0, n + 1),
      lengths: this.lengths.slice(0, 2 * n),
      attrs: this.attrs.slice(0, ATTRS_PER_FRAGMENT * n),
      embedding: this.embedding.slice(0, this.dim * n),
      hashes: this.hashes.slice(0, 2 * n),
      ...(this.minimizerOffsets
        ? { minimizerLen: this.minimizerLen, minimizerOffsets: this.minimizerOffsets.slice(0, n + 1), minimizers: this.minimizers.slice(0, 2 * this.minimizerLen) }
        : {}),
    };
  }
  /** Refills from a checkpoint's rows. */
  restore(s: SpillRows): void {
    this.rows = s.rows;
    this.idLen = s.idLen;
    if (this.idBytes.length < s.idLen) this.idBytes = new Uint8Array(s.idLen);
    this.fragment.set(s.fragment);
    this.idBytes.set(s.idBytes);
    this.idOffsets.set(s.idOffsets);
    this.lengths.set(s.lengths);
    this.attrs.set(s.attrs);
    this.embedding.set(s.embedding);
    this.hashes.set(s.hashes);
    if (this.minimizerOffsets) {
      if (!s.minimizers || !s.minimizerOffsets) throw new Error('resume: the checkpoint has no minimizer sketch');
      this.minimizerLen = s.minimizerLen ?? 0;
      if (this.minimizers.length < s.minimizers.length) this.minimizers = new Uint32Array(s.minimizers.length);
      this.minimizers.set(s.minimizers);
      this.minimizerOffsets.set(s.minimizerOffsets);
    }
  }
  reset(): void {
    this.rows = 0;
    this.idLen = 0;
    this.minimizerLen = 0;
  }
}

interface GzipSink {
  tmp: string;
  gz: ReturnType<typeof createGzip>;
  file: WriteStream;
  /** a write failure (disk full, ...), reported by the next write or end() */
  error?: MetavecError;
}

/** Resolves when the gzip stream drains, or when the file closes after a failure (listeners removed either way). */
function drainedOrClosed(sink: GzipSink): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.gz.off('drain', done);
      sink.file.off('close', done);
      resolve();
    };
    sink.gz.on('drain', done);
    sink.file.on('close', done);
  });
}

function failed(sink: GzipSink): void {
  if (sink.error) throw sink.error;
}

function gzipSink(path: string): GzipSink {
  const tmp = tempPathFor(path);
  const gz = createGzip({ level: 4 });
  const file = createWriteStream(tmp);
  const sink: GzipSink = { tmp, gz, file };
  const fail = (err: unknown): void => {
    sink.error ??= outputError(path, err);
    gz.unpipe(file);
    gz.destroy();
    file.destroy();
  };
  file.on('error', fail);
  gz.on('error', fail);
  gz.pipe(file);
  return sink;
}

/** Removes a previous run's manifest and shards (the manifest first: the directory never looks complete). */
export async function clearPreviousOutput(dir: string, keep: Set<string> = new Set()): Promise<void> {
  await rm(join(dir, 'manifest.json'), { force: true });
  const shardDir = join(dir, 'shards');
  try {
    for (const f of await readdir(shardDir)) if ((/^part-\d+\.parquet$/.test(f) && !keep.has(f)) || f.endsWith('.tmp')) await rm(join(shardDir, f), { force: true });
  } catch {
    // no shards yet
  }
}

export interface SinkConfig {
  output: string;
  layout: PrepBatch['layout'];
  kmer: number;
  /** Embedding dimension (default: the k-mer profile's for kmer). */
  dim?: number;
  rowsPerShard: number;
  dedup: boolean;
  dedupMemBytes: number;
  writeFastq: boolean;
  /** Threads DuckDB may use to encode shards. */
  threads: number;
  /** store each fragment's minimizer sketch (shard column `minimizers`) */
  minimizers?: SketchParams;
  /** Parquet key-value metadata of every shard (shardMetadataFor): what the embedding means. */
  shardMetadata?: Record<string, string>;
  /** Resume journal (local engine; docs/reliability.md): checkpoints at the end of each batch that committed a shard. */
  journal?: PrepJournal;
  /** State restored from a previous run's checkpoint. */
  restore?: NonNullable<Restored['sink']>;
}

function concatFloat64(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class PrepSink {
  readonly counters = new Float64Array(COUNTER_NAMES.length);
  readonly stats = allocStats();
  readonly shards: ManifestShard[] = [];
  readonly dedupFilter: DuplicateFilter | undefined;
  /** duplication levels of the QC-passed fragments (qc_stats.json), with or without --no-dedup */
  dupLevels = new DuplicationSample();
  duplicates = 0;
  fragmentsOut = 0;
  private readonly buffer: ShardBuffer;
  private readonly dim: number;
  private writing: Promise<void> | undefined;
  private readonly fq: { r1: GzipSink; r2: GzipSink | undefined } | undefined;
  readonly outputs: Record<string, string> = {};
  /** fingerprints of shards flushed since the last checkpoint */
  private pendingHashes: { path: string; hashes: Uint32Array }[] = [];

  private failed = false;

  private constructor(
    private readonly cfg: SinkConfig,
    private readonly writer: ShardWriter,
    /** The output directory or S3 prefix (io/store.ts): files are produced at stagingPath() and published. */
    readonly store: OutputStore,
    fqPaths: { r1: string; r2: string | undefined } | undefined,
  ) {
    this.dim = cfg.dim ?? kmerTable(cfg.kmer).dim;
    this.dedupFilter = cfg.dedup ? new DuplicateFilter(cfg.dedupMemBytes) : undefined;
    this.buffer = new ShardBuffer(cfg.rowsPerShard, this.dim, cfg.minimizers !== undefined);
    const rs = cfg.restore;
    if (rs) {
      this.counters.set(rs.counters);
      // the journal's stats file holds the QC statistics, then the duplication sample (see add)
      this.stats.set(rs.stats.subarray(0, Math.min(rs.stats.length, this.stats.length)));
      this.dupLevels = DuplicationSample.decode(rs.stats.subarray(this.stats.length));
      this.shards.push(...rs.shards);
      this.duplicates = rs.duplicates;
      this.fragmentsOut = rs.fragmentsOut;
      // The Bloom filter after a prefix = the bits of its kept fragments (a duplicate sets none): re-mark them.
      const f = this.dedupFilter;
      if (f) for (const h of [...rs.hashes, rs.spill.hashes]) for (let i = 0; i < h.length; i += 2) f.testAndSet(h[i]!, h[i + 1]!);
      this.buffer.restore(rs.spill);
    }
    this.fq = fqPaths ? { r1: gzipSink(fqPaths.r1), r2: fqPaths.r2 !== undefined ? gzipSink(fqPaths.r2) : undefined } : undefined;
  }

  private static r1Name(layout: PrepBatch['layout']): string {
    return layout === 'se' ? 'clean.fastq.gz' : 'clean_R1.fastq.gz';
  }

  /** Shards an interrupted earlier run had already stored, identical, and that were not written again (S3). */
  get reusedShards(): number {
    return this.store.reused;
  }

  /**
   * Opens the output (a directory, or an S3 prefix: a wrong bucket or credentials fail here), removes a
   * previous run's manifest (and, in a directory, its shards), opens the shard writer.
   */
  static async open(cfg: SinkConfig): Promise<PrepSink> {
    const store = await openOutputStore(cfg.output);
    try {
      if (store.remote) {
        // The manifest goes first. Shards stay until the end: a re-run reuses, without uploading them again,
        // those an interrupted run left when they match byte for byte (S3Store.putFile); stale ones are
        // removed before the new manifest is written (writePrepManifest).
        await store.remove('manifest.json');
      } else {
        await mkdir(join(cfg.output, 'shards'), { recursive: true }).catch((err: unknown) => {
          throw outputError(join(cfg.output, 'shards'), err);
        });
        if (cfg.restore) await clearPreviousOutput(cfg.output, new Set(cfg.restore.shards.map((x) => x.path.replace(/^shards\//, ''))));
        else await clearPreviousOutput(cfg.output);
      }
      const fqPaths = cfg.writeFastq
        ? {
            r1: await store.stagingPath(PrepSink.r1Name(cfg.layout)),
            r2: cfg.layout !== 'se' ? await store.stagingPath('clean_R2.fastq.gz') : undefined,
          }
        : undefined;
      const writer = await ShardWriter.open(cfg.dim ?? kmerTable(cfg.kmer).dim, cfg.threads, {
        minimizers: cfg.minimizers !== undefined,
        ...(cfg.shardMetadata ? { metadata: cfg.shardMetadata } : {}),
      });
      return new PrepSink(cfg, writer, store, fqPaths);
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  // ShardWriter.write takes the rows synchronously: the buffer refills while DuckDB encodes the shard.
  private async flushShard(): Promise<void> {
    const buffer = this.buffer;
    if (buffer.rows === 0) return;
    await this.writing; // one shard write at a time
    const rel = `shards/part-${String(this.shards.length).padStart(5, '0')}.parquet`;
    const entry: ManifestShard = { path: rel, rows: buffer.rows, bytes: 0, sha256: '' };
    this.shards.push(entry);
    const staged = await this.store.stagingPath(rel);
    if (this.cfg.journal) this.pendingHashes.push({ path: rel, hashes: buffer.hashes.slice(0, 2 * buffer.rows) });
    this.writing = this.writer
      .write(staged, {
        rows: buffer.rows,
        dim: this.dim,
        fragment: buffer.fragment,
        idBytes: buffer.idBytes,
        idOffsets: buffer.idOffsets,
        lengths: buffer.lengths,
        attrs: buffer.attrs,
        embedding: buffer.embedding,
        paired: this.cfg.layout !== 'se',
        ...(buffer.minimizerOffsets ? { minimizers: buffer.minimizers, minimizerOffsets: buffer.minimizerOffsets } : {}),
      })
      .then((info) => {
        entry.bytes = info.bytes;
        entry.sha256 = info.sha256;
        return this.store.putFile(rel, staged, { sha256: info.sha256 });
      });
    this.writing.catch(() => undefined); // awaited at the next flush, at the end, or before closing
    buffer.reset();
  }

  private async writeFq(sink: GzipSink | undefined, data: Uint8Array | undefined, offs: Int32Array | undefined, keep: Uint8Array, n: number): Promise<void> {
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
    failed(sink);
    const ok = sink.gz.write(Buffer.concat(parts));
    if (!ok && !sink.error) await drainedOrClosed(sink);
    failed(sink);
  }

  /**
   * Adds a batch result whose first fragment has run-wide index `batchStart`; results must come in input order.
   * With a journal, `batchEnd` (the fragment after the batch) marks a point where the run can resume.
   */
  async add(r: PrepBatchResult, batchStart: number, batchEnd?: number): Promise<void> {
    for (let i = 0; i < this.counters.length; i++) this.counters[i]! += r.counters[i]!;
    mergeStats(this.stats, r.stats);
    const keep = new Uint8Array(r.kept);
    const dedup = this.dedupFilter;
    const levels = this.dupLevels;
    for (let k = 0; k < r.kept; k++) {
      levels.add(r.hashes[2 * k]!, r.hashes[2 * k + 1]!);
      if (dedup && dedup.testAndSet(r.hashes[2 * k]!, r.hashes[2 * k + 1]!)) {
        this.duplicates++;
        continue;
      }
      keep[k] = 1;
      this.buffer.add(r, k, batchStart + r.positions[k]!);
      this.fragmentsOut++;
      if (this.buffer.rows === this.buffer.capacity) await this.flushShard();
    }
    if (this.fq) {
      await this.writeFq(this.fq.r1, r.fastq1, r.fastqOffsets1, keep, r.kept);
      await this.writeFq(this.fq.r2, r.fastq2, r.fastqOffsets2, keep, r.kept);
    }
    const journal = this.cfg.journal;
    if (journal && batchEnd !== undefined && this.pendingHashes.length > 0) {
      // Everything up to batchEnd as of now (copies); persisted once the shard write(s) have committed.
      const snap: SinkSnapshot = {
        nextFragment: batchEnd,
        counters: this.counters.slice(),
        stats: concatFloat64(this.stats, this.dupLevels.encode()),
        duplicates: this.duplicates,
        fragmentsOut: this.fragmentsOut,
        shards: this.shards.map((s) => s), // entries are completed in place when their write finishes
        newShardHashes: this.pendingHashes,
        spill: this.buffer.snapshot(),
      };
      this.pendingHashes = [];
      this.writing = (this.writing ?? Promise.resolve()).then(() => journal.commit({ ...snap, shards: snap.shards.map((s) => ({ ...s })) }));
      this.writing.catch(() => undefined);
    }
  }

  /** Writes the last shard and ends the FASTQ streams (call once, after the last add). */
  async end(): Promise<void> {
    await this.flushShard();
    await this.writing;
    if (this.fq) {
      for (const sink of [this.fq.r1, this.fq.r2]) {
        if (!sink) continue;
        if (!sink.error) {
          sink.gz.end();
          await once(sink.file, 'close');
        }
        failed(sink);
      }
    }
  }

  /** After a failure: drops the partial FASTQ outputs. */
  async abort(): Promise<void> {
    this.failed = true;
    if (this.fq) {
      for (const sink of [this.fq.r1, this.fq.r2]) {
        if (!sink) continue;
        sink.gz.destroy();
        sink.file.destroy();
        await rm(sink.tmp, { force: true });
      }
    }
  }

  /** Waits for a shard write in progress and releases DuckDB (always call, also after a failure). */
  async close(): Promise<void> {
    await this.writing?.catch(() => undefined);
    this.writer.close();
    if (this.failed) await this.store.close(); // after success the store is closed by writePrepManifest
  }

  /** Gives the finished FASTQ outputs their names (after end()). */
  async commitFastq(): Promise<void> {
    if (!this.fq) return;
    try {
      const r1Name = PrepSink.r1Name(this.cfg.layout);
      const r1 = await this.store.stagingPath(r1Name);
      await commitTemp(this.fq.r1.tmp, r1);
      await this.store.putFile(r1Name, r1);
      this.outputs.fastq_r1 = r1Name;
      if (this.fq.r2) {
        const r2 = await this.store.stagingPath('clean_R2.fastq.gz');
        await commitTemp(this.fq.r2.tmp, r2);
        await this.store.putFile('clean_R2.fastq.gz', r2);
        this.outputs.fastq_r2 = 'clean_R2.fastq.gz';
      }
    } catch (err) {
      await this.store.close();
      throw err;
    }
  }

  /** Per-stage counts for the manifest. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    COUNTER_NAMES.forEach((n, i) => (counts[n] = this.counters[i]!));
    counts.duplicates_removed = this.duplicates;
    counts.fragments_out = this.fragmentsOut;
    counts.filtered_total = counts.fragments_in! - counts.fragments_passed_qc!;
    return counts;
  }
}

export interface ManifestInfo {
  output: string;
  layout: PrepBatch['layout'];
  batchSize: number;
  rowsPerShard: number;
  dedup: boolean;
  phred: string;
  medianQuality: number | undefined;
  correction: Record<string, unknown>;
  qc: QcParams;
  inputs: PrepManifest['inputs'];
  encoding: string;
  adapterInfo: Record<string, unknown>;
  kmer: number;
  normalisation: Normalisation;
  minimizers?: SketchParams;
  /** The manifest's embedding description (src/embed resolveEmbedding); default: the k-mer profile. */
  embedding?: EmbeddingInfo;
  /** the run key (prepResume.ts runKey) a re-run compares before reusing the result */
  runKey?: string;
}

/** Writes qc_stats.json, then manifest.json (last, atomically: the run is complete exactly when it exists). */
export async function writePrepManifest(sink: PrepSink, m: ManifestInfo): Promise<{ manifestPath: string; counts: Record<string, number> }> {
  try {
    return await writeManifestTo(sink.store, sink, m);
  } finally {
    await sink.store.close();
  }
}

/** The manifest's embedding description: the one given, else the k-mer profile's. */
function embeddingOf(m: Pick<ManifestInfo, 'kmer' | 'normalisation' | 'embedding'>): EmbeddingInfo {
  return m.embedding ?? (() => {
    const table = kmerTable(m.kmer);
    return { method: 'kmer', k: m.kmer, dim: table.dim, normalisation: m.normalisation, columns: table.names };
  })();
}

function sketchOf(minimizers: SketchParams): NonNullable<PrepManifest['sketch']> {
  return { method: 'minimizer' as const, k: minimizers.k, w: minimizers.w, canonical: true, hash: SKETCH_HASH, column: 'minimizers' };
}

/** The shards' Parquet key-value metadata (the same under every engine: it is part of the shards' bytes). */
export function shardMetadataFor(m: Pick<ManifestInfo, 'kmer' | 'normalisation' | 'embedding' | 'minimizers'>): Record<string, string> {
  return shardKeyValueMetadata(embeddingOf(m), m.minimizers ? { ...sketchOf(m.minimizers) } : undefined);
}

async function writeManifestTo(store: OutputStore, sink: PrepSink, m: ManifestInfo): Promise<{ manifestPath: string; counts: Record<string, number> }> {
  const counts = sink.counts();
  const embedding = embeddingOf(m);
  const dim = embedding.dim;
  const qcText = JSON.stringify({ layout: m.layout, ...statsToJson(sink.stats, m.layout !== 'se'), duplication_levels: sink.dupLevels.levels() }) + '\n';
  const qcSha256 = createHash('sha256').update(qcText).digest('hex');
  await store.putBytes('qc_stats.json', qcText, { sha256: qcSha256 });
  const manifest: PrepManifest = {
    schema: PREP_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    created: new Date().toISOString(),
    parameters: {
      layout: m.layout,
      batch_size: m.batchSize,
      rows_per_shard: m.rowsPerShard,
      dedup: m.dedup,
      dedup_memory_bytes: sink.dedupFilter?.bytes ?? 0,
      phred: m.phred,
      median_quality: m.medianQuality ?? null,
      correction: m.correction,
      qc: m.qc,
      ...(Object.keys(sink.outputs).length > 0 ? { outputs: sink.outputs } : {}),
    },
    inputs: m.inputs,
    layout: m.layout,
    quality_encoding: m.encoding,
    adapters: m.adapterInfo,
    counts,
    embedding,
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
      ...(m.minimizers ? { minimizers: 'UBIGINT[]' } : {}),
    },
    ...(m.minimizers ? { sketch: sketchOf(m.minimizers) } : {}),
    shards: sink.shards,
    qc_stats: { path: 'qc_stats.json', sha256: qcSha256 },
    ...(m.runKey ? { run_key: m.runKey } : {}),
  };
  if (store.remote) {
    // shards of an earlier run with more shards under this prefix are not part of this one
    const current = new Set(sink.shards.map((sh) => sh.path));
    for (const o of await store.list('shards/')) if (!current.has(o.rel)) await store.remove(o.rel);
  }
  const manifestPath = joinLocation(m.output, 'manifest.json');
  await store.putBytes('manifest.json', JSON.stringify(manifest, null, 2) + '\n');
  return { manifestPath, counts };
}
