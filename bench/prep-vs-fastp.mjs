#!/usr/bin/env node
// Side-by-side benchmark of `metavec prep` (Phase 1: QC + dedup + k-mer embedding -> Parquet)
// against fastp with equivalent trimming/filtering settings. See bench/README.md.
//
// usage: node bench/prep-vs-fastp.mjs [--reps N] [--reps-large N] [--threads N]
//                                     [--datasets dev,100k,1m] [--out FILE] [--no-write]
//                                     [--quiet-wait SECONDS] [--retries N] [--fastp PATH]
//                                     [--data NAME=DIR,...] [--variants no-correct,default]
//
// --data adds datasets (DIR/R1.fastq.gz + DIR/R2.fastq.gz); --variants runs metavec once per variant in each
// repetition ('no-correct': --no-correct; 'default': the CLI's default, error correction as it is on by default).
// For each dataset both tools run alternately (metavec, fastp, fastp, metavec, ...) REPS times; wall
// time and peak RSS of each child are measured with /usr/bin/time -f '%e %M' (fallback: polling
// /proc/PID/status VmHWM) and the median is reported. Results go to bench/results/prep-<date>.json.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpFromHeader, opt } from './lib/args.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', 'work');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

// ---------- options ----------
const argv = process.argv.slice(2);
helpFromHeader(import.meta.url, 16);
const REPS = Number(opt('reps', 3));
const REPS_LARGE = Number(opt('reps-large', 2)); // datasets with >= 500k pairs
const THREADS = Number(opt('threads', 2));
const WANT = new Set(opt('datasets', 'dev,100k,1m').split(','));
const today = new Date().toISOString().slice(0, 10);
const OUT_FILE = resolve(opt('out', join(ROOT, 'bench', 'results', `prep-${today}.json`)));
const WRITE = !argv.includes('--no-write');
const RETRIES = Number(opt('retries', 2)); // repeats of a run contended by other processes
const QUIET_WAIT = Number(opt('quiet-wait', 300)); // s to wait for an idle machine before each run
const FASTP = opt('fastp', existsSync('/usr/bin/fastp') ? '/usr/bin/fastp' : 'fastp');
const VARIANTS = opt('variants', 'no-correct').split(',');
for (const v of VARIANTS) if (v !== 'no-correct' && v !== 'default') throw new Error(`--variants: unknown variant '${v}' (no-correct, default)`);
const EXTRA = opt('data', '').split(',').filter(Boolean).map((x) => {
  const i = x.indexOf('=');
  if (i <= 0) throw new Error(`--data: '${x}' is not NAME=DIR`);
  return { name: x.slice(0, i), dir: resolve(x.slice(i + 1)) };
});

const log = (...a) => console.error('[bench]', ...a);

// ---------- prerequisites ----------
if (!existsSync(MAIN)) {
  log('dist/ missing: building with npx tsc -p tsconfig.json');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
}
const fastpVersion = (() => {
  const r = spawnSync(FASTP, ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error(`fastp not found (${FASTP}): install it (apt-get install fastp) or pass --fastp PATH`);
  return `${r.stdout}${r.stderr}`.trim();
})();

let TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
if (!TIME && process.getuid?.() === 0) {
  log('/usr/bin/time missing: installing Debian package "time"');
  const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time'], { stdio: 'inherit' });
  if (r.status === 0 && existsSync('/usr/bin/time')) TIME = '/usr/bin/time';
}
if (!TIME) log('/usr/bin/time unavailable: measuring with /proc/PID/status VmHWM polling');

function ensureData(name, dir, pairs) {
  if (existsSync(join(dir, 'R1.fastq.gz')) && existsSync(join(dir, 'R2.fastq.gz'))) return true;
  log(`creating ${name} data in ${dir} (bench/make-bench-data.sh, PAIRS=${pairs})`);
  const r = spawnSync(join(ROOT, 'bench', 'make-bench-data.sh'), [], {
    cwd: ROOT, stdio: 'inherit', env: { ...process.env, PAIRS: String(pairs), OUT: dir },
  });
  if (r.status !== 0) { log(`could not create ${name} data: skipped`); return false; }
  return true;
}

const DATASETS = [];
if (WANT.has('dev')) {
  const dir = '/work/shared/data/dev-community';
  if (existsSync(join(dir, 'R1.fastq.gz')) && existsSync(join(dir, 'R2.fastq.gz'))) DATASETS.push({ name: 'dev-community', dir });
  else log(`dev community not found in ${dir}: skipped`);
}
if (WANT.has('100k')) {
  const dir = join(WORK, 'community-100k');
  if (ensureData('100k', dir, 100_000)) DATASETS.push({ name: 'community-100k', dir });
}
if (WANT.has('1m')) {
  const dir = join(WORK, 'community-1m');
  if (ensureData('1m', dir, 1_000_000)) DATASETS.push({ name: 'community-1m', dir });
}
for (const d of EXTRA) {
  if (existsSync(join(d.dir, 'R1.fastq.gz')) && existsSync(join(d.dir, 'R2.fastq.gz'))) DATASETS.push(d);
  else log(`--data ${d.name}: no R1.fastq.gz/R2.fastq.gz in ${d.dir}: skipped`);
}
if (!DATASETS.length) { log('no dataset available'); process.exit(1); }

// ---------- measurement ----------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Aggregate CPU counters from /proc/stat (jiffies): busy and total. */
function cpuStat() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch { return null; }
}
const HZ = 100; // USER_HZ on Linux

