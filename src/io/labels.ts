/**
 * Per-read cluster labels as Parquet (zstd): columns `read_id VARCHAR, cluster INTEGER, distance FLOAT`,
 * one row per fragment (read pair). Written and read with DuckDB (@duckdb/node-api).
 */
import { access } from 'node:fs/promises';
import {
  DuckDBDataChunk,
  DuckDBFloatVector,
  DuckDBInstance,
  DuckDBIntegerVector,
  DuckDBVarCharVector,
  FLOAT,
  INTEGER,
  VARCHAR,
  type DuckDBConnection,
} from '@duckdb/node-api';
import { MetavecError, inputError } from '../errors.js';
import { produceAtomic } from './atomic.js';
import { kvMetadataOption } from './duckdb.js';

export interface LabelsTable {
  readIds: string[];
  clusters: Int32Array;
  /** Distance of each read to its cluster centroid (units of the embedding space). */
  distances: Float32Array;
  /** Name of each cluster (e.g. the nearest reference genome): written as a `taxon` column when given. */
  clusterNames?: string[];
  /** Parquet key-value metadata (what the columns mean: pipeline/clusterDescription.ts) */
  metadata?: Record<string, string>;
}

export const LABELS_COLUMNS = [
  { name: 'read_id', type: 'VARCHAR' },
  { name: 'cluster', type: 'INTEGER' },
  { name: 'distance', type: 'FLOAT' },
] as const;

/** Single-quoted SQL string literal. */
function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

