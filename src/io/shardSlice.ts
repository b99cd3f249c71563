/**
 * Reading a global row range [start, end) of a run's shards (in manifest order) without reading the rest:
 * what one MPI rank needs. Rows are selected by Parquet file row number, so a rank reads only the shards that
 * overlap its range; the row numbers read are checked to be exactly the requested ones, in order.
 */
import bindings from '@duckdb/node-bindings';
import { MetavecError } from '../errors.js';
import { openDuckDB, sqlString } from './duckdb.js';

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
 * Embeddings of global rows [start, end) as one (end - start) x dim float32 matrix, in memory from `allocate`
 * when given (the k-means engine's own memory: no copy later).
 */
export async function readShardRows(
  shards: ShardSpan[], dim: number, start: number, end: number, allocate?: (n: number, d: number) => Float32Array,
): Promise<Float32Array> {
  const data = allocate ? allocate(end - start, dim) : new Float32Array((end - start) * dim);
  const db = await openDuckDB();
  let row = 0;
  try {
    for (const piece of shardPieces(shards, start, end)) {
      const p = shards[piece.shard]!.path;
      const res = await db.conn.stream(
        `SELECT file_row_number::BIGINT AS r, embedding::FLOAT[${dim}] AS e FROM read_parquet(${sqlString(p)}, file_row_number = true) ` +
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
        const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 1));
        const view = bindings.vector_get_data(child, m * dim * 4);
        data.set(new Float32Array(view.buffer, view.byteOffset, m * dim), row * dim);
        row += m;
        expect += m;
      }
      if (expect !== piece.to) {
        throw new MetavecError('MANIFEST', `shard: ${p}: has ${expect} rows where the manifest lists at least ${piece.to}`);
      }
    }
    return data;
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('MANIFEST', `shard: cannot read Parquet: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
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
