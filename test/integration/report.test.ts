import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, makePairs, TempDir } from '../helpers/fixtures.js';
import { pca, project, symmetricEigen } from '../../src/report/pca.js';
import { csvField, generalStats, THRESHOLDS } from '../../src/report/html.js';
import { logTicks } from '../../src/report/specs.js';
import type { ReportData } from '../../src/report/collect.js';

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

/** The CSV files a report offers for download (name -> text). */
function csvOf(path: string): Record<string, string> {
  const html = readFileSync(path, 'utf8');
  const m = /<script type="application\/json" id="metavec-csv">(.*?)<\/script>/s.exec(html);
  assert.ok(m, 'CSV data present');
  return JSON.parse(m[1]!) as Record<string, string>;
}

/** The caption (figcaption paragraph) of a plot. */
function captionOf(html: string, id: string): string {
  const m = new RegExp(`<figcaption><h3>[^<]*</h3>(?:<p>([^<]*)</p>)?</figcaption><div class="vega" id="chart-${id}"`).exec(html);
  assert.ok(m, `caption of ${id}`);
  return m[1] ?? '';
}

before(() => {
  const r1 = tmp.file('r1.fq', fx.r1);
  const r2 = tmp.file('r2.fq', fx.r2);
  const truth = tmp.file('truth.tsv', 'read_id\tspecies\n' + fx.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n') + '\n');
  const r = cli(['run', '--input', r1, '--input2', r2, '--truth', truth, '--output', run, '--method', 'kmeans', '--k', '3', '--quiet', '--json']);
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
  for (const id of ['qc-quality', 'qc-bases', 'qc-gc', 'qc-length', 'qc-duplication', 'qc-rates', 'qc-funnel', 'pca', 'cluster-sizes', 'cluster-gc', 'cluster-distance', 'kmeans-objective', 'confusion', 'f1-per-class']) {
    assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  }
  // every fragment is 2 x 100 bp: a fragment-length chart would be a single tick, so it is left out
  assert.ok(!ids.includes('cluster-length'), 'no fragment-length chart when every fragment has the same length');
  // k-means: no read groups, no coverage
  for (const id of ['group-sizes', 'cluster-coverage-gc']) assert.ok(!ids.includes(id), `${id} not in a k-means report`);
  assert.match(captionOf(html, 'pca'), /crosses are the k-means centroids/);
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
  const m = JSON.parse(readFileSync(mPath, 'utf8')) as { counts: Record<string, number>; parameters: Record<string, unknown> };
  Object.assign(m.counts, { reads_corrected: 123, bases_corrected: 456, reads_uncorrectable: 7 });
  m.parameters.correction = { enabled: true, k: 21, level: 2 };
  writeFileSync(mPath, JSON.stringify(m));
  const out = tmp.join('corrected.html');
  // a cluster of this prep (the report refuses another prep's cluster: run-parts.test.ts)
  const cdir = tmp.join('corrected-cluster');
  const c = cli(['cluster', '--input', pdir, '--output', cdir, '--k', '3', '--quiet']);
  assert.equal(c.status, 0, c.stderr);
  const r = cli(['report', '--prep', pdir, '--cluster', cdir, '--output', out]);
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /Error correction: reads error-corrected 123, bases error-corrected 456, reads uncorrectable 7/);
  const rates = chartsOf(out).find((c) => c.id === 'qc-rates')!.spec as { vconcat: { title: { text: string } }[] };
  assert.match(JSON.stringify(rates), /reads error-corrected/);
  // rates of different kinds are separate panels, each with its own scale; "uncorrectable" is explained
  assert.deepEqual(rates.vconcat.map((p) => p.title.text), ['fragments (of fragments in)', 'duplicates (of QC-passed fragments)', 'bases (of bases in)', 'error correction (of reads in)']);
  assert.match(captionOf(html, 'qc-rates'), /Reads uncorrectable: reads the k-mer-spectrum corrector left with positions it cannot trust/);
});

