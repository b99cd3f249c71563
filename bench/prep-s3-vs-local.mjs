#!/usr/bin/env node
// Phase 1 (`metavec prep`) reading its input from an S3-compatible server vs from local disk, on the same
// data. See bench/README.md and docs/s3.md.
//
// usage: node bench/prep-s3-vs-local.mjs [--reps N] [--threads N] [--datasets dev,100k] [--out FILE] [--no-write]
//
// Starts S3Proxy with scripts/s3-server.sh (data in bench/work/s3-server), uploads the dataset, then runs
// alternately, REPS times each: local input -> local output, s3:// input -> local output, s3:// input ->
// s3:// output. Wall time, user+sys CPU of metavec (/usr/bin/time) and of the server (/proc/PID/stat) are
// recorded; medians and the ratios S3/local are written to bench/results/s3-<date>.json.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpFromHeader, opt } from './lib/args.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', 'work');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const argv = process.argv.slice(2);
helpFromHeader(import.meta.url);
const REPS = Number(opt('reps', 3));
const THREADS = Number(opt('threads', 2));
const WANT = new Set(opt('datasets', 'dev').split(','));
const today = new Date().toISOString().slice(0, 10);
const OUT_FILE = resolve(opt('out', join(ROOT, 'bench', 'results', `s3-${today}.json`)));
const WRITE = !argv.includes('--no-write');
const log = (...a) => console.error('[bench]', ...a);
const HZ = 100;

if (!existsSync(MAIN)) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
if (!TIME) throw new Error('/usr/bin/time is needed (apt-get install time)');

const DATASETS = [];
if (WANT.has('dev') && existsSync('/work/shared/data/dev-community/R1.fastq.gz')) DATASETS.push({ name: 'dev-community', dir: '/work/shared/data/dev-community' });
if (WANT.has('100k')) {
  const dir = join(WORK, 'community-100k');
  if (!existsSync(join(dir, 'R1.fastq.gz'))) spawnSync(join(ROOT, 'bench', 'make-bench-data.sh'), [], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, PAIRS: '100000', OUT: dir } });
  if (existsSync(join(dir, 'R1.fastq.gz'))) DATASETS.push({ name: 'community-100k', dir });
}
if (!DATASETS.length) throw new Error('no dataset available');

