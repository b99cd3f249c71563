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
