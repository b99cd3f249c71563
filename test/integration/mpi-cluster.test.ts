// The mpi engine under a real OpenMPI (mpirun, 2 ranks) against the local engine on the same prep output.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, makePairs, runCli, TempDir } from '../helpers/fixtures.js';
import { requireTool } from '../helpers/tools.js';
import {
  assertSameLabelsAndCentroids, killRankOneWhen, MPI_ENV, mpiCluster as runMpiCluster, mpiReady, mpirunArgs, TestSlurm,
} from '../helpers/mpi.js';
import { S3TestServer } from '../helpers/s3.js';
import { assertGoldenCluster, assertGoldenPrep, cli, goldenClusterArgs, goldenParams, goldenPrepArgs, GOLDEN_METHODS } from '../helpers/golden.js';

const tmp = new TempDir();
// The test's own Slurm (scripts/slurm.sh), on ports away from a Slurm the machine may run.
const slurm = new TestSlurm(tmp.join('slurm'), 20000);
after(() => {
  // daemons first (their PID files are in tmp), then the files
  slurm.stop();
  tmp.remove();
});
const prep = tmp.join('prep');

before(() => {
  // 9000 fragments = 3 blocks of 4096 rows; 2500-row shards, so rank 1's range starts inside a shard.
  const fx = makePairs(9000, 11, { genomes: 4 });
  const r1 = tmp.file('r1.fq', fx.r1);
  const r2 = tmp.file('r2.fq', fx.r2);
  const r = runCli(['prep', '--input', r1, '--input2', r2, '--output', prep, '--rows-per-shard', '2500', '--no-dedup', '--correct', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
});

const mpiCluster = (ranks: number, out: string, extra: string[]) => runMpiCluster(prep, ranks, out, ['--method', 'kmeans', ...extra]);

interface Summary { k: number; iterations: number; inertia: number; cluster_sizes: number[]; fragments: number; engine?: { name: string; ranks?: number } }

/** Same labels, distances and centroids; the same K, iterations and sizes; inertia within 1e-12 relative. */
async function assertSameResult(localDir: string, mpiDir: string, a: Summary, b: Summary): Promise<void> {
  assert.equal(b.k, a.k);
  assert.equal(b.iterations, a.iterations);
  assert.deepEqual(b.cluster_sizes, a.cluster_sizes);
  // Rank partial sums are added in rank order instead of block by block: float64 sums may differ in the
  // last bits (docs/hpc.md); everything derived after float32 rounding is identical in practice.
  assert.ok(Math.abs(b.inertia - a.inertia) <= 1e-12 * a.inertia, `inertia ${b.inertia} vs ${a.inertia}`);
  await assertSameLabelsAndCentroids(localDir, mpiDir);
}

for (const [name, extra] of [
  ['k-means++ / Lloyd, K=4', ['--k', '4', '--seed', '3']],
  ['k-means|| / mini-batch, K=6', ['--k', '6', '--seed', '5', '--init', 'k-means||', '--algorithm', 'minibatch', '--batch-size', '1000', '--n-init', '2']],
  ['K chosen automatically (gap statistic, jobs spread over ranks)', ['--k', 'auto', '--k-min', '3', '--k-max', '4', '--n-init', '1']],
] as const) {
  test(`mpi engine, 2 ranks, gives the local engine's result: ${name}`, async (t) => {
    if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
    const tag = name.replace(/\W+/g, '-');
    const local = runCli(['cluster', '--method', 'kmeans', '--input', prep, '--output', tmp.join(`local-${tag}`), '--threads', '2', '--quiet', '--json', ...extra]);
    assert.equal(local.status, 0, local.stderr);
    const mpi = mpiCluster(2, tmp.join(`mpi-${tag}`), [...extra]);
    assert.equal(mpi.status, 0, mpi.stderr);
    // one JSON report per job (rank 0's)
    const b = JSON.parse(mpi.stdout) as Summary;
    assert.deepEqual({ name: b.engine?.name, ranks: b.engine?.ranks }, { name: 'mpi', ranks: 2 });
    await assertSameResult(tmp.join(`local-${tag}`), tmp.join(`mpi-${tag}`), JSON.parse(local.stdout) as Summary, b);
  });
}

test('a rank killed mid-job fails the job with a message and leaves no summary.json', async (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  const out = tmp.join('killed');
  // long enough to be killed while iterating: many restarts, no tolerance
  const { code, stderr, killed } = await killRankOneWhen(['--method', 'kmeans', '--input', prep, '--output', out, '--k', '8', '--n-init', '1000', '--tol', '0'], /k-means K=8/);
  assert.ok(killed, `rank 1 was never seen iterating:\n${stderr}`);
  assert.notEqual(code, 0);
  assert.match(stderr, /rank 1 .*(exited on signal 9|killed)/i);
  assert.equal(existsSync(join(out, 'summary.json')), false, 'summary.json must not exist after a failed job');
});

// The golden corpus (test/golden/, the local engine's outputs) through the mpi engine, k-means and the default
// method: the same labels, distances and cluster sizes. Its 855 fragments are one 4096-row block, and the mpi engine gives each rank whole blocks,
// so this runs 1 rank (the engine's read / collectives / write path under mpirun); the 2-rank agreement with
// the local engine is the tests above, on 9000 fragments.
const goldenPrep = tmp.join('golden-prep');
function makeGoldenPrep(): void {
  if (!existsSync(join(goldenPrep, 'manifest.json'))) cli(['prep', ...goldenPrepArgs(goldenPrep), '--threads', '2', '--quiet']);
}

test('mpi engine (mpirun, 1 rank) on the golden corpus gives test/golden\'s labels (k-means and the default method)', async (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  makeGoldenPrep();
  for (const method of GOLDEN_METHODS) {
    const out = tmp.join(`golden-mpi-${method}`);
    const r = runMpiCluster(goldenPrep, 1, out, goldenParams().cluster[method]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Summary).engine?.name, 'mpi');
    await assertGoldenCluster(out, method, `cluster (${method}) --engine mpi (mpirun -n 1)`);
  }
});

test('--engine mpi without the binding: one clear line, exit 2', () => {
  const r = spawnSync(process.execPath, [CLI, 'cluster', '--method', 'kmeans', '--engine', 'mpi', '--input', prep, '--output', tmp.join('nobinding'), '--k', '2'], {
    encoding: 'utf8', env: { ...process.env, METAVEC_MPI_ADDON: tmp.join('missing/metavec_mpi.node') },
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^metavec: error: mpi: the MPI binding is not built \(.*missing\/metavec_mpi\.node missing\): install an MPI/);
});

// ---- --engine slurm: a real single-node Slurm (scripts/slurm.sh) running the mpi engine under srun --mpi=pmix

const slurmUp = (): boolean => slurm.up();

function slurmCluster(out: string, extra: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'cluster', '--method', 'kmeans', '--engine', 'slurm', '--ranks', '2', '--input', prep, '--output', out, '--json', ...extra], {
    encoding: 'utf8', env: { ...process.env, SLURM_CONF: slurm.conf ?? '' }, timeout: 240_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('--engine slurm --dry-run prints the batch script (no Slurm needed)', () => {
  const r = runCli(['cluster', '--method', 'kmeans', '--engine', 'slurm', '--input', prep, '--output', tmp.join('dry'), '--k', '4', '--ranks', '8', '--nodes', '2',
    '--time', '02:00:00', '--gpus', '1', '--module', 'openmpi/4.1', '--module', 'nodejs', '--partition', 'compute', '--job-name', 'mv', '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  for (const l of ['#!/bin/bash', '#SBATCH --job-name=mv', '#SBATCH --ntasks=8', '#SBATCH --nodes=2', '#SBATCH --time=02:00:00', '#SBATCH --partition=compute',
    '#SBATCH --gres=gpu:1', 'module load openmpi/4.1', 'module load nodejs', `#SBATCH --output=${tmp.join('dry')}/slurm/mv-%j.log`]) {
    assert.ok(lines.includes(l), `missing line '${l}' in:\n${r.stdout}`);
  }
  assert.match(r.stdout, /^srun --mpi=pmix --kill-on-bad-exit=1 \S+node\S* \S+main\.js cluster --engine mpi --input \S+ --output \S+ --method kmeans --k 4 /m);
  assert.equal(existsSync(tmp.join('dry')), false, 'a dry run writes nothing');
  const bad = runCli(['cluster', '--method', 'kmeans', '--engine', 'slurm', '--input', prep, '--output', tmp.join('dry'), '--time', 'soon', '--dry-run']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /slurm: --time must look like/);
});

test('--engine slurm: sbatch + srun --mpi=pmix, 2 ranks, same result as the local engine; log streamed', async (t) => {
  if (!requireTool(t, slurmUp(), 'single-node Slurm (slurm-wlm; scripts/slurm.sh start) + MPI binding')) return;
  const extra = ['--k', '4', '--seed', '3'];
  const local = tmp.join('local-k-means-Lloyd-K-4');
  if (!existsSync(join(local, 'summary.json'))) {
    assert.equal(runCli(['cluster', '--method', 'kmeans', '--input', prep, '--output', local, '--quiet', ...extra]).status, 0);
  }
  const r = slurmCluster(tmp.join('slurm-ok'), extra);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary & { engine: { name: string; job_id: string } };
  assert.equal(s.engine.name, 'slurm+mpi');
  assert.match(r.stderr, new RegExp(`submitted slurm job ${s.engine.job_id} `));
  assert.match(r.stderr, /mpi rank 1\/2 pid \d+/); // the job's log, streamed
  assert.match(r.stderr, new RegExp(`slurm job ${s.engine.job_id} COMPLETED`));
  assert.ok(existsSync(tmp.join('slurm-ok/slurm/cluster.sbatch')));
  await assertSameResult(local, tmp.join('slurm-ok'), JSON.parse(readFileSync(join(local, 'summary.json'), 'utf8')) as Summary, s);
});

test('--engine slurm: a failing job is reported with its state and log, and leaves no summary.json', (t) => {
  if (!requireTool(t, slurmUp(), 'single-node Slurm (slurm-wlm; scripts/slurm.sh start) + MPI binding')) return;
  const out = tmp.join('slurm-fail');
  const r = slurmCluster(out, ['--k', '100000']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /metavec: error: slurm: job \d+ ended FAILED \(exit \d+:\d+\) without summary\.json; log \S+\.log; last lines:/);
  assert.match(r.stderr, /--k 100000 is larger than the number of fragments \(9000\)/);
  assert.equal(existsSync(join(out, 'summary.json')), false);
});

test('prep --engine slurm: job arrays over slices + merge give the local engine\'s shards, qc_stats and counts', (t) => {
  if (!requireTool(t, slurmUp(), 'single-node Slurm (slurm-wlm; scripts/slurm.sh start) + MPI binding')) return;
  const out = tmp.join('prep-slurm');
  // the local run in before(): same inputs and options; 2 slices of one 8192-fragment batch each
  const r = spawnSync(process.execPath, [CLI, 'prep', '--engine', 'slurm', '--input', tmp.join('r1.fq'), '--input2', tmp.join('r2.fq'), '--output', out,
    '--rows-per-shard', '2500', '--no-dedup', '--correct', '--slice-fragments', '3000', '--json'], {
    encoding: 'utf8', env: { ...process.env, SLURM_CONF: slurm.conf ?? '' }, timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { fragments_out: number; shards: number };
  assert.equal(s.fragments_out, 9000);
  for (const stage of ['spectrum', 'spectrum-merge', 'prep', 'merge']) assert.match(r.stderr, new RegExp(`submitted ${stage} as slurm job \\d+`));
  assert.ok(existsSync(join(out, 'slurm/metavec-prep-slices-' + /submitted prep as slurm job (\d+)/.exec(r.stderr)![1]! + '_1.log')), 'one log per array task');
  const a = JSON.parse(readFileSync(join(prep, 'manifest.json'), 'utf8')) as { counts: unknown; shards: { sha256: string; rows: number }[] };
  const b = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as typeof a;
  assert.deepEqual(b.shards.map((x) => [x.rows, x.sha256]), a.shards.map((x) => [x.rows, x.sha256]));
  assert.deepEqual(b.counts, a.counts);
  assert.ok(readFileSync(join(out, 'qc_stats.json')).equals(readFileSync(join(prep, 'qc_stats.json'))));
  assert.equal(existsSync(join(out, '_prep_work')), false, 'the merge removes the work directory');
});

test('--engine slurm on the golden corpus: prep (job arrays + merge) and cluster (sbatch + srun, 1 rank: one block; k-means and the default method) give test/golden', async (t) => {
  if (!requireTool(t, slurmUp(), 'single-node Slurm (slurm-wlm; scripts/slurm.sh start) + MPI binding')) return;
  const env = { ...process.env, SLURM_CONF: slurm.conf ?? '' };
  const out = tmp.join('golden-slurm-prep');
  // slices of 384 fragments (3 batches of the golden --batch-size 128): 3 array tasks
  cli(['prep', '--engine', 'slurm', ...goldenPrepArgs(out), '--slice-fragments', '384', '--quiet'], env);
  assertGoldenPrep(out, 'prep --engine slurm');
  for (const method of GOLDEN_METHODS) {
    const cl = tmp.join(`golden-slurm-cluster-${method}`);
    cli(['cluster', '--engine', 'slurm', '--ranks', '1', ...goldenClusterArgs(out, cl, method), '--quiet'], env);
    await assertGoldenCluster(cl, method, `cluster (${method}) --engine slurm (srun, 1 rank)`);
  }
});

test('prep --engine slurm: a re-run after a failed run resubmits only the slices without a result and gives the same output', (t) => {
  if (!requireTool(t, slurmUp(), 'single-node Slurm (slurm-wlm; scripts/slurm.sh start) + MPI binding')) return;
  const out = tmp.join('prep-slurm-resume');
  const run = () => spawnSync(process.execPath, [CLI, 'prep', '--engine', 'slurm', '--input', tmp.join('r1.fq'), '--input2', tmp.join('r2.fq'), '--output', out,
    '--rows-per-shard', '2500', '--no-dedup', '--correct', '--slice-fragments', '3000', '--json'], {
    encoding: 'utf8', env: { ...process.env, SLURM_CONF: slurm.conf ?? '' }, timeout: 300_000,
  });
  // the merge job fails (a directory where it writes qc_stats.json) after every slice has its result
  mkdirSync(join(out, 'qc_stats.json', 'x'), { recursive: true });
  const failed = run();
  assert.notEqual(failed.status, 0);
  assert.match(failed.stderr, /slurm: prep merge job \d+ ended FAILED/);
  assert.equal(existsSync(join(out, 'manifest.json')), false);
  const parts = join(out, '_prep_work', 'parts');
  // 2 slices (whole 8192-fragment batches: 8192 + 808 fragments)
  assert.deepEqual(readdirSync(parts).filter((f) => f.startsWith('prep-')).sort(), ['prep-00000.arrow', 'prep-00001.arrow']);
  rmSync(join(out, 'qc_stats.json'), { recursive: true });
  // slice 0's result damaged (as if its disk had lost it): recomputed; slice 1's kept
  writeFileSync(join(parts, 'prep-00000.arrow'), 'not arrow');
  const r = run();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /prep: resume: 1 of 2 slice result\(s\) reused; correction spectrum reused/);
  assert.doesNotMatch(r.stderr, /submitted spectrum/);
  const script = readFileSync(join(out, 'slurm', 'prep-prep.sbatch'), 'utf8');
  assert.match(script, /^#SBATCH --array=0$/m);
  const s = JSON.parse(r.stdout) as { resumed: boolean; resumed_from?: { fragments: number; spectrum: boolean } };
  assert.deepEqual([s.resumed, s.resumed_from?.fragments, s.resumed_from?.spectrum], [true, 808, true]);
  const a = JSON.parse(readFileSync(join(prep, 'manifest.json'), 'utf8')) as { counts: unknown; shards: { sha256: string; rows: number }[] };
  const b = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as typeof a;
  assert.deepEqual(b.shards.map((x) => [x.rows, x.sha256]), a.shards.map((x) => [x.rows, x.sha256]));
  assert.deepEqual(b.counts, a.counts);
  assert.ok(readFileSync(join(out, 'qc_stats.json')).equals(readFileSync(join(prep, 'qc_stats.json'))));
});

test('--engine slurm with s3:// inputs and outputs (prep arrays + merge, then cluster) == local engine; scripts and logs in --work-dir', async (t) => {
  if (!requireTool(t, slurmUp(), 'single-node Slurm (slurm-wlm; scripts/slurm.sh start) + MPI binding')) return;
  const server = await S3TestServer.startFor(t);
  if (!server) return;
  try {
    await server.createBucket('slurm-s3');
    await server.upload('slurm-s3', { 'in/r1.fq': tmp.join('r1.fq'), 'in/r2.fq': tmp.join('r2.fq') });
    // keys in the submitting environment, as sbatch passes it on (--export=ALL); on ParallelCluster: the nodes' role
    const env = { ...server.env(), SLURM_CONF: slurm.conf ?? '' };
    const run = (args: string[]) => {
      const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8', env, timeout: 300_000 });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const work = tmp.join('s3-work');
    const p = run(['prep', '--engine', 'slurm', '--input', 's3://slurm-s3/in/r1.fq', '--input2', 's3://slurm-s3/in/r2.fq', '--output', 's3://slurm-s3/prep',
      '--work-dir', work, '--rows-per-shard', '2500', '--no-dedup', '--correct', '--slice-fragments', '3000']);
    assert.equal(p.status, 0, p.stderr);
    // the local run in before(): same inputs and options
    const a = JSON.parse(readFileSync(join(prep, 'manifest.json'), 'utf8')) as { counts: unknown; shards: { path: string; sha256: string; rows: number }[] };
    const b = JSON.parse(readFileSync(server.objectPath('slurm-s3', 'prep/manifest.json'), 'utf8')) as typeof a;
    assert.deepEqual(b.shards.map((x) => [x.rows, x.sha256]), a.shards.map((x) => [x.rows, x.sha256]));
    assert.deepEqual(b.counts, a.counts);
    for (const f of ['qc_stats.json', ...a.shards.map((x) => x.path)]) assert.ok(readFileSync(server.objectPath('slurm-s3', `prep/${f}`)).equals(readFileSync(join(prep, f))), f);
    assert.equal(existsSync(join(work, '_prep_work')), false, 'the merge removes the work directory');
    assert.ok(!existsSync(server.objectPath('slurm-s3', 'prep/slurm')), 'scripts and logs are not uploaded');
    const script = readFileSync(join(work, 'slurm/prep-prep.sbatch'), 'utf8');
    assert.match(script, new RegExp(`^export AWS_ENDPOINT_URL_S3=${server.endpoint.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.ok(!script.includes(server.secretKey) && !script.includes(server.accessKey), 'no credentials in the batch scripts');

    const extra = ['--k', '4', '--seed', '3'];
    const local = tmp.join('local-k-means-Lloyd-K-4');
    if (!existsSync(join(local, 'summary.json'))) assert.equal(runCli(['cluster', '--method', 'kmeans', '--input', prep, '--output', local, '--quiet', ...extra]).status, 0);
    const c = run(['cluster', '--method', 'kmeans', '--engine', 'slurm', '--ranks', '2', '--input', 's3://slurm-s3/prep', '--output', 's3://slurm-s3/cluster', '--work-dir', tmp.join('s3-work-c'), ...extra]);
    assert.equal(c.status, 0, c.stderr);
    const s = JSON.parse(c.stdout) as Summary;
    assert.equal(s.engine?.name, 'slurm+mpi');
    assert.ok(existsSync(tmp.join('s3-work-c/slurm/cluster.sbatch')));
    await assertSameResult(local, server.objectPath('slurm-s3', 'cluster'), JSON.parse(readFileSync(join(local, 'summary.json'), 'utf8')) as Summary, s);

    // clear errors before anything is queued: no --work-dir for an S3 output, a bucket that does not exist
    const nw = run(['prep', '--engine', 'slurm', '--input', 's3://slurm-s3/in/r1.fq', '--output', 's3://slurm-s3/x']);
    assert.equal(nw.status, 2);
    assert.match(nw.stderr, /^metavec: error: prep: --engine slurm with an s3:\/\/ --output needs --work-dir DIR on the shared filesystem/m);
    const nb = run(['cluster', '--method', 'kmeans', '--engine', 'slurm', '--input', 's3://slurm-s3/prep', '--output', 's3://no-such-bucket-slurm/c', '--work-dir', tmp.join('w2'), '--k', '2']);
    assert.equal(nb.status, 1);
    assert.match(nb.stderr, /^metavec: error: s3: s3:\/\/no-such-bucket-slurm\/c: bucket 'no-such-bucket-slurm' does not exist$/m);
  } finally {
    server.dispose();
  }
});

test('mpi engine: more ranks than 4096-row blocks is refused with the maximum', (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  const r = mpiCluster(4, tmp.join('too-many'), ['--k', '3']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /metavec: error: mpi: 9000 fragments make 3 block\(s\) of 4096 rows, fewer than the 4 ranks: run with at most 3 rank\(s\)/);
  assert.equal(existsSync(tmp.join('too-many/summary.json')), false);
});

test('mpi engine: a rank with worker threads (1 rank x 2 threads) gives the local engine\'s result', async (t) => {
  if (!requireTool(t, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
  const extra = ['--k', '4', '--seed', '3'];
  const local = tmp.join('local-threads');
  const a = runCli(['cluster', '--method', 'kmeans', '--input', prep, '--output', local, '--threads', '1', '--quiet', '--json', ...extra]);
  assert.equal(a.status, 0, a.stderr);
  // --bind-to none: mpirun would otherwise bind the rank to one core (and the rank then uses one thread)
  const r = spawnSync('mpirun', [...mpirunArgs(1), '--bind-to', 'none', process.execPath, CLI, 'cluster', '--method', 'kmeans', '--engine', 'mpi', '--input', prep,
    '--output', tmp.join('mpi-threads'), '--threads', '2', '--json', ...extra], { encoding: 'utf8', env: MPI_ENV, timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 MPI rank\(s\) x 2 thread\(s\)/);
  await assertSameResult(local, tmp.join('mpi-threads'), JSON.parse(a.stdout) as Summary, JSON.parse(r.stdout) as Summary);
});
