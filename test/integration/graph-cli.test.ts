import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLabelsParquet } from '../../src/io/labels.js';
import { openDuckDB, sqlString } from '../../src/io/duckdb.js';
import { randomSeq, rng, runCli, TempDir } from '../helpers/fixtures.js';
import { simulatePairs, toFastq } from '../helpers/community.js';

/** Three genomes of distinct composition and coverage, their reads, and the genomes as FASTA references. */
const tmp = new TempDir();
after(() => tmp.remove());
const r = rng(41);
const genomes = [randomSeq(30_000, r, 0.33), randomSeq(30_000, r, 0.5), randomSeq(30_000, r, 0.66)];
const names = ['lowgc', 'midgc', 'highgc'];
const sim = simulatePairs(genomes, [8, 4, 12], 41);
const fq = toFastq(sim);
const r1 = tmp.file('r1.fq.gz', fq.r1, true);
const r2 = tmp.file('r2.fq.gz', fq.r2, true);
const refs = genomes.map((g, i) => tmp.file(`${names[i]}.fa`, `>${names[i]} contig1\n${g.slice(0, 15_000)}\n>${names[i]} contig2\n${g.slice(15_000)}\n`));
const prep = tmp.join('prep');
const prepRun = runCli(['prep', '--input', r1, '--input2', r2, '--output', prep, '--quiet', '--rows-per-shard', '2000']);

test('prep stores the minimizer sketch (column and manifest)', () => {
  assert.equal(prepRun.status, 0, prepRun.stderr);
  const m = JSON.parse(readFileSync(join(prep, 'manifest.json'), 'utf8')) as { sketch: { k: number; w: number; column: string }; shard_schema: Record<string, string> };
  assert.equal(m.sketch.k, 21);
  assert.equal(m.sketch.w, 12);
  assert.equal(m.shard_schema.minimizers, 'UBIGINT[]');
});

test('cluster --method graph --references: K auto, clusters named after the genomes', async () => {
  const out = tmp.join('graph');
  const c = runCli(['cluster', '--input', prep, '--output', out, '--method', 'graph', '--references', ...refs, '--json', '--quiet']);
  assert.equal(c.status, 0, c.stderr);
  const s = JSON.parse(c.stdout) as { k: number; method: string; cluster_names: string[]; cluster_naming: { name: string; distance: number }[]; method_details: { graph: { edges: number } } };
  assert.equal(s.method, 'graph');
  assert.equal(s.k, 3);
  assert.ok(s.method_details.graph.edges > 0);
  assert.deepEqual([...s.cluster_names].sort(), [...names].sort());
  assert.ok(s.cluster_naming.every((x) => x.distance >= 0));
  const labels = await readLabelsParquet(join(out, 'labels.parquet'));
  const idx = new Map(fq.ids.map((id, i) => [id, i]));
  let right = 0;
  const db = await openDuckDB();
  try {
    const rows = (await db.conn.runAndReadAll(`SELECT read_id, taxon FROM read_parquet(${sqlString(join(out, 'labels.parquet'))})`)).getRows();
    assert.equal(rows.length, labels.readIds.length);
    for (const [id, taxon] of rows) if (taxon === names[sim.source[idx.get(id as string)!]!]) right++;
  } finally {
    db.close();
  }
  assert.ok(right / labels.readIds.length > 0.97, `${right} of ${labels.readIds.length} reads named after their genome`);
});

test('cluster --method graph: same seed, identical labels file content', async () => {
  const a = runCli(['cluster', '--input', prep, '--output', tmp.join('g1'), '--method', 'graph', '--k', '3', '--seed', '5', '--quiet']);
  const b = runCli(['cluster', '--input', prep, '--output', tmp.join('g2'), '--method', 'graph', '--k', '3', '--seed', '5', '--quiet', '--threads', '1']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  const la = await readLabelsParquet(tmp.join('g1/labels.parquet'));
  const lb = await readLabelsParquet(tmp.join('g2/labels.parquet'));
  assert.deepEqual(la.clusters, lb.clusters);
});

test('cluster --method lsh runs end to end', () => {
  const c = runCli(['cluster', '--input', prep, '--output', tmp.join('lsh'), '--method', 'lsh', '--k', '3', '--json', '--quiet']);
  assert.equal(c.status, 0, c.stderr);
  const s = JSON.parse(c.stdout) as { k: number; method_details: { lsh: { buckets: number } } };
  assert.equal(s.k, 3);
  assert.ok(s.method_details.lsh.buckets > 1);
});

test('graph on a run without a sketch, bad references: clear errors', () => {
  const p2 = tmp.join('prep-nosketch');
  assert.equal(runCli(['prep', '--input', r1, '--input2', r2, '--output', p2, '--quiet', '--no-sketch', '--no-correct']).status, 0);
  const c = runCli(['cluster', '--input', p2, '--output', tmp.join('x'), '--method', 'graph', '--quiet']);
  assert.equal(c.status, 2);
  // graph is the default method: the message names the methods that run without the sketch
  assert.match(c.stderr, /needs the minimizer sketch, .*or cluster with --method kmeans or lsh\)$/m);
  const fastqRef = runCli(['cluster', '--input', prep, '--output', tmp.join('y'), '--method', 'graph', '--references', r1, '--quiet']);
  assert.equal(fastqRef.status, 1);
  assert.match(fastqRef.stderr, /r1\.fq\.gz: a reference must be FASTA/);
  assert.equal(runCli(['cluster', '--input', prep, '--output', tmp.join('z'), '--method', 'spectral']).status, 2);
});
