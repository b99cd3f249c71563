import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DuplicationSample } from '../dedup/levels.js';
import { DedupStage } from '../dedup/stage.js';
import { kmerTable } from '../embed/kmerProfile.js';
import { commitTemp, outputError } from '../io/atomic.js';
import { FastqGzWriter } from '../io/fastqWriter.js';
import { joinLocation } from '../io/location.js';
import { openOutputStore, type OutputStore } from '../io/store.js';
import { prepManifestOf, qcStatsOf, type ManifestInfo, type ManifestShard } from '../io/manifest.js';
import { ShardBuffer } from '../io/shardBuffer.js';
import { ShardWriter } from '../io/shards.js';
import { allocStats, mergeStats } from '../qc/stats.js';
import { COUNTER_NAMES, type PrepBatch, type PrepBatchResult } from '../prep/params.js';
import type { SketchParams } from '../sketch/minimizers.js';
import type { PrepJournal, Restored, SinkSnapshot } from './prepResume.js';

/**
 * The sink side of Phase 1, shared by every engine: batch results arrive in input order; exact duplicates are
 * removed in that order (dedup/stage.ts), kept rows fill fixed-size shards (io/shardBuffer.ts, io/shards.ts), the
 * optional clean FASTQ is written (io/fastqWriter.ts), a resume checkpoint follows each committed shard, and at the
 * end qc_stats.json and manifest.json (last, atomically; assembled by io/manifest.ts). Because everything here depends
 * only on the order of the fragments, not on how they were batched or where they ran, any engine that hands
 * results over in fragment order produces byte-identical shards.
 */

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
  readonly dedup: DedupStage;
  fragmentsOut = 0;
  private readonly buffer: ShardBuffer;
  private readonly dim: number;
  private writing: Promise<void> | undefined;
  private readonly fq: { r1: FastqGzWriter; r2: FastqGzWriter | undefined } | undefined;
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
    this.dedup = new DedupStage(cfg.dedup, cfg.dedupMemBytes);
    this.buffer = new ShardBuffer(cfg.rowsPerShard, this.dim, cfg.minimizers !== undefined);
    const rs = cfg.restore;
    if (rs) {
      this.counters.set(rs.counters);
      // the journal's stats file holds the QC statistics, then the duplication sample (see add)
      this.stats.set(rs.stats.subarray(0, Math.min(rs.stats.length, this.stats.length)));
      this.shards.push(...rs.shards);
      this.dedup.restore(rs.duplicates, DuplicationSample.decode(rs.stats.subarray(this.stats.length)), [...rs.hashes, rs.spill.hashes]);
      this.fragmentsOut = rs.fragmentsOut;
      this.buffer.restore(rs.spill);
    }
    this.fq = fqPaths ? { r1: new FastqGzWriter(fqPaths.r1), r2: fqPaths.r2 !== undefined ? new FastqGzWriter(fqPaths.r2) : undefined } : undefined;
  }

  private static r1Name(layout: PrepBatch['layout']): string {
    return layout === 'se' ? 'clean.fastq.gz' : 'clean_R1.fastq.gz';
  }

  /** Exact duplicates removed so far. */
  get duplicates(): number {
    return this.dedup.duplicates;
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

  /**
   * Adds a batch result whose first fragment has run-wide index `batchStart`; results must come in input order.
   * With a journal, `batchEnd` (the fragment after the batch) marks a point where the run can resume.
   */
  async add(r: PrepBatchResult, batchStart: number, batchEnd?: number): Promise<void> {
    for (let i = 0; i < this.counters.length; i++) this.counters[i]! += r.counters[i]!;
    mergeStats(this.stats, r.stats);
    const keep = new Uint8Array(r.kept);
    this.dedup.mark(r.hashes, r.kept, keep);
    for (let k = 0; k < r.kept; k++) {
      if (!keep[k]) continue;
      this.buffer.add(r, k, batchStart + r.positions[k]!);
      this.fragmentsOut++;
      if (this.buffer.rows === this.buffer.capacity) await this.flushShard();
    }
    if (this.fq) {
      await this.fq.r1.writeKept(r.fastq1, r.fastqOffsets1, keep, r.kept);
      await this.fq.r2?.writeKept(r.fastq2, r.fastqOffsets2, keep, r.kept);
    }
    const journal = this.cfg.journal;
    if (journal && batchEnd !== undefined && this.pendingHashes.length > 0) {
      // Everything up to batchEnd as of now (copies); persisted once the shard write(s) have committed.
      const snap: SinkSnapshot = {
        nextFragment: batchEnd,
        counters: this.counters.slice(),
        stats: concatFloat64(this.stats, this.dedup.levels.encode()),
        duplicates: this.dedup.duplicates,
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
      await this.fq.r1.end();
      await this.fq.r2?.end();
    }
  }

  /** After a failure: drops the partial FASTQ outputs. */
  async abort(): Promise<void> {
    this.failed = true;
    if (this.fq) {
      await this.fq.r1.abort();
      await this.fq.r2?.abort();
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
    counts.duplicates_removed = this.dedup.duplicates;
    counts.fragments_out = this.fragmentsOut;
    counts.filtered_total = counts.fragments_in! - counts.fragments_passed_qc!;
    return counts;
  }
}

/** Writes qc_stats.json, then manifest.json (last, atomically: the run is complete exactly when it exists). */
export async function writePrepManifest(sink: PrepSink, m: ManifestInfo): Promise<{ manifestPath: string; counts: Record<string, number> }> {
  try {
    return await writeManifestTo(sink.store, sink, m);
  } finally {
    await sink.store.close();
  }
}

async function writeManifestTo(store: OutputStore, sink: PrepSink, m: ManifestInfo): Promise<{ manifestPath: string; counts: Record<string, number> }> {
  const counts = sink.counts();
  const qcText = qcStatsOf(m.layout, sink.stats, sink.dedup.levels);
  const qcSha256 = createHash('sha256').update(qcText).digest('hex');
  await store.putBytes('qc_stats.json', qcText, { sha256: qcSha256 });
  const manifest = prepManifestOf(m, {
    counts,
    shards: sink.shards,
    dedupMemoryBytes: sink.dedup.filter?.bytes ?? 0,
    outputs: sink.outputs,
    qcStats: { path: 'qc_stats.json', sha256: qcSha256 },
  });
  if (store.remote) {
    // shards of an earlier run with more shards under this prefix are not part of this one
    const current = new Set(sink.shards.map((sh) => sh.path));
    for (const o of await store.list('shards/')) if (!current.has(o.rel)) await store.remove(o.rel);
  }
  const manifestPath = joinLocation(m.output, 'manifest.json');
  await store.putBytes('manifest.json', JSON.stringify(manifest, null, 2) + '\n');
  return { manifestPath, counts };
}
