// --method graph and --method lsh on the mpi engine (real OpenMPI, 2 ranks; and through sbatch on a real
// single-node Slurm) against the local engine on the same prep output.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, randomSeq, rng, runCli, TempDir } from '../helpers/fixtures.js';
import { simulatePairs, toFastq, type SimPairs } from '../helpers/community.js';
import { requireTool } from '../helpers/tools.js';
import { assertSameLabelsAndCentroids, killRankOneWhen, mpiCluster, mpiReady, TestSlurm } from '../helpers/mpi.js';
import { readLabelsParquet } from '../../src/io/labels.js';
import { evaluateClustering } from '../../src/evaluate/metrics.js';

const tmp = new TempDir();
const slurm = new TestSlurm(tmp.join('slurm'), 40000);
after(() => {
  slurm.stop();
  tmp.remove();
});
const prep = tmp.join('prep');
const names = ['lowgc', 'midgc', 'highgc'];
const refs: string[] = [];
/** genome of each read, by read id */
const truth = new Map<string, number>();

before(() => {
  // Three 60 kb genomes at 10x, 6x and 14x: 9,000 pairs = 3 blocks of 4096 rows, in shuffled order so that
  // overlapping reads sit on different ranks; 2,500-row shards, so rank 1's rows start inside a shard.
  const r = rng(41);
  const genomes = [randomSeq(60_000, r, 0.33), randomSeq(60_000, r, 0.5), randomSeq(60_000, r, 0.66)];
  const sim = simulatePairs(genomes, [10, 6, 14], 41);
  const order = sim.r1.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const shuffled: SimPairs = { r1: order.map((i) => sim.r1[i]!), r2: order.map((i) => sim.r2[i]!), source: order.map((i) => sim.source[i]!) };
  const fq = toFastq(shuffled);
  fq.ids.forEach((id, i) => truth.set(id, shuffled.source[i]!));
  const r1 = tmp.file('r1.fq', fq.r1);
  const r2 = tmp.file('r2.fq', fq.r2);
  genomes.forEach((g, i) => refs.push(tmp.file(`${names[i]}.fa`, `>${names[i]}\n${g}\n`)));
  const p = runCli(['prep', '--input', r1, '--input2', r2, '--output', prep, '--rows-per-shard', '2500', '--correct', '--quiet']);
  assert.equal(p.status, 0, p.stderr);
});


interface Traffic { sent: number; received: number; calls: number }
interface Summary {
  k: number; inertia: number; cluster_sizes: number[]; cluster_names?: string[];
  engine?: { name: string; ranks?: number };
  method_details: Record<string, Record<string, unknown>> & { graph_lpa?: string; mpi?: { ranks: { rank: number; rows: number[]; traffic: Record<string, Traffic> }[] } };
}

/** The local engine's labels, distances, centroids, K, sizes, names and method details (except timings and memory). */
async function assertSameResult(localDir: string, mpiDir: string): Promise<void> {
  const a = JSON.parse(readFileSync(join(localDir, 'summary.json'), 'utf8')) as Summary;
  const b = JSON.parse(readFileSync(join(mpiDir, 'summary.json'), 'utf8')) as Summary;
  assert.equal(b.k, a.k);
  assert.deepEqual(b.cluster_sizes, a.cluster_sizes);
  assert.equal(b.inertia, a.inertia); // the pooled groups' sums are bit for bit the local ones
  assert.deepEqual(b.cluster_names, a.cluster_names);
  for (const key of ['graph', 'lsh', 'pooled', 'fragments_by_group_size']) {
    const strip = (x: Record<string, unknown> | undefined) => {
      if (!x) return x;
      const { seconds: _s, build_bytes: _b, build_bytes_per_fragment: _f, ...rest } = x;
      return rest;
    };
    assert.deepEqual(strip(b.method_details[key]), strip(a.method_details[key]), key);
  }
  // centroids: cluster sums of rank partials added in rank order (docs/hpc.md: could differ in a float32 ulp in
  // rare runs; identical here)
  await assertSameLabelsAndCentroids(localDir, mpiDir);
}

