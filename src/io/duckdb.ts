import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** A private in-memory DuckDB (no extensions are ever downloaded: autoload/autoinstall are off). */
export async function openDuckDB(threads?: number): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection; close(): void }> {
  const options: Record<string, string> = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
  if (threads !== undefined) options.threads = String(Math.max(1, threads));
  const instance = await DuckDBInstance.create(':memory:', options);
  const conn = await instance.connect();
  return {
    instance,
    conn,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** Quotes a string as a SQL literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * `, KV_METADATA {...}` for a Parquet COPY: file-level key-value metadata (pyarrow: `schema.metadata`; DuckDB:
 * `parquet_kv_metadata()`), in the given order; empty when there is none.
 */
export function kvMetadataOption(metadata: Record<string, string> | undefined): string {
  const entries = Object.entries(metadata ?? {});
  if (entries.length === 0) return '';
  return `, KV_METADATA {${entries.map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`).join(', ')}}`;
}
