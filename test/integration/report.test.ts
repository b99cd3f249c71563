import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, makePairs, TempDir } from '../helpers/fixtures.js';
import { pca, project, symmetricEigen } from '../../src/report/pca.js';

const tmp = new TempDir('metavec-report-');
after(() => tmp.remove());
const fx = makePairs(1200, 11, { genomes: 3 });
const run = tmp.join('run');
const env = { ...process.env, METAVEC_CATALOG: tmp.join('catalog.duckdb') };

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The plot specs embedded in a report. */
function chartsOf(path: string): { id: string; spec: Record<string, unknown> }[] {
  const html = readFileSync(path, 'utf8');
  const m = /<script type="application\/json" id="metavec-charts">(.*?)<\/script>/s.exec(html);
  assert.ok(m, 'chart data present');
  return JSON.parse(m[1]!) as { id: string; spec: Record<string, unknown> }[];
}

before(() => {
  const r1 = tmp.file('r1.fq', fx.r1);
  const r2 = tmp.file('r2.fq', fx.r2);
  const truth = tmp.file('truth.tsv', 'read_id\tspecies\n' + fx.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n') + '\n');
  const r = cli(['run', '--input', r1, '--input2', r2, '--truth', truth, '--output', run, '--k', '3', '--quiet', '--json']);
  assert.equal(r.status, 0, r.stderr);
});

test('metavec run writes a self-contained report.html', () => {
  const path = join(run, 'report.html');
  assert.ok(existsSync(path));
  const html = readFileSync(path, 'utf8');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link[^>]*\shref=|@import/i);
  for (const lib of ['vega', 'vega-lite', 'vega-embed']) assert.match(html, new RegExp(`<script data-library="${lib}">`));
  const ids = chartsOf(path).map((c) => c.id);
  for (const id of ['qc-quality', 'qc-bases', 'qc-gc', 'qc-length', 'qc-rates', 'qc-funnel', 'pca', 'cluster-sizes', 'cluster-gc', 'cluster-length', 'confusion', 'f1-per-class']) {
    assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  }
  assert.match(html, /<section id="evaluation">/);
  assert.ok(statSync(path).size < 2.5e6, `size ${statSync(path).size}`);
  const runJson = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { report: { path: string }; catalog: { run_id: string } };
  assert.equal(runJson.report.path, path);
  assert.equal(runJson.catalog.run_id, 'run');
});

