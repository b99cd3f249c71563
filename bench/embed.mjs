#!/usr/bin/env node
// Embedding methods side by side on the dev community: `metavec prep` throughput (fragments/s), CPU seconds
// and peak RSS for --embed kmer, lsh, onnx (the tiny test model, and a DNABERT-2-sized random-weight model on
// a subsample), then clustering quality of each embedding with every Phase 2 method (`metavec cluster --method M
// --k K` + `metavec eval`, M in --cluster-methods). See bench/README.md.
//
// usage: node bench/embed.mjs [--threads 2] [--k 7] [--big-pairs 200] [--no-big] [--methods kmer,lsh,lsh-k8b8,onnx-tiny]
//                             [--cluster-methods kmeans,lsh,graph] [--lsh-args "--kmer 12"] [--out FILE] [--no-write]
//
// The machine is shared: every run reports user+sys CPU seconds next to wall time, and the load average.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { opt } from './lib/args.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', 'work', 'embed');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DEV = '/work/shared/data/dev-community';

const argv = process.argv.slice(2);
const THREADS = Number(opt('threads', 2));
const K = opt('k', '7');
const BIG_PAIRS = Number(opt('big-pairs', 200));
const METHODS = opt('methods', 'kmer,lsh,lsh-k8b8,onnx-tiny').split(',');
const CLUSTER_METHODS = opt('cluster-methods', 'kmeans,lsh,graph').split(',');
const LSH_ARGS = opt('lsh-args', '').split(' ').filter(Boolean);
const today = new Date().toISOString().slice(0, 10);
const OUT_FILE = resolve(opt('out', join(ROOT, 'bench', 'results', `embed-${today}.json`)));
const log = (...a) => console.error('[bench]', ...a);

if (!existsSync(MAIN)) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
if (!existsSync(join(DEV, 'R1.fastq.gz'))) throw new Error(`dev community not found in ${DEV}`);
mkdirSync(WORK, { recursive: true });
const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import numpy, onnx'], { stdio: 'ignore' }).status === 0);

/** Runs the CLI under /usr/bin/time; returns parsed --json stdout and wall/cpu/rss. */
function timed(args, label) {
  const tf = join(WORK, 'time.txt');
  const load = loadavg()[0];
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', tf, process.execPath, MAIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${label}: exit ${r.status}: ${r.stderr}`);
  const [wall, rssKb, user, sys] = readFileSync(tf, 'utf8').trim().split(/\s+/).slice(-4).map(Number);
  return { json: r.stdout.trim().startsWith('{') ? JSON.parse(r.stdout) : undefined, wall_s: wall, cpu_s: +(user + sys).toFixed(2), peak_rss_mb: Math.round(rssKb / 1024), load_avg_1m_before: +load.toFixed(2) };
}

function subsample(n) {
  const dir = join(WORK, `sub-${n}`);
  if (!existsSync(join(dir, 'R2.fastq'))) {
    mkdirSync(dir, { recursive: true });
    for (const m of ['R1', 'R2']) execFileSync('sh', ['-c', `gzip -dc ${DEV}/${m}.fastq.gz | head -n ${4 * n} > ${dir}/${m}.fastq`]);
  }
  return dir;
}

function bigModel() {
  const dir = join(WORK, 'dnabert2-random');
  if (existsSync(join(dir, 'onnx', 'model.onnx'))) return dir;
  if (!python) return undefined;
  log('building a DNABERT-2-sized random-weight model (12 layers, 768 dims, 4096-token vocabulary) ...');
  execFileSync(python, [join(ROOT, 'scripts', 'make-tiny-bert.py'), dir, '--hidden', '768', '--layers', '12', '--heads', '12', '--intermediate', '3072', '--vocab', '4096', '--max-length', '512', '--no-expected'], { stdio: 'inherit' });
  return dir;
}

const CASES = {
  kmer: { embed: ['--embed', 'kmer'], input: DEV },
  lsh: { embed: ['--embed', 'lsh', ...LSH_ARGS], input: DEV },
  'lsh-k8b8': { embed: ['--embed', 'lsh', '--kmer', '8', '--lsh-bits', '8'], input: DEV },
  'onnx-tiny': { embed: ['--embed', `onnx:${join(ROOT, 'test', 'fixtures', 'tiny-bert')}`], input: DEV, note: 'random weights: quality is meaningless' },
};

