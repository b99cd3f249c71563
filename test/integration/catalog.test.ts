import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, makePairs, TempDir } from '../helpers/fixtures.js';

const tmp = new TempDir('metavec-catalog-');
after(() => tmp.remove());
const catalog = tmp.join('cat/catalog.duckdb'); // the parent directory is created on first use
const env = { ...process.env, METAVEC_CATALOG: catalog };
const runA = tmp.join('alpha');
const runB = tmp.join('beta');

function cli(args: string[], e: NodeJS.ProcessEnv = env) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, env: e });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function query<T = Record<string, unknown>>(sql: string): T[] {
  const r = cli(['query', '--json', sql]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T[];
}

before(() => {
  const fx = makePairs(900, 21, { genomes: 3 });
  const r1 = tmp.file('r1.fq', fx.r1);
  const r2 = tmp.file('r2.fq', fx.r2);
  const truth = tmp.file('truth.tsv', 'read_id\tspecies\n' + fx.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n') + '\n');
  const a = cli(['run', '--method', 'kmeans', '--input', r1, '--input2', r2, '--truth', truth, '--output', runA, '--k', '3', '--quiet', '--no-report']);
  assert.equal(a.status, 0, a.stderr);
  const b = cli(['run', '--method', 'kmeans', '--input', r1, '--input2', r2, '--output', runB, '--k', '5', '--seed', '3', '--quiet', '--no-report']);
  assert.equal(b.status, 0, b.stderr);
});

test('two runs are registered with their manifest, counts, parameters and metrics', () => {
  assert.ok(existsSync(catalog), 'catalog created under $METAVEC_CATALOG');
  const runs = query<{ run_id: string; run_dir: string; k: number; seed: number; fragments_out: number; ari: number | null }>(
    'SELECT run_id, run_dir, k, seed, fragments_out, ari FROM runs ORDER BY run_id',
  );
  assert.deepEqual(runs.map((r) => [r.run_id, r.run_dir, r.k, r.seed]), [
    ['alpha', runA, 3, 0],
    ['beta', runB, 5, 3],
  ]);
  assert.ok(runs[0]!.ari! > 0.9, `ari ${runs[0]!.ari}`);
  assert.equal(runs[1]!.ari, null);
  const manifest = JSON.parse(readFileSync(join(runA, 'prep', 'manifest.json'), 'utf8')) as { counts: Record<string, number> };
  const counts = query<{ counter: string; value: number }>("SELECT counter, value FROM stage_counts WHERE run_id = 'alpha' ORDER BY counter");
  assert.deepEqual(Object.fromEntries(counts.map((c) => [c.counter, c.value])), manifest.counts);
  const params = query<{ value: string }>("SELECT value FROM parameters WHERE run_id = 'beta' AND phase = 'cluster' AND name = 'k'");
  assert.deepEqual(params, [{ value: '5' }]);
  const metrics = query<{ scope: string; n: number }>("SELECT scope, count(*)::INT AS n FROM metrics WHERE run_id = 'alpha' GROUP BY scope ORDER BY scope");
  assert.deepEqual(metrics.map((m) => m.scope), ['all_reads', 'assigned', 'reads']);
  const m = query<{ v: string }>("SELECT manifest->>'$.schema' AS v FROM runs WHERE run_id = 'alpha'");
  assert.deepEqual(m, [{ v: 'metavec.prep/1' }]);
});

test('a query across runs joins the catalog, the shards and the labels', () => {
  const rows = query<{ run_id: string; clusters: number; fragments: number; clustered: number }>(
    `SELECT r.run_id, count(DISTINCT l.cluster)::INT AS clusters, count(*)::INT AS fragments, any_value(r.fragments_out)::INT AS clustered
     FROM runs r JOIN labels l USING (run_id) JOIN shards s USING (run_id, read_id)
     GROUP BY r.run_id ORDER BY r.run_id`,
  );
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => [r.run_id, r.clusters]), [
    ['alpha', 3],
    ['beta', 5],
  ]);
  for (const r of rows) assert.equal(r.fragments, r.clustered);
  // the same clusters sizes as summary.json, through the clusters table
  const sizes = query<{ ok: boolean }>(
    `SELECT bool_and(c.size = x.n) AS ok FROM clusters c JOIN (SELECT run_id, cluster, count(*) AS n FROM labels GROUP BY ALL) x USING (run_id, cluster)`,
  );
  assert.deepEqual(sizes, [{ ok: true }]);
});