/** A copy of the run's prep whose manifest says `correction`, with a cluster of it, and its report's HTML and rate panels. */
function reportWithCorrection(name: string, correction: Record<string, unknown>): { html: string; panels: string[] } {
  const pdir = tmp.join(`${name}-prep`);
  cpSync(join(run, 'prep'), pdir, { recursive: true });
  const mPath = join(pdir, 'manifest.json');
  const m = JSON.parse(readFileSync(mPath, 'utf8')) as { counts: Record<string, number>; parameters: Record<string, unknown> };
  // what prep writes when correction does not run: the counters exist and are 0
  Object.assign(m.counts, { reads_corrected: 0, bases_corrected: 0, reads_uncorrectable: 0 });
  m.parameters.correction = correction;
  writeFileSync(mPath, JSON.stringify(m));
  const cdir = tmp.join(`${name}-cluster`);
  const c = cli(['cluster', '--input', pdir, '--output', cdir, '--k', '3', '--quiet']);
  assert.equal(c.status, 0, c.stderr);
  const out = tmp.join(`${name}.html`);
  const r = cli(['report', '--prep', pdir, '--cluster', cdir, '--output', out]);
  assert.equal(r.status, 0, r.stderr);
  const rates = chartsOf(out).find((x) => x.id === 'qc-rates')!.spec as { vconcat: { title: { text: string } }[] };
  return { html: readFileSync(out, 'utf8'), panels: rates.vconcat.map((p) => p.title.text) };
}

