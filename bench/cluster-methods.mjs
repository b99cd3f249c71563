#!/usr/bin/env node
// Clustering quality and cost of every Phase 2 method on the dev community (or any prep run with a truth table):
//   node bench/cluster-methods.mjs [--reads DIR (R1/R2.fastq.gz + truth.tsv.gz)] [--k 7] [--threads 2]
//     [--methods kmeans,lsh,graph] [--cluster-args min-group=5,coverage-weight=0.5 (extra cluster options)] [--tag NAME (results file cluster-methods-NAME-DATE.json)]
// Runs `metavec prep` once (with the minimizer sketch), then `metavec cluster --method M` for M in kmeans, lsh,
// graph with K given and K auto, each under /usr/bin/time (wall, CPU, peak RSS), and `metavec eval`. With the
// Debian example genomes installed (ragout-examples, abacas-examples, bowtie2-examples, kleborate-examples), the
// graph runs also name clusters with --references and report how many reads got their species' name.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { opt } from './lib/args.mjs';

const repo = new URL('..', import.meta.url).pathname;
const reads = opt('reads', join(repo, '../shared/data/dev-community'));
const kGiven = opt('k', '7');
const threads = opt('threads', '2');
const work = opt('work', join(repo, 'bench/work/cluster-methods'));
const methods = opt('methods', 'kmeans,lsh,graph').split(',');
// extra `metavec cluster` options as name=value pairs (a value may not start with -- here)
const clusterArgs = opt('cluster-args', '').split(',').filter((a) => a !== '').flatMap((a) => {
  const [name, ...value] = a.split('=');
  return [`--${name}`, ...(value.length > 0 ? [value.join('=')] : [])];
});
const tag = opt('tag', '');
const cli = join(repo, 'dist/src/cli/main.js');
mkdirSync(work, { recursive: true });

function timed(argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, cli, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`metavec ${argv.join(' ')} failed:\n${r.stderr}`);
  const [wall, user, sys, rss] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { stdout: r.stdout, wall, cpu: user + sys, rssMB: rss / 1024 };
}

const prepDir = join(work, 'prep');
let prep;
if (!existsSync(join(prepDir, 'manifest.json'))) {
  prep = timed(['prep', '--input', join(reads, 'R1.fastq.gz'), '--input2', join(reads, 'R2.fastq.gz'), '--output', prepDir, '--threads', threads, '--quiet']);
}

// species-level references from Debian example packages, when installed
const refCandidates = {
  Escherichia_coli: '/usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz',
  Staphylococcus_aureus: '/usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz',
  Vibrio_cholerae: '/usr/share/doc/ragout/examples/V.Cholerae/references/H1.fasta.gz',
  Helicobacter_pylori: '/usr/share/doc/ragout/examples/H.Pylori/references/SJM180.fasta.gz',
  Streptococcus_suis: '/usr/share/doc/abacas-examples/SS_SC84.dna.gz',
  Lambda_phage: '/usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz',
};
const refs = Object.entries(refCandidates).filter(([, p]) => existsSync(p));
const refName = (p) => p.split('/').pop().replace(/\.(gz)$/, '').replace(/\.(fasta|fa|dna)$/, '');
const speciesOfRef = Object.fromEntries(refs.map(([sp, p]) => [refName(p), sp]));

const truthPath = join(reads, 'truth.tsv.gz');
const truth = new Map(
  gunzipSync(readFileSync(truthPath))
    .toString()
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map((f) => [f[0], f[1]]),
);

const rows = [];
for (const method of methods) {
  for (const k of [kGiven, 'auto']) {
    const out = join(work, `${method}-k${k}`);
    const extra = method === 'graph' && refs.length > 0 ? ['--references', ...refs.map(([, p]) => p)] : [];
    const run = timed(['cluster', '--input', prepDir, '--output', out, '--method', method, '--k', k, '--threads', threads, '--json', '--quiet', ...clusterArgs, ...extra]);
    const summary = JSON.parse(run.stdout);
    const ev = JSON.parse(spawnSync(process.execPath, [cli, 'eval', '--labels', join(out, 'labels.parquet'), '--truth', truthPath, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout);
    const a = ev.assigned;
    const row = {
      method,
      k_requested: k,
      k: summary.k,
      ari: +a.ari.toFixed(4),
      nmi: +a.nmi.toFixed(4),
      purity: +a.purity.toFixed(4),
      completeness: +a.completeness.toFixed(4),
      f1_weighted: +a.f1.weighted.toFixed(4),
      f1_macro: +a.f1.macro.toFixed(4),
      wall_s: run.wall,
      cpu_s: +run.cpu.toFixed(2),
      peak_rss_mb: +run.rssMB.toFixed(0),
    };
    const g = summary.method_details?.graph;
    if (g) Object.assign(row, { graph_build_bytes_per_fragment: g.build_bytes_per_fragment, graph_seconds: g.seconds, groups: g.groups_after_merge });
    if (summary.cluster_names) {
      // reads whose cluster carries the name of their own species' reference
      const db = spawnSync('python3', ['-c', `import pyarrow.parquet as pq; t=pq.read_table('${join(out, 'labels.parquet')}', columns=['read_id','taxon']).to_pydict(); print('\\n'.join(f"{a}\\t{b}" for a,b in zip(t['read_id'], t['taxon'])))`], { encoding: 'utf8', maxBuffer: 1 << 28 });
      if (db.status === 0) {
        let named = 0;
        let total = 0;
        for (const line of db.stdout.trim().split('\n')) {
          const [id, taxon] = line.split('\t');
          const sp = truth.get(id);
          if (!sp || !refs.some(([s]) => s === sp)) continue; // species without a reference
          total++;
          if (speciesOfRef[taxon] === sp) named++;
        }
        row.reads_named_correctly = +(named / Math.max(1, total)).toFixed(4);
        row.cluster_names = summary.cluster_names;
      }
    }
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
const result = {
  bench: 'cluster-methods',
  date: new Date().toISOString(),
  data: reads,
  fragments: JSON.parse(readFileSync(join(prepDir, 'manifest.json'), 'utf8')).counts.fragments_out,
  threads: Number(threads),
  cluster_args: clusterArgs,
  prep: prep ? { wall_s: prep.wall, cpu_s: +prep.cpu.toFixed(2), peak_rss_mb: +prep.rssMB.toFixed(0) } : 'reused',
  references: refs.map(([sp, p]) => ({ species: sp, path: p })),
  note: 'machine shared with other jobs while measuring: compare CPU seconds, not wall time',
  rows,
};
mkdirSync(join(repo, 'bench/results'), { recursive: true });
const file = join(repo, 'bench/results', `cluster-methods-${tag ? `${tag}-` : ''}${result.date.slice(0, 10)}.json`);
writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
console.log('| method | K asked | K | ARI | NMI | purity | completeness | F1 (weighted) | F1 (macro) | wall s | CPU s | peak RSS MB |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.method} | ${r.k_requested} | ${r.k} | ${r.ari} | ${r.nmi} | ${r.purity} | ${r.completeness} | ${r.f1_weighted} | ${r.f1_macro} | ${r.wall_s} | ${r.cpu_s} | ${r.peak_rss_mb} |`);
}
console.log(`results: ${file}`);
