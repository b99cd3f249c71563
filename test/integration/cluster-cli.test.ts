import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makePairs, runCli, TempDir } from '../helpers/fixtures.js';
import { hasCommand, requireTool } from '../helpers/tools.js';
import { openDuckDB, sqlString } from '../../src/io/duckdb.js';

const tmp = new TempDir();
after(() => tmp.remove());
const fx = makePairs(1500, 5, { genomes: 3 });
const prep = tmp.join('prep');
let truthPath = '';

before(() => {
  const r1 = tmp.file('r1.fq', fx.r1);
  const r2 = tmp.file('r2.fq', fx.r2);
  const r = runCli(['prep', '--input', r1, '--input2', r2, '--output', prep, '--rows-per-shard', '600', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  truthPath = tmp.file('truth.tsv', 'read_id\tspecies\n' + fx.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n') + '\n');
});

function cluster(input: string, out: string, extra: string[] = []) {
  return runCli(['cluster', '--method', 'kmeans', '--input', input, '--output', out, '--k', '3', '--quiet', '--json', ...extra]);
}

test('cluster writes labels.parquet, clusters.nc and summary.json; eval scores them', async () => {
  const out = tmp.join('c1');
  const r = cluster(prep, out, ['--threads', '2']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { k: number; fragments: number; cluster_sizes: number[] };
  assert.equal(s.k, 3);
  assert.equal(s.cluster_sizes.reduce((a, b) => a + b, 0), s.fragments);
  const db = await openDuckDB();
  try {
    const res = await db.conn.runAndReadAll(`SELECT count(*)::INT, count(DISTINCT cluster)::INT, min(distance) >= 0 FROM read_parquet(${sqlString(join(out, 'labels.parquet'))})`);
    assert.deepEqual(res.getRows()[0], [s.fragments, 3, true]);
  } finally {
    db.close();
  }
  const e = runCli(['eval', '--labels', join(out, 'labels.parquet'), '--truth', truthPath, '--json']);
  assert.equal(e.status, 0, e.stderr);
  const rep = JSON.parse(e.stdout) as { assigned: { ari: number }; truth_reads: number };
  assert.equal(rep.truth_reads, 1500);
  // three random genomes with GC 0.3 / 0.5 / 0.7 separate cleanly by 4-mer composition
  assert.ok(rep.assigned.ari > 0.9, `ARI ${rep.assigned.ari}`);
});

test('bins.binning holds the labels in the CAMI binning format, named in summary.json', async () => {
  const out = tmp.join('c1');
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { outputs: { binning: string; sample_id: string } };
  assert.deepEqual(s.outputs.binning, 'bins.binning');
  assert.equal(s.outputs.sample_id, 'c1');
  const lines = readFileSync(join(out, 'bins.binning'), 'utf8').split('\n');
  assert.deepEqual(lines.slice(0, 4), ['@Version:0.9.1', '@SampleID:c1', '', '@@SEQUENCEID\tBINID']);
  const db = await openDuckDB();
  try {
    const res = await db.conn.runAndReadAll(`SELECT read_id || chr(9) || cluster FROM read_parquet(${sqlString(join(out, 'labels.parquet'))})`);
    assert.deepEqual(lines.slice(4, -1), res.getRows().map((r) => r[0]));
    assert.equal(lines[lines.length - 1], '');
  } finally {
    db.close();
  }
  // --binning-reads: one row per read, the mates as read_id/1 and read_id/2
  const r = cluster(prep, tmp.join('c-reads'), ['--binning-reads']);
  assert.equal(r.status, 0, r.stderr);
  const reads = readFileSync(join(tmp.join('c-reads'), 'bins.binning'), 'utf8').trim().split('\n').slice(4);
  assert.equal(reads.length, 2 * (lines.length - 5));
  assert.match(reads[0]!, /^\S+\/1\t\d+$/);
  assert.equal(reads[1]!.replace('/2\t', '/1\t'), reads[0]);
  assert.equal((JSON.parse(r.stdout) as { outputs: { binning_rows: string } }).outputs.binning_rows, 'read');
});

test('same seed gives the same labels with 1 and 2 threads', async () => {
  const a = tmp.join('th1');
  const b = tmp.join('th2');
  assert.equal(cluster(prep, a, ['--threads', '1', '--seed', '7']).status, 0);
  assert.equal(cluster(prep, b, ['--threads', '2', '--seed', '7']).status, 0);
  const db = await openDuckDB();
  try {
    const q = (d: string) => db.conn.runAndReadAll(`SELECT read_id, cluster, distance FROM read_parquet(${sqlString(join(d, 'labels.parquet'))}) ORDER BY read_id`);
    assert.deepEqual((await q(a)).getRows(), (await q(b)).getRows());
  } finally {
    db.close();
  }
});

test('--k auto finds the 3 composition groups', () => {
  const r = cluster(prep, tmp.join('auto'), ['--k', 'auto', '--k-max', '6']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { k: number }).k, 3);
});

test('clusters.nc is read by ncdump and python netCDF4', (t) => {
  const out = tmp.join('c1');
  if (!requireTool(t, hasCommand('ncdump'), 'ncdump (apt-get install netcdf-bin)')) return;
  const h = spawnSync('ncdump', ['-h', join(out, 'clusters.nc')], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /float centroids\(cluster, dim\)/);
  assert.match(h.stdout, /int cluster_size\(cluster\)/);
  assert.match(h.stdout, /:method = "kmeans"/);
  const py = spawnSync('/usr/bin/python3', ['-c', `import netCDF4,sys; d=netCDF4.Dataset(sys.argv[1]); print(d['centroids'].shape, int(d['cluster_size'][:].sum()))`, join(out, 'clusters.nc')], { encoding: 'utf8' });
  if (!requireTool(t, py.status === 0 || !/No module named/.test(py.stderr), 'python3-netcdf4')) return;
  assert.equal(py.status, 0, py.stderr);
  assert.match(py.stdout, /\(3, 136\) \d+/);
});

// ---- bad input ----
function brokenCopy(name: string, edit: (dir: string) => void): string {
  const dir = tmp.join(name);
  cpSync(prep, dir, { recursive: true });
  edit(dir);
  return dir;
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown> & { shards: { path: string }[]; embedding: { dim: number } };

const bad: { name: string; input: () => string; extra?: string[]; expect: RegExp; exit?: number }[] = [
  { name: 'missing shard', input: () => brokenCopy('b-missing', (d) => spawnSync('rm', [join(d, 'shards/part-00001.parquet')])), expect: /part-00001\.parquet: missing \(listed in the manifest\)/ },
  { name: 'corrupt shard', input: () => brokenCopy('b-corrupt', (d) => writeFileSync(join(d, 'shards/part-00000.parquet'), 'not parquet')), expect: /part-00000\.parquet: checksum mismatch/ },
  {
    name: 'checksum mismatch',
    input: () => brokenCopy('b-sum', (d) => copyFileSync(join(d, 'shards/part-00001.parquet'), join(d, 'shards/part-00000.parquet'))),
    expect: /part-00000\.parquet: checksum mismatch/,
  },
  {
    name: 'unknown schema version',
    input: () => brokenCopy('b-schema', (d) => writeFileSync(join(d, 'manifest.json'), JSON.stringify({ ...manifestOf(d), schema: 'metavec.prep/99' }))),
    expect: /unknown schema version "metavec\.prep\/99"/,
  },
  {
    name: 'embedding dimension mismatch',
    input: () => brokenCopy('b-dim', (d) => writeFileSync(join(d, 'manifest.json'), JSON.stringify({ ...manifestOf(d), embedding: { ...manifestOf(d).embedding, dim: 32 } }))),
    expect: /embedding dimension/,
  },
  {
    name: 'shard path outside the run directory',
    input: () => brokenCopy('b-escape', (d) => writeFileSync(join(d, 'manifest.json'), JSON.stringify({ ...manifestOf(d), shards: [{ path: '../../etc/passwd', rows: 1, bytes: 1, sha256: 'x' }] }))),
    expect: /points outside the run directory/,
  },
  { name: 'no manifest', input: () => tmp.join('nothing-here'), expect: /manifest\.json: not found/ },
  { name: 'K larger than the number of fragments', input: () => prep, extra: ['--k', '100000'], expect: /--k 100000 is larger than the number of fragments/, exit: 2 },
];

for (const c of bad) {
  test(`bad input: ${c.name}`, () => {
    const r = runCli(['cluster', '--method', 'kmeans', '--input', c.input(), '--output', tmp.join(`out-${c.name.replace(/\W+/g, '-')}`), '--k', '3', '--quiet', ...(c.extra ?? [])]);
    assert.equal(r.status, c.exit ?? 1, r.stderr);
    assert.match(r.stderr, c.expect);
  });
}

test('bad input: eval with a missing truth column, and with no read in common', () => {
  const labels = join(tmp.join('c1'), 'labels.parquet');
  const r = runCli(['eval', '--labels', labels, '--truth', truthPath, '--truth-column', 'genus']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /genus/);
  const other = tmp.file('other.tsv', 'read_id\tspecies\nzzz\ta\n');
  const r2 = runCli(['eval', '--labels', labels, '--truth', other]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /no read in common|in common/);
});