const results = [];
for (const m of METHODS) {
  const c = CASES[m];
  if (!c) throw new Error(`unknown method ${m}`);
  const out = join(WORK, m);
  rmSync(out, { recursive: true, force: true });
  log(`${m}: prep ...`);
  const input = ['--input', join(c.input, existsSync(join(c.input, 'R1.fastq.gz')) ? 'R1.fastq.gz' : 'R1.fastq'), '--input2', join(c.input, existsSync(join(c.input, 'R2.fastq.gz')) ? 'R2.fastq.gz' : 'R2.fastq')];
  const prep = timed(['prep', ...input, '--output', join(out, 'prep'), '--threads', String(THREADS), ...c.embed, '--json', '--quiet'], `${m} prep`);
  const manifest = JSON.parse(readFileSync(join(out, 'prep', 'manifest.json'), 'utf8'));
  const clustering = [];
  for (const cm of CLUSTER_METHODS) {
    log(`${m}: cluster --method ${cm} + eval ...`);
    const dir = join(out, `cluster-${cm}`);
    const cl = timed(['cluster', '--input', join(out, 'prep'), '--output', dir, '--method', cm, '--k', K, '--threads', String(THREADS), '--json', '--quiet'], `${m} cluster ${cm}`);
    const ev = timed(['eval', '--labels', join(dir, 'labels.parquet'), '--truth', join(DEV, 'truth.tsv.gz'), '--json'], `${m} eval ${cm}`);
    const a = ev.json.assigned;
    clustering.push({
      method: cm,
      k: cl.json.k,
      wall_s: cl.wall_s,
      cpu_s: cl.cpu_s,
      peak_rss_mb: cl.peak_rss_mb,
      quality: { ari: +a.ari.toFixed(4), nmi: +a.nmi.toFixed(4), f1_macro: +a.f1.macro.toFixed(4), f1_weighted: +a.f1.weighted.toFixed(4), purity: +a.purity.toFixed(4) },
    });
  }
  const first = clustering[0];
  const row = {
    method: m,
    args: c.embed.join(' '),
    embedding: { ...manifest.embedding, columns: undefined },
    fragments_in: prep.json.fragments_in,
    fragments_out: prep.json.fragments_out,
    prep: { wall_s: prep.wall_s, cpu_s: prep.cpu_s, peak_rss_mb: prep.peak_rss_mb, fragments_per_s: Math.round(prep.json.fragments_in / prep.wall_s), fragments_per_cpu_s: Math.round(prep.json.fragments_in / prep.cpu_s), load_avg_1m_before: prep.load_avg_1m_before },
    // the first cluster method's run, under the keys earlier results used
    ...(first ? { cluster: { method: first.method, k: first.k, wall_s: first.wall_s, cpu_s: first.cpu_s, peak_rss_mb: first.peak_rss_mb }, quality: first.quality } : {}),
    clustering,
    ...(c.note ? { note: c.note } : {}),
  };
  log(JSON.stringify({ method: m, prep: row.prep, clustering: clustering.map((r) => ({ method: r.method, k: r.k, ...r.quality })) }));
  results.push(row);
}

if (!argv.includes('--no-big')) {
  const dir = bigModel();
  if (!dir) log('skipping the DNABERT-2-sized model: no python3 with numpy and onnx');
  else {
    const sub = subsample(BIG_PAIRS);
    const out = join(WORK, 'onnx-dnabert2-size');
    rmSync(out, { recursive: true, force: true });
    log(`onnx (DNABERT-2-sized, random weights): prep on ${BIG_PAIRS} pairs ...`);
    const prep = timed(['prep', '--input', join(sub, 'R1.fastq'), '--input2', join(sub, 'R2.fastq'), '--output', join(out, 'prep'), '--threads', String(THREADS), '--embed', `onnx:${dir}`, '--json', '--quiet'], 'big prep');
    const kmer = timed(['prep', '--input', join(sub, 'R1.fastq'), '--input2', join(sub, 'R2.fastq'), '--output', join(out, 'prep-kmer'), '--threads', String(THREADS), '--json', '--quiet'], 'big kmer prep');
    const manifest = JSON.parse(readFileSync(join(out, 'prep', 'manifest.json'), 'utf8'));
    const row = {
      method: 'onnx-dnabert2-size',
      args: '--embed onnx:bench/work/embed/dnabert2-random',
      embedding: { ...manifest.embedding },
      fragments_in: prep.json.fragments_in,
      fragments_out: prep.json.fragments_out,
      prep: { wall_s: prep.wall_s, cpu_s: prep.cpu_s, peak_rss_mb: prep.peak_rss_mb, fragments_per_s: +(prep.json.fragments_in / prep.wall_s).toFixed(2), fragments_per_cpu_s: +(prep.json.fragments_in / prep.cpu_s).toFixed(2), load_avg_1m_before: prep.load_avg_1m_before },
      kmer_same_subsample: { wall_s: kmer.wall_s, cpu_s: kmer.cpu_s, peak_rss_mb: kmer.peak_rss_mb },
      note: 'random weights with DNABERT-2 shapes (117M parameters): speed and memory only; quality needs the real checkpoint (docs/embedding.md)',
    };
    log(JSON.stringify({ method: row.method, prep: row.prep }));
    results.push(row);
  }
}

const doc = {
  benchmark: 'embed',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, mem_gb: Math.round(totalmem() / 2 ** 30), shared: 'yes: other agents were running; compare CPU seconds and ratios, not absolute wall times' },
  dataset: { name: 'dev community', path: DEV, pairs: 99981, species: 7 },
  threads: THREADS,
  k: Number(K),
  results,
};
if (!argv.includes('--no-write')) {
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, JSON.stringify(doc, null, 2) + '\n');
  log(`wrote ${OUT_FILE}`);
}
console.log(JSON.stringify(doc, null, 2));