async function withConnection<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const con = await instance.connect();
    try {
      return await fn(con);
    } finally {
      con.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Write labels atomically as Parquet (zstd). Row order is preserved. */
export async function writeLabelsParquet(path: string, labels: LabelsTable): Promise<void> {
  const { readIds, clusters, distances } = labels;
  const n = readIds.length;
  if (clusters.length !== n || distances.length !== n) {
    throw new MetavecError(
      'INTERNAL',
      `writeLabelsParquet ${path}: column lengths differ (read_id ${n}, cluster ${clusters.length}, distance ${distances.length})`,
    );
  }
  await produceAtomic(path, (tmp) =>
    withConnection(async (con) => {
      await con.run('CREATE TABLE labels (read_id VARCHAR, cluster INTEGER, distance FLOAT)');
      const appender = await con.createAppender('labels');
      try {
        const CHUNK = 2048;
        const chunk = DuckDBDataChunk.create([VARCHAR, INTEGER, FLOAT], CHUNK);
        for (let start = 0; start < n; start += CHUNK) {
          const len = Math.min(CHUNK, n - start);
          // reset() frees the previous chunk's string data; setting the row count drops the cached vector
          // wrappers, so they are fetched again with the right size.
          chunk.reset();
          chunk.rowCount = len;
          const ids = chunk.getColumnVector(0) as DuckDBVarCharVector;
          const cls = chunk.getColumnVector(1) as DuckDBIntegerVector;
          const dst = chunk.getColumnVector(2) as DuckDBFloatVector;
          for (let i = 0; i < len; i++) {
            ids.setItem(i, readIds[start + i] as string);
            cls.setItem(i, clusters[start + i] as number);
            dst.setItem(i, distances[start + i] as number);
          }
          ids.flush();
          cls.flush();
          dst.flush();
          appender.appendDataChunk(chunk);
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      if (labels.clusterNames) {
        await con.run('CREATE TABLE names (cluster INTEGER, taxon VARCHAR)');
        const values = labels.clusterNames.map((name, i) => `(${i}, ${sqlString(name)})`);
        if (values.length > 0) await con.run(`INSERT INTO names VALUES ${values.join(', ')}`);
        await con.run(
          `COPY (SELECT l.read_id, l.cluster, l.distance, n.taxon FROM labels l LEFT JOIN names n USING (cluster) ORDER BY l.rowid) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd${kvMetadataOption(labels.metadata)})`,
        );
      } else await con.run(`COPY labels TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd${kvMetadataOption(labels.metadata)})`);
    }),
  );
}

/**
 * Writes labels.parquet atomically from parts written in row order (writeLabelsParquet each, e.g. one per
 * shard), streaming: DuckDB reads the parts in the order given (file, then row) under a memory limit, so the
 * whole table is never held in memory. With `clusterNames`, a `taxon` column is joined as in writeLabelsParquet.
 */
export async function writeLabelsFromParts(path: string, parts: string[], clusterNames?: string[], metadata?: Record<string, string>): Promise<void> {
  await produceAtomic(path, (tmp) =>
    withConnection(async (con) => {
      await con.run("SET memory_limit = '1GB'");
      await con.run('SET preserve_insertion_order = true');
      const list = `[${parts.map(sqlString).join(', ')}]`;
      await con.run(`CREATE VIEW parts AS SELECT * FROM read_parquet(${list}, filename = true, file_row_number = true)`);
      const order = `ORDER BY list_position(${list}, p.filename), p.file_row_number`;
      if (clusterNames) {
        await con.run('CREATE TABLE names (cluster INTEGER, taxon VARCHAR)');
        const values = clusterNames.map((name, i) => `(${i}, ${sqlString(name)})`);
        if (values.length > 0) await con.run(`INSERT INTO names VALUES ${values.join(', ')}`);
        await con.run(
          `COPY (SELECT p.read_id, p.cluster, p.distance, n.taxon FROM parts p LEFT JOIN names n USING (cluster) ${order}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd${kvMetadataOption(metadata)})`,
        );
      } else {
        await con.run(`COPY (SELECT p.read_id, p.cluster, p.distance FROM parts p ${order}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd${kvMetadataOption(metadata)})`);
      }
    }),
  );
}

/** Read a labels Parquet file written by writeLabelsParquet (or any file with the same columns). */
export async function readLabelsParquet(path: string): Promise<LabelsTable> {
  try {
    await access(path);
  } catch (err) {
    throw new MetavecError('INPUT', `labels ${path}: cannot open (no such file or not readable)`, { cause: err });
  }
  return withConnection(async (con) => {
    const src = `read_parquet(${sqlString(path)})`;
    let columns: Map<string, string>;
    try {
      const desc = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`);
      columns = new Map(desc.getRowObjectsJson().map((r) => [r.column_name as string, r.column_type as string]));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new MetavecError('INPUT', `labels ${path}: not a readable Parquet file (${msg})`, { cause: err });
    }
    const missing = LABELS_COLUMNS.filter((c) => !columns.has(c.name)).map((c) => c.name);
    if (missing.length > 0) {
      throw inputError(
        `labels ${path}: missing column(s) ${missing.join(', ')}; found ${Array.from(columns.keys()).join(', ') || 'none'}`,
      );
    }
    const result = await con.stream(
      `SELECT CAST(read_id AS VARCHAR), CAST(cluster AS INTEGER), CAST(distance AS FLOAT) FROM ${src}`,
    );
    const readIds: string[] = [];
    const clusterParts: Int32Array[] = [];
    const distanceParts: Float32Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const len = chunk.rowCount;
      const ids = chunk.getColumnVector(0) as DuckDBVarCharVector;
      const cls = chunk.getColumnVector(1) as DuckDBIntegerVector;
      const dst = chunk.getColumnVector(2) as DuckDBFloatVector;
      const c = new Int32Array(len);
      const d = new Float32Array(len);
      for (let i = 0; i < len; i++) {
        const id = ids.getItem(i);
        const cv = cls.getItem(i);
        const dv = dst.getItem(i);
        if (id === null || cv === null) {
          throw inputError(`labels ${path}, row ${total + i + 1}: null ${id === null ? 'read_id' : 'cluster'}`);
        }
        readIds.push(id);
        c[i] = cv;
        d[i] = dv ?? Number.NaN;
      }
      clusterParts.push(c);
      distanceParts.push(d);
      total += len;
    }
    const clusters = new Int32Array(total);
    const distances = new Float32Array(total);
    let off = 0;
    for (let p = 0; p < clusterParts.length; p++) {
      const c = clusterParts[p] as Int32Array;
      clusters.set(c, off);
      distances.set(distanceParts[p] as Float32Array, off);
      off += c.length;
    }
    return { readIds, clusters, distances };
  });
}