/** Waits (up to QUIET_WAIT s) until the machine is idle: < 15% of the cores busy over 1 s. */
async function waitQuiet() {
  const deadline = Date.now() + QUIET_WAIT * 1000;
  let waited = false;
  for (;;) {
    const a = cpuStat();
    await sleep(1000);
    const b = cpuStat();
    if (!a || !b) return;
    const busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    if (busy < 0.15) { if (waited) log('machine idle again'); return; }
    if (Date.now() > deadline) { log(`machine still ${(busy * 100).toFixed(0)}% busy after ${QUIET_WAIT} s: measuring anyway`); return; }
    if (!waited) log(`other processes use ${(busy * 100).toFixed(0)}% of the CPUs: waiting (up to ${QUIET_WAIT} s)`);
    waited = true;
  }
}

/**
 * Runs cmd/args; returns { wall_s, rss_kb, cpu_s, other_cpu_s, stdout }. Throws on non-zero exit.
 * other_cpu_s: CPU seconds used by other processes on the machine during the run (contention).
 */
async function measure(cmd, args, tag) {
  await waitQuiet();
  const load0 = Math.round(loadavg()[0] * 100) / 100; // 1-minute load average as the run starts
  const timeFile = join(WORK, `.time-${process.pid}.txt`);
  const full = TIME ? [TIME, ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const s0 = cpuStat();
  const t0 = process.hrtime.bigint();
  const child = spawn(full[0], full[1], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  let hwm = 0;
  let cpuTicks = 0;
  const done = new Promise((res) => child.on('close', (code) => res(code)));
  let finished = false;
  done.then(() => { finished = true; });
  if (!TIME) {
    while (!finished) {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
        const st = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        cpuTicks = Number(f[11]) + Number(f[12]);
      } catch { /* exited */ }
      await sleep(20);
    }
  }
  const code = await done;
  const wallNs = Number(process.hrtime.bigint() - t0);
  const s1 = cpuStat();
  if (code !== 0) throw new Error(`${tag} exited with ${code}\n${stderr.slice(-2000)}`);
  let wall_s = wallNs / 1e9;
  let rss_kb = hwm;
  let cpu_s = cpuTicks / HZ;
  if (TIME) {
    const [e, m, u, sy] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
    wall_s = e; rss_kb = m; cpu_s = u + sy;
    rmSync(timeFile, { force: true });
  }
  const other_cpu_s = s0 && s1 ? Math.max(0, (s1.busy - s0.busy) / HZ - cpu_s) : null;
  return { wall_s, rss_kb, cpu_s, other_cpu_s, load1: load0, stdout };
}

function metavecArgs(ds, out, variant) {
  return [MAIN, 'prep', '--input', join(ds.dir, 'R1.fastq.gz'), '--input2', join(ds.dir, 'R2.fastq.gz'),
    '--output', out, '--threads', String(THREADS), ...(variant === 'no-correct' ? ['--no-correct'] : []), '--json', '--quiet'];
}
function fastpArgs(ds, out) {
  return ['-w', String(THREADS), '--detect_adapter_for_pe', '--dedup', '--cut_front', '--cut_tail',
    '-W', '4', '-M', '20', '-l', '30', '-n', '7', '-y',
    '-i', join(ds.dir, 'R1.fastq.gz'), '-I', join(ds.dir, 'R2.fastq.gz'),
    '-o', join(out, 'out1.fq.gz'), '-O', join(out, 'out2.fq.gz'),
    '-j', join(out, 'fastp.json'), '-h', join(out, 'fastp.html')];
}

const fmtRun = (r) => `${r.wall_s.toFixed(2)} s wall, ${r.cpu_s.toFixed(1)} s CPU, ${(r.rss_kb / 1024).toFixed(0)} MB peak RSS` +
  (r.other_cpu_s === null ? '' : `, other processes ${r.other_cpu_s.toFixed(1)} CPU-s`);

async function runMetavec(ds, rep, variant) {
  const out = join(WORK, 'prep-vs-fastp', ds.name, `metavec-${variant}`);
  rmSync(out, { recursive: true, force: true }); // never resume a previous run
  mkdirSync(dirname(out), { recursive: true });
  const r = await measure(process.execPath, metavecArgs(ds, out, variant), `metavec ${variant} (${ds.name})`);
  const summary = JSON.parse(r.stdout);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  log(`${ds.name} rep ${rep} metavec ${variant}: ${fmtRun(r)} (load ${r.load1})`);
  return { wall_s: r.wall_s, rss_kb: r.rss_kb, cpu_s: r.cpu_s, other_cpu_s: r.other_cpu_s, load1: r.load1, internal_s: summary.seconds, manifest };
}

async function runFastp(ds, rep) {
  const out = join(WORK, 'prep-vs-fastp', ds.name, 'fastp');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const r = await measure(FASTP, fastpArgs(ds, out), `fastp (${ds.name})`);
  const report = JSON.parse(readFileSync(join(out, 'fastp.json'), 'utf8'));
  log(`${ds.name} rep ${rep} fastp:   ${fmtRun(r)} (load ${r.load1})`);
  return { wall_s: r.wall_s, rss_kb: r.rss_kb, cpu_s: r.cpu_s, other_cpu_s: r.other_cpu_s, load1: r.load1, report };
}

const NPROC = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
/** A run is contended when other processes used more than 10% of the machine's CPU time during it. */
const contended = (r) => r.other_cpu_s !== null && r.other_cpu_s > 0.1 * r.wall_s * NPROC;
/** Runs fn(); repeats it (up to RETRIES times) while the run was contended. Returns all attempts. */
async function clean(fn) {
  const attempts = [];
  for (let i = 0; i <= RETRIES; i++) {
    const r = await fn();
    r.contended = contended(r);
    attempts.push(r);
    if (!r.contended) break;
    if (i < RETRIES) log('run was contended by other processes: repeating it');
  }
  return attempts;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

// ---------- run ----------
const results = [];
for (const ds of DATASETS) {
  const mvs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  const fp = [];
  const load_start = loadavg().map((x) => round(x));
  // a quick pairs count decides the number of repetitions (1M pairs: REPS_LARGE)
  let reps = REPS;
  for (let rep = 1; rep <= reps; rep++) {
    // alternate the order: odd reps metavec (each variant) first, even reps fastp first and the variants reversed
    const steps = [...VARIANTS.map((v) => async () => { mvs[v].push(...await clean(() => runMetavec(ds, rep, v))); }),
      async () => { fp.push(...await clean(() => runFastp(ds, rep))); }];
    for (const step of rep % 2 ? steps : steps.reverse()) await step();
    if (rep === 1 && mvs[VARIANTS[0]][0].manifest.counts.fragments_in >= 500_000) reps = Math.min(REPS, REPS_LARGE);
  }
  const load_end = loadavg().map((x) => round(x));
  const j = fp[fp.length - 1].report;
  const fastpPairs = j.summary.before_filtering.total_reads / 2;
  // medians over uncontended runs (all runs if every one was contended)
  const usable = (rs) => (rs.some((r) => !r.contended) ? rs.filter((r) => !r.contended) : rs);
  const med = (all) => { const rs = usable(all); return { n: rs.length, wall_s: median(rs.map((r) => r.wall_s)), rss_kb: median(rs.map((r) => r.rss_kb)), cpu_s: median(rs.map((r) => r.cpu_s)) }; };
  const f = med(fp);
  const fFps = fastpPairs / f.wall_s;
  const fastpKeptPairs = j.summary.after_filtering.total_reads / 2;
  const fastpPassedPairs = j.filtering_result.passed_filter_reads / 2;
  const variant = (v) => {
    const mv = mvs[v];
    const c = mv[mv.length - 1].manifest.counts;
    const m = med(mv);
    const mFps = c.fragments_in / m.wall_s;
    return {
      variant: v,
      runs_used_for_median: m.n,
      wall_s: round(m.wall_s), cpu_s: round(m.cpu_s), peak_rss_mb: round(m.rss_kb / 1024, 1),
      fragments_per_s: Math.round(mFps), fragments_per_cpu_s: Math.round(c.fragments_in / m.cpu_s),
      ratio_fragments_per_s: round(mFps / fFps, 3),
      ratio_fragments_per_cpu_s: round(f.cpu_s / m.cpu_s, 3),
      ratio_peak_rss: round(m.rss_kb / f.rss_kb, 3),
      runs: mv.map((r) => ({ wall_s: r.wall_s, cpu_s: round(r.cpu_s), peak_rss_kb: r.rss_kb, other_cpu_s: r.other_cpu_s === null ? null : round(r.other_cpu_s, 1), contended: r.contended, load1: r.load1, internal_s: round(r.internal_s, 3) })),
      counts: {
        fragments_in: c.fragments_in,
        fragments_passed_qc: c.fragments_passed_qc,
        duplicates_removed: c.duplicates_removed,
        fragments_out: c.fragments_out,
        adapter_fragments_overlap: c.adapter_fragments_overlap,
        adapter_fragments_sequence: c.adapter_fragments_sequence,
        adapter_bases_trimmed: c.adapter_bases_trimmed,
        quality_bases_trimmed: c.quality_bases_trimmed,
        bases_corrected: c.bases_corrected,
        filtered_total: c.filtered_total,
      },
    };
  };
  const variants = VARIANTS.map(variant);
  const first = variants[0];
  results.push({
    dataset: ds.name,
    path: ds.dir,
    pairs: first.counts.fragments_in,
    repetitions: reps,
    load_average: { start: load_start, end: load_end },
    runs_used_for_median: { metavec: first.runs_used_for_median, fastp: f.n },
    // the first variant (default: no-correct), in the fields earlier results files have
    metavec: first,
    ...(variants.length > 1 ? { metavec_variants: variants } : {}),
    fastp: {
      wall_s: round(f.wall_s), cpu_s: round(f.cpu_s), peak_rss_mb: round(f.rss_kb / 1024, 1),
      fragments_per_s: Math.round(fFps), fragments_per_cpu_s: Math.round(fastpPairs / f.cpu_s),
      runs: fp.map((r) => ({ wall_s: r.wall_s, cpu_s: round(r.cpu_s), peak_rss_kb: r.rss_kb, other_cpu_s: r.other_cpu_s === null ? null : round(r.other_cpu_s, 1), contended: r.contended, load1: r.load1 })),
      counts: {
        pairs_in: fastpPairs,
        pairs_passed_filter: fastpPassedPairs,
        pairs_kept: fastpKeptPairs, // summary.after_filtering.total_reads / 2 (after dedup)
        duplication_rate: j.duplication?.rate ?? null,
        duplicates_removed_est: fastpPassedPairs - fastpKeptPairs,
        adapter_trimmed_reads: j.adapter_cutting?.adapter_trimmed_reads ?? 0,
        adapter_trimmed_bases: j.adapter_cutting?.adapter_trimmed_bases ?? 0,
      },
    },
    ratio_fragments_per_s: first.ratio_fragments_per_s,
    ratio_fragments_per_cpu_s: first.ratio_fragments_per_cpu_s,
    ratio_peak_rss: first.ratio_peak_rss,
  });
}

const by = (n) => results.find((r) => r.dataset === n);
let flatness = null;
if (by('community-100k') && by('community-1m')) {
  const a = by('community-100k').metavec.peak_rss_mb;
  const b = by('community-1m').metavec.peak_rss_mb;
  const ratio = round(b / a, 3);
  flatness = { rss_100k_mb: a, rss_1m_mb: b, ratio_1m_over_100k: ratio, goal: 'within 20% (ratio <= 1.2)', met: ratio <= 1.2 && ratio >= 1 / 1.2 };
}

const cpuModel = cpus()[0]?.model ?? 'unknown';
const gitCommit = (() => {
  try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return null; }
})();
const doc = {
  schema: 'metavec.bench.prep-vs-fastp/1',
  date: today,
  git_commit: gitCommit,
  machine: {
    nproc: NPROC,
    cpu: cpuModel,
    mem_total_gb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    fastp: fastpVersion,
    platform: `${process.platform} ${process.arch}`,
  },
  method: {
    measurement: TIME ? "/usr/bin/time -f '%e %M' (wall seconds, max RSS KiB) per child" : '/proc/PID/status VmHWM polling, wall via hrtime',
    statistic: 'median over uncontended repetitions (all if none); tools run alternately (order swapped every repetition)',
    contention: `before each run the script waits up to ${QUIET_WAIT} s for the machine to be idle (<15% CPU busy); runs[].other_cpu_s is the CPU time other processes used during the run; a run is contended when that exceeds 10% of wall x nproc, and is then repeated (up to ${RETRIES} times)`,
    threads: THREADS,
    metavec_command: `node dist/src/cli/main.js prep --input R1.fastq.gz --input2 R2.fastq.gz --output OUT --threads ${THREADS} --no-correct --json --quiet`,
    metavec_variants: Object.fromEntries(VARIANTS.map((v) => [v, v === 'no-correct' ? 'the command above' : 'the command above without --no-correct'])),
    fastp_command: `fastp -w ${THREADS} --detect_adapter_for_pe --dedup --cut_front --cut_tail -W 4 -M 20 -l 30 -n 7 -y -i R1.fastq.gz -I R2.fastq.gz -o out1.fq.gz -O out2.fq.gz -j fastp.json -h fastp.html`,
  },
  datasets: results,
  rss_flatness: flatness,
};

if (WRITE) {
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, `${JSON.stringify(doc, null, 2)}\n`);
  log(`wrote ${OUT_FILE}`);
}

