/**
 * Reading a global row range [start, end) of a run's shards (in manifest order) without reading the rest:
 * what one MPI rank needs. Rows are selected by Parquet file row number, so a rank reads only the shards that
 * overlap its range; the row numbers read are checked to be exactly the requested ones, in order.
 */
import bindings from '@duckdb/node-bindings';
import { MetavecError } from '../errors.js';
import { openDuckDB, sqlString } from './duckdb.js';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { uint64ListColumn, type ShardSketches } from './shards.js';

export interface ShardSpan {
  path: string;
  rows: number;
}

/** The pieces of [start, end) in each shard: shard index, first and end row within the shard. */
export function shardPieces(shards: ShardSpan[], start: number, end: number): { shard: number; from: number; to: number }[] {
  const out: { shard: number; from: number; to: number }[] = [];
  let base = 0;
  for (const [i, s] of shards.entries()) {
    const from = Math.max(start, base);
    const to = Math.min(end, base + s.rows);
    if (from < to) out.push({ shard: i, from: from - base, to: to - base });
    base += s.rows;
  }
  return out;
}

/**
 * Streams the columns `select` (SQL, after the row number) of global rows [start, end) chunk by chunk, in
 * order; `onChunk(chunk, row)` gets each DuckDB chunk (column 0 = file row number, checked) and the number of
 * rows already delivered.
 */
async function streamRows(
  shards: ShardSpan[], start: number, end: number, select: string, what: string,
  onChunk: (chunk: DuckDBDataChunk, row: number) => void,
): Promise<void> {
  const db = await openDuckDB();
  let row = 0;
  try {
    for (const piece of shardPieces(shards, start, end)) {
      const p = shards[piece.shard]!.path;
      const res = await db.conn.stream(
        `SELECT file_row_number::BIGINT AS r, ${select} FROM read_parquet(${sqlString(p)}, file_row_number = true) ` +
          `WHERE file_row_number >= ${piece.from} AND file_row_number < ${piece.to}`,
      );
      let expect = piece.from;
      for (;;) {
        const chunk = await res.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const m = chunk.rowCount;
        const rn = chunk.getColumnVector(0);
        for (let i = 0; i < m; i++) {
          const got = Number(rn.getItem(i));
          if (got !== expect + i) throw new MetavecError('MANIFEST', `shard: ${p}: row ${got} read where row ${expect + i} was expected`);
        }
        onChunk(chunk, row);
        row += m;
        expect += m;
      }
      if (expect !== piece.to) {
        throw new MetavecError('MANIFEST', `shard: ${p}: has ${expect} rows where the manifest lists at least ${piece.to}`);
      }
    }
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('MANIFEST', `shard: cannot read ${what}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}

/**
 * Embeddings of global rows [start, end) as one (end - start) x dim float32 matrix, in memory from `allocate`
 * when given (the k-means engine's own memory: no copy later).
 */
export async function readShardRows(
  shards: ShardSpan[], dim: number, start: number, end: number, allocate?: (n: number, d: number) => Float32Array,
): Promise<Float32Array> {
  const data = allocate ? allocate(end - start, dim) : new Float32Array((end - start) * dim);
  await streamRows(shards, start, end, `embedding::FLOAT[${dim}] AS e`, 'Parquet', (chunk, row) => {
    const m = chunk.rowCount;
    const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 1));
    const view = bindings.vector_get_data(child, m * dim * 4);
    data.set(new Float32Array(view.buffer, view.byteOffset, m * dim), row * dim);
  });
  return data;
}

/** Mate lengths of global rows [start, end): [len_r1, len_r2 (0 for single reads)] per row. */
export async function readShardLengthRows(shards: ShardSpan[], start: number, end: number): Promise<Int32Array> {
  const out = new Int32Array(2 * (end - start));
  await streamRows(shards, start, end, 'len_r1::INTEGER AS a, coalesce(len_r2, 0)::INTEGER AS b', 'mate lengths', (chunk, row) => {
    const a = chunk.getColumnVector(1);
    const b = chunk.getColumnVector(2);
    for (let i = 0; i < chunk.rowCount; i++) {
      out[2 * (row + i)] = Number(a.getItem(i));
      out[2 * (row + i) + 1] = Number(b.getItem(i));
    }
  });
  return out;
}

/** Minimizer sketches of global rows [start, end) (the `minimizers UBIGINT[]` column; fragments numbered from 0). */
export async function readShardSketchRows(shards: ShardSpan[], start: number, end: number): Promise<ShardSketches> {
  const n = end - start;
  const offsets = new Int32Array(n + 1);
  const his: Uint32Array[] = [];
  const los: Uint32Array[] = [];
  let total = 0;
  await streamRows(shards, start, end, 'minimizers', 'the minimizer sketch', (chunk, row) => {
    const m = chunk.rowCount;
    const { entries, words } = uint64ListColumn(chunk, 1);
    let len = 0;
    for (let i = 0; i < m; i++) len += entries[4 * i + 2]!;
    const hi = new Uint32Array(len);
    const lo = new Uint32Array(len);
    let o = 0;
    for (let i = 0; i < m; i++) {
      const off = entries[4 * i]!;
      const c = entries[4 * i + 2]!;
      for (let j = 0; j < c; j++) {
        lo[o + j] = words[2 * (off + j)]!;
        hi[o + j] = words[2 * (off + j) + 1]!;
      }
      o += c;
      offsets[row + i + 1] = total + o;
    }
    total += len;
    his.push(hi);
    los.push(lo);
  });
  const hi = new Uint32Array(total);
  const lo = new Uint32Array(total);
  let o = 0;
  his.forEach((h, i) => {
    hi.set(h, o);
    lo.set(los[i]!, o);
    o += h.length;
  });
  return { n, offsets, hi, lo };
}

/** The read_id column of every shard, in order (rank 0 writes labels.parquet with them). */
export async function readShardIds(shards: ShardSpan[]): Promise<string[]> {
  const n = shards.reduce((a, s) => a + s.rows, 0);
  const ids = new Array<string>(n);
  const db = await openDuckDB();
  let row = 0;
  try {
    for (const s of shards) {
      const res = await db.conn.stream(`SELECT read_id FROM read_parquet(${sqlString(s.path)})`);
      const first = row;
      for (;;) {
        const chunk = await res.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const v = chunk.getColumnVector(0);
        if (row + chunk.rowCount > n) throw new MetavecError('MANIFEST', `shard: ${s.path}: more rows than the manifest lists (${s.rows})`);
        for (let i = 0; i < chunk.rowCount; i++) ids[row + i] = v.getItem(i) as string;
        row += chunk.rowCount;
      }
      if (row - first !== s.rows) throw new MetavecError('MANIFEST', `shard: ${s.path}: ${row - first} rows, the manifest lists ${s.rows}`);
    }
    return ids;
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('MANIFEST', `shard: cannot read Parquet: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}
