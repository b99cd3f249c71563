import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDuckDB, sqlString } from '../../src/io/duckdb.js';
import { readClustersNetcdf } from '../../src/io/netcdf.js';
import { kmerPairName } from '../../src/embed/describe.js';
import { makePairs, runCli, TempDir } from '../helpers/fixtures.js';
import { hasCommand, requireTool } from '../helpers/tools.js';

/**
 * Outputs say what they mean when read alone (docs/formats.md, docs/formats-phase2.md): each method is described
 * truthfully in clusters.nc, `dim` and `cluster` are coordinate variables, and shards and labels carry Parquet
 * key-value metadata (method, k, dim, normalisation, dimension names, the definition of `distance`).
 */
const tmp = new TempDir();
after(() => tmp.remove());
const fx = makePairs(1200, 18, { genomes: 3 });
const prep = tmp.join('prep');

before(() => {
  const r1 = tmp.file('r1.fq', fx.r1);
  const r2 = tmp.file('r2.fq', fx.r2);
  const r = runCli(['prep', '--input', r1, '--input2', r2, '--output', prep, '--rows-per-shard', '500', '--no-correct', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  for (const [method, extra] of [['kmeans', ['--k', '3']], ['graph', []]] as const) {
    const c = runCli(['cluster', '--input', prep, '--output', tmp.join(method), '--method', method, ...extra, '--quiet']);
    assert.equal(c.status, 0, c.stderr);
  }
});

async function kv(path: string): Promise<Record<string, string>> {
  const db = await openDuckDB();
  try {
    const rows = (await db.conn.runAndReadAll(`SELECT decode(key), decode(value) FROM parquet_kv_metadata(${sqlString(path)})`)).getRows();
    return Object.fromEntries(rows.map(([k, v]) => [String(k), String(v)]));
  } finally {
    db.close();
  }
}

const pythonWith = (module: string): string | undefined =>
  ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0);

test('clusters.nc of a k-means run: Lloyd, its objective per iteration, k-mer names on dim', async () => {
  const nc = await readClustersNetcdf(join(tmp.join('kmeans'), 'clusters.nc'));
  assert.equal(nc.attrs.method, 'kmeans');
  assert.equal(nc.attrs.algorithm, 'k-means (Lloyd)');
  assert.equal(nc.attrs.init, 'k-means++');
  assert.equal(nc.objective.length, nc.attrs.iterations, 'one objective value per Lloyd iteration');
  assert.match(String(nc.attrs.labels_distance_definition), /to its cluster's centroid \(clusters\.nc centroids\)/);
  assert.equal(nc.dimNames?.length, 136);
  assert.equal(nc.dimNames?.[0], 'AAAA/TTTT');
  assert.ok(nc.dimNames?.includes('ACGT'), 'a palindrome is its own pair');
  const manifest = JSON.parse(readFileSync(join(prep, 'manifest.json'), 'utf8')) as { embedding: { columns: string[] } };
  assert.deepEqual(nc.dimNames, manifest.embedding.columns.map(kmerPairName), 'dim i is the manifest column i');
  assert.match(String(nc.attrs.source_manifest_sha256), /^[0-9a-f]{64}$/);
});

test('clusters.nc of a graph run: pooled weighted k-means over read groups, no objective variable', async () => {
  const nc = await readClustersNetcdf(join(tmp.join('graph'), 'clusters.nc'));
  assert.equal(nc.attrs.method, 'graph');
  assert.match(String(nc.attrs.algorithm), /^weighted k-means \(Lloyd\) over pooled read groups/);
  assert.match(String(nc.attrs.grouping), /overlap graph/);
  assert.match(String(nc.attrs.features), /square root of the pooled k-mer frequency profile/);
  assert.notEqual(nc.attrs.init, 'k-means++', 'not the per-read k-means init');
  assert.equal(nc.objective.length, 0, 'no objective variable');
  assert.match(String(nc.attrs.labels_distance_definition), /read group .* not a distance to clusters\.nc centroids/);
  assert.match(nc.longNames.centroids ?? '', /pooled k-mer frequency profile/);
  // summary.json: snake_case keys throughout, the method's parameter objects included
  const summary = readFileSync(join(tmp.join('graph'), 'summary.json'), 'utf8');
  assert.doesNotMatch(summary, /"[a-z]+[A-Z][A-Za-z]*":/, 'no camelCase key');
  assert.match(summary, /"min_shared":/);
  if (hasCommand('ncdump')) {
    const h = spawnSync('ncdump', ['-h', join(tmp.join('graph'), 'clusters.nc')], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    assert.ok(!/objective\(|iteration = /.test(h.stdout), h.stdout);
    assert.match(h.stdout, /string dim\(dim\) ;/);
    assert.match(h.stdout, /int cluster\(cluster\) ;/);
  }
});

test('python netCDF4 reads the coordinate variables (dim names, cluster ids)', (t) => {
  const py = pythonWith('netCDF4');
  if (!requireTool(t, py !== undefined, 'python3 with netCDF4 (Debian python3-netcdf4)')) return;
  const code = 'import sys, json, netCDF4; d = netCDF4.Dataset(sys.argv[1]); print(json.dumps([list(d["dim"][:4]), [int(x) for x in d["cluster"][:]], d["centroids"].dimensions]))';
  const r = spawnSync(py!, ['-c', code, join(tmp.join('kmeans'), 'clusters.nc')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [['AAAA/TTTT', 'AAAC/GTTT', 'AAAG/CTTT', 'AAAT/ATTT'], [0, 1, 2], ['cluster', 'dim']]);
});

test('labels.parquet key-value metadata defines distance per method', async () => {
  const km = await kv(join(tmp.join('kmeans'), 'labels.parquet'));
  const gr = await kv(join(tmp.join('graph'), 'labels.parquet'));
  assert.equal(km['metavec.method'], 'kmeans');
  assert.equal(gr['metavec.method'], 'graph');
  assert.match(km['metavec.column.distance']!, /centroid/);
  assert.match(gr['metavec.column.distance']!, /read group/);
  assert.equal(km['metavec.k'], '3');
  assert.deepEqual(JSON.parse(km['metavec.embedding']!), { method: 'kmer', k: 4, dim: 136, normalisation: 'freq' });
  const prepSha = (JSON.parse(readFileSync(join(tmp.join('kmeans'), 'summary.json'), 'utf8')) as { prep: { sha256: string } }).prep.sha256;
  assert.equal(km['metavec.prep_manifest_sha256'], prepSha);
});

test('a shard read alone says what its embedding means (DuckDB and pyarrow)', async (t) => {
  const shard = join(prep, 'shards', 'part-00000.parquet');
  const m = await kv(shard);
  assert.deepEqual(JSON.parse(m['metavec.embedding']!), { method: 'kmer', k: 4, dim: 136, normalisation: 'freq' });
  assert.match(m['metavec.embedding.meaning']!, /canonical 4-mer i, a k-mer and its reverse complement counted together/);
  const names = JSON.parse(m['metavec.embedding.dim_names']!) as string[];
  assert.equal(names.length, 136);
  assert.equal(names[1], 'AAAC/GTTT');
  assert.equal((JSON.parse(m['metavec.sketch']!) as { k: number }).k, 21);
  // deterministic: every shard of the run carries the same metadata
  assert.deepEqual(await kv(join(prep, 'shards', 'part-00001.parquet')), m);
  const py = pythonWith('pyarrow');
  if (py === undefined) {
    t.skip('missing: python3 with pyarrow (optional cross-check)');
    return;
  }
  const code = 'import sys, json, pyarrow.parquet as pq; md = pq.read_schema(sys.argv[1]).metadata; print(json.dumps(json.loads(md[b"metavec.embedding"])))';
  const r = spawnSync(py, ['-c', code, shard], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { method: 'kmer', k: 4, dim: 136, normalisation: 'freq' });
});
