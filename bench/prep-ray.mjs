#!/usr/bin/env node
// Phase 1 throughput: the local engine vs the Ray engine (`metavec prep --engine ray`) on one machine.
// See bench/README.md ("prep-ray.mjs").
//
// usage: node bench/prep-ray.mjs [--reps N] [--pairs N] [--slice-fragments N] [--s3] [--out FILE]
//
// --s3: also runs the Ray engine from s3:// inputs to an s3:// output on S3Proxy (scripts/s3-server.sh; the
// nodes' credentials in a credentials file named with --ray-env, docs/s3.md), engine name 'ray-s3'.
//
// Starts a local Ray head with scripts/ray-head.sh (2 CPUs) unless one answers already, prepares the dev
// community (or the sample) as plain FASTQ in bench/work/prep-ray/, and runs both engines alternately REPS
// times with the same options (correction on, 2 threads / 2 actors). Reports wall time, fragments/s, the
// Ray/local wall-time ratio (the overhead of the Ray path), CPU seconds (local: the CLI's process tree via
// /usr/bin/time; Ray: the client plus the head's process tree sampled every 200 ms from /proc), and whether
// the outputs were byte-identical. Results go to bench/results/prep-ray-<date>.json.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', 'work', 'prep-ray');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const HEAD = join(ROOT, 'scripts', 'ray-head.sh');
const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : d);
const REPS = Number(opt('reps', 2));
const PAIRS = Number(opt('pairs', 0)); // 0: all
const SLICE = Number(opt('slice-fragments', 25000));
const S3 = argv.includes('--s3');
const today = new Date().toISOString().slice(0, 10);
const OUT_FILE = resolve(opt('out', join(ROOT, 'bench', 'results', `prep-ray-${today}.json`)));
const log = (...a) => console.error('[bench]', ...a);

const CLK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/**
 * CPU seconds used by the descendants of `root` (the Ray head: raylet, actors, their Node workers) while a run
 * lasts: every process's utime+stime is sampled every 200 ms and its last sample counted (cutime is not used:
 * Ray's processes do not all wait() for their children, so exited children are not accumulated reliably).
 * Undercounts at most the last 200 ms of each process that exits.
 */
function descendants(root) {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited
    }
  }
  const out = new Map();
  for (const [pid, p] of procs) {
    for (let q = p.ppid, guard = 0; q > 1 && guard < 64; q = procs.get(q)?.ppid ?? 0, guard++) {
      if (q === root) {
        out.set(pid, p.ticks);
        break;
      }
    }
  }
  if (procs.has(root)) out.set(root, procs.get(root).ticks);
  return out;
}
class TreeCpu {
  constructor(root) {
    this.root = root;
    this.start = descendants(root);
    this.last = new Map(this.start);
    this.timer = setInterval(() => this.sample(), 200);
  }
  sample() {
    for (const [pid, t] of descendants(this.root)) this.last.set(pid, t);
  }
  stop() {
    clearInterval(this.timer);
    this.sample();
    let ticks = 0;
    for (const [pid, t] of this.last) ticks += t - (this.start.get(pid) ?? 0);
    return ticks / CLK;
  }
}
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK;
}
function digest(dir) {
  const h = createHash('sha256');
  for (const f of readdirSync(join(dir, 'shards')).sort()) h.update(readFileSync(join(dir, 'shards', f)));
  return h.update(readFileSync(join(dir, 'qc_stats.json'))).digest('hex');
}

// ---------- data ----------
mkdirSync(WORK, { recursive: true });
const dev = '/work/shared/data/dev-community/';
const src = existsSync(join(dev, 'R1.fastq.gz')) ? dev : join(ROOT, 'examples', 'sample') + '/';
const r1 = join(WORK, 'R1.fastq');
const r2 = join(WORK, 'R2.fastq');
for (const [gz, out] of [['R1.fastq.gz', r1], ['R2.fastq.gz', r2]]) {
  let text = gunzipSync(readFileSync(join(src, gz))).toString('latin1');
  if (PAIRS > 0) text = text.split('\n').slice(0, 4 * PAIRS).join('\n') + '\n';
  writeFileSync(out, text, 'latin1');
}
const pairs = readFileSync(r1, 'latin1').split('\n').length >> 2;
log(`data: ${src} -> ${pairs} pairs (plain FASTQ)`);

