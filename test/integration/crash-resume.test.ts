/**
 * kill -9 at seeded random points of `metavec prep` and `metavec cluster`, then re-run: the re-run resumes
 * (prep: verified shards and the pass-1 sketch reused) and its outputs are identical to an uninterrupted run;
 * after every kill, each file under a final name is complete (byte-identical to the uninterrupted run's) and no
 * manifest/summary claims completeness. Kill points are fractions of the uninterrupted run's wall time, drawn
 * from a seeded generator (METAVEC_CRASH_SEED, METAVEC_CRASH_KILLS to widen).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makePairs, rng, runCli, TempDir } from '../helpers/fixtures.js';
import { startCli } from '../helpers/measure.js';
import { readClustersNetcdf } from '../../src/io/netcdf.js';

const tmp = new TempDir('metavec-crash-');
after(() => tmp.remove());
const seed = Number(process.env.METAVEC_CRASH_SEED ?? 11);
const kills = Number(process.env.METAVEC_CRASH_KILLS ?? 5);
const fx = makePairs(8_000, 9);
const r1 = tmp.file('r1.fq.gz', fx.r1, true);
const r2 = tmp.file('r2.fq.gz', fx.r2, true);
// small shards and batches: many checkpoints in a short run; correction on (--correct: its pass-1 sketch is checkpointed)
const prepArgs = (out: string) => ['prep', '--input', r1, '--input2', r2, '--output', out, '--rows-per-shard', '500', '--batch-size', '250', '--threads', '2', '--correct', '--quiet', '--json'];
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

interface Manifest {
  shards: { path: string; sha256: string }[];
  counts: Record<string, number>;
  qc_stats: { sha256: string };
}
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

async function killAt(args: string[], ms: number): Promise<boolean> {
  const child = startCli(args);
  await Promise.race([sleep(ms), child.done]);
  let killed = false;
  try {
    process.kill(child.pid, 'SIGKILL');
    killed = true;
  } catch {
    // already finished
  }
  const end = await child.done;
  return killed && end.signal === 'SIGKILL';
}

test(`prep: ${kills} kill -9 at seeded random points, each re-run resumes to outputs identical to an uninterrupted run`, { timeout: 1_200_000 }, async (t) => {
  const refDir = tmp.join('prep-ref');
  const t0 = performance.now();
  const ref = runCli(prepArgs(refDir));
  const refMs = performance.now() - t0;
  assert.equal(ref.status, 0, ref.stderr);
  const m0 = manifestOf(refDir);
  assert.ok(m0.shards.length >= 8, `enough shards to kill between (${m0.shards.length})`);
  assert.ok(!existsSync(join(refDir, '_resume')), 'the journal is removed once the manifest exists');
  const refSha = new Map(m0.shards.map((s) => [s.path, s.sha256]));
  const r = rng(seed);
  let resumedRuns = 0;
  const saved: number[] = [];
  for (let i = 0; i < kills; i++) {
    const out = tmp.join(`prep-kill-${i}`);
    // twice in a row for some: a crash during a resumed run
    const rounds = i % 3 === 2 ? 2 : 1;
    for (let k = 0; k < rounds; k++) {
      const at = (0.4 + 0.6 * r()) * refMs; // pass 2 (where shards are committed) is the later half
      const killed = await killAt(prepArgs(out), at);
      // nothing under a final name is partial: shards present are the reference's bytes
      if (existsSync(join(out, 'shards'))) {
        for (const f of readdirSync(join(out, 'shards')).filter((x) => x.endsWith('.parquet'))) {
          assert.equal(sha(join(out, 'shards', f)), refSha.get(`shards/${f}`), `kill ${i}.${k} at ${at.toFixed(0)} ms: shards/${f} is complete`);
        }
      }
      // The manifest is written last: a kill before it leaves none; a kill that lands after it (while the
      // process shuts down) leaves a complete run, which must then be the reference's.
      if (killed && existsSync(join(out, 'manifest.json'))) {
        assert.deepEqual(manifestOf(out).shards.map((x) => x.sha256), m0.shards.map((x) => x.sha256), `kill ${i}.${k}: a manifest present after a kill describes the complete run`);
      }
      if (existsSync(join(out, 'qc_stats.json'))) assert.equal(sha(join(out, 'qc_stats.json')), m0.qc_stats.sha256);
    }
    const res = runCli(prepArgs(out));
    assert.equal(res.status, 0, res.stderr);
    const s = JSON.parse(res.stdout) as { resumed: boolean; resumed_from?: { fragments: number; shards: number } };
    if (s.resumed) {
      resumedRuns++;
      saved.push(s.resumed_from?.fragments ?? 0);
    }
    const m = manifestOf(out);
    assert.deepEqual(m.shards.map((x) => x.sha256), m0.shards.map((x) => x.sha256), `run ${i}: shards identical to the uninterrupted run`);
    assert.equal(m.qc_stats.sha256, m0.qc_stats.sha256, `run ${i}: qc_stats identical`);
    assert.deepEqual(m.counts, m0.counts);
    assert.ok(!existsSync(join(out, '_resume')));
  }
  t.diagnostic(`uninterrupted ${refMs.toFixed(0)} ms; ${resumedRuns}/${kills} re-runs resumed; fragments skipped: ${saved.join(', ')} of ${m0.counts.fragments_in}`);
  assert.ok(resumedRuns > 0, 'at least one kill landed after a checkpoint (else the test tests nothing)');
});

test('prep: a corrupted shard or journal means a fresh start, still identical', async () => {
  const refDir = tmp.join('prep-ref');
  const m0 = manifestOf(refDir);
  const out = tmp.join('prep-corrupt');
  // run until at least two shards are journaled, then corrupt one
  for (let ms = 1500; ; ms *= 1.5) {
    await killAt(prepArgs(out), ms);
    if (existsSync(join(out, '_resume', 'part-00001.hashes')) || existsSync(join(out, 'manifest.json'))) break;
  }
  if (!existsSync(join(out, 'manifest.json'))) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(out, 'shards', 'part-00000.parquet'), 'garbage');
    const res = runCli(prepArgs(out).filter((a) => a !== '--quiet')); // the resume message is progress output
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /resume: cannot resume \(shards\/part-00000\.parquet: checksum mismatch\); starting over/);
    assert.equal((JSON.parse(res.stdout) as { resumed: boolean }).resumed, false);
  }
  assert.deepEqual(manifestOf(out).shards.map((x) => x.sha256), m0.shards.map((x) => x.sha256));
});

test('prep: a run that fails after its last checkpoint (at the end of the input) resumes without reading a batch', () => {
  // rows-per-shard just below the fragments kept: the only shard is committed in the last batch, so the last
  // checkpoint is at the end of the input; a directory in qc_stats.json's place fails the run just after it
  const fx3 = makePairs(3_000, 9);
  const a = tmp.file('end-r1.fq', fx3.r1);
  const b = tmp.file('end-r2.fq', fx3.r2);
  const args = (out: string) => ['prep', '--input', a, '--input2', b, '--output', out, '--rows-per-shard', '2900', '--batch-size', '250', '--threads', '2', '--quiet', '--json'];
  const ref = runCli(args(tmp.join('end-ref')));
  assert.equal(ref.status, 0, ref.stderr);
  const out = tmp.join('end-cut');
  mkdirSync(join(out, 'qc_stats.json', 'x'), { recursive: true });
  const failed = runCli(args(out));
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /qc_stats\.json: is a directory/);
  assert.ok(!existsSync(join(out, 'manifest.json')));
  const state = JSON.parse(readFileSync(join(out, '_resume', 'state.json'), 'utf8')) as { checkpoint?: { nextFragment: number } };
  assert.equal(state.checkpoint?.nextFragment, 3_000, 'the last checkpoint is at the end of the input');
  rmSync(join(out, 'qc_stats.json'), { recursive: true });
  const res = runCli(args(out));
  assert.equal(res.status, 0, res.stderr);
  const s = JSON.parse(res.stdout) as { resumed: boolean; resumed_from?: { fragments: number } };
  assert.equal(s.resumed_from?.fragments, 3_000);
  const m0 = manifestOf(tmp.join('end-ref'));
  const m = manifestOf(out);
  assert.deepEqual(m.shards.map((x) => x.sha256), m0.shards.map((x) => x.sha256));
  assert.equal(m.qc_stats.sha256, m0.qc_stats.sha256);
  assert.deepEqual(m.counts, m0.counts);
});

test('prep: a journal from other parameters is not reused', () => {
  const out = tmp.join('prep-kill-0');
  const res = runCli([...prepArgs(out).filter((a) => a !== '--json'), '--kmer', '3', '--json']);
  assert.equal(res.status, 0, res.stderr);
  assert.equal((JSON.parse(res.stdout) as { resumed: boolean }).resumed, false);
});

test(`cluster: kill -9 at seeded random points, re-runs give identical labels and centroids`, { timeout: 600_000 }, async () => {
  const prep = tmp.join('prep-ref');
  const args = (out: string) => ['cluster', '--method', 'kmeans', '--input', prep, '--output', out, '--k', '4', '--n-init', '3', '--threads', '2', '--quiet'];
  const refDir = tmp.join('cl-ref');
  const t0 = performance.now();
  const ref = runCli(args(refDir));
  const refMs = performance.now() - t0;
  assert.equal(ref.status, 0, ref.stderr);
  const labels0 = sha(join(refDir, 'labels.parquet'));
  const nc0 = await readClustersNetcdf(join(refDir, 'clusters.nc'));
  const r = rng(seed + 1);
  for (let i = 0; i < 3; i++) {
    const out = tmp.join(`cl-kill-${i}`);
    const killed = await killAt(args(out), (0.1 + 0.85 * r()) * refMs);
    if (existsSync(join(out, 'labels.parquet'))) assert.equal(sha(join(out, 'labels.parquet')), labels0, 'labels.parquet complete when present');
    if (existsSync(join(out, 'clusters.nc'))) assert.deepEqual((await readClustersNetcdf(join(out, 'clusters.nc'))).centroids, nc0.centroids);
    // summary.json is written last: when a kill lands after it (during shutdown) the outputs must be complete
    if (killed && existsSync(join(out, 'summary.json'))) {
      assert.equal(sha(join(out, 'labels.parquet')), labels0, 'summary.json present after a kill: labels complete');
      assert.deepEqual((await readClustersNetcdf(join(out, 'clusters.nc'))).centroids, nc0.centroids);
    }
    const res = runCli(args(out));
    assert.equal(res.status, 0, res.stderr);
    assert.equal(sha(join(out, 'labels.parquet')), labels0);
    const nc = await readClustersNetcdf(join(out, 'clusters.nc'));
    assert.deepEqual(nc.centroids, nc0.centroids);
    assert.deepEqual(nc.clusterSize, nc0.clusterSize);
  }
});
