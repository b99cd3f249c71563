/**
 * The run catalog: a DuckDB database where every run registers its manifest, stage counts, parameters,
 * metrics, clusters and file locations; `metavec query` runs SQL over it and over the registered runs'
 * shards and labels (docs/report.md). The local counterpart of a Glue catalog + Athena.
 */
import { DuckDBInstance, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { MetavecError } from '../errors.js';
import { readInput } from '../io/inputs.js';
import { camelKeys, snakeCase } from '../io/jsonKeys.js';
import { baseName, isS3Uri, joinLocation, resolveLocation } from '../io/location.js';
import { parsePrepManifest, readPrepManifest, resolveInRun, type PrepManifest } from '../io/manifest.js';
import { TOOL_VERSION } from '../version.js';
import { asArray, exists, type ClusterSummaryJson, type EvalJson, type RunLocation } from './collect.js';

export const CATALOG_SCHEMA = 'metavec.catalog/1';

/** `--catalog PATH`, else $METAVEC_CATALOG, else ~/.metavec/catalog.duckdb. */
export function catalogPath(option?: string): string {
  if (option) return resolve(option);
  const env = process.env.METAVEC_CATALOG;
  if (env) return resolve(env);
  return join(homedir(), '.metavec', 'catalog.duckdb');
}

const DDL = [
  `CREATE TABLE IF NOT EXISTS catalog_info (key VARCHAR PRIMARY KEY, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS runs (
     run_id VARCHAR PRIMARY KEY, run_dir VARCHAR NOT NULL UNIQUE, registered TIMESTAMPTZ, tool_version VARCHAR,
     prep_dir VARCHAR, cluster_dir VARCHAR, labels_path VARCHAR, eval_path VARCHAR, report_path VARCHAR,
     prep_created TIMESTAMPTZ, cluster_created TIMESTAMPTZ, layout VARCHAR, quality_encoding VARCHAR,
     embedding_method VARCHAR, embedding_k INTEGER, dim INTEGER,
     method VARCHAR, k INTEGER, k_selection VARCHAR, seed BIGINT, algorithm VARCHAR, init VARCHAR, n_init INTEGER,
     iterations INTEGER, converged BOOLEAN, inertia DOUBLE,
     fragments_in BIGINT, fragments_passed_qc BIGINT, duplicates_removed BIGINT, fragments_out BIGINT,
     ari DOUBLE, nmi DOUBLE, f1_macro DOUBLE, purity DOUBLE, assigned_fraction DOUBLE,
     manifest JSON, summary JSON)`,
  `CREATE TABLE IF NOT EXISTS inputs (run_id VARCHAR, uri VARCHAR, mate INTEGER, format VARCHAR, compression VARCHAR, records BIGINT, bytes BIGINT)`,
  `CREATE TABLE IF NOT EXISTS stage_counts (run_id VARCHAR, counter VARCHAR, value BIGINT)`,
  `CREATE TABLE IF NOT EXISTS parameters (run_id VARCHAR, phase VARCHAR, name VARCHAR, value JSON)`,
  `CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR, scope VARCHAR, metric VARCHAR, value DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS clusters (run_id VARCHAR, cluster INTEGER, size BIGINT, name VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS shard_files (run_id VARCHAR, path VARCHAR, rows BIGINT, bytes BIGINT, sha256 VARCHAR)`,
];
const RUN_TABLES = ['inputs', 'stage_counts', 'parameters', 'metrics', 'clusters', 'shard_files'];
/** What `metavec query` can read, for error messages and --help. */
export const CATALOG_RELATIONS = ['runs', 'inputs', 'stage_counts', 'parameters', 'metrics', 'clusters', 'shard_files', 'shards (view)', 'labels (view)'];

const DB_OPTIONS = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };

function isLockError(err: unknown): boolean {
  return /lock|Conflicting lock|being used by another process/i.test((err as Error).message ?? '');
}

