#!/usr/bin/env node
// Error correction accuracy and speed, side by side with Lighter, on ART reads whose true sequence is known.
//   node bench/correct-vs-lighter.mjs [--genome FASTA[.gz]] [--coverage 30] [--threads 2] [--k 21]
// Simulates 2x150 bp HiSeq 2500 pairs with ART (-ef -sam gives the error-free reads), runs
// `lighter -K k G -t T` and `metavec prep` with QC set to pass reads through unchanged (so corrected reads can be
// compared base by base), then counts per base: TP (error fixed), FP (correct base changed), FN (error left).
// gain = (TP - FP) / (TP + FN), sensitivity = TP / (TP + FN), specificity = TN / (TN + FP).
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { opt } from './lib/args.mjs';

const genome = opt('genome', '/usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz');
const coverage = Number(opt('coverage', '30'));
const threads = Number(opt('threads', '2'));
const k = Number(opt('k', '21'));
const work = opt('work', 'bench/work/correct');
const repo = new URL('..', import.meta.url).pathname;
mkdirSync(work, { recursive: true });

function need(cmd, pkg) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`missing ${cmd}: apt-get install ${pkg}`);
    process.exit(2);
  }
}
need('art_illumina', 'art-nextgen-simulation-tools');
need('lighter', 'lighter');

// 1. simulate
const fa = join(work, 'genome.fa');
const text = genome.endsWith('.gz') ? execFileSync('zcat', [genome], { maxBuffer: 1 << 30 }) : readFileSync(genome);
writeFileSync(fa, text);
const genomeSize = text
  .toString()
  .split('\n')
  .filter((l) => !l.startsWith('>'))
  .reduce((a, l) => a + l.trim().length, 0);
const prefix = join(work, 'sim_');
if (!existsSync(`${prefix}_errFree.sam`) || !existsSync(`${prefix}1.fq`)) {
  execFileSync('art_illumina', ['-ss', 'HS25', '-p', '-l', '150', '-m', '300', '-s', '30', '-f', String(coverage), '-rs', '7', '-ef', '-sam', '-na', '-i', fa, '-o', prefix], { stdio: 'ignore' });
}

const COMP = { A: 'T', C: 'G', G: 'C', T: 'A', N: 'N' };
const revcomp = (s) => [...s].reverse().map((c) => COMP[c] ?? 'N').join('');

async function* lines(path) {
  const input = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  yield* createInterface({ input, crlfDelay: Infinity });
}

// truth: QNAME + mate -> error-free read sequence in read orientation
const truth = new Map();
for await (const l of lines(`${prefix}_errFree.sam`)) {
  if (l.startsWith('@')) continue;
  const f = l.split('\t');
  const flag = Number(f[1]);
  const mate = flag & 64 ? 1 : 2;
  truth.set(`${f[0]}/${mate}`, flag & 16 ? revcomp(f[9]) : f[9]);
}

async function readFastq(path) {
  const m = new Map();
  let i = 0;
  let name = '';
  for await (const l of lines(path)) {
    if (i % 4 === 0) name = l.slice(1).split(/\s/)[0];
    else if (i % 4 === 1) m.set(name, l.toUpperCase());
    i++;
  }
  return m;
}

function score(orig, corrected) {
  let tp = 0, fp = 0, fn = 0, tn = 0, worse = 0, better = 0, reads = 0;
  for (const [name, o] of orig) {
    const t = truth.get(name);
    const c = corrected.get(name);
    if (!t || c === undefined || c.length !== o.length) continue;
    reads++;
    let before = 0, after = 0;
    for (let i = 0; i < o.length; i++) {
      const err = o[i] !== t[i];
      const fixed = c[i] === t[i];
      if (err) before++;
      if (!fixed) after++;
      if (err && fixed) tp++;
      else if (err && !fixed) fn++;
      else if (!err && !fixed) fp++;
      else tn++;
    }
    if (after > before) worse++;
    if (after < before) better++;
  }
  return {
    reads_compared: reads,
    errors_before: tp + fn,
    tp, fp, fn,
    gain: +((tp - fp) / (tp + fn)).toFixed(4),
    sensitivity: +(tp / (tp + fn)).toFixed(4),
    specificity: +(tn / (tn + fp)).toFixed(6),
    reads_made_worse: worse,
    reads_made_better: better,
  };
}