for (const [name, extra] of [
  ['graph, K auto, clusters named after references', ['--method', 'graph', '--target-coverage', '0', '--k', 'auto', '--references']],
  ['graph with a tight degree cap and low occurrence limit', ['--method', 'graph', '--target-coverage', '0', '--k', '3', '--max-degree', '4', '--max-occurrence', '20', '--min-shared', '2', '--seed', '7']],
  ['lsh, K=3', ['--method', 'lsh', '--k', '3', '--seed', '2']],
  // every exchange in rounds of at most 4 KiB per call (the path that lifts MPI's 2 GiB per-call limit)
  ['graph, exchanges chunked into 4 KiB calls', ['--method', 'graph', '--target-coverage', '0', '--k', '3', '--seed', '11']],
] as const) {
  test(`mpi engine, 2 ranks, ${name}: the local engine's result`, async (t) => {
    if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
    const tag = name.replace(/\W+/g, '-');
    const args = extra.at(-1) === '--references' ? [...extra, ...refs] : [...extra];
    const local = runCli(['cluster', '--input', prep, '--output', tmp.join(`local-${tag}`), '--threads', '2', '--quiet', ...args]);
    assert.equal(local.status, 0, local.stderr);
    const r = mpiCluster(prep, 2, tmp.join(`mpi-${tag}`), args, name.includes('chunked') ? { METAVEC_MPI_CHUNK_BYTES: '4096' } : {});
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Summary;
    assert.deepEqual({ name: s.engine?.name, ranks: s.engine?.ranks }, { name: 'mpi', ranks: 2 });
    await assertSameResult(tmp.join(`local-${tag}`), tmp.join(`mpi-${tag}`));
    if (args.includes('--references')) assert.deepEqual([...s.cluster_names!].sort(), [...names].sort());
    // every rank reports its rows and traffic; what one rank sent the other received
    const ranks = s.method_details.mpi!.ranks;
    assert.equal(ranks.length, 2);
    assert.deepEqual([ranks[0]!.rows[0], ranks[0]!.rows[1]], [0, ranks[1]!.rows[0]]);
    assert.equal(ranks[1]!.rows[1], s.cluster_sizes.reduce((x, y) => x + y, 0));
    const phase = extra[1] === 'graph' ? 'postings' : 'lsh-signatures';
    assert.ok(ranks[1]!.traffic[phase]!.sent > 0);
    // chunked: the postings of a rank (~1.5 MB) take hundreds of 4 KiB rounds instead of one call
    if (name.includes('chunked')) assert.ok(ranks[0]!.traffic.postings!.calls > 100, JSON.stringify(ranks[0]!.traffic.postings));
    for (const ph of Object.keys(ranks[0]!.traffic)) {
      if (ph === 'report') continue;
      assert.equal(ranks[0]!.traffic[ph]!.sent, ranks[1]!.traffic[ph]!.received, ph);
      assert.equal(ranks[1]!.traffic[ph]!.sent, ranks[0]!.traffic[ph]!.received, ph);
    }
  });
}

interface RankReport { rank: number; shards: [number, number]; fragments: number; subset_fragments: number; labels_parts: number; traffic: Record<string, Traffic> }