// ---------- Ray head ----------
const startedHead = spawnSync('bash', [HEAD, 'status']).status !== 0;
const head = spawnSync('bash', [HEAD, 'start'], { encoding: 'utf8' });
if (head.status !== 0) throw new Error(`ray-head start failed: ${head.stderr}`);
const address = head.stdout.trim();
const headPid = Number(readFileSync(join(process.env.RAY_HEAD_DIR ?? '/tmp/metavec-ray', 'head.pid'), 'utf8'));

// ---------- S3 (optional) ----------
const S3_STATE = join(WORK, 's3-server');
let s3 = null;
if (S3) {
  rmSync(S3_STATE, { recursive: true, force: true });
  mkdirSync(S3_STATE, { recursive: true });
  const st = spawnSync('bash', [join(ROOT, 'scripts', 's3-server.sh'), 'start', S3_STATE], { encoding: 'utf8' });
  if (st.status !== 0) throw new Error(`s3-server start failed: ${st.stderr}`);
  const e = Object.fromEntries(readFileSync(join(S3_STATE, 'env'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  // the bucket and the inputs as files of the server's filesystem backend (a bucket is a directory there)
  const data = e.METAVEC_TEST_S3_DATA;
  mkdirSync(join(data, 'bench', 'in'), { recursive: true });
  writeFileSync(join(data, 'bench', 'in', 'R1.fastq'), readFileSync(r1));
  writeFileSync(join(data, 'bench', 'in', 'R2.fastq'), readFileSync(r2));
  const creds = join(S3_STATE, 'credentials');
  writeFileSync(creds, `[bench]\naws_access_key_id = ${e.METAVEC_TEST_S3_ACCESS_KEY}\naws_secret_access_key = ${e.METAVEC_TEST_S3_SECRET_KEY}\n`, { mode: 0o600 });
  s3 = { data, env: { ...process.env, AWS_ENDPOINT_URL: e.METAVEC_TEST_S3_ENDPOINT, AWS_REGION: 'us-east-1', AWS_SHARED_CREDENTIALS_FILE: creds, AWS_PROFILE: 'bench', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } };
}

// --correct: the two-stage path (spectrum + prep) the earlier results measured, when correction was the default
const common = ['--input', r1, '--input2', r2, '--json', '--quiet', '--rows-per-shard', '50000', '--correct'];
const rayOpts = ['--engine', 'ray', '--ray-address', address, '--slice-fragments', String(SLICE), '--ray-actors', '2'];
async function run(engine) {
  const out = engine === 'ray-s3' ? join(s3.data, 'bench', 'out') : join(WORK, `out-${engine}`);
  rmSync(out, { recursive: true, force: true });
  const args =
    engine === 'local' ? ['prep', ...common, '--output', out, '--threads', '2']
    : engine === 'ray' ? ['prep', ...common, '--output', out, ...rayOpts]
    : ['prep', '--input', 's3://bench/in/R1.fastq', '--input2', 's3://bench/in/R2.fastq', '--json', '--quiet', '--rows-per-shard', '50000', '--output', 's3://bench/out', '--correct', ...rayOpts, '--ray-env', 'AWS_SHARED_CREDENTIALS_FILE', '--ray-env', 'AWS_PROFILE'];
  const tree = engine !== 'local' ? new TreeCpu(headPid) : undefined;
  const m0 = machineCpu();
  const t0 = performance.now();
  const r = await new Promise((res, rej) => {
    const c = spawn('/usr/bin/time', ['-f', '%e %U %S', process.execPath, MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: engine === 'ray-s3' ? s3.env : process.env });
    let stderr = '';
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', rej);
    c.on('close', (status) => res({ status, stderr }));
  });
  const wall = (performance.now() - t0) / 1000;
  const rayCpu = tree ? tree.stop() : 0;
  if (r.status !== 0) throw new Error(`${engine} failed: ${r.stderr.slice(-2000)}`);
  const [, u, s] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  const clientCpu = u + s;
  const machine = machineCpu() - m0;
  const cpu = clientCpu + rayCpu;
  const res = { engine, wall_s: +wall.toFixed(2), fragments_per_s: Math.round(pairs / wall), cpu_s: +cpu.toFixed(2), client_cpu_s: +clientCpu.toFixed(2), ray_cluster_cpu_s: +rayCpu.toFixed(2), machine_cpu_s: +machine.toFixed(2), other_processes_cpu_s: +Math.max(0, machine - cpu).toFixed(2), digest: digest(out) };
  log(JSON.stringify(res));
  return res;
}

const runs = [];
try {
  const engines = S3 ? ['local', 'ray', 'ray-s3'] : ['local', 'ray'];
  for (let i = 0; i < REPS; i++) for (const e of i % 2 === 0 ? engines : [...engines].reverse()) runs.push(await run(e));
} finally {
  if (startedHead) spawnSync('bash', [HEAD, 'stop']);
  if (S3) spawnSync('bash', [join(ROOT, 'scripts', 's3-server.sh'), 'stop', S3_STATE]);
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const of = (e, k) => median(runs.filter((r) => r.engine === e).map((r) => r[k]));
const result = {
  benchmark: 'prep-ray',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, shared: 'yes: ~6 agents working in parallel on 2 cores; see other_processes_cpu_s' },
  data: { source: src, pairs, format: 'plain FASTQ (byte-range slices)' },
  options: { correction: 'on (--correct)', threads: 2, ray_actors: 2, slice_fragments: SLICE, ray_head: 'scripts/ray-head.sh, --num-cpus 2', ...(S3 ? { s3: 'ray-s3: s3:// in and out on S3Proxy (same machine; its CPU is in other_processes_cpu_s)' } : {}) },
  median: {
    local_wall_s: of('local', 'wall_s'), ray_wall_s: of('ray', 'wall_s'),
    local_fragments_per_s: of('local', 'fragments_per_s'), ray_fragments_per_s: of('ray', 'fragments_per_s'),
    ray_over_local_wall: +(of('ray', 'wall_s') / of('local', 'wall_s')).toFixed(2),
    local_cpu_s: of('local', 'cpu_s'), ray_cpu_s: of('ray', 'cpu_s'),
    ray_over_local_cpu: +(of('ray', 'cpu_s') / of('local', 'cpu_s')).toFixed(2),
    ...(S3
      ? {
          ray_s3_wall_s: of('ray-s3', 'wall_s'), ray_s3_fragments_per_s: of('ray-s3', 'fragments_per_s'), ray_s3_cpu_s: of('ray-s3', 'cpu_s'),
          ray_s3_over_ray_wall: +(of('ray-s3', 'wall_s') / of('ray', 'wall_s')).toFixed(2),
          ray_s3_over_ray_cpu: +(of('ray-s3', 'cpu_s') / of('ray', 'cpu_s')).toFixed(2),
        }
      : {}),
  },
  identical_output: new Set(runs.map((r) => r.digest)).size === 1,
  runs,
};
mkdirSync(dirname(OUT_FILE), { recursive: true });
writeFileSync(OUT_FILE, JSON.stringify(result, null, 2) + '\n');
log(`ray/local wall ${result.median.ray_over_local_wall}x, cpu ${result.median.ray_over_local_cpu}x, identical ${result.identical_output} -> ${OUT_FILE}`);
