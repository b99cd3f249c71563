import bindings from '@duckdb/node-bindings';
import { ARRAY, DuckDBDataChunk, FLOAT, INTEGER, BIGINT, LIST, UBIGINT, VARCHAR, type DuckDBType, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import { MetavecError } from '../errors.js';
import { produceAtomic } from './atomic.js';
import { sha256File } from './checksum.js';
import { kvMetadataOption, openDuckDB, sqlString } from './duckdb.js';

/**
 * Phase 1 shards: Parquet (zstd) written through DuckDB. Schema (docs/formats.md):
 *   fragment BIGINT      0-based position of the fragment in the run's input order
 *   read_id  VARCHAR     read name without /1 /2 and comment
 *   len_r1, len_r2 INTEGER    mate lengths after QC (len_r2 NULL for single-end)
 *   gc_r1, gc_r2 FLOAT        GC fraction of each mate after QC
 *   meanq_r1, meanq_r2 FLOAT  mean Phred quality of each mate after QC (NULL for FASTA input)
 *   embedding FLOAT[d]  stored by Parquet as list<float> of fixed length d
 *   minimizers UBIGINT[]  (when the run has a sketch) the fragment's distinct minimizer hashes, ascending
 */
export interface ShardRows {
  rows: number;
  dim: number;
  fragment: Float64Array;
  /** read_id bytes: row i is idBytes[idOffsets[i], idOffsets[i+1]) */
  idBytes: Uint8Array;
  idOffsets: Int32Array;
  lengths: Int32Array; // 2 per row
  attrs: Float32Array; // gc1, gc2, mq1, mq2 per row
  embedding: Float32Array; // rows * dim
  paired: boolean;
  /** minimizer sketch: hi/lo word pairs; row i has minimizers [minimizerOffsets[i], minimizerOffsets[i+1]) */
  minimizers?: Uint32Array;
  minimizerOffsets?: Int32Array;
}

export interface ShardInfo {
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
}

const CHUNK = 2048;
/**
 * DuckDB threads of the shard writer. One: with two, a 100k-row shard (2x150 pairs, minimizer sketch) cost
 * 2.8-3.0 CPU-s instead of 1.8-2.0 (task queue spinning and locks between the two), the same Parquet bytes; the
 * prep workers keep the cores busy meanwhile (docs/performance.md).
 */
const WRITER_THREADS = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A copy of the rows (used only when a write arrives before DuckDB is ready). */
function copyRows(r: ShardRows): ShardRows {
  return {
    rows: r.rows,
    dim: r.dim,
    paired: r.paired,
    fragment: r.fragment.slice(0, r.rows),
    idBytes: r.idBytes.slice(0, r.idOffsets[r.rows]),
    idOffsets: r.idOffsets.slice(0, r.rows + 1),
    lengths: r.lengths.slice(0, 2 * r.rows),
    attrs: r.attrs.slice(0, 4 * r.rows),
    embedding: r.embedding.slice(0, r.rows * r.dim),
    ...(r.minimizers && r.minimizerOffsets
      ? { minimizers: r.minimizers.slice(0, 2 * r.minimizerOffsets[r.rows]!), minimizerOffsets: r.minimizerOffsets.slice(0, r.rows + 1) }
      : {}),
  };
}

export class ShardWriter {
  private db: { conn: DuckDBConnection; close(): void } | undefined;
  /** Appender on the empty staging table, made ready at the end of the previous write. */
  private appender: DuckDBAppender | undefined;
  private initialised = false;
  private closed = false;
  private readonly ready: Promise<void>;
  private readonly createSql: string;

  private constructor(
    readonly dim: number,
    threads: number,
    readonly withSketch: boolean,
    private readonly metadata: Record<string, string> | undefined,
  ) {
    this.createSql = `CREATE TABLE shard (fragment BIGINT, read_id VARCHAR, len_r1 INTEGER, len_r2 INTEGER, gc_r1 FLOAT, gc_r2 FLOAT, meanq_r1 FLOAT, meanq_r2 FLOAT, embedding FLOAT[${dim}]${withSketch ? ', minimizers UBIGINT[]' : ''})`;
    this.ready = this.init(Math.min(threads, WRITER_THREADS));
    this.ready.catch(() => undefined); // reported by the first write
  }

  private async init(threads: number): Promise<void> {
    const db = await openDuckDB(threads);
    this.db = db;
    try {
      // Return freed memory to the OS after every statement instead of keeping up to 128/512 MiB in DuckDB's
      // allocator: the per-shard table and COPY buffers were retained and peak RSS grew with the number of
      // shards (1M pairs: 1,094 MB vs 756 MB at 100k). Parquet bytes are unchanged (allocator settings only).
      await db.conn.run(`SET allocator_flush_threshold = '0MB'`);
      await db.conn.run(`SET allocator_bulk_deallocation_flush_threshold = '0MB'`);
      // With one thread (WRITER_THREADS) the table is scanned in insertion order anyway: the order-preserving
      // COPY only added its batch bookkeeping (a 96,979-row shard: 2.3 -> 1.9 CPU-s, the same bytes).
      await db.conn.run('SET preserve_insertion_order = false');
      await db.conn.run(this.createSql);
      this.appender = await db.conn.createAppender('shard');
      this.initialised = true;
    } catch (err) {
      this.db = undefined;
      db.close();
      throw err;
    }
  }

  /**
   * Starts DuckDB in the background and returns at once (the first batches are processed meanwhile: DuckDB's
   * start-up was ~0.15 s of serial time before any batch); start-up errors are reported by the first write.
   */
  static open(dim: number, threads: number, opts: { minimizers?: boolean; metadata?: Record<string, string> } = {}): Promise<ShardWriter> {
    return Promise.resolve(new ShardWriter(dim, threads, opts.minimizers ?? false, opts.metadata));
  }

  /**
   * Writes rows to `path` atomically and returns its size and checksum. The rows are copied into DuckDB before
   * write() returns (synchronously), so the caller may refill `r` at once and let the Parquet encoding (COPY,
   * on DuckDB's threads) run while it prepares the next shard; it must await the returned promise before
   * calling write() again.
   */
  write(path: string, r: ShardRows): Promise<ShardInfo> {
    if (!this.initialised) {
      const copy = copyRows(r);
      return this.ready.then(() => this.write(path, copy));
    }
    const appender = this.appender;
    if (!appender) return Promise.reject(new Error('ShardWriter.write: the previous write has not finished'));
    this.appender = undefined;
    this.append(appender, r);
    return this.finish(path, r.rows);
  }

  private append(appender: DuckDBAppender, r: ShardRows): void {
    const dim = this.dim;
    const types: DuckDBType[] = [BIGINT, VARCHAR, INTEGER, INTEGER, FLOAT, FLOAT, FLOAT, FLOAT, ARRAY(FLOAT, dim)];
    const sketch = this.withSketch ? r.minimizers : undefined;
    const sketchOffsets = r.minimizerOffsets;
    if (this.withSketch && (!sketch || !sketchOffsets)) throw new Error('ShardWriter: rows without the minimizer sketch');
    if (this.withSketch) types.push(LIST(UBIGINT));
    // list entries (offset, length as uint64) and the child values (uint64 = lo, hi words) of one chunk
    const entries = this.withSketch ? new Uint32Array(4 * CHUNK) : undefined;
    let words = new Uint32Array(0);
    const chunk = DuckDBDataChunk.create(types, CHUNK);
    const raw = chunk.chunk;
    // fragment as int64 written through two int32 halves (little-endian): no BigInt per row (GC churn on the
    // main thread); fragment numbers are integers below 2^53.
    const i64 = new Int32Array(2 * CHUNK);
    const i32 = new Int32Array(CHUNK);
    const f32 = new Float32Array(CHUNK);
    for (let start = 0; start < r.rows; start += CHUNK) {
      const n = Math.min(CHUNK, r.rows - start);
      // A fresh chunk per append: DuckDB takes ownership of string data on append.
      const vec = (c: number) => bindings.data_chunk_get_vector(raw, c);
      if (LITTLE_ENDIAN) {
        for (let i = 0; i < n; i++) {
          const v = r.fragment[start + i]!;
          i64[2 * i] = v % 4294967296;
          i64[2 * i + 1] = Math.floor(v / 4294967296);
        }
      } else {
        const big = new BigInt64Array(i64.buffer);
        for (let i = 0; i < n; i++) big[i] = BigInt(r.fragment[start + i]!);
      }
      bindings.copy_data_to_vector(vec(0), 0, i64.buffer, 0, n * 8);
      const ids = vec(1);
      for (let i = 0; i < n; i++) {
        bindings.vector_assign_string_element_len(ids, i, r.idBytes.subarray(r.idOffsets[start + i], r.idOffsets[start + i + 1]));
      }
      for (let m = 0; m < 2; m++) {
        for (let i = 0; i < n; i++) i32[i] = r.lengths[2 * (start + i) + m]!;
        bindings.copy_data_to_vector(vec(2 + m), 0, i32.buffer, 0, n * 4);
      }
      for (let a = 0; a < 4; a++) {
        for (let i = 0; i < n; i++) f32[i] = r.attrs[4 * (start + i) + a]!;
        bindings.copy_data_to_vector(vec(4 + a), 0, f32.buffer, 0, n * 4);
      }
      // NULLs: R2 columns for single-end, mean quality for FASTA (NaN from the stage)
      for (const c of [3, 5, 7, 6, 4]) {
        const isR2 = c === 3 || c === 5 || c === 7;
        const attrIdx = c === 6 ? 2 : c === 7 ? 3 : -1;
        let any = false;
        for (let i = 0; i < n && !any; i++) {
          if ((isR2 && !r.paired) || (attrIdx >= 0 && Number.isNaN(r.attrs[4 * (start + i) + attrIdx]))) any = true;
        }
        if (!any) continue;
        const v = vec(c);
        bindings.vector_ensure_validity_writable(v);
        const validity = bindings.vector_get_validity(v, Math.ceil(CHUNK / 64) * 8);
        for (let i = 0; i < n; i++) {
          if ((isR2 && !r.paired) || (attrIdx >= 0 && Number.isNaN(r.attrs[4 * (start + i) + attrIdx]))) {
            bindings.validity_set_row_invalid(validity, i);
          }
        }
      }
      const child = bindings.array_vector_get_child(vec(8));
      const emb = r.embedding;
      bindings.copy_data_to_vector(child, 0, emb.buffer as ArrayBuffer, emb.byteOffset + start * dim * 4, n * dim * 4);
      if (sketch && sketchOffsets && entries) {
        const base = sketchOffsets[start]!;
        const total = sketchOffsets[start + n]! - base;
        for (let i = 0; i < n; i++) {
          entries[4 * i] = sketchOffsets[start + i]! - base;
          entries[4 * i + 1] = 0;
          entries[4 * i + 2] = sketchOffsets[start + i + 1]! - sketchOffsets[start + i]!;
          entries[4 * i + 3] = 0;
        }
        if (words.length < 2 * total) words = new Uint32Array(2 * total);
        for (let j = 0; j < total; j++) {
          words[2 * j] = sketch[2 * (base + j) + 1]!; // lo
          words[2 * j + 1] = sketch[2 * (base + j)]!; // hi
        }
        if (!LITTLE_ENDIAN) throw new Error('ShardWriter: the minimizer column needs a little-endian host');
        const lv = vec(9);
        bindings.list_vector_reserve(lv, Math.max(total, 1));
        bindings.list_vector_set_size(lv, total);
        bindings.copy_data_to_vector(lv, 0, entries.buffer, 0, n * 16);
        if (total > 0) bindings.copy_data_to_vector(bindings.list_vector_get_child(lv), 0, words.buffer, 0, total * 8);
      }
      chunk.rowCount = n;
      appender.appendDataChunk(chunk);
      chunk.reset();
    }
    appender.flushSync();
    appender.closeSync();
  }

  private async finish(path: string, rows: number): Promise<ShardInfo> {
    const { conn } = this.db!;
    try {
      await produceAtomic(path, async (tmp) => {
        await conn.run(`COPY shard TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000${kvMetadataOption(this.metadata)})`);
      });
    } finally {
      // DROP + CREATE rather than DELETE: DuckDB keeps a deleted table's storage, and memory grew per shard.
      await conn.run('DROP TABLE shard');
      await conn.run(this.createSql);
      this.appender = await conn.createAppender('shard');
    }
    const st = await stat(path);
    return { path, rows, bytes: st.size, sha256: await sha256File(path) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const shut = (): void => {
      this.appender?.closeSync();
      this.appender = undefined;
      this.db?.close();
      this.db = undefined;
    };
    if (this.initialised) shut();
    else void this.ready.then(shut, () => undefined);
  }
}

/** Embeddings and ids read back from shards, as one contiguous float32 matrix. */
export interface ShardMatrix {
  n: number;
  dim: number;
  readIds: string[];
  data: Float32Array;
}

/** Reads shard files (already verified) into one matrix, in shard order. */
export async function readShards(paths: string[], dim: number, opts: { shared?: boolean; allocate?: (n: number, d: number) => Float32Array } = {}): Promise<ShardMatrix> {
  const db = await openDuckDB();
  try {
    const counts: number[] = [];
    for (const p of paths) {
      const res = await db.conn.runAndReadAll(
        `SELECT count(*)::BIGINT, min(len(embedding))::BIGINT, max(len(embedding))::BIGINT FROM read_parquet(${sqlString(p)})`,
      );
      const [rows, minLen, maxLen] = res.getRows()[0]!.map((x) => Number(x));
      if (rows! > 0 && (minLen !== dim || maxLen !== dim)) {
        throw new MetavecError(
          'MANIFEST',
          `shard: ${p}: embedding dimension ${minLen === maxLen ? minLen : `${minLen}..${maxLen}`} != manifest embedding.dim ${dim}`,
        );
      }
      counts.push(rows!);
    }
    const n = counts.reduce((a, b) => a + b, 0);
    const bytes = n * dim * 4;
    const data = opts.allocate ? opts.allocate(n, dim) : opts.shared ? new Float32Array(new SharedArrayBuffer(bytes)) : new Float32Array(n * dim);
    const readIds: string[] = new Array<string>(n);
    let row = 0;
    for (const [si, p] of paths.entries()) {
      const res = await db.conn.stream(`SELECT read_id, embedding::FLOAT[${dim}] AS e FROM read_parquet(${sqlString(p)})`);
      for (;;) {
        const chunk = await res.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const m = chunk.rowCount;
        const ids = chunk.getColumnVector(0);
        for (let i = 0; i < m; i++) readIds[row + i] = ids.getItem(i) as string;
        const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 1));
        const view = bindings.vector_get_data(child, m * dim * 4);
        data.set(new Float32Array(view.buffer, view.byteOffset, m * dim), row * dim);
        row += m;
      }
      if (row !== counts.slice(0, si + 1).reduce((a, b) => a + b, 0)) {
        throw new MetavecError('MANIFEST', `shard: ${p}: row count changed while reading`);
      }
    }
    return { n, dim, readIds, data };
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('MANIFEST', `shard: cannot read Parquet: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}

/** Minimizer sketches read back from shards (the `minimizers` column), in shard order. */
export interface ShardSketches {
  n: number;
  offsets: Int32Array;
  hi: Uint32Array;
  lo: Uint32Array;
}

/**
 * A UBIGINT[] column of a DuckDB chunk in place: per row (offset, _, length, _) as 32-bit words in `entries`
 * (list entries are two uint64), and the values as (lo, hi) word pairs in `words`.
 */
export function uint64ListColumn(chunk: DuckDBDataChunk, column: number): { entries: Uint32Array; words: Uint32Array } {
  const m = chunk.rowCount;
  const vec = bindings.data_chunk_get_vector(chunk.chunk, column);
  const size = Number(bindings.list_vector_get_size(vec));
  const ent = bindings.vector_get_data(vec, m * 16);
  const raw = bindings.vector_get_data(bindings.list_vector_get_child(vec), size * 8);
  return { entries: new Uint32Array(ent.buffer, ent.byteOffset, m * 4), words: new Uint32Array(raw.buffer, raw.byteOffset, size * 2) };
}

/** Reads the `minimizers` column of shard files (already verified) in shard order. */
export async function readShardSketches(paths: string[]): Promise<ShardSketches> {
  const db = await openDuckDB();
  try {
    let offsets = new Int32Array(1 << 16);
    let hi = new Uint32Array(1 << 20);
    let lo = new Uint32Array(1 << 20);
    let n = 0;
    let total = 0;
    for (const p of paths) {
      const res = await db.conn.stream(`SELECT minimizers FROM read_parquet(${sqlString(p)})`);
      for (;;) {
        const chunk = await res.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const m = chunk.rowCount;
        const { entries, words } = uint64ListColumn(chunk, 0);
        if (n + m + 1 > offsets.length) {
          const next = new Int32Array(Math.max(offsets.length * 2, n + m + 1));
          next.set(offsets.subarray(0, n + 1));
          offsets = next;
        }
        for (let i = 0; i < m; i++) {
          const off = entries[4 * i]!;
          const len = entries[4 * i + 2]!;
          if (total + len > hi.length) {
            const cap = Math.max(hi.length * 2, total + len);
            const nh = new Uint32Array(cap);
            nh.set(hi.subarray(0, total));
            hi = nh;
            const nl = new Uint32Array(cap);
            nl.set(lo.subarray(0, total));
            lo = nl;
          }
          for (let j = 0; j < len; j++) {
            lo[total + j] = words[2 * (off + j)]!;
            hi[total + j] = words[2 * (off + j) + 1]!;
          }
          total += len;
          offsets[++n] = total;
        }
      }
    }
    return { n, offsets: offsets.slice(0, n + 1), hi: hi.slice(0, total), lo: lo.slice(0, total) };
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('MANIFEST', `shard: cannot read the minimizer sketch: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}

/** Mate lengths after QC (len_r2 = 0 for single-end), two per row, in shard order. */
export async function readShardLengths(paths: string[]): Promise<Int32Array> {
  const db = await openDuckDB();
  try {
    const parts: Int32Array[] = [];
    let total = 0;
    for (const p of paths) {
      const res = await db.conn.runAndReadAll(`SELECT len_r1, coalesce(len_r2, 0) FROM read_parquet(${sqlString(p)})`);
      const rows = res.getRows();
      const a = new Int32Array(rows.length * 2);
      rows.forEach((r, i) => {
        a[2 * i] = Number(r[0]);
        a[2 * i + 1] = Number(r[1]);
      });
      parts.push(a);
      total += a.length;
    }
    const out = new Int32Array(total);
    let o = 0;
    for (const a of parts) {
      out.set(a, o);
      o += a.length;
    }
    return out;
  } catch (err) {
    throw new MetavecError('MANIFEST', `shard: cannot read mate lengths: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}

/** An error thrown by scanShards' callback: passed through as it is. */
class CallbackError extends Error {
  constructor(readonly inner: unknown) {
    super('callback');
  }
}

/** One streamed batch of shard rows (scanShards): sketches always, the other columns when asked for. */
export interface ShardBatch {
  /** index of the batch's first row over all shards, in shard order */
  start: number;
  n: number;
  offsets: Int32Array;
  hi: Uint32Array;
  lo: Uint32Array;
  embedding?: Float32Array;
  lengths?: Int32Array;
  readIds?: string[];
  /** which shard (index into paths) the rows come from */
  shard: number;
}

/**
 * Streams shard files (already verified) in shard order, a DuckDB chunk at a time: the minimizer sketch, and
 * the embedding (FLOAT[dim]), mate lengths and read ids when asked. Nothing is kept between batches, so a
 * pass over any number of fragments holds one chunk.
 */
export async function scanShards(
  paths: string[], dim: number, need: { embedding: boolean; lengths: boolean; ids?: boolean },
  fn: (b: ShardBatch) => void | Promise<void>,
): Promise<number> {
  const db = await openDuckDB();
  let row = 0;
  try {
    const cols = ['minimizers'];
    if (need.embedding) cols.push(`embedding::FLOAT[${dim}]`);
    if (need.lengths) cols.push('len_r1', 'coalesce(len_r2, 0)');
    if (need.ids) cols.push('read_id');
    for (const [si, p] of paths.entries()) {
      const res = await db.conn.stream(`SELECT ${cols.join(', ')} FROM read_parquet(${sqlString(p)})`);
      for (;;) {
        const chunk = await res.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const m = chunk.rowCount;
        const { entries, words } = uint64ListColumn(chunk, 0);
        const offsets = new Int32Array(m + 1);
        let total = 0;
        for (let i = 0; i < m; i++) total += entries[4 * i + 2]!;
        const hi = new Uint32Array(total);
        const lo = new Uint32Array(total);
        total = 0;
        for (let i = 0; i < m; i++) {
          const off = entries[4 * i]!;
          const len = entries[4 * i + 2]!;
          for (let j = 0; j < len; j++) {
            lo[total + j] = words[2 * (off + j)]!;
            hi[total + j] = words[2 * (off + j) + 1]!;
          }
          total += len;
          offsets[i + 1] = total;
        }
        const b: ShardBatch = { start: row, n: m, offsets, hi, lo, shard: si };
        let c = 1;
        if (need.embedding) {
          const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, c++));
          const view = bindings.vector_get_data(child, m * dim * 4);
          b.embedding = new Float32Array(view.buffer, view.byteOffset, m * dim).slice();
        }
        if (need.lengths) {
          const l1 = chunk.getColumnVector(c++);
          const l2 = chunk.getColumnVector(c++);
          const lengths = new Int32Array(2 * m);
          for (let i = 0; i < m; i++) {
            lengths[2 * i] = Number(l1.getItem(i));
            lengths[2 * i + 1] = Number(l2.getItem(i));
          }
          b.lengths = lengths;
        }
        if (need.ids) {
          const ids = chunk.getColumnVector(c++);
          const readIds = new Array<string>(m);
          for (let i = 0; i < m; i++) readIds[i] = ids.getItem(i) as string;
          b.readIds = readIds;
        }
        try {
          await fn(b);
        } catch (err) {
          throw new CallbackError(err);
        }
        row += m;
      }
    }
    return row;
  } catch (err) {
    if (err instanceof CallbackError) throw err.inner;
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('MANIFEST', `shard: cannot read Parquet: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}