function timed(cmd, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
  const [wall, rss, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  // CPU seconds are far less sensitive than wall time to other load on a shared machine
  return { wall_s: wall, cpu_s: +(user + sys).toFixed(2), peak_rss_mb: Math.round(rss / 1024) };
}

const orig = new Map([...(await readFastq(`${prefix}1.fq`)).entries()].map(([n, s]) => [n, s]));
for (const [n, s] of await readFastq(`${prefix}2.fq`)) orig.set(n, s);
const pairs = orig.size / 2;

// 2. Lighter
const lod = join(work, 'lighter');
rmSync(lod, { recursive: true, force: true });
mkdirSync(lod);
const lt = timed('lighter', ['-r', `${prefix}1.fq`, '-r', `${prefix}2.fq`, '-K', String(k), String(genomeSize), '-t', String(threads), '-od', lod]);
const lcor = await readFastq(join(lod, 'sim_1.cor.fq'));
for (const [n, s] of await readFastq(join(lod, 'sim_2.cor.fq'))) lcor.set(n, s);

// 3. metavec (QC passes reads through unchanged; dedup off; cleaned reads written)
const mod = join(work, 'metavec');
rmSync(mod, { recursive: true, force: true });
const mt = timed('node', [join(repo, 'dist/src/cli/main.js'), 'prep', '--input', `${prefix}1.fq`, '--input2', `${prefix}2.fq`, '--output', mod,
  '--threads', String(threads), '--correct', '--correct-k', String(k), ...(opt('correct-mem') ? ['--correct-mem', opt('correct-mem')] : []), '--genome-size', String(genomeSize),
  '--no-adapter-trim', '--no-cut-front', '--no-cut-tail', '--min-length', '1', '--max-n-frac', '1', '--unqualified-percent', '100',
  '--complexity-threshold', '0', '--no-dedup', '--write-fastq', '--quiet']);
// the same prep without correction: the difference is what correction itself costs
const base = timed('node', [join(repo, 'dist/src/cli/main.js'), 'prep', '--input', `${prefix}1.fq`, '--input2', `${prefix}2.fq`, '--output', join(work, 'metavec-nocorrect'),
  '--threads', String(threads), '--no-correct', '--no-adapter-trim', '--no-cut-front', '--no-cut-tail', '--min-length', '1', '--max-n-frac', '1',
  '--unqualified-percent', '100', '--complexity-threshold', '0', '--no-dedup', '--quiet']);
const mcor = await readFastq(join(mod, 'clean_R1.fastq.gz'));
for (const [n, s] of await readFastq(join(mod, 'clean_R2.fastq.gz'))) mcor.set(n, s);
const manifest = JSON.parse(readFileSync(join(mod, 'manifest.json'), 'utf8'));

const result = {
  schema: 'metavec.bench.correct-vs-lighter/1',
  date: new Date().toISOString().slice(0, 10),
  machine: { nproc: cpus().length, node: process.version, lighter: spawnSync('lighter', ['-v'], { encoding: 'utf8' }).stdout.trim() },
  data: { genome, genome_size: genomeSize, coverage, pairs, k, threads },
  lighter: { ...lt, reads_per_s: Math.round((2 * pairs) / lt.wall_s), ...score(orig, lcor) },
  metavec: {
    ...mt,
    reads_per_s: Math.round((2 * pairs) / mt.wall_s),
    note: 'wall time includes QC, k-mer embedding and Parquet writing, not only correction',
    ...score(orig, mcor),
    correction: manifest.parameters.correction,
  },
};
result.ratio_gain = +(result.metavec.gain / result.lighter.gain).toFixed(3);
result.ratio_reads_per_s = +(result.metavec.reads_per_s / result.lighter.reads_per_s).toFixed(3);
// correction work alone: CPU of prep minus CPU of the same prep with --no-correct, against Lighter's CPU
result.metavec.prep_without_correction = base;
result.metavec.correction_cpu_s = +(mt.cpu_s - base.cpu_s).toFixed(2);
result.ratio_correction_reads_per_cpu_s = +(lt.cpu_s / result.metavec.correction_cpu_s).toFixed(3);
console.log(JSON.stringify({ lighter: { ...result.lighter }, metavec: { ...result.metavec, correction: undefined }, ratio_gain: result.ratio_gain, ratio_reads_per_s: result.ratio_reads_per_s, correction_cpu_s: result.metavec.correction_cpu_s, ratio_correction_reads_per_cpu_s: result.ratio_correction_reads_per_cpu_s }, null, 1));
mkdirSync(join(repo, 'bench/results'), { recursive: true });
writeFileSync(join(repo, `bench/results/correct-${result.date}.json`), JSON.stringify(result, null, 2) + '\n');
