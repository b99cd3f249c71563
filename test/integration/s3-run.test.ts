/**
 * `metavec` on s3:// locations against a real S3-compatible server (S3Proxy from scripts/s3-server.sh):
 * a whole `metavec run` from s3:// inputs to an s3:// prefix equals the local-file run; a prep whose server
 * is stopped in the middle of uploading shards fails cleanly (no manifest) and the re-run after a restart
 * completes with the same result, reusing the shards already stored; a missing bucket and wrong credentials
 * give one-line errors that do not contain the secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDuckDB, sqlString } from '../../src/io/duckdb.js';
import type { PrepManifest } from '../../src/io/manifest.js';
import { CLI, makePairs, TempDir } from '../helpers/fixtures.js';
import { S3TestServer } from '../helpers/s3.js';
import { MPI_ENV, mpiReady, mpirunArgs } from '../helpers/mpi.js';
import { requireTool } from '../helpers/tools.js';

function cli(args: string[], env: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 300_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function localEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  return env;
}

function manifestAt(path: string): PrepManifest {
  return JSON.parse(readFileSync(path, 'utf8')) as PrepManifest;
}

function shardList(m: PrepManifest): string[] {
  return m.shards.map((s) => `${s.path} ${s.rows} ${s.bytes} ${s.sha256}`);
}

async function labelsOf(path: string): Promise<string> {
  const db = await openDuckDB();
  try {
    const r = await db.conn.runAndReadAll(`SELECT string_agg(read_id || ':' || cluster, ',' ORDER BY read_id) FROM read_parquet(${sqlString(path)})`);
    return String(r.getRows()[0]![0]);
  } finally {
    db.close();
  }
}

function writeInputs(tmp: TempDir, n: number, seed: number): { r1: string; r2: string; truth: string } {
  const p = makePairs(n, seed, { genomes: 3 });
  const truthRows = p.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n');
  return {
    r1: tmp.file(`r1-${n}.fq.gz`, p.r1, true),
    r2: tmp.file(`r2-${n}.fq.gz`, p.r2, true),
    truth: tmp.file(`truth-${n}.tsv.gz`, `read_id\tspecies\n${truthRows}\n`, true),
  };
}

test('s3:// end to end against S3Proxy', async (t) => {
  const server = await S3TestServer.startFor(t);
  if (!server) return;
  const tmp = new TempDir();
  try {
    await server.createBucket('metavec-runs');
    const env = server.env();

    await t.test('metavec run from s3:// inputs to an s3:// prefix equals the local run', async () => {
      const f = writeInputs(tmp, 3000, 7);
      await server.upload('metavec-runs', { 'in/r1.fq.gz': f.r1, 'in/r2.fq.gz': f.r2, 'in/truth.tsv.gz': f.truth });
      const common = ['--k', '3', '--n-init', '1', '--rows-per-shard', '700', '--threads', '2', '--no-catalog', '--report-sample', '500', '--quiet', '--json'];
      const local = cli(['run', '--method', 'kmeans', '--input', f.r1, '--input2', f.r2, '--truth', f.truth, '--output', tmp.join('local'), ...common], localEnv());
      assert.equal(local.status, 0, local.stderr);
      // the S3 run registers itself in the catalog like a local run
      const catalog = tmp.join('catalog.duckdb');
      const remote = cli(
        ['run', '--method', 'kmeans', '--input', 's3://metavec-runs/in/r1.fq.gz', '--input2', 's3://metavec-runs/in/r2.fq.gz', '--truth', 's3://metavec-runs/in/truth.tsv.gz', '--output', 's3://metavec-runs/out/run1',
          ...common.filter((a) => a !== '--no-catalog'), '--catalog', catalog],
        env,
      );
      assert.equal(remote.status, 0, remote.stderr);
      assert.ok(!remote.stderr.includes(server.secretKey) && !remote.stdout.includes(server.secretKey));

      const obj = (key: string) => server.objectPath('metavec-runs', `out/run1/${key}`);
      const lm = manifestAt(join(tmp.join('local'), 'prep/manifest.json'));
      const rm = manifestAt(obj('prep/manifest.json'));
      assert.ok(lm.shards.length >= 4, `several shards (${lm.shards.length})`);
      assert.deepEqual(shardList(rm), shardList(lm), 'same shards, byte for byte');
      assert.deepEqual(rm.counts, lm.counts);
      assert.deepEqual(rm.inputs.map((i) => i.uri), ['s3://metavec-runs/in/r1.fq.gz', 's3://metavec-runs/in/r2.fq.gz']);
      assert.deepEqual(rm.inputs.map((i) => [i.bytes, i.records, i.compression]), lm.inputs.map((i) => [i.bytes, i.records, i.compression]));
      for (const s of rm.shards) assert.ok(existsSync(obj(`prep/${s.path}`)), s.path);
      assert.equal(readFileSync(obj('prep/qc_stats.json'), 'utf8'), readFileSync(join(tmp.join('local'), 'prep/qc_stats.json'), 'utf8'));

      assert.equal(await labelsOf(obj('cluster/labels.parquet')), await labelsOf(join(tmp.join('local'), 'cluster/labels.parquet')), 'same labels');
      const ls = JSON.parse(readFileSync(join(tmp.join('local'), 'cluster/summary.json'), 'utf8')) as Record<string, unknown>;
      const rs = JSON.parse(readFileSync(obj('cluster/summary.json'), 'utf8')) as Record<string, unknown>;
      for (const k of ['fragments', 'k', 'inertia', 'cluster_sizes', 'iterations']) assert.deepEqual(rs[k], ls[k], k);
      const le = JSON.parse(readFileSync(join(tmp.join('local'), 'eval.json'), 'utf8')) as Record<string, unknown>;
      const re = JSON.parse(readFileSync(obj('eval.json'), 'utf8')) as Record<string, unknown>;
      // the same metrics; `labels` names the file scored (its path, and its sha256: the labels' key-value metadata
      // names the prep manifest, whose input URIs differ)
      const metrics = (e: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'labels'));
      assert.deepEqual(metrics(re), metrics(le), 'same metrics');
      const html = readFileSync(obj('report.html'), 'utf8');
      assert.ok(html.includes('s3://metavec-runs/out/run1/prep'), 'the report names the S3 locations');
      assert.ok(existsSync(obj('run.json')), 'run.json written last');
      const runJson = JSON.parse(readFileSync(obj('run.json'), 'utf8')) as { catalog?: { run_id?: string } };
      assert.equal(runJson.catalog?.run_id, 'run1');
      const q = cli(['query', '--catalog', catalog, '--json', "SELECT run_dir, prep_dir, labels_path, k, ari, fragments_out, (SELECT count(*) FROM shard_files WHERE path LIKE 's3://metavec-runs/out/run1/prep/shards/part-%') AS s3_shards FROM runs"], env);
      assert.equal(q.status, 0, q.stderr);
      const [row] = JSON.parse(q.stdout) as { run_dir: string; prep_dir: string; labels_path: string; k: number; ari: number; fragments_out: number; s3_shards: number }[];
      assert.deepEqual(row, {
        run_dir: 's3://metavec-runs/out/run1', prep_dir: 's3://metavec-runs/out/run1/prep', labels_path: 's3://metavec-runs/out/run1/cluster/labels.parquet',
        k: ls.k, ari: (le.assigned as { ari: number }).ari, fragments_out: lm.counts.fragments_out, s3_shards: lm.shards.length,
      });
      assert.match(q.stderr, /query: note: run run1: shards in S3 .*the shards view reads local files only/);

      // each command on its own, across local and S3: cluster reads the S3 prep, eval and report read S3 outputs
      const c2 = cli(['cluster', '--method', 'kmeans', '--input', 's3://metavec-runs/out/run1/prep', '--output', tmp.join('cluster2'), '--k', '3', '--n-init', '1', '--threads', '2', '--quiet'], env);
      assert.equal(c2.status, 0, c2.stderr);
      assert.equal(await labelsOf(tmp.join('cluster2/labels.parquet')), await labelsOf(join(tmp.join('local'), 'cluster/labels.parquet')));
      const ev = cli(['eval', '--labels', 's3://metavec-runs/out/run1/cluster/labels.parquet', '--truth', f.truth, '--json'], env);
      assert.equal(ev.status, 0, ev.stderr);
      assert.deepEqual(JSON.parse(ev.stdout), re, 'eval of the S3 labels = the run\'s eval.json');
      const rep = cli(['report', '--run', 's3://metavec-runs/out/run1', '--output', tmp.join('report.html'), '--sample', '300', '--quiet'], env);
      assert.equal(rep.status, 0, rep.stderr);
      assert.ok(readFileSync(tmp.join('report.html'), 'utf8').includes('<svg') || readFileSync(tmp.join('report.html'), 'utf8').length > 10_000);
    });

    await t.test('server stopped in the middle of uploading shards: no manifest; the re-run after a restart resumes from the journal, identical', async (t3) => {
      const f = writeInputs(tmp, 6000, 11);
      // 500-fragment batches: the resume journal (OUTPUT/_resume under the prefix) checkpoints after every batch
      const args = ['prep', '--input', f.r1, '--input2', f.r2, '--rows-per-shard', '150', '--batch-size', '500', '--threads', '2', '--correct', '--quiet', '--json'];
      const local = cli([...args, '--output', tmp.join('fault-local')], localEnv());
      assert.equal(local.status, 0, local.stderr);
      const lm = manifestAt(tmp.join('fault-local/manifest.json'));
      assert.ok(lm.shards.length >= 20, `many shards (${lm.shards.length})`);

      const shardDir = server.objectPath('metavec-runs', 'fault/shards');
      const stored = () => (existsSync(shardDir) ? readdirSync(shardDir).filter((n) => /^part-\d+\.parquet$/.test(n)).length : 0);
      const child = spawn(process.execPath, [CLI, ...args, '--output', 's3://metavec-runs/fault'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
      const checkpointed = () => {
        try {
          return 'checkpoint' in (JSON.parse(readFileSync(server.objectPath('metavec-runs', 'fault/_resume/state.json'), 'utf8')) as object);
        } catch {
          return false;
        }
      };
      // wait until half of the shards and a checkpoint are stored, then freeze prep, take the server down, let prep go on
      while (stored() < lm.shards.length / 2 || !checkpointed()) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(child.exitCode, null, `prep finished before the server was stopped: ${stderr}`);
      child.kill('SIGSTOP');
      const before = stored();
      server.stop();
      child.kill('SIGCONT');
      const code = await exited;
      assert.equal(code, 1, `prep fails when the server is gone: ${stderr}`);
      assert.match(stderr, /metavec: error: s3: s3:\/\/metavec-runs\/fault\/\S+: cannot (upload|read|write|list): endpoint http:\/\/127\.0\.0\.1:\d+ unreachable/);
      assert.equal(stderr.trim().split('\n').filter((l) => l.startsWith('metavec: error')).length, 1, stderr);
      assert.ok(!stderr.includes(server.secretKey));
      assert.ok(!existsSync(server.objectPath('metavec-runs', 'fault/manifest.json')), 'no manifest after the failure');
      assert.ok(before >= 3 && before < lm.shards.length, `${before} of ${lm.shards.length} shards were stored`);

      await server.start(); // same data directory and port
      const again = cli([...args, '--output', 's3://metavec-runs/fault'], env);
      assert.equal(again.status, 0, again.stderr);
      const summary = JSON.parse(again.stdout) as { resumed: boolean; reused_shards: number; shards: number; resumed_from?: { fragments: number; shards: number; spectrum: boolean } };
      assert.equal(summary.resumed, true);
      // the journal's checkpoint: its shards verified by their recorded sha256, the work before it skipped;
      // shards stored after the checkpoint are found identical and not uploaded again
      assert.ok((summary.resumed_from?.fragments ?? 0) > 0, `resumed from a checkpoint: ${again.stdout}`);
      assert.equal(summary.resumed_from?.spectrum, true, 'correction pass 1 reused');
      assert.ok((summary.resumed_from?.shards ?? 0) + summary.reused_shards >= before, `${summary.resumed_from?.shards} checkpointed + ${summary.reused_shards} reused of the ${before} stored shards`);
      assert.ok(!existsSync(server.objectPath('metavec-runs', 'fault/_resume/state.json')), 'the journal is removed after the manifest');
      t3.diagnostic(`${before} of ${lm.shards.length} shards stored when the server stopped; the re-run resumed at fragment ${summary.resumed_from?.fragments} of 6000 with ${summary.resumed_from?.shards} checkpointed shards, ${summary.reused_shards} more found identical`);
      const rm = manifestAt(server.objectPath('metavec-runs', 'fault/manifest.json'));
      assert.deepEqual(shardList(rm), shardList(lm), 'complete and identical to the uninterrupted local run');
      assert.deepEqual(rm.counts, lm.counts);
      assert.deepEqual(readdirSync(shardDir).filter((n) => n.endsWith('.parquet')).sort(), lm.shards.map((s) => s.path.slice('shards/'.length)).sort(), 'no stray shards');
    });

    await t.test('mpi engine, 2 ranks: shards read from S3 (each rank its share), results written to S3, same labels', async (t2) => {
      if (!requireTool(t2, mpiReady(), 'mpirun + native/mpi binding (scripts/setup.sh --system)')) return;
      // the prep of the previous test: 6000 pairs in 150-row shards, in S3 and locally
      const local = cli(['cluster', '--method', 'kmeans', '--input', tmp.join('fault-local'), '--output', tmp.join('mpi-local'), '--k', '3', '--n-init', '1', '--threads', '2', '--quiet'], localEnv());
      assert.equal(local.status, 0, local.stderr);
      const aws = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('AWS_')));
      const r = spawnSync(
        'mpirun',
        [...mpirunArgs(2), process.execPath, CLI, 'cluster', '--method', 'kmeans', '--engine', 'mpi', '--input', 's3://metavec-runs/fault', '--output', 's3://metavec-runs/fault-mpi', '--k', '3', '--n-init', '1', '--quiet', '--json'],
        { encoding: 'utf8', env: { ...MPI_ENV, ...aws }, timeout: 240_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { engine?: { ranks?: number } }).engine?.ranks, 2);
      assert.equal(await labelsOf(server.objectPath('metavec-runs', 'fault-mpi/labels.parquet')), await labelsOf(tmp.join('mpi-local/labels.parquet')));
      assert.ok(existsSync(server.objectPath('metavec-runs', 'fault-mpi/summary.json')));
    });

    await t.test('missing bucket and wrong credentials: one-line errors without secrets', () => {
      const f = { r1: tmp.file('tiny.fq', '@a\nACGTACGTACGTACGTACGTACGTACGTACGTACGT\n+\nIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII\n') };
      const noBucket = cli(['prep', '--input', f.r1, '--output', 's3://no-such-bucket-9/out', '--quiet'], env);
      assert.equal(noBucket.status, 1);
      assert.equal(noBucket.stderr.trim(), "metavec: error: s3: s3://no-such-bucket-9/out: bucket 'no-such-bucket-9' does not exist");
      const noInput = cli(['prep', '--input', 's3://no-such-bucket-9/r1.fq.gz', '--output', tmp.join('x'), '--quiet'], env);
      assert.equal(noInput.status, 1);
      assert.equal(noInput.stderr.trim(), "metavec: error: s3: s3://no-such-bucket-9/r1.fq.gz: bucket 'no-such-bucket-9' does not exist");
      const noObject = cli(['cluster', '--method', 'kmeans', '--input', 's3://metavec-runs/nothing-here', '--output', tmp.join('y'), '--quiet'], env);
      assert.equal(noObject.status, 1);
      assert.match(noObject.stderr, /manifest: s3:\/\/metavec-runs\/nothing-here\/manifest\.json: not found/);

      const secret = 'not-the-secret-' + String(Date.now());
      const bad = cli(['run', '--method', 'kmeans', '--input', 's3://metavec-runs/in/r1.fq.gz', '--output', 's3://metavec-runs/out/bad', '--quiet'], server.env({ AWS_SECRET_ACCESS_KEY: secret }));
      assert.equal(bad.status, 1);
      assert.match(bad.stderr.trim(), /^metavec: error: s3: s3:\/\/metavec-runs\/\S+: (access denied|request signature rejected)/);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
      assert.ok(!bad.stderr.includes(secret) && !bad.stderr.includes(server.secretKey));
      const unknownKey = cli(['prep', '--input', 's3://metavec-runs/in/r1.fq.gz', '--output', tmp.join('z'), '--quiet'], server.env({ AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY123456' }));
      assert.equal(unknownKey.status, 1);
      assert.match(unknownKey.stderr, /does not know this access key id|access denied/);
      assert.ok(!unknownKey.stderr.includes('AKIAUNKNOWNKEY123456'));
    });
  } finally {
    tmp.remove();
    server.dispose();
  }
});