// ---------- the server ----------
const STATE = join(WORK, 's3-server');
rmSync(STATE, { recursive: true, force: true });
mkdirSync(STATE, { recursive: true });
execFileSync('bash', [join(ROOT, 'scripts', 's3-server.sh'), 'start', STATE], { stdio: 'inherit' });
const senv = Object.fromEntries(readFileSync(join(STATE, 'env'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const ENV = {
  ...process.env,
  AWS_ACCESS_KEY_ID: senv.METAVEC_TEST_S3_ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: senv.METAVEC_TEST_S3_SECRET_KEY,
  AWS_ENDPOINT_URL: senv.METAVEC_TEST_S3_ENDPOINT,
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const serverPid = Number(senv.METAVEC_TEST_S3_PID);
function serverCpu() {
  const st = readFileSync(`/proc/${serverPid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / HZ;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { S3Client, CreateBucketCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
const client = new S3Client({
  endpoint: ENV.AWS_ENDPOINT_URL, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: ENV.AWS_ACCESS_KEY_ID, secretAccessKey: ENV.AWS_SECRET_ACCESS_KEY },
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
await client.send(new CreateBucketCommand({ Bucket: 'bench' }));

async function measure(args, tag) {
  const timeFile = join(WORK, `.time-${process.pid}.txt`);
  const c0 = serverCpu();
  const child = spawn(TIME, ['-f', '%e %M %U %S', '-o', timeFile, process.execPath, MAIN, ...args], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((r) => child.on('close', r));
  if (code !== 0) throw new Error(`${tag} exited with ${code}\n${stderr.slice(-2000)}`);
  const [e, m, u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  rmSync(timeFile, { force: true });
  return { wall_s: e, rss_kb: m, cpu_s: +(u + s).toFixed(2), server_cpu_s: +(serverCpu() - c0).toFixed(2), summary: JSON.parse(stdout) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = [];
for (const ds of DATASETS) {
  const bytes = statSync(join(ds.dir, 'R1.fastq.gz')).size + statSync(join(ds.dir, 'R2.fastq.gz')).size;
  log(`${ds.name}: uploading ${(bytes / 1e6).toFixed(1)} MB`);
  for (const f of ['R1.fastq.gz', 'R2.fastq.gz']) await client.send(new PutObjectCommand({ Bucket: 'bench', Key: `${ds.name}/${f}`, Body: readFileSync(join(ds.dir, f)) }));
  const localIn = ['--input', join(ds.dir, 'R1.fastq.gz'), '--input2', join(ds.dir, 'R2.fastq.gz')];
  const s3In = ['--input', `s3://bench/${ds.name}/R1.fastq.gz`, '--input2', `s3://bench/${ds.name}/R2.fastq.gz`];
  // --correct: the input is read twice, as in the earlier results (correction was the default then)
  const common = ['--threads', String(THREADS), '--correct', '--json', '--quiet'];
  const configs = {
    'local->local': () => [...localIn, '--output', join(WORK, 's3-bench', 'local'), ...common],
    's3->local': () => [...s3In, '--output', join(WORK, 's3-bench', 's3in'), ...common],
    's3->s3': (rep) => [...s3In, '--output', `s3://bench/out/${ds.name}/rep${rep}`, ...common],
  };
  const runs = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
  const names = Object.keys(configs);
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? [...names].reverse() : names;
    for (const name of order) {
      rmSync(join(WORK, 's3-bench'), { recursive: true, force: true });
      const r = await measure(['prep', ...configs[name](rep)], `${name} ${ds.name}`);
      runs[name].push(r);
      log(`${ds.name} rep ${rep} ${name}: ${r.wall_s.toFixed(2)} s wall, ${r.cpu_s} s CPU (server ${r.server_cpu_s} s), ${(r.rss_kb / 1024).toFixed(0)} MB`);
    }
  }
  const pairs = runs['local->local'][0].summary.fragments_in;
  const med = Object.fromEntries(names.map((n) => [n, {
    wall_s: median(runs[n].map((r) => r.wall_s)),
    cpu_s: median(runs[n].map((r) => r.cpu_s)),
    server_cpu_s: median(runs[n].map((r) => r.server_cpu_s)),
    rss_mb: +(median(runs[n].map((r) => r.rss_kb)) / 1024).toFixed(0),
    pairs_per_s: Math.round(pairs / median(runs[n].map((r) => r.wall_s))),
  }]));
  const same = names.every((n) => runs[n].every((r) => r.summary.fragments_out === runs['local->local'][0].summary.fragments_out));
  results.push({
    dataset: ds.name,
    pairs,
    input_bytes: bytes,
    reps: REPS,
    runs: Object.fromEntries(names.map((n) => [n, runs[n].map(({ summary, ...r }) => ({ ...r, fragments_out: summary.fragments_out }))])),
    median: med,
    ratio_throughput_s3_in_vs_local: +(med['local->local'].wall_s / med['s3->local'].wall_s).toFixed(3),
    ratio_throughput_s3_in_out_vs_local: +(med['local->local'].wall_s / med['s3->s3'].wall_s).toFixed(3),
    identical_counts: same,
  });
  log(`${ds.name}: throughput S3 in / local = ${results.at(-1).ratio_throughput_s3_in_vs_local}, S3 in+out / local = ${results.at(-1).ratio_throughput_s3_in_out_vs_local}`);
}
client.destroy();
execFileSync('bash', [join(ROOT, 'scripts', 's3-server.sh'), 'stop', STATE], { stdio: 'inherit' });

const doc = {
  benchmark: 'metavec prep: input from an S3-compatible server (S3Proxy on loopback) vs local disk',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: +(totalmem() / 2 ** 30).toFixed(1), note: 'shared by several agents; the S3 server runs on the same 2 cores' },
  server: 'S3Proxy 2.7.0 (filesystem backend) started by scripts/s3-server.sh',
  command: `node bench/prep-s3-vs-local.mjs ${argv.join(' ')}`.trim(),
  metavec_args: 'prep --input R1 --input2 R2 --output OUT --threads 2 --correct --json --quiet (error correction on: the input is read twice)',
  results,
};
if (WRITE) {
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, JSON.stringify(doc, null, 2) + '\n');
  log(`results in ${OUT_FILE}`);
} else console.log(JSON.stringify(doc, null, 2));
