#!/usr/bin/env node
/**
 * Load test of Phase 1: peak RSS of `metavec prep` on a 10,000,000-pair synthetic input vs a 100,000-pair one
 * (goal: within 20%). The inputs are generated streaming (random genomes, 150 bp pairs with 1% substitutions,
 * Phred+33 qualities, a few percent duplicates) into bench/work/load/ (git-ignored; ~3.3 GB per 10M pairs,
 * gzip level 1) and reused by later runs.
 *
 *   npx tsc -p tsconfig.json && node bench/load-prep.mjs [--pairs 100000,10000000] [--threads 2]
 *       [--extra "--correct"] [--out bench/results/load-prep-<date>.json]
 *
 * Each run is measured with /usr/bin/time (wall, user+sys CPU, peak RSS) and its RSS is sampled every second
 * from /proc/PID/status (VmRSS), so the result shows where memory grows over the run (RSS at 10%..100% of the
 * wall time). The machine may be shared: CPU seconds are comparable between runs, wall times are not.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = process.env.METAVEC_CLI ?? join(ROOT, 'dist/src/cli/main.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const PAIRS = arg('pairs', '100000,10000000').split(',').map(Number);
const THREADS = arg('threads', '2');
const EXTRA = (arg('extra', '') ?? '').split(' ').filter(Boolean);
const date = new Date().toISOString().slice(0, 10);
const OUT = arg('out', join(ROOT, 'bench/results', `load-prep-${date}.json`));

function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Streams `pairs` read pairs into R1/R2 gzip files (level 1: generation is not the bottleneck). */
async function generate(dir, pairs, seed = 7) {
  if (existsSync(join(dir, 'R1.fastq.gz')) && existsSync(join(dir, 'R2.fastq.gz'))) return;
  mkdirSync(dir, { recursive: true });
  const r = xorshift(seed);
  const B = 'ACGT';
  const COMP = { A: 'T', C: 'G', G: 'C', T: 'A' };
  const genomes = Array.from({ length: 8 }, (_, g) => {
    const gc = 0.3 + 0.05 * g;
    const a = new Array(2_000_000);
    for (let i = 0; i < a.length; i++) {
      const x = r();
      a[i] = x < gc / 2 ? 'G' : x < gc ? 'C' : x < gc + (1 - gc) / 2 ? 'A' : 'T';
    }
    return a.join('');
  });
  const open = (name) => {
    const gz = createGzip({ level: 1 });
    const file = createWriteStream(join(dir, `${name}.partial`));
    gz.pipe(file);
    return { gz, file, name };
  };
  const o1 = open('R1.fastq.gz');
  const o2 = open('R2.fastq.gz');
  const len = 150;
  const qual = 'I'.repeat(len);
  let b1 = '';
  let b2 = '';
  const mutate = (s) => {
    if (r() > 0.7) return s;
    const p = Math.floor(r() * s.length);
    return s.slice(0, p) + B[Math.floor(r() * 4)] + s.slice(p + 1);
  };
  let last = '';
  for (let i = 0; i < pairs; i++) {
    let frag;
    if (i > 0 && r() < 0.03) frag = last; // duplicates
    else {
      const g = genomes[Math.floor(r() * genomes.length)];
      const insert = 250 + Math.floor(r() * 150);
      const pos = Math.floor(r() * (g.length - insert));
      frag = g.slice(pos, pos + insert);
    }
    last = frag;
    let rc = '';
    for (let j = frag.length - 1; j >= frag.length - len; j--) rc += COMP[frag[j]];
    const id = `L${i}`;
    b1 += `@${id}/1\n${mutate(frag.slice(0, len))}\n+\n${qual}\n`;
    b2 += `@${id}/2\n${mutate(rc)}\n+\n${qual}\n`;
    if (b1.length > 1 << 20) {
      o1.gz.write(b1);
      o2.gz.write(b2);
      b1 = '';
      b2 = '';
      // check each stream when its turn comes: one may have drained while we waited for the other
      if (o1.gz.writableNeedDrain) await once(o1.gz, 'drain');
      if (o2.gz.writableNeedDrain) await once(o2.gz, 'drain');
    }
    if (i % 1_000_000 === 0 && i > 0) process.stderr.write(`generate: ${i} pairs\n`);
  }
  o1.gz.end(b1);
  o2.gz.end(b2);
  await Promise.all([once(o1.file, 'close'), once(o2.file, 'close')]);
  for (const o of [o1, o2]) renameSync(join(dir, `${o.name}.partial`), join(dir, o.name));
}

