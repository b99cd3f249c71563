// A new user's first hour with the CLI (issue 18): defaults, help, fastp-style options, and the mistakes a
// person makes (a file as --output, R1 given twice, mates that do not match, inputs through a pipe).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makePairs, runCli, TempDir } from '../helpers/fixtures.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { CLUSTER_METHODS, DEFAULT_CLUSTER_METHOD } from '../../src/pipeline/phase2.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const tmp = new TempDir('metavec-first-hour-');
after(() => tmp.remove());
const fx = makePairs(600, 7, { genomes: 3 });
const r1 = tmp.file('r1.fq', fx.r1);
const r2 = tmp.file('r2.fq', fx.r2);
const truth = tmp.file('truth.tsv.gz', 'read_id\tspecies\n' + fx.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n') + '\n', true);
const prep = tmp.join('prep');

before(() => {
  const r = runCli(['prep', '-i', r1, '-I', r2, '-o', prep, '-w', '1', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
});

/** A usage error: exit 2, exactly one line on stderr, no stack trace. */
function oneLineError(r: { status: number; stderr: string }, re: RegExp, status = 2): void {
  assert.equal(r.status, status, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

test('short options as fastp users type them: -i -I -o -w (prep), -i -o -w (cluster)', () => {
  const m = JSON.parse(readFileSync(join(prep, 'manifest.json'), 'utf8')) as { inputs: { uri: string }[] };
  assert.deepEqual(m.inputs.map((x) => x.uri).sort(), [r1, r2].sort());
  const c = runCli(['cluster', '-i', prep, '-o', tmp.join('short-c'), '-w', '1', '--method', 'kmeans', '--k', '3', '--quiet', '--json']);
  assert.equal(c.status, 0, c.stderr);
  assert.equal((JSON.parse(c.stdout) as { k: number }).k, 3);
  const h = runCli(['prep', '-h']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^metavec prep:/);
});

test("-O (fastp's out2) and a FASTQ file name as -o are refused with the reason", () => {
  oneLineError(runCli(['prep', '-i', r1, '-I', r2, '-o', tmp.join('o1'), '-O', tmp.join('o2')]), /Unknown option '-O': metavec writes one output directory .*--write-fastq .*clean_R2\.fastq\.gz/);
  oneLineError(runCli(['prep', '-i', r1, '-I', r2, '-o', tmp.join('clean_R1.fq.gz')]), /--output '.*clean_R1\.fq\.gz' looks like a FASTQ file name: metavec writes one output directory/);
  oneLineError(runCli(['run', '-i', r1, '-I', r2, '-o', tmp.join('out.fastq')]), /^metavec: error: run: --output '.*out\.fastq' looks like a FASTQ file name/);
});

test('unknown options get a "did you mean": fastp names, underscores, typos', () => {
  const cases: [string[], RegExp][] = [
    [['--in1', r1], /Unknown option '--in1': did you mean --input\?/],
    [['--cut_mean_quality=20'], /did you mean --cut-mean-quality\?/],
    [['--normalize', 'clr'], /did you mean --normalise\?/],
    [['-l', '50'], /Unknown option '-l': did you mean --min-length\?/],
    [['--treads', '2'], /did you mean --threads\?/],
    [['--dedup'], /deduplication is on by default \(--no-dedup turns it off\)/],
  ];
  for (const [flag, re] of cases) oneLineError(runCli(['prep', '-i', r1, '-o', tmp.join('dym'), ...flag]), re);
  oneLineError(runCli(['cluster', '-i', prep, '-o', tmp.join('dym'), '--kmax', '5']), /Unknown option '--kmax': did you mean --k-max\?/);
  oneLineError(runCli(['run', '-i', r1, '-o', tmp.join('dym'), '--min_shared', '3']), /did you mean --min-shared\?/);
  const far = runCli(['prep', '-i', r1, '-o', tmp.join('dym'), '--frobnicate']);
  oneLineError(far, /Unknown option '--frobnicate' \(see 'metavec prep --help'\)/);
});

test("'metavec help CMD' prints that command's help; help texts name the default method and the K choice", () => {
  for (const cmd of ['prep', 'cluster', 'run', 'eval', 'report', 'query']) {
    const r = runCli(['help', cmd]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^metavec ${cmd}:`), cmd);
  }
  const none = runCli(['help', 'nosuch']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^metavec: no command 'nosuch'\n/);

  const top = runCli(['--help']);
  assert.doesNotMatch(top.stdout, /Phase 2: k-means/);
  assert.match(top.stdout, new RegExp(`default ${DEFAULT_CLUSTER_METHOD}, K auto`));

  const c = runCli(['cluster', '--help']).stdout;
  assert.doesNotMatch(c, /silhouette/);
  assert.match(c, /kmeans: the gap statistic/);
  assert.match(c, /graph, lsh: weighted k-means of the pooled read groups[^]*--elbow-gain[^]*--noise-factor/);
  assert.match(c, new RegExp(`--method ${CLUSTER_METHODS.join('\\|')}\\s+clustering method \\(default ${DEFAULT_CLUSTER_METHOD}\\)`));

  const run = runCli(['run', '--help']).stdout;
  assert.match(run, new RegExp(`Clustering: --method ${DEFAULT_CLUSTER_METHOD} with K auto`));
  // the prep and cluster options run accepts are listed
  for (const o of ['--cut-mean-quality', '--no-correct', '--embed', '--sketch-k', '--k-max', '--min-shared', '--elbow-gain']) assert.ok(run.includes(o), o);
});

test("--k 0 names both forms ('auto' or a positive integer)", () => {
  oneLineError(runCli(['cluster', '-i', prep, '-o', tmp.join('k0'), '--k', '0']), /--k must be 'auto' or an integer in \[1, 1000000\], got '0'/);
});

test(`cluster and run without --method use the default (${DEFAULT_CLUSTER_METHOD}) with K auto, and report each K tried`, () => {
  const c = runCli(['cluster', '-i', prep, '-o', tmp.join('default-c'), '-w', '1', '--json']);
  assert.equal(c.status, 0, c.stderr);
  const s = JSON.parse(c.stdout) as { method: string; k_selection: { method: string; scores?: { k: number }[] } };
  assert.equal(s.method, DEFAULT_CLUSTER_METHOD);
  assert.notEqual(s.k_selection.method, 'given');
  // one progress line per K the search tried
  const tried = [...c.stderr.matchAll(/^cluster: K search: K=(\d+)/gm)].map((m) => Number(m[1]));
  assert.deepEqual(tried.sort((a, b) => a - b), (s.k_selection.scores ?? []).map((x) => x.k).sort((a, b) => a - b));
  assert.ok(tried.length >= 2, c.stderr);

  const out = tmp.join('default-run');
  const r = runCli(['run', '-i', r1, '-I', r2, '-o', out, '-w', '1', '--no-report', '--no-catalog', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { cluster: { method: string } };
  assert.equal(run.cluster.method, DEFAULT_CLUSTER_METHOD);
});

test('cluster --method kmeans --k auto reports each K of the gap statistic search', () => {
  const c = runCli(['cluster', '-i', prep, '-o', tmp.join('gap'), '-w', '2', '--method', 'kmeans', '--k-max', '4', '--n-init', '1', '--json']);
  assert.equal(c.status, 0, c.stderr);
  const tried = [...c.stderr.matchAll(/^cluster: K search: K=(\d+) done \[(\d) of 3\]/gm)];
  assert.deepEqual(tried.map((m) => Number(m[1])).sort(), [2, 3, 4]);
  assert.deepEqual(tried.map((m) => Number(m[2])), [1, 2, 3]);
});

test('an existing file as --output is a one-line error naming it (prep, cluster, run, report)', () => {
  const file = tmp.file('not-a-dir', 'x');
  const re = new RegExp(`^metavec: error: output: ${file} is a file, not a directory`);
  oneLineError(runCli(['prep', '-i', r1, '-I', r2, '-o', file, '--quiet']), re);
  oneLineError(runCli(['cluster', '-i', prep, '-o', file, '--quiet']), re);
  oneLineError(runCli(['run', '-i', r1, '-I', r2, '-o', file, '--quiet']), re);
  oneLineError(runCli(['prep', '-i', r1, '-I', r2, '-o', join(file, 'sub'), '--quiet']), new RegExp(`output: a part of ${file}/sub is a file, not a directory`));
  oneLineError(runCli(['report', '--prep', prep, '--cluster', tmp.join('short-c'), '--output', join(file, 'report.html')]), re);
});

test('the same file as R1 and R2 is refused: same path, or a link to it', () => {
  oneLineError(runCli(['prep', '-i', r1, '-I', r1, '-o', tmp.join('same')]), /--input and --input2 are the same file: .*r1\.fq \(R2 must be the mate file; for mates in one file use --interleaved\)/);
  const link = tmp.join('r1-link.fq');
  symlinkSync(r1, link);
  oneLineError(runCli(['prep', '-i', r1, '-I', link, '-o', tmp.join('same')]), /--input and --input2 are one file \(the same inode: a link to it\)/);
  oneLineError(runCli(['run', '-i', r1, '-I', join(tmp.path, '.', 'r1.fq'), '-o', tmp.join('same')]), /are the same file/);
});

test('mates whose names differ: one clear error, no false "worker thread died" warnings (with and without correction)', () => {
  // record 301 of R2 renamed; batches of 40 fragments over 2 threads leave batches in flight behind the bad one
  const lines = fx.r2.split('\n');
  lines[300 * 4] = lines[300 * 4]!.replace('@frag', '@other');
  const bad = tmp.file('r2-bad.fq', lines.join('\n'));
  for (const extra of [['--correct'], ['--no-correct']]) {
    const r = runCli(['prep', '-i', r1, '-I', bad, '-o', tmp.join(`mates${extra[0]!}`), '-w', '2', '--batch-size', '40', ...extra]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^metavec: error: fastq: r1\.fq \/ r2-bad\.fq record 301 \(R1 line 1201, R2 line 1201\): mate names differ \('frag000300' vs 'other000300'\)$/m);
    assert.doesNotMatch(r.stderr, /worker thread died|retrying|cancelled/);
  }
});

test('a truth table through a pipe: --truth <(zcat truth.tsv.gz) and a gzip stream from a FIFO', () => {
  const c = runCli(['cluster', '-i', prep, '-o', tmp.join('pipe-c'), '--method', 'kmeans', '--k', '3', '--quiet']);
  assert.equal(c.status, 0, c.stderr);
  const labels = join(tmp.join('pipe-c'), 'labels.parquet');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const direct = runCli(['eval', '--labels', labels, '--truth', truth, '--json']);
  assert.equal(direct.status, 0, direct.stderr);
  const piped = spawnSync('bash', ['-c', `${q(process.execPath)} ${q(CLI)} eval --labels ${q(labels)} --truth <(zcat ${q(truth)}) --json`], { encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  assert.deepEqual(JSON.parse(piped.stdout), JSON.parse(direct.stdout));
  // the compressed bytes themselves through a FIFO (gzip detected from the stream, no seek)
  const fifo = tmp.join('truth.fifo');
  execFileSync('mkfifo', [fifo]);
  const writer = spawn('sh', ['-c', `cat ${q(truth)} > ${q(fifo)}`]);
  const viaFifo = runCli(['eval', '--labels', labels, '--truth', fifo, '--json']);
  writer.kill();
  assert.equal(viaFifo.status, 0, viaFifo.stderr);
  assert.deepEqual(JSON.parse(viaFifo.stdout), JSON.parse(direct.stdout));
});

test('FASTQ inputs through pipes (FIFOs) give the same shards as the files', () => {
  const f1 = tmp.join('r1.fifo');
  const f2 = tmp.join('r2.fifo');
  execFileSync('mkfifo', [f1, f2]);
  const gz = tmp.file('r2.fq.gz', fx.r2, true);
  const w1 = spawn('sh', ['-c', `cat '${r1}' > '${f1}'`]);
  const w2 = spawn('sh', ['-c', `cat '${gz}' > '${f2}'`]);
  const out = tmp.join('fifo-prep');
  const r = runCli(['prep', '-i', f1, '-I', f2, '-o', out, '-w', '1', '--quiet', '--json']);
  w1.kill();
  w2.kill();
  assert.equal(r.status, 0, r.stderr);
  const a = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { counts: Record<string, number>; shards: { sha256: string }[] };
  const b = JSON.parse(readFileSync(join(prep, 'manifest.json'), 'utf8')) as typeof a;
  assert.deepEqual(a.counts, b.counts);
  assert.deepEqual(a.shards.map((s) => s.sha256), b.shards.map((s) => s.sha256));
});