// ---------- table ----------
const rows = [['dataset', 'variant', 'pairs', 'reps', 'metavec s', 'fastp s', 'metavec frag/s', 'fastp frag/s', 'ratio', 'CPU-s mv/fp', 'metavec RSS MB', 'fastp RSS MB',
  'kept mv/fp', 'dups mv/fp', 'adapter frags mv (ovl+seq) / fp reads', 'adapter bases mv/fp']];
for (const r of results) {
  for (const mv of r.metavec_variants ?? [r.metavec]) {
    const mc = mv.counts;
    const fc = r.fastp.counts;
    rows.push([r.dataset, mv.variant, String(r.pairs), String(r.repetitions), mv.wall_s.toFixed(2), r.fastp.wall_s.toFixed(2),
      String(mv.fragments_per_s), String(r.fastp.fragments_per_s), mv.ratio_fragments_per_s.toFixed(2),
      `${mv.cpu_s.toFixed(1)}/${r.fastp.cpu_s.toFixed(1)}`,
      mv.peak_rss_mb.toFixed(0), r.fastp.peak_rss_mb.toFixed(0),
      `${mc.fragments_out}/${fc.pairs_kept}`, `${mc.duplicates_removed}/${fc.duplicates_removed_est} (${(fc.duplication_rate * 100).toFixed(2)}%)`,
      `${mc.adapter_fragments_overlap}+${mc.adapter_fragments_sequence} / ${fc.adapter_trimmed_reads}`,
      `${mc.adapter_bases_trimmed}/${fc.adapter_trimmed_bases}`]);
  }
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((x, i) => x.padEnd(w[i])).join(' | ')} |`;
console.log(line(rows[0]));
console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
for (const r of rows.slice(1)) console.log(line(r));
if (flatness) {
  console.log(`\nmetavec peak RSS 100k -> 1M pairs: ${flatness.rss_100k_mb} MB -> ${flatness.rss_1m_mb} MB, ratio ${flatness.ratio_1m_over_100k} (goal <= 1.2: ${flatness.met ? 'met' : 'NOT met'})`);
}
console.log(`machine: nproc ${doc.machine.nproc}, ${cpuModel}, node ${process.version}, ${fastpVersion}`);