async function openCatalog(path: string, mode: 'read' | 'write'): Promise<{ conn: DuckDBConnection; close(): void }> {
  if (mode === 'write') await mkdir(dirname(path), { recursive: true });
  else if (!(await exists(path))) {
    throw new MetavecError(
      'INPUT',
      `catalog: ${path} does not exist yet (runs register there when 'metavec run' finishes; choose another with --catalog PATH or METAVEC_CATALOG)`,
    );
  }
  // DuckDB allows one writing process per file: wait for a concurrent registration rather than fail.
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const instance = await DuckDBInstance.create(path, mode === 'read' ? { ...DB_OPTIONS, access_mode: 'READ_ONLY' } : DB_OPTIONS);
      const conn = await instance.connect();
      return {
        conn,
        close: () => {
          conn.closeSync();
          instance.closeSync();
        },
      };
    } catch (err) {
      if (isLockError(err) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
        continue;
      }
      throw new MetavecError('OUTPUT', `catalog: cannot open ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }
}

/** Flattens nested parameters to dotted names with JSON values (arrays stay whole). */
function flatten(obj: unknown, prefix: string, out: [string, string][]): void {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.push([prefix, JSON.stringify(obj ?? null)]);
  }
}

const numOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const strOrNull = (x: unknown): string | null => (typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : x ? JSON.stringify(x) : null);

export interface RegisteredRun {
  runId: string;
  catalog: string;
  replaced: boolean;
}

async function readJson<T>(location: string): Promise<T> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readInput(location);
    if (!bytes) throw new Error('no such file');
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    throw new MetavecError('INPUT', `catalog: cannot read ${location} (${(err as Error).message})`, { cause: err });
  }
}

/** The prep manifest of a local directory or an S3 prefix, validated. */
async function manifestOf(prepDir: string): Promise<PrepManifest> {
  if (!isS3Uri(prepDir)) return readPrepManifest(prepDir);
  const uri = joinLocation(prepDir, 'manifest.json');
  const bytes = await readInput(uri);
  if (!bytes) throw new MetavecError('MANIFEST', `manifest: ${uri}: not found (is ${prepDir} a completed 'metavec prep' output?)`);
  return parsePrepManifest(new TextDecoder().decode(bytes), uri, prepDir);
}

/**
 * Registers (or re-registers, replacing its rows) the run at `loc` in the catalog at `path`. A run in S3 is
 * registered the same way (its locations are s3:// URIs); the `shards` and `labels` views cover local files only.
 */
export async function registerRun(path: string, loc: RunLocation, extra: { reportPath?: string } = {}): Promise<RegisteredRun> {
  const manifest = await manifestOf(loc.prepDir);
  const manifestPath = joinLocation(loc.prepDir, 'manifest.json');
  const summary = await readJson<ClusterSummaryJson>(joinLocation(loc.clusterDir, 'summary.json'));
  const evaluation = loc.evalPath ? camelKeys<EvalJson>(await readJson<unknown>(loc.evalPath)) : undefined;
  const runDir = resolveLocation(loc.runDir ?? loc.clusterDir);
  const labelsPath = joinLocation(resolveLocation(loc.clusterDir), 'labels.parquet');
  const shardPath = (rel: string) => (isS3Uri(loc.prepDir) ? joinLocation(loc.prepDir, rel) : resolveInRun(loc.prepDir, rel, manifestPath));
  const db = await openCatalog(path, 'write');
  const { conn } = db;
  try {
    for (const s of DDL) await conn.run(s);
    await conn.run(`INSERT OR REPLACE INTO catalog_info VALUES ('schema', $1), ('tool_version', $2)`, [CATALOG_SCHEMA, TOOL_VERSION]);
    await conn.run('BEGIN TRANSACTION');
    try {
      const prev = (await conn.runAndReadAll('SELECT run_id FROM runs WHERE run_dir = $1', [runDir])).getRows()[0]?.[0] as string | undefined;
      let runId = prev;
      if (!runId) {
        const base = baseName(runDir).replace(/[^A-Za-z0-9_.-]+/g, '_') || 'run';
        const taken = new Set((await conn.runAndReadAll('SELECT run_id FROM runs')).getRows().map((r) => String(r[0])));
        runId = base;
        for (let i = 2; taken.has(runId); i++) runId = `${base}-${i}`;
      }
      await conn.run('DELETE FROM runs WHERE run_id = $1', [runId]);
      for (const t of RUN_TABLES) await conn.run(`DELETE FROM ${t} WHERE run_id = $1`, [runId]);
      const counts = manifest.counts ?? {};
      const a = (evaluation?.assigned ?? {});
      const f1 = (a.f1 ?? {}) as Record<string, unknown>;
      const kSel = summary.k_selection?.method ?? null;
      const row: (string | number | boolean | null)[] = [
        runId, runDir, new Date().toISOString(), TOOL_VERSION,
        resolveLocation(loc.prepDir), resolveLocation(loc.clusterDir), labelsPath, loc.evalPath ? resolveLocation(loc.evalPath) : null, extra.reportPath ?? null,
        strOrNull(manifest.created), strOrNull(summary.created), manifest.layout, strOrNull(manifest.quality_encoding),
        manifest.embedding.method, numOrNull(manifest.embedding.k), manifest.embedding.dim,
        strOrNull(summary.method), numOrNull(summary.k), kSel, numOrNull(summary.seed), strOrNull(summary.algorithm), strOrNull(summary.init), numOrNull(summary.n_init),
        numOrNull(summary.iterations), typeof summary.converged === 'boolean' ? summary.converged : null, numOrNull(summary.inertia),
        numOrNull(counts.fragments_in), numOrNull(counts.fragments_passed_qc), numOrNull(counts.duplicates_removed), numOrNull(counts.fragments_out),
        numOrNull(a.ari), numOrNull(a.nmi), numOrNull(f1.macro), numOrNull(a.purity), numOrNull(evaluation?.assignedFraction),
        JSON.stringify({ ...manifest, embedding: { ...manifest.embedding, columns: undefined } }), JSON.stringify(summary),
      ];
      const ph = row.map((_, i) => `$${i + 1}`).join(', ');
      await conn.run(`INSERT INTO runs VALUES (${ph})`, row);
      for (const i of manifest.inputs ?? []) {
        await conn.run('INSERT INTO inputs VALUES ($1, $2, $3, $4, $5, $6, $7)', [runId, i.uri, i.mate, i.format, i.compression, numOrNull(i.records), numOrNull(i.bytes)]);
      }
      for (const [k, v] of Object.entries(counts)) {
        if (typeof v === 'number') await conn.run('INSERT INTO stage_counts VALUES ($1, $2, $3)', [runId, k, v]);
      }
      const params: [string, string, string][] = [];
      const prepParams: [string, string][] = [];
      flatten(manifest.parameters, '', prepParams);
      for (const [n, v] of prepParams) params.push(['prep', n, v]);
      const clusterParams: [string, string][] = [];
      const { k, k_selection, seed, n_init, algorithm, init, method } = summary;
      flatten({ method, k, k_selection: k_selection?.method, seed, n_init, algorithm, init }, '', clusterParams);
      for (const [n, v] of clusterParams) params.push(['cluster', n, v]);
      // names in snake_case like the rest of the catalog (the manifest's QC parameters keep their option names)
      for (const [phase, n, v] of params) await conn.run('INSERT INTO parameters VALUES ($1, $2, $3, $4)', [runId, phase, n.split('.').map(snakeCase).join('.'), v]);
      if (evaluation) {
        for (const [scope, m] of [['assigned', evaluation.assigned], ['all_reads', evaluation.allReads]] as const) {
          const mm = m;
          const ff = (mm.f1 ?? {}) as Record<string, unknown>;
          // metric names in snake_case, as in eval.json and --json
          const vals: [string, unknown][] = [
            ...['ari', 'nmi', 'homogeneity', 'completeness', 'vMeasure', 'purity', 'purityUnweighted', 'inversePurity', 'clusters', 'classes', 'n'].map(
              (key) => [snakeCase(key), mm[key]] as [string, unknown],
            ),
            ['f1_macro', ff.macro],
            ['f1_weighted', ff.weighted],
          ];
          for (const [metric, v] of vals) if (typeof v === 'number') await conn.run('INSERT INTO metrics VALUES ($1, $2, $3, $4)', [runId, scope, metric, v]);
        }
        await conn.run('INSERT INTO metrics VALUES ($1, $2, $3, $4)', [runId, 'reads', 'assigned_fraction', evaluation.assignedFraction]);
      }
      const names = summary.cluster_names;
      const nameOf = (c: number): string | null => {
        if (Array.isArray(names)) return names[c] ?? null;
        if (names && typeof names === 'object') return names[String(c)] ?? null;
        return null;
      };
      const sizes = asArray(summary.cluster_sizes);
      for (let c = 0; c < sizes.length; c++) await conn.run('INSERT INTO clusters VALUES ($1, $2, $3, $4)', [runId, c, sizes[c]!, nameOf(c)]);
      for (const s of manifest.shards) {
        await conn.run('INSERT INTO shard_files VALUES ($1, $2, $3, $4, $5)', [runId, shardPath(s.path), s.rows, numOrNull(s.bytes), s.sha256]);
      }
      await conn.run('COMMIT');
      return { runId, catalog: path, replaced: prev !== undefined };
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('OUTPUT', `catalog: cannot register ${runDir} in ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}

/**
 * Unregisters runs (their rows in every table), named by run_id or by run directory. Returns the run_ids
 * removed; a name that matches no run is an error naming the registered runs.
 */
export async function forgetRuns(path: string, names: string[]): Promise<string[]> {
  const db = await openCatalog(path, 'write');
  try {
    const { conn } = db;
    for (const s of DDL) await conn.run(s);
    const runs = (await conn.runAndReadAll('SELECT run_id, run_dir FROM runs ORDER BY run_id')).getRows().map(([id, dir]) => ({ id: String(id), dir: String(dir) }));
    const ids: string[] = [];
    for (const name of names) {
      const dir = isS3Uri(name) || name.includes('/') || name === '.' ? resolveLocation(name) : undefined;
      const hit = runs.find((r) => r.id === name || (dir !== undefined && r.dir === dir));
      if (!hit) {
        throw new MetavecError('USAGE', `catalog: no run '${name}' in ${path} (registered: ${runs.map((r) => r.id).join(', ') || 'none'})`);
      }
      if (!ids.includes(hit.id)) ids.push(hit.id);
    }
    await removeRuns(conn, ids);
    return ids;
  } finally {
    db.close();
  }
}

/**
 * Unregisters every local run whose files are gone: its labels.parquet or one of its shards is missing (the runs a
 * query would warn about). Runs in S3 are kept (not checked). Returns the runs removed.
 */
export async function pruneRuns(path: string): Promise<{ runId: string; runDir: string; missing: string }[]> {
  const db = await openCatalog(path, 'write');
  try {
    const { conn } = db;
    for (const s of DDL) await conn.run(s);
    const runs = (await conn.runAndReadAll('SELECT run_id, run_dir, labels_path FROM runs ORDER BY run_id')).getRows();
    const gone: { runId: string; runDir: string; missing: string }[] = [];
    for (const [id, dir, labels] of runs) {
      const runId = String(id);
      const labelsPath = String(labels);
      if (isS3Uri(labelsPath) || isS3Uri(String(dir))) continue;
      let missing = (await exists(labelsPath)) ? undefined : labelsPath;
      if (!missing) {
        const shards = (await conn.runAndReadAll('SELECT path FROM shard_files WHERE run_id = $1 ORDER BY path', [runId])).getRows().map((r) => String(r[0]));
        for (const p of shards) {
          if (!(await exists(p))) {
            missing = p;
            break;
          }
        }
      }
      if (missing) gone.push({ runId, runDir: String(dir), missing });
    }
    await removeRuns(conn, gone.map((g) => g.runId));
    return gone;
  } finally {
    db.close();
  }
}

async function removeRuns(conn: DuckDBConnection, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const id of ids) {
      await conn.run('DELETE FROM runs WHERE run_id = $1', [id]);
      for (const t of RUN_TABLES) await conn.run(`DELETE FROM ${t} WHERE run_id = $1`, [id]);
    }
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface QueryResult {
  columns: string[];
  types: string[];
  rows: unknown[][];
}

const sqlStr = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * Temporary views over the Parquet files of the registered runs whose files still exist:
 * `shards` (run_id + every shard column) and `labels` (run_id, read_id, cluster, distance).
 */
async function createFileViews(conn: DuckDBConnection): Promise<string[]> {
  const notes: string[] = [];
  const shardRows = (await conn.runAndReadAll('SELECT run_id, path FROM shard_files ORDER BY run_id, path')).getRows();
  const byRun = new Map<string, string[]>();
  for (const [run, path] of shardRows) byRun.set(String(run), [...(byRun.get(String(run)) ?? []), String(path)]);
  for (const [run, paths] of byRun) {
    if (paths.some(isS3Uri)) {
      notes.push(`run ${run}: shards in S3 (${dirname(paths[0]!)}); the shards view reads local files only (DuckDB's httpfs extension is not loaded)`);
      byRun.set(run, []);
      continue;
    }
    const missing: string[] = [];
    for (const p of paths) if (!(await exists(p))) missing.push(p);
    if (missing.length > 0) {
      notes.push(`run ${run}: shard ${missing[0]!}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''} missing; the run is left out of the shards view`);
      byRun.set(run, []);
    }
  }
  const shardSelects = [...byRun.entries()]
    .filter(([, ps]) => ps.length > 0)
    .map(([run, ps]) => `SELECT ${sqlStr(run)} AS run_id, * FROM read_parquet([${ps.map(sqlStr).join(', ')}])`);
  await conn.run(
    `CREATE TEMP VIEW shards AS ${
      shardSelects.length > 0
        ? shardSelects.join(' UNION ALL BY NAME ')
        : 'SELECT NULL::VARCHAR AS run_id, NULL::BIGINT AS fragment, NULL::VARCHAR AS read_id, NULL::INTEGER AS len_r1, NULL::INTEGER AS len_r2, NULL::FLOAT AS gc_r1, NULL::FLOAT AS gc_r2, NULL::FLOAT AS meanq_r1, NULL::FLOAT AS meanq_r2, NULL::FLOAT[] AS embedding WHERE false'
    }`,
  );
  const labelRows = (await conn.runAndReadAll('SELECT run_id, labels_path FROM runs ORDER BY run_id')).getRows();
  const labelSelects: string[] = [];
  for (const [run, path] of labelRows) {
    const p = String(path);
    if (isS3Uri(p)) notes.push(`run ${String(run)}: labels in S3 (${p}); the labels view reads local files only`);
    else if (await exists(p)) labelSelects.push(`SELECT ${sqlStr(String(run))} AS run_id, read_id, cluster, distance FROM read_parquet(${sqlStr(p)})`);
    else notes.push(`run ${String(run)}: ${p} is missing; the run is left out of the labels view`);
  }
  await conn.run(
    `CREATE TEMP VIEW labels AS ${
      labelSelects.length > 0
        ? labelSelects.join(' UNION ALL ')
        : 'SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS read_id, NULL::INTEGER AS cluster, NULL::FLOAT AS distance WHERE false'
    }`,
  );
  return notes;
}

/** Runs `sql` (one or more statements; the last one's result is returned) over a read-only catalog. */
export async function queryCatalog(path: string, sql: string): Promise<QueryResult & { notes: string[] }> {
  const db = await openCatalog(path, 'read');
  const { conn } = db;
  try {
    let notes: string[];
    try {
      notes = await createFileViews(conn);
    } catch (err) {
      throw new MetavecError('INPUT', `catalog: ${path} is not a metavec catalog or is damaged (${(err as Error).message.split('\n')[0]})`, { cause: err });
    }
    let result: DuckDBResultReader | undefined;
    try {
      const statements = await conn.extractStatements(sql);
      if (statements.count === 0) throw new Error('no SQL statement given');
      for (let i = 0; i < statements.count; i++) result = await (await statements.prepare(i)).runAndReadAll();
    } catch (err) {
      const msg = (err as Error).message.trim().replace(/^Failed to extract statements: /, '');
      const hint = /does not exist|not found/i.test(msg) ? `\n  tables and views: ${CATALOG_RELATIONS.join(', ')}` : '';
      throw new MetavecError('INPUT', `query: SQL error: ${msg}${hint}`, { cause: err });
    }
    const r = result!;
    return { columns: r.columnNames(), types: r.columnTypes().map(String), rows: r.getRowsJson(), notes };
  } finally {
    db.close();
  }
}