test('tabular output, several statements, and re-registering a run replaces it', () => {
  const t = cli(['query', 'SELECT run_id, k FROM runs ORDER BY run_id']);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /^run_id\s+k\nvarchar\s+integer\n-+\s+-+\nalpha\s+3\nbeta\s+5\n\(2 rows\)\n$/);
  const multi = query<{ n: number }>('CREATE TEMP TABLE x AS SELECT 41 AS a; SELECT a + 1 AS n FROM x');
  assert.deepEqual(multi, [{ n: 42 }]);
  const reg = cli(['query', '--register', runA]);
  assert.equal(reg.status, 0, reg.stderr);
  assert.match(reg.stderr, /re-registered .*alpha as run 'alpha'/);
  assert.deepEqual(query('SELECT count(*)::INT AS n FROM runs'), [{ n: 2 }]);
  assert.deepEqual(query("SELECT count(*)::INT AS n FROM stage_counts WHERE run_id = 'alpha' AND counter = 'fragments_in'"), [{ n: 1 }]);
});

test('bad SQL, a missing table and writes give clear errors (exit 1)', () => {
  const bad = cli(['query', 'SELEC * FROM runs']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^metavec: error: query: SQL error: Parser Error: syntax error at or near "SELEC"/);
  const missing = cli(['query', 'SELECT * FROM rnus']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /Table with name rnus does not exist/);
  assert.match(missing.stderr, /tables and views: runs, inputs, stage_counts/);
  const write = cli(['query', 'DELETE FROM runs']);
  assert.equal(write.status, 1);
  assert.match(write.stderr, /read-only/);
  const none = cli(['query'], env);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /expected one SQL argument/);
  const nocat = cli(['query', 'SELECT 1', '--catalog', tmp.join('absent.duckdb')]);
  assert.equal(nocat.status, 1);
  assert.match(nocat.stderr, /absent\.duckdb does not exist yet/);
});

test('--catalog overrides METAVEC_CATALOG; --no-catalog registers nothing', () => {
  const other = tmp.join('other.duckdb');
  const reg = cli(['query', '--register', runB, '--catalog', other]);
  assert.equal(reg.status, 0, reg.stderr);
  const r = cli(['query', '--json', '--catalog', other, 'SELECT run_id FROM runs']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [{ run_id: 'beta' }]);
  const runJson = JSON.parse(readFileSync(join(runA, 'run.json'), 'utf8')) as { catalog?: { catalog: string; run_id: string } };
  assert.deepEqual(runJson.catalog, { catalog, run_id: 'alpha' });
  const runC = tmp.join('gamma');
  const c = cli(['run', '--method', 'kmeans', '--input', tmp.join('r1.fq'), '--input2', tmp.join('r2.fq'), '--output', runC, '--k', '2', '--quiet', '--no-report', '--no-catalog']);
  assert.equal(c.status, 0, c.stderr);
  assert.equal((JSON.parse(readFileSync(join(runC, 'run.json'), 'utf8')) as { catalog?: unknown }).catalog, undefined);
  assert.deepEqual(query('SELECT count(*)::INT AS n FROM runs'), [{ n: 2 }]);
});

/** Every object key in a JSON value (recursively). */
function keysOf(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) keysOf(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      keysOf(x, out);
    }
  }
  return out;
}

