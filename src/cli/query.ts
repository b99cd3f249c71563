import { parseArgs } from 'node:util';
import { usageError } from '../errors.js';
import { resolveLocation } from '../io/location.js';
import { catalogPath, CATALOG_RELATIONS, forgetRuns, pruneRuns, queryCatalog, registerRun, type QueryResult } from '../report/catalog.js';
import { locateRun } from '../report/index.js';
import { intOption } from './args.js';

export const QUERY_HELP = `metavec query: SQL over the catalog of runs, their shards and labels (DuckDB)

usage: metavec query "SQL" [--catalog PATH] [--json] [--max-rows N]
       metavec query --register DIR [--catalog PATH]
       metavec query --forget RUN [--catalog PATH]
       metavec query --prune [--catalog PATH]

  SQL              DuckDB SQL; several statements may be given, the last one's result is printed.
                   The catalog is opened read-only.
  --catalog PATH   the catalog database (default $METAVEC_CATALOG, else ~/.metavec/catalog.duckdb)
  --json           print the rows as a JSON array of objects
  --max-rows N     rows printed as a table (default 1000; --json prints all)
  --register DIR   register a 'metavec run' output directory or s3:// prefix (done by 'metavec run' itself; use this for
                   runs made with --no-catalog or elsewhere). Re-registering a directory replaces its rows.
  --forget RUN     unregister a run (its run_id or its directory; repeatable): its rows leave every table.
                   The run's files are not touched.
  --prune          unregister every local run whose labels.parquet or a shard is gone (the runs a query warns
                   about); prints what it removed

Tables and views: ${CATALOG_RELATIONS.join(', ')}.
  runs          one row per run: directories, parameters, K, counts, metrics (ari, nmi, f1_macro, ...)
  stage_counts  (run_id, counter, value): every manifest count (fragments_in, duplicates_removed, ...)
  parameters    (run_id, phase, name, value JSON): prep and cluster parameters, flattened
  metrics       (run_id, scope, metric, value): scope 'assigned' / 'all_reads' (docs/evaluation.md)
  clusters      (run_id, cluster, size, name);  inputs, shard_files: the files of each run
  shards        the rows of every registered run's Parquet shards, with run_id
  labels        (run_id, read_id, cluster, distance) of every registered run

examples
  metavec query "SELECT run_id, k, ari, fragments_out FROM runs ORDER BY registered"
  metavec query "SELECT run_id, cluster, count(*), avg(gc_r1) FROM shards JOIN labels USING (run_id, read_id) GROUP BY ALL"
`;

const INT_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

/** Integers come back from DuckDB's JSON conversion as strings when 64-bit: numbers when exact. */
function jsonValue(v: unknown, type: string): unknown {
  if (typeof v === 'string' && INT_TYPES.test(type)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  return v;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}

export function formatTable(r: QueryResult, maxRows: number): string {
  const shown = r.rows.slice(0, maxRows);
  const text = shown.map((row) => row.map(cell));
  const widths = r.columns.map((c, j) => Math.max(c.length, r.types[j]!.length, ...text.map((row) => row[j]!.length)));
  const right = r.types.map((t) => /INT|DOUBLE|FLOAT|DECIMAL|REAL/.test(t) && !t.endsWith(']'));
  const line = (cells: string[]): string => cells.map((c, j) => (right[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join('  ').trimEnd();
  const out = [line(r.columns), line(r.types.map((t) => t.toLowerCase())), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)];
  const more = r.rows.length - shown.length;
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${more > 0 ? `, ${more} not shown: --max-rows or --json` : ''})`);
  return out.join('\n') + '\n';
}

export async function queryCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        catalog: { type: 'string' },
        json: { type: 'boolean' },
        'max-rows': { type: 'string' },
        register: { type: 'string', multiple: true },
        forget: { type: 'string', multiple: true },
        prune: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw usageError(`query: ${(err as Error).message} (see 'metavec query --help')`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(QUERY_HELP);
    return 0;
  }
  const catalog = catalogPath(values.catalog);
  const actions = [values.register, values.forget, values.prune].filter((x) => x !== undefined).length;
  if (actions > 1) throw usageError('query: give one of --register, --forget and --prune');
  if ((values.forget || values.prune) && positionals.length > 0) throw usageError('query: give either SQL or --forget/--prune, not both');
  if (values.forget) {
    for (const id of await forgetRuns(catalog, values.forget)) process.stderr.write(`catalog: forgot run '${id}' in ${catalog} (its files are untouched)\n`);
    return 0;
  }
  if (values.prune) {
    const gone = await pruneRuns(catalog);
    for (const g of gone) process.stderr.write(`catalog: forgot run '${g.runId}' (${g.runDir}): ${g.missing} is gone\n`);
    process.stderr.write(`catalog: ${gone.length} run(s) pruned from ${catalog}\n`);
    return 0;
  }
  if (values.register) {
    if (positionals.length > 0) throw usageError('query: give either SQL or --register DIR, not both');
    for (const dir of values.register) {
      const reg = await registerRun(catalog, await locateRun(resolveLocation(dir)));
      process.stderr.write(`catalog: ${reg.replaced ? 're-registered' : 'registered'} ${resolveLocation(dir)} as run '${reg.runId}' in ${reg.catalog}\n`);
    }
    return 0;
  }
  if (positionals.length !== 1) {
    throw usageError(`query: expected one SQL argument (quote it), got ${positionals.length} (see 'metavec query --help')`);
  }
  const maxRows = intOption('query', 'max-rows', values['max-rows'], 1000, 0);
  const r = await queryCatalog(catalog, positionals[0]!);
  for (const n of r.notes) process.stderr.write(`query: note: ${n}\n`);
  if (values.json) {
    const objs = r.rows.map((row) => Object.fromEntries(r.columns.map((c, j) => [c, jsonValue(row[j], r.types[j]!)])));
    process.stdout.write(JSON.stringify(objs, null, 2) + '\n');
  } else {
    process.stdout.write(formatTable(r, maxRows));
  }
  return 0;
}