test('mpi engine, 2 ranks, the default method (coverage-normalised graph): the local engine\'s labels; each rank read its own shards and wrote their labels parts', async (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  // no --method, no --target-coverage: the default; --references names the clusters on rank 0 as on the local engine
  const args = ['--seed', '5', '--references', ...refs];
  const localDir = tmp.join('local-normalized');
  const local = runCli(['cluster', '--input', prep, '--output', localDir, '--quiet', ...args]);
  assert.equal(local.status, 0, local.stderr);
  const out = tmp.join('mpi-normalized');
  const r = mpiCluster(prep, 2, out, args);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  assert.deepEqual({ name: s.engine?.name, ranks: s.engine?.ranks }, { name: 'mpi', ranks: 2 });
  const a = JSON.parse(readFileSync(join(localDir, 'summary.json'), 'utf8')) as Summary;
  assert.equal(s.k, a.k);
  assert.deepEqual(s.cluster_sizes, a.cluster_sizes);
  assert.equal(s.inertia, a.inertia);
  assert.deepEqual(s.cluster_names, a.cluster_names);
  const strip = (x: Record<string, unknown> | undefined) => {
    if (!x) return x;
    const { seconds: _s, build_bytes: _b, build_bytes_per_fragment: _f, ...rest } = x;
    return rest;
  };
  for (const key of ['normalization', 'graph', 'pooled', 'fragments_by_group_size']) assert.deepEqual(strip(s.method_details[key]), strip(a.method_details[key]), key);
  const n = s.cluster_sizes.reduce((x, y) => x + y, 0);
  const norm = s.method_details.normalization as { subset_fragments: number; assigned: Record<string, number> };
  // the 14x genome is subsampled: its other fragments are labelled through the minimizer index
  assert.ok(norm.subset_fragments < n && norm.assigned.minimizer_index! > 0, JSON.stringify(norm));
  await assertSameLabelsAndCentroids(localDir, out);
  // 4 shards of 2,500 rows (the last one shorter): rank 0 read shards 0-1, rank 1 shards 2-3, and each labelled and wrote its own
  const ranks = (s.method_details.mpi as unknown as { ranks: RankReport[] }).ranks;
  assert.deepEqual(ranks.map((x) => [x.rank, ...x.shards, x.fragments, x.labels_parts]), [[0, 0, 2, 5000, 2], [1, 2, 4, n - 5000, 2]]);
  assert.equal(ranks[0]!.subset_fragments + ranks[1]!.subset_fragments, norm.subset_fragments);
  assert.ok(ranks[1]!.traffic['coverage-table']!.sent > 0 && ranks[1]!.traffic['subset-gather']!.sent > 0 && ranks[1]!.traffic['labels-parts']!.sent > 0);
  for (const ph of Object.keys(ranks[0]!.traffic)) {
    if (ph === 'report') continue;
    assert.equal(ranks[0]!.traffic[ph]!.sent, ranks[1]!.traffic[ph]!.received, ph);
    assert.equal(ranks[1]!.traffic[ph]!.sent, ranks[0]!.traffic[ph]!.received, ph);
  }
  // every exchange in rounds of at most 4 KiB per call, the labels parts one per round: the same labels
  const chunked = tmp.join('mpi-normalized-chunked');
  const c = mpiCluster(prep, 2, chunked, args, { METAVEC_MPI_CHUNK_BYTES: '4096' });
  assert.equal(c.status, 0, c.stderr);
  await assertSameLabelsAndCentroids(localDir, chunked);
  const cr = ((JSON.parse(c.stdout) as Summary).method_details.mpi as unknown as { ranks: RankReport[] }).ranks;
  assert.ok(cr[1]!.traffic['subset-gather']!.calls > 100, JSON.stringify(cr[1]!.traffic['subset-gather']));
  assert.ok(cr[1]!.traffic['labels-parts']!.calls > ranks[1]!.traffic['labels-parts']!.calls, JSON.stringify(cr[1]!.traffic['labels-parts']));
});

test('mpi engine, the default method: a rank killed while the job runs fails it and leaves no summary.json', async (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  const out = tmp.join('killed-normalized');
  // rank 0 logs this line before pass 1; rank 1 cannot finish before rank 0 has clustered the subset
  const { code, stderr, killed } = await killRankOneWhen(['--input', prep, '--output', out], /coverage of \d+ fragments .* over 2 ranks/);
  assert.ok(killed, `the passes were never seen starting:\n${stderr}`);
  assert.notEqual(code, 0);
  assert.match(stderr, /rank 1 .*(exited on signal 9|killed)/i);
  assert.equal(existsSync(join(out, 'summary.json')), false, 'summary.json must not exist after a failed job');
});

test('--lpa distributed applies to --target-coverage 0 only', () => {
  const r = runCli(['cluster', '--engine', 'mpi', '--input', prep, '--output', tmp.join('lpa-normalized'), '--lpa', 'distributed']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^metavec: error: cluster: --lpa distributed applies to the graph of every fragment \(--target-coverage 0\)/m);
});