test('one naming style: snake_case in the catalog, eval.json, run.json and --json', () => {
  const names = query<{ metric: string }>("SELECT DISTINCT metric FROM metrics WHERE run_id = 'alpha' ORDER BY metric").map((m) => m.metric);
  for (const n of ['inverse_purity', 'purity_unweighted', 'v_measure', 'f1_macro', 'f1_weighted', 'assigned_fraction']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  const camel = (keys: string[]): string[] => keys.filter((k) => /[a-z][A-Z]/.test(k));
  const evalJson = JSON.parse(readFileSync(join(runA, 'eval.json'), 'utf8')) as { assigned: { inverse_purity: number; contingency: { rows: unknown } } };
  assert.deepEqual(camel(keysOf(evalJson)), [], 'eval.json');
  assert.ok(Array.isArray(evalJson.assigned.contingency.rows), 'typed arrays are JSON arrays');
  assert.deepEqual(camel(keysOf(JSON.parse(readFileSync(join(runA, 'run.json'), 'utf8')))), [], 'run.json');
  assert.deepEqual(camel(keysOf(JSON.parse(readFileSync(join(runA, 'cluster', 'summary.json'), 'utf8')))), [], 'summary.json');
  const params = query<{ name: string }>('SELECT DISTINCT name FROM parameters ORDER BY name').map((r) => r.name);
  assert.deepEqual(params.filter((n) => /[a-z][A-Z]/.test(n)), [], 'parameter names');
  assert.ok(params.includes('qc.min_length'), params.join(', '));
  const e = cli(['eval', '--labels', join(runA, 'cluster', 'labels.parquet'), '--truth', tmp.join('truth.tsv'), '--json']);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout) as { assigned: { inverse_purity: number }; assigned_fraction: number };
  assert.deepEqual(camel(keysOf(ev)), [], 'eval --json');
  assert.equal(ev.assigned.inverse_purity, evalJson.assigned.inverse_purity);
  const p = cli(['prep', '--input', tmp.join('r1.fq'), '--input2', tmp.join('r2.fq'), '--output', tmp.join('prep-json'), '--json', '--quiet']);
  assert.equal(p.status, 0, p.stderr);
  assert.deepEqual(camel(keysOf(JSON.parse(p.stdout))), [], 'prep --json');
});

test('--forget and --prune unregister runs (a run whose directory is gone stops the warnings)', () => {
  const runD = tmp.join('delta');
  const d = cli(['run', '--input', tmp.join('r1.fq'), '--input2', tmp.join('r2.fq'), '--output', runD, '--k', '2', '--quiet', '--no-report']);
  assert.equal(d.status, 0, d.stderr);
  assert.deepEqual(query('SELECT run_id FROM runs ORDER BY run_id').map((r) => r.run_id), ['alpha', 'beta', 'delta']);
  rmSync(runD, { recursive: true, force: true });
  const warned = cli(['query', 'SELECT count(*) FROM runs']);
  assert.match(warned.stderr, /run delta: .* missing/);
  const pruned = cli(['query', '--prune']);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.match(pruned.stderr, /forgot run 'delta' \(.*delta\): .* is gone\ncatalog: 1 run\(s\) pruned/);
  const quiet = cli(['query', 'SELECT count(*) FROM runs']);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stderr, '', 'no more warnings');
  assert.deepEqual(query("SELECT count(*)::INT AS n FROM metrics WHERE run_id = 'delta'"), [{ n: 0 }]);
  const f = cli(['query', '--forget', runB]);
  assert.equal(f.status, 0, f.stderr);
  assert.match(f.stderr, /forgot run 'beta' .*its files are untouched/);
  assert.ok(existsSync(join(runB, 'cluster', 'labels.parquet')));
  assert.deepEqual(query('SELECT run_id FROM runs').map((r) => r.run_id), ['alpha']);
  const none = cli(['query', '--forget', 'nosuch']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /catalog: no run 'nosuch' in .* \(registered: alpha\)/);
});
