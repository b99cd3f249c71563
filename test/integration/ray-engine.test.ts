import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { CLI, runCli, TempDir } from '../helpers/fixtures.js';
import { assertGoldenPrep, goldenPrepArgs } from '../helpers/golden.js';
import { S3TestServer } from '../helpers/s3.js';
import { devCommunity, REPO_ROOT, requireTool } from '../helpers/tools.js';

// metavec prep --engine ray against a real local Ray head (scripts/ray-head.sh, 2 CPUs) through the Jobs API,
// compared with the local engine: byte-identical shards, qc_stats and clean FASTQ, the same manifest counts.

const tmp = new TempDir();
const HEAD = join(REPO_ROOT, 'scripts/ray-head.sh');
const RAY_DIR = process.env.RAY_HEAD_DIR ?? '/tmp/metavec-ray';
const hasRay = spawnSync('python3', ['-c', 'import ray, ray.data, aiohttp'], { stdio: 'ignore' }).status === 0 && spawnSync('ray', ['--version'], { stdio: 'ignore' }).status === 0;
let address = '';
let startedHead = false;

before(() => {
  if (!hasRay) return;
  startedHead = spawnSync('bash', [HEAD, 'status']).status !== 0;
  const r = spawnSync('bash', [HEAD, 'start'], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `scripts/ray-head.sh start failed: ${r.stderr}`);
  address = r.stdout.trim();
});

after(() => {
  if (startedHead) spawnSync('bash', [HEAD, 'stop'], { timeout: 60_000 });
  tmp.remove();
});

function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const files = ['qc_stats.json', ...readdirSync(dir).filter((f) => f.endsWith('.fastq.gz')), ...readdirSync(join(dir, 'shards')).map((f) => `shards/${f}`)];
  for (const f of files) out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

function manifest(dir: string): { counts: Record<string, number>; shards: unknown[]; parameters: { correction: Record<string, unknown> } } {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as never;
}

function assertSameOutput(local: string, ray: string): void {
  assert.deepEqual(digest(ray), digest(local));
  assert.deepEqual(manifest(ray).counts, manifest(local).counts);
  assert.deepEqual(manifest(ray).shards, manifest(local).shards);
  assert.deepEqual(manifest(ray).parameters.correction, manifest(local).parameters.correction);
}

/** Node workers of Ray actors: `prep-worker --stdio` processes running in a working directory under the head's dir. */
function rayWorkers(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1');
      if (cmd.includes('prep-worker\0--stdio') && readlinkSync(`/proc/${d}/cwd`).startsWith(RAY_DIR)) out.push(Number(d));
    } catch {
      // the process exited meanwhile
    }
  }
  return out;
}