test('mpi engine, graph: a rank killed during the build fails the job and leaves no summary.json', async (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  const out = tmp.join('killed');
  // rank 0 logs this line as the distributed build starts; rank 1 cannot finish before rank 0 has clustered
  const { code, stderr, killed } = await killRankOneWhen(['--input', prep, '--output', out, '--method', 'graph', '--target-coverage', '0', '--k', 'auto'], /overlap graph of \d+ fragments over 2 rank/);
  assert.ok(killed, `the build was never seen starting:\n${stderr}`);
  assert.notEqual(code, 0);
  assert.match(stderr, /rank 1 .*(exited on signal 9|killed)/i);
  assert.equal(existsSync(join(out, 'summary.json')), false, 'summary.json must not exist after a failed job');
});

test('mpi engine, 2 ranks, --lpa distributed: no graph on rank 0, label propagation over the ranks, the genomes found', async (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  const out = tmp.join('mpi-lpa-distributed');
  const r = mpiCluster(prep, 2, out, ['--method', 'graph', '--target-coverage', '0', '--k', 'auto', '--lpa', 'distributed']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  assert.match(s.method_details.graph_lpa ?? '', /^distributed/);
  assert.equal(s.k, 3);
  for (const x of s.method_details.mpi!.ranks) {
    assert.equal(x.traffic['graph-gather'], undefined, 'the capped graph is not gathered');
    assert.ok(x.traffic['lpa-sweeps']!.sent > 0 && x.traffic['merge-links']!.calls > 0);
  }
  // labels are not the local engine's (another visiting order), but the genomes are separated: ARI vs the truth
  const l = await readLabelsParquet(join(out, 'labels.parquet'));
  const m = evaluateClustering(l.clusters, Int32Array.from(l.readIds, (id) => truth.get(id)!));
  assert.ok(m.ari > 0.95, `ARI ${m.ari}`);
});

test('--lpa distributed needs --method graph on the mpi or slurm engine', () => {
  const r = runCli(['cluster', '--input', prep, '--output', tmp.join('lpa-local'), '--method', 'graph', '--target-coverage', '0', '--lpa', 'distributed']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^metavec: error: cluster: --lpa distributed applies to --method graph on --engine mpi or slurm$/m);
});

test('--engine slurm --dry-run passes the graph options to the ranks', () => {
  const r = runCli(['cluster', '--engine', 'slurm', '--input', prep, '--output', tmp.join('dry'), '--method', 'graph', '--target-coverage', '0', '--max-degree', '9', '--merge-floor', '0.05',
    '--lpa', 'distributed', '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, / cluster --engine mpi .* --method graph .* --max-degree 9 .* --merge-floor 0\.05 .* --lpa distributed/);
});

test('--engine slurm, the default method: sbatch + srun, 2 ranks, the local engine\'s result', async (t) => {
  if (!requireTool(t, slurm.up(), 'single-node Slurm (slurm-wlm; scripts/slurm.sh start) + MPI binding')) return;
  // the default method (coverage-normalised graph); --target-coverage 0 on the ranks is covered by the mpirun tests
  const extra = ['--k', 'auto', '--references', ...refs];
  const local = tmp.join('local-slurm-graph');
  assert.equal(runCli(['cluster', '--input', prep, '--output', local, '--quiet', ...extra]).status, 0);
  const r = spawnSync(process.execPath, [CLI, 'cluster', '--engine', 'slurm', '--ranks', '2', '--input', prep, '--output', tmp.join('slurm-graph'), '--json', ...extra], {
    encoding: 'utf8', env: { ...process.env, SLURM_CONF: slurm.conf ?? '' }, timeout: 240_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  assert.equal(s.engine?.name, 'slurm+mpi');
  assert.match(r.stderr, /coverage of \d+ fragments .* over 2 ranks/);
  await assertSameResult(local, tmp.join('slurm-graph'));
});