test('a prep without error correction (the default) is reported as such: no zero correction counts, no correction rates', () => {
  const off = reportWithCorrection('uncorrected', { enabled: false });
  assert.match(off.html, /Error correction off \(the default: [^<]*docs\/correction\.md\); &#39;metavec prep --correct&#39; turns it on\./);
  assert.doesNotMatch(off.html, /reads error-corrected 0|Reads uncorrectable: reads the k-mer-spectrum corrector/);
  assert.deepEqual(off.panels, ['fragments (of fragments in)', 'duplicates (of QC-passed fragments)', 'bases (of bases in)']);
  // on, but pass 2 skipped for want of coverage: the reason, not zero counts
  const skipped = reportWithCorrection('skipped', { enabled: true, k: 21, skipped: 'k-mer coverage 1.2 is below 4: too low to tell errors from rare k-mers; reads left uncorrected' });
  assert.match(skipped.html, /Error correction on but skipped: k-mer coverage 1\.2 is below 4/);
  assert.ok(!skipped.panels.includes('error correction (of reads in)'));
});

test('qc_stats.json: GC histogram in 1% bins without a comb, duplication levels, insert sizes from the overlap', () => {
  const qc = JSON.parse(readFileSync(join(run, 'prep', 'qc_stats.json'), 'utf8')) as Record<string, unknown> & {
    read1_before: { reads: number; gc_histogram: number[] };
    duplication_levels: { shift: number; levels: { level: string; distinct: number; fragments: number }[] };
    insert_size: { overlapping_pairs: number; not_overlapping_pairs: number };
  };
  const h = qc.read1_before.gc_histogram;
  assert.equal(h.length, 100);
  assert.ok(Math.abs(h.reduce((a, b) => a + b, 0) - qc.read1_before.reads) < 1e-6, 'each read counted once');
  // a small run: levels are exact, and agree with dedup (fragments passing QC, distinct ones kept)
  const counts = (JSON.parse(readFileSync(join(run, 'prep', 'manifest.json'), 'utf8')) as { counts: Record<string, number> }).counts;
  const lv = qc.duplication_levels;
  assert.equal(lv.shift, 0);
  assert.equal(lv.levels.reduce((a, l) => a + l.fragments, 0), counts.fragments_passed_qc);
  assert.equal(lv.levels.reduce((a, l) => a + l.distinct, 0), counts.fragments_out);
  // 250 bp inserts, 2 x 100 bp reads: the mates cannot overlap
  assert.equal(qc.insert_size.overlapping_pairs, 0);
  assert.equal(qc.insert_size.not_overlapping_pairs, 1200);
  assert.ok(!chartsOf(join(run, 'report.html')).some((c) => c.id === 'qc-insert'), 'no insert plot without overlapping pairs');

  // 160 bp inserts: the mates overlap by 40 bases; the report plots the peak
  const short = makePairs(300, 5, { insert: 160 });
  const out = tmp.join('short-prep');
  const p = cli(['prep', '--input', tmp.file('s1.fq', short.r1), '--input2', tmp.file('s2.fq', short.r2), '--output', out, '--quiet']);
  assert.equal(p.status, 0, p.stderr);
  const ins = (JSON.parse(readFileSync(join(out, 'qc_stats.json'), 'utf8')) as { insert_size: { histogram: number[]; peak: number; overlapping_pairs: number } }).insert_size;
  assert.equal(ins.peak, 160);
  assert.equal(ins.overlapping_pairs, 300);
  assert.equal(ins.histogram[160], 300);
  const c = cli(['cluster', '--input', out, '--output', tmp.join('short-cluster'), '--method', 'kmeans', '--k', '2', '--quiet']);
  assert.equal(c.status, 0, c.stderr);
  const html = tmp.join('short.html');
  assert.equal(cli(['report', '--prep', out, '--cluster', tmp.join('short-cluster'), '--output', html]).status, 0);
  assert.ok(chartsOf(html).some((x) => x.id === 'qc-insert'), 'insert-size plot');
  assert.match(captionOf(readFileSync(html, 'utf8'), 'qc-insert'), /300 of 300 compared pairs \(100\.0%\) overlap.*Peak: 160 bp/);
});

test('general statistics, adapters and CSV downloads of the tables', () => {
  const path = join(run, 'report.html');
  const html = readFileSync(path, 'utf8');
  assert.match(html, /<h3>General statistics<\/h3>/);
  for (const metric of ['read pairs in', '% passing QC', '% duplicates \\(of QC-passed\\)', '% fragments with adapter', 'mean base quality \\(before QC\\)', 'GC % \\(after QC\\)']) {
    assert.match(html, new RegExp(`<td>${metric}</td><td class="v">[^<]+</td><td class="flag (pass|warn|fail|info)">`), metric);
  }
  assert.match(html, /<h3>Adapters<\/h3>/);
  const csv = csvOf(path);
  for (const name of ['general-statistics', 'adapters', 'stage-counts', 'rates', 'clusters', 'metrics', 'inputs']) assert.ok(name in csv, `${name}.csv offered (have ${Object.keys(csv).join(', ')})`);
  for (const name of Object.keys(csv)) assert.match(html, new RegExp(`<button type="button" class="csv" data-csv="${name}"`), `button for ${name}`);
  const clusters = csv.clusters!.trim().split('\r\n');
  assert.equal(clusters[0]!.split(',')[0], 'cluster');
  assert.equal(clusters.length, 1 + 3, 'a header and one line per cluster');
  const stageCounts = csv['stage-counts']!.trim().split('\r\n').map((l) => l.split(','));
  assert.deepEqual(stageCounts.find((r) => r[1] === 'fragments_in'), ['fragments in', 'fragments_in', '1200']);
  assert.equal(csvField('a,"b"'), '"a,""b""' + '"');
  assert.equal(csvField(1.5), '1.5');
});

test('general statistics flags follow the documented thresholds', () => {
  const data = (counts: Record<string, number>, dupFraction?: number): ReportData =>
    ({ manifest: { counts, layout: 'pe' }, ...(dupFraction !== undefined ? { qc: { duplication_levels: { duplicate_fraction: dupFraction } } } : {}) }) as unknown as ReportData;
  const flags = (d: ReportData): Record<string, string> => Object.fromEntries(generalStats(d).map((s) => [s.metric, s.flag]));
  const ok = flags(data({ fragments_in: 20_000, fragments_passed_qc: 19_000, duplicates_removed: 100, adapter_fragments_overlap: 10 }));
  assert.deepEqual(ok, { 'read pairs in': 'pass', '% passing QC': 'pass', '% duplicates (of QC-passed)': 'pass', '% fragments with adapter': 'pass' });
  const bad = flags(data({ fragments_in: 500, fragments_passed_qc: 300, duplicates_removed: 0, adapter_fragments_overlap: 60 }, 0.6));
  assert.deepEqual(bad, { 'read pairs in': 'fail', '% passing QC': 'fail', '% duplicates (of QC-passed)': 'fail', '% fragments with adapter': 'fail' });
  const n = THRESHOLDS.fragmentsWarn - 1;
  const edge = flags(data({ fragments_in: n, fragments_passed_qc: 0.8 * n, duplicates_removed: 0, adapter_fragments_sequence: 0.05 * n }, 0.2));
  assert.deepEqual(edge, { 'read pairs in': 'warn', '% passing QC': 'warn', '% duplicates (of QC-passed)': 'warn', '% fragments with adapter': 'warn' });
  assert.deepEqual(logTicks([1.14, 14.05]), [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500]);
});

test('graph runs: read-group sizes, coverage vs GC and the elbow curve instead of a k-means objective', () => {
  const gdir = tmp.join('graph-cluster');
  const r = cli(['cluster', '--input', join(run, 'prep'), '--output', gdir, '--method', 'graph', '--k', 'auto', '--k-max', '5', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(gdir, 'summary.json'), 'utf8')) as { k: number; method_details: { pooled: { cluster_mean_coverage: number[] } } };
  assert.equal(summary.method_details.pooled.cluster_mean_coverage.length, summary.k, 'one mean coverage per cluster');
  const out = tmp.join('graph.html');
  assert.equal(cli(['report', '--prep', join(run, 'prep'), '--cluster', gdir, '--output', out]).status, 0);
  const html = readFileSync(out, 'utf8');
  const charts = chartsOf(out);
  const ids = charts.map((c) => c.id);
  for (const id of ['group-sizes', 'cluster-coverage-gc', 'k-selection', 'cluster-distance']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  assert.ok(!ids.includes('kmeans-objective'), 'no k-means objective for a graph run');
  assert.match(captionOf(html, 'pca'), /crosses are the cluster centres \(the pooled profile/);
  assert.doesNotMatch(captionOf(html, 'pca'), /k-means/);
  const cov = charts.find((c) => c.id === 'cluster-coverage-gc')!.spec as { data: { values: { coverage: number; gc: number; fragments: number }[] } };
  assert.equal(cov.data.values.length, summary.k);
  assert.ok(cov.data.values.every((v) => v.coverage > 0 && v.gc > 0 && v.fragments > 0));
  const k = charts.find((c) => c.id === 'k-selection')!.spec as { encoding: { y: { field: string } } };
  assert.equal(k.encoding.y.field, 'inertia', 'the elbow curve plots the weighted inertia');
  assert.match(html, /<th>mean coverage<\/th>/);
});

test('charts key on method_details, not on the method name (a new method with the same fields)', () => {
  const cdir = tmp.join('new-method-cluster');
  cpSync(join(run, 'cluster'), cdir, { recursive: true });
  const sumPath = join(cdir, 'summary.json');
  const summary = JSON.parse(readFileSync(sumPath, 'utf8')) as Record<string, unknown>;
  summary.method = 'depth-aware';
  summary.k_selection = { method: 'given' };
  summary.method_details = {
    fragments_by_group_size: { '1': 600, '2-4': 400, '5-19': 200, '20-99': 0, '100-999': 0, '1000+': 0 },
    pooled: { cluster_mean_coverage: [2.5, 7, 30] },
    k_selection: { method: 'elbow', k: 3, reason: 'test', scores: [2, 3, 4].map((k) => ({ k, score: 10 / k, inertia: 10 / k, gain: 0.1 })) },
  };
  writeFileSync(sumPath, JSON.stringify(summary));
  const out = tmp.join('new-method.html');
  const r = cli(['report', '--prep', join(run, 'prep'), '--cluster', cdir, '--output', out]);
  assert.equal(r.status, 0, r.stderr);
  const charts = chartsOf(out);
  const ids = charts.map((c) => c.id);
  for (const id of ['group-sizes', 'cluster-coverage-gc', 'k-selection']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  assert.ok(!ids.includes('kmeans-objective'));
  const cov = (charts.find((c) => c.id === 'cluster-coverage-gc')!.spec as { data: { values: { coverage: number }[] } }).data.values;
  assert.deepEqual(cov.map((v) => v.coverage), [2.5, 7, 30]);
  const groups = (charts.find((c) => c.id === 'group-sizes')!.spec as { data: { values: { size: string; fragments: number }[] } }).data.values;
  assert.deepEqual(groups.slice(0, 3).map((g) => [g.size, g.fragments]), [['1', 600], ['2-4', 400], ['5-19', 200]]);
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