test('metavec report --run: sample size, PCA points carry their cluster, and the same report twice', () => {
  const out = tmp.join('r-small.html');
  const r = cli(['report', '--run', run, '--output', out, '--sample', '300', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { bytes: number; sampled: number; fragments: number; charts: string[] };
  assert.equal(s.sampled, 300);
  const manifest = JSON.parse(readFileSync(join(run, 'prep', 'manifest.json'), 'utf8')) as { counts: { fragments_out: number } };
  assert.equal(s.fragments, manifest.counts.fragments_out);
  const pcaChart = chartsOf(out).find((c) => c.id === 'pca')!;
  const points = (pcaChart.spec.datasets as { points: { read_id: string; cluster: string; pc1: number }[] }).points;
  assert.equal(points.length, 300);
  assert.equal(new Set(points.map((p) => p.cluster)).size, 3);
  // deterministic: a second report plots the same sample
  const out2 = tmp.join('r-small2.html');
  assert.equal(cli(['report', '--run', run, '--output', out2, '--sample', '300']).status, 0);
  const points2 = (chartsOf(out2).find((c) => c.id === 'pca')!.spec.datasets as { points: unknown[] }).points;
  assert.deepEqual(points2, points);
});

test('report without an evaluation has no metrics; cluster names from summary.json are shown', () => {
  const cdir = tmp.join('named-cluster');
  cpSync(join(run, 'cluster'), cdir, { recursive: true });
  const sumPath = join(cdir, 'summary.json');
  const summary = JSON.parse(readFileSync(sumPath, 'utf8')) as Record<string, unknown>;
  summary.cluster_names = ['Alphabacter', 'Betacoccus', 'Gammavirus'];
  writeFileSync(sumPath, JSON.stringify(summary));
  const out = tmp.join('named.html');
  const r = cli(['report', '--prep', join(run, 'prep'), '--cluster', cdir, '--output', out]);
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /<section id="evaluation">/);
  assert.ok(!chartsOf(out).some((c) => c.id === 'confusion'));
  assert.match(html, /<h3>Cluster names<\/h3>/);
  assert.match(html, /Betacoccus/);
  const sizes = chartsOf(out).find((c) => c.id === 'cluster-sizes')!;
  assert.match(JSON.stringify(sizes.spec), /1: Betacoccus/);
});

test('error-correction counts in the manifest are shown when present', () => {
  const pdir = tmp.join('corrected-prep');
  cpSync(join(run, 'prep'), pdir, { recursive: true });
  const mPath = join(pdir, 'manifest.json');
  const m = JSON.parse(readFileSync(mPath, 'utf8')) as { counts: Record<string, number> };
  Object.assign(m.counts, { reads_corrected: 123, bases_corrected: 456, reads_uncorrectable: 7 });
  writeFileSync(mPath, JSON.stringify(m));
  const out = tmp.join('corrected.html');
  const r = cli(['report', '--prep', pdir, '--cluster', join(run, 'cluster'), '--output', out]);
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /Error correction: reads error-corrected 123, bases error-corrected 456, reads uncorrectable 7/);
  assert.match(JSON.stringify(chartsOf(out).find((c) => c.id === 'qc-rates')!.spec), /reads error-corrected/);
});

test('report errors name what is missing', () => {
  const r = cli(['report', '--run', tmp.join('nope')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not a completed 'metavec run' output \(no prep\/manifest.json/);
  const u = cli(['report', '--prep', join(run, 'prep')]);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--run DIR, or both --prep and --cluster/);
});

test('PCA: Jacobi eigenpairs and the leading direction of elongated data', () => {
  const a = Float64Array.from([4, 1, 1, 1, 3, 1, 1, 1, 3]);
  const { values, vectors } = symmetricEigen(a, 3);
  // eigenvalues of this matrix: 4 + sqrt(2), 4 - sqrt(2), 2 (eigenvector (0, 1, -1))
  assert.deepEqual(Array.from(values, (v) => v.toFixed(9)), [4 + Math.SQRT2, 4 - Math.SQRT2, 2].map((v) => v.toFixed(9)));
  for (let c = 0; c < 3; c++) {
    // A v = lambda v
    for (let i = 0; i < 3; i++) {
      let av = 0;
      for (let j = 0; j < 3; j++) av += a[i * 3 + j]! * vectors[c * 3 + j]!;
      assert.ok(Math.abs(av - values[c]! * vectors[c * 3 + i]!) < 1e-9);
    }
  }
  assert.ok(values[0]! >= values[1]! && values[1]! >= values[2]!);
  // points along (1, 2, 0) with small noise: PC1 is that direction, explains almost everything
  const n = 500;
  const x = new Float32Array(n * 3);
  let s = 1;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5);
  for (let i = 0; i < n; i++) {
    const t = rnd() * 10;
    x[i * 3] = t + 0.01 * rnd();
    x[i * 3 + 1] = 2 * t + 0.01 * rnd();
    x[i * 3 + 2] = 5 + 0.01 * rnd();
  }
  const p = pca(x, n, 3, 2);
  const v = [p.vectors[0]!, p.vectors[1]!, p.vectors[2]!];
  assert.ok(Math.abs(v[0]! - 1 / Math.sqrt(5)) < 1e-3 && Math.abs(v[1]! - 2 / Math.sqrt(5)) < 1e-3, `PC1 ${v.join(',')}`);
  assert.ok(p.explained[0]! > 0.999);
  const proj = project(p, x, n);
  assert.equal(proj.length, n * 2);
});
