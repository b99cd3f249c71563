import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { CLI, runCli, TempDir } from '../helpers/fixtures.js';
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
function rayPrep(args: string[], during?: () => void): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'prep', '--engine', 'ray', '--ray-address', address, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const args = ['--input', inp.r1, '--input2', inp.r2, '--rows-per-shard', '10000', '--slice-fragments', '8192'];
  const local = tmp.join('local-dev');
  const l = runCli(['prep', ...args, '--output', local, '--threads', '2', '--quiet']);
  assert.equal(l.status, 0, l.stderr);
  assert.equal(manifest(local).parameters.correction.enabled, true);
  const out = tmp.join('ray-dev');
  const r = await rayPrep([...args, '--output', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { fragmentsIn: number; jobId: string; engine: { name: string; slices: number } };
  assert.equal(summary.engine.name, 'ray');
  assert.ok(summary.engine.slices >= 2, 'more than one slice');
  assert.match(r.stderr, /submitted job metavec-prep-/);
  assertSameOutput(local, out);
  t.diagnostic(`${inp.what}: ${summary.fragmentsIn} fragments in ${summary.engine.slices} slices, identical shards`);
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