/** Runs prep under /usr/bin/time, sampling VmRSS every second. */
async function measure(dir, pairs) {
  const out = join(ROOT, 'bench/work/load', `out-${pairs}`);
  rmSync(out, { recursive: true, force: true });
  const args = [CLI, 'prep', '--input', join(dir, 'R1.fastq.gz'), '--input2', join(dir, 'R2.fastq.gz'), '--output', out, '--threads', THREADS, '--json', '--quiet', ...EXTRA];
  const t0 = Date.now();
  const child = spawn('/usr/bin/time', ['-f', '%e %M %U %S', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const samples = [];
  const timer = setInterval(() => {
    // the node process is the child of /usr/bin/time
    const kids = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    for (const k of kids) {
      try {
        const st = readFileSync(`/proc/${k}/status`, 'utf8');
        const m = /VmRSS:\s+(\d+) kB/.exec(st);
        if (m) samples.push({ t: (Date.now() - t0) / 1000, rss_mb: Math.round(Number(m[1]) / 1024) });
      } catch {
        // exited
      }
    }
  }, 1000);
  const [code] = await once(child, 'close');
  clearInterval(timer);
  if (code !== 0) throw new Error(`prep failed (${code}): ${stderr.slice(-2000)}`);
  const [wall, rssKb, user, sys] = stderr.trim().split('\n').pop().split(' ').map(Number);
  const summary = JSON.parse(stdout);
  const wallS = (Date.now() - t0) / 1000;
  const profile = [0.1, 0.25, 0.5, 0.75, 0.9, 1].map((q) => {
    const upto = samples.filter((s) => s.t <= q * wallS);
    return { at: `${q * 100}%`, max_rss_mb: upto.length ? Math.max(...upto.map((s) => s.rss_mb)) : null };
  });
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const result = {
    pairs,
    input_bytes: statSync(join(dir, 'R1.fastq.gz')).size + statSync(join(dir, 'R2.fastq.gz')).size,
    wall_s: wall,
    cpu_s: +(user + sys).toFixed(1),
    peak_rss_mb: Math.round(rssKb / 1024),
    rss_profile: profile,
    fragments_out: summary.fragments_out,
    shards: summary.shards,
    correction: manifest.parameters.correction,
    loadavg_after: loadavg(),
  };
  rmSync(out, { recursive: true, force: true });
  return result;
}

const runs = [];
for (const pairs of PAIRS) {
  const dir = join(ROOT, 'bench/work/load', `pairs-${pairs}`);
  const tg = Date.now();
  await generate(dir, pairs);
  process.stderr.write(`load: input ${pairs} pairs ready (${((Date.now() - tg) / 1000).toFixed(0)} s); running prep\n`);
  const m = await measure(dir, pairs);
  process.stderr.write(`load: ${pairs} pairs: peak RSS ${m.peak_rss_mb} MB, ${m.wall_s} s wall, ${m.cpu_s} CPU s\n`);
  runs.push(m);
}
const base = runs[0];
const result = {
  schema: 'metavec.bench.load-prep/1',
  date,
  git_commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
  machine: { nproc: cpus().length, cpu: cpus()[0]?.model, mem_total_gb: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, note: 'shared with other agents: compare CPU seconds and RSS, not wall time' },
  command: `node bench/load-prep.mjs --pairs ${PAIRS.join(',')} --threads ${THREADS}${EXTRA.length ? ` --extra "${EXTRA.join(' ')}"` : ''}`,
  prep_command: `node dist/src/cli/main.js prep --input R1.fastq.gz --input2 R2.fastq.gz --output OUT --threads ${THREADS} --json --quiet ${EXTRA.join(' ')}`.trim(),
  runs,
  rss_ratio: runs.map((r) => ({ pairs: r.pairs, ratio_to_first: +(r.peak_rss_mb / base.peak_rss_mb).toFixed(3) })),
  goal: 'peak RSS of the largest run within 20% of the first (ratio <= 1.2)',
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result.rss_ratio), '->', OUT);