/** Runs `metavec prep --engine ray ...` asynchronously; `during` is called every 100 ms while it runs. */
function rayPrep(args: string[], during?: () => void, env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'prep', '--engine', 'ray', '--ray-address', address, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = during ? setInterval(during, 100) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      if (timer) clearInterval(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The first `pairs` pairs of the dev community as plain FASTQ (byte-range slices), else the sample. */
function plainInput(pairs: number): { r1: string; r2: string; what: string } {
  const dev = devCommunity();
  const dir = dev ?? join(REPO_ROOT, 'examples/sample/');
  const take = (f: string) => gunzipSync(readFileSync(join(dir, f))).toString('latin1').split('\n').slice(0, 4 * pairs).join('\n') + '\n';
  return { r1: tmp.file('R1.fastq', take('R1.fastq.gz')), r2: tmp.file('R2.fastq', take('R2.fastq.gz')), what: dev ? `dev community, first ${pairs} pairs` : 'examples/sample' };
}

test('prep --engine ray == local engine (plain FASTQ, byte-range slices, correction on)', async (t) => {
  if (!requireTool(t, hasRay, 'ray[default,data] (scripts/setup.sh --system)')) return;
  const inp = plainInput(30_000);
  const args = ['--input', inp.r1, '--input2', inp.r2, '--rows-per-shard', '10000', '--slice-fragments', '8192', '--correct'];
  const local = tmp.join('local-dev');
  const l = runCli(['prep', ...args, '--output', local, '--threads', '2', '--quiet']);
  assert.equal(l.status, 0, l.stderr);
  assert.equal(manifest(local).parameters.correction.enabled, true);
  const out = tmp.join('ray-dev');
  const r = await rayPrep([...args, '--output', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { fragments_in: number; engine: { name: string; slices: number } };
  assert.equal(summary.engine.name, 'ray');
  assert.ok(summary.engine.slices >= 2, 'more than one slice');
  assert.match(r.stderr, /submitted job metavec-prep-/);
  assertSameOutput(local, out);
  t.diagnostic(`${inp.what}: ${summary.fragments_in} fragments in ${summary.engine.slices} slices, identical shards`);
});

test('prep --engine ray on the golden corpus gives test/golden\'s counts, shards and qc_stats', async (t) => {
  if (!requireTool(t, hasRay, 'ray[default,data] (scripts/setup.sh --system)')) return;
  const out = tmp.join('ray-golden');
  // 907 pairs in slices of 256 fragments (2 batches of the golden --batch-size 128): 4 slices
  const r = await rayPrep([...goldenPrepArgs(out), '--slice-fragments', '256', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as { engine: { slices: number } }).engine.slices >= 2, 'more than one slice');
  assertGoldenPrep(out, 'prep --engine ray');
});

test('prep --engine ray: killing an actor\'s Node worker mid-run still gives identical output; no worker outlives the job', async (t) => {
  if (!requireTool(t, hasRay, 'ray[default,data] (scripts/setup.sh --system)')) return;
  const sample = join(REPO_ROOT, 'examples/sample');
  const args = ['--input', join(sample, 'R1.fastq.gz'), '--input2', join(sample, 'R2.fastq.gz'), '--rows-per-shard', '3000', '--write-fastq', '--slice-fragments', '2048'];
  const local = tmp.join('local-sample');
  assert.equal(runCli(['prep', ...args, '--output', local, '--threads', '2', '--quiet']).status, 0);
  let killed = 0;
  const out = tmp.join('ray-fault');
  const r = await rayPrep([...args, '--output', out], () => {
    if (killed) return;
    const w = rayWorkers()[0];
    if (w === undefined) return;
    process.kill(w, 'SIGKILL');
    killed = w;
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(killed > 0, 'a worker was seen and killed');
  assert.match(r.stderr, new RegExp(`prep-worker pid ${killed} died`), 'the actor noticed the death and restarted its worker');
  assertSameOutput(local, out);
  // The actors are gone after the job; their workers exit with them (stdin closed, PR_SET_PDEATHSIG, subreaper).
  let left = rayWorkers();
  for (let i = 0; i < 300 && left.length > 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    left = rayWorkers();
  }
  assert.deepEqual(left, [], 'no prep-worker process left behind');
});

test('prep --engine ray: a re-run after a failed merge computes only the slices without a kept result and gives the same output', async (t) => {
  if (!requireTool(t, hasRay, 'ray[default,data] (scripts/setup.sh --system)')) return;
  const inp = plainInput(12_000);
  // --correct: the spectrum stage's result is reused too
  const args = ['--input', inp.r1, '--input2', inp.r2, '--rows-per-shard', '5000', '--slice-fragments', '4096', '--correct'];
  const local = tmp.join('local-resume');
  const l = runCli(['prep', ...args, '--output', local, '--threads', '2', '--quiet']);
  assert.equal(l.status, 0, l.stderr);
  const out = tmp.join('ray-resume');
  // the merge fails (a directory where it writes qc_stats.json) after every slice's result was kept
  mkdirSync(join(out, 'qc_stats.json', 'x'), { recursive: true });
  const failed = await rayPrep([...args, '--output', out, '--json']);
  assert.notEqual(failed.status, 0);
  assert.match(failed.stderr, /metavec: error: .*qc_stats\.json/);
  assert.equal(existsSync(join(out, 'manifest.json')), false);
  const parts = join(out, '_prep_work', 'parts');
  // slices are whole 8192-fragment batches: 8192 + 3808
  const kept = readdirSync(parts).filter((f) => f.startsWith('prep-')).sort();
  assert.deepEqual(kept, ['prep-00000.arrow', 'prep-00001.arrow']);
  rmSync(join(out, 'qc_stats.json'), { recursive: true });
  // slice 0's result damaged (as if a disk had lost it): recomputed; slice 1's kept, and the spectrum
  writeFileSync(join(parts, 'prep-00000.arrow'), 'not arrow');
  const r = await rayPrep([...args, '--output', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resume: 1 of 2 slice result\(s\) reused; correction spectrum reused/);
  assert.doesNotMatch(r.stderr, /spectrum stage: \d+ slices merged/);
  assert.match(r.stderr, /prep stage: 1 slices merged/);
  const s = JSON.parse(r.stdout) as { resumed: boolean; resumed_from?: { spectrum: boolean }; engine: { reused_slices: number } };
  assert.deepEqual([s.resumed, s.resumed_from?.spectrum, s.engine.reused_slices], [true, true, 1]);
  assertSameOutput(local, out);
  assert.equal(existsSync(join(out, '_prep_work')), false, 'the work directory is removed after the merge');
});

test('prep --engine ray: a malformed record fails the job with the local engine\'s message and no manifest', async (t) => {
  if (!requireTool(t, hasRay, 'ray[default,data] (scripts/setup.sh --system)')) return;
  const sample = join(REPO_ROOT, 'examples/sample');
  const text = gunzipSync(readFileSync(join(sample, 'R1.fastq.gz'))).toString('latin1').repeat(2);
  const lines = text.split('\n');
  lines[4 * 30000 + 3] = lines[4 * 30000 + 3]!.slice(0, 10);
  const bad = tmp.file('bad_R1.fastq', lines.join('\n'));
  const r2 = tmp.file('bad_R2.fastq', gunzipSync(readFileSync(join(sample, 'R2.fastq.gz'))).toString('latin1').repeat(2));
  const out = tmp.join('ray-bad');
  const r = await rayPrep(['--input', bad, '--input2', r2, '--output', out, '--no-correct', '--slice-fragments', '10000', '--quiet']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /metavec: error: fastq: bad_R1\.fastq record 30001 \(line 120004\): quality length 10 != sequence length 150 \(ray job metavec-prep-/);
  assert.ok(!existsSync(join(out, 'manifest.json')));
});

test('prep --engine ray: usage and connection errors are clear', () => {
  const a = runCli(['prep', '--engine', 'ray', '--input', 'x.fq', '--output', tmp.join('o')]);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /--engine ray needs --ray-address/);
  const b = runCli(['prep', '--engine', 'ray', '--ray-address', 'http://127.0.0.1:9', '--input', 'x.fq', '--output', tmp.join('o')]);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /ray: cannot reach the Jobs API at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
  const c = runCli(['cluster', '--engine', 'ray', '--input', 'x', '--output', tmp.join('o')]);
  assert.equal(c.status, 2);
});

test('prep --engine ray from s3:// inputs (byte ranges + gzip) to an s3:// output == local engine; credentials stay on the nodes', async (t) => {
  if (!requireTool(t, hasRay, 'ray[default,data] (scripts/setup.sh --system)')) return;
  const server = await S3TestServer.startFor(t);
  if (!server) return;
  try {
    await server.createBucket('ray-s3');
    const inp = plainInput(12_000);
    const sample = join(REPO_ROOT, 'examples/sample');
    await server.upload('ray-s3', { 'in/R1.fastq': inp.r1, 'in/R2.fastq': inp.r2, 'in/S1.fq.gz': join(sample, 'R1.fastq.gz'), 'in/S2.fq.gz': join(sample, 'R2.fastq.gz') });
    const opts = ['--rows-per-shard', '5000', '--slice-fragments', '4096'];
    const local = tmp.join('local-s3');
    const l = runCli(['prep', '--input', inp.r1, '--input2', inp.r2, '--input', join(sample, 'R1.fastq.gz'), '--input2', join(sample, 'R2.fastq.gz'), '--output', local, ...opts, '--threads', '2', '--quiet']);
    assert.equal(l.status, 0, l.stderr);
    // The client holds no keys: the nodes have a credentials file (here the head, on this machine), named by
    // AWS_SHARED_CREDENTIALS_FILE + AWS_PROFILE, forwarded with --ray-env; the endpoint is forwarded as a setting.
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_ENDPOINT_URL: server.endpoint, AWS_REGION: 'us-east-1', AWS_SHARED_CREDENTIALS_FILE: server.credentialsFile('ray-nodes'), AWS_PROFILE: 'ray-nodes', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[k];
    const fwd = ['--ray-env', 'AWS_SHARED_CREDENTIALS_FILE', '--ray-env', 'AWS_PROFILE'];
    const inputs = ['--input', 's3://ray-s3/in/R1.fastq', '--input2', 's3://ray-s3/in/R2.fastq', '--input', 's3://ray-s3/in/S1.fq.gz', '--input2', 's3://ray-s3/in/S2.fq.gz'];
    const r = await rayPrep([...inputs, '--output', 's3://ray-s3/out', ...opts, ...fwd, '--json'], undefined, env);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { manifest: string; job_id: string; engine: { slices: number } };
    assert.equal(summary.manifest, 's3://ray-s3/out/manifest.json');
    assert.ok(summary.engine.slices >= 4, `slices of both inputs, several each (${summary.engine.slices})`);
    // identical to the local engine: the stored bytes of every shard and of qc_stats.json, the manifest's shards and counts
    const out = (k: string) => server.objectPath('ray-s3', `out/${k}`);
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const want = digest(local);
    const got: Record<string, string> = {};
    for (const k of Object.keys(want)) got[k] = existsSync(out(k)) ? sha(out(k)) : 'missing';
    assert.deepEqual(got, want);
    const m = manifest(server.objectPath('ray-s3', 'out'));
    assert.deepEqual(m.counts, manifest(local).counts);
    assert.deepEqual(m.shards, manifest(local).shards);
    assert.ok(!existsSync(out('_prep_work/plan.json')) && !existsSync(out('_prep_work/sketch.bin')), 'the work prefix is removed after the manifest');
    // the job's description (entrypoint, runtime_env: shown by the dashboard) carries settings, never a key
    const job = await (await fetch(`${address}/api/jobs/${summary.job_id}`)).text();
    assert.ok(!job.includes(server.secretKey) && !job.includes(server.accessKey), 'no credentials in the job description');
    const described = JSON.parse(job) as { entrypoint: string; runtime_env: { env_vars?: Record<string, string> } };
    // (Ray 2.60 shows env_vars values as '<redacted>' here; older releases showed and logged them: docs/s3.md)
    for (const k of ['AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'METAVEC_S3_PATH_STYLE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_PROFILE']) assert.ok(k in (described.runtime_env.env_vars ?? {}), k);
    assert.ok(!('AWS_ACCESS_KEY_ID' in (described.runtime_env.env_vars ?? {})));
    assert.ok(!described.entrypoint.includes('--s3-'), described.entrypoint);

    // clear errors through the job: a bucket that does not exist, a wrong secret on the nodes, a secret to forward
    const nb = await rayPrep([...inputs, '--output', 's3://no-such-bucket-ray/out', ...fwd, '--quiet'], undefined, env);
    assert.equal(nb.status, 1, nb.stderr);
    assert.match(nb.stderr, /^metavec: error: s3: s3:\/\/no-such-bucket-ray\/out: bucket 'no-such-bucket-ray' does not exist \(ray job metavec-prep-\S+\)$/m);
    const bad = await rayPrep([...inputs, '--output', 's3://ray-s3/bad', ...fwd, '--quiet'], undefined, { ...env, AWS_SHARED_CREDENTIALS_FILE: server.credentialsFile('ray-nodes', 'not-the-secret') });
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /^metavec: error: s3: s3:\/\/ray-s3\/\S+: .*(access denied|signature).*\(ray job metavec-prep-\S+\)$/im);
    assert.ok(!bad.stderr.includes(server.secretKey) && !bad.stderr.includes('not-the-secret'));
    const sec = await rayPrep([...inputs, '--output', 's3://ray-s3/x', '--ray-env', 'AWS_SECRET_ACCESS_KEY'], undefined, { ...env, AWS_SECRET_ACCESS_KEY: 'xyz' });
    assert.equal(sec.status, 2);
    assert.match(sec.stderr, /--ray-env AWS_SECRET_ACCESS_KEY: Ray shows a job's runtime_env on its dashboard and in its logs, so secrets are not sent with the job/);
    t.diagnostic(`${summary.engine.slices} slices from S3 (plain: ranged GETs; gzip: decompressed once by prep-cut), identical shards`);
  } finally {
    server.dispose();
  }
});
