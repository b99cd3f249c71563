#!/usr/bin/env node
// Depth series (issue 17): does Phase 2 get better, and stay bounded in memory, as the same community is sequenced deeper?
//   bash bench/make-depth-series.sh      # the communities, into bench/work/ (cached)
//   node bench/depth-series.mjs [--communities dev,art7-200k,...] [--variants default,graph-all] [--mem-cap-gb 12]
//     [--threads 2] [--work bench/work] [--dev DIR] [--cluster-args name=value,...] [--fresh-prep] [--reuse]
//     [--collect] [--tag NAME] [--out FILE] [--no-write]
// Per community: `metavec prep --threads 2` once (bench/work/<community>/prep, reused when its manifest exists;
// --fresh-prep rebuilds it), then per variant `metavec cluster` with K auto under /usr/bin/time -v (wall, user+sys
// CPU, peak RSS) and `metavec eval --json` against the truth (species). Variants: default = `metavec cluster`
// with its defaults; graph-all = `--method graph --target-coverage 0` (every read in the graph; plain
// `--method graph` while the CLI has no --target-coverage); graph = `--method graph`. --mem-cap-gb kills a run
// whose resident set (the child and its descendants, polled every 0.25 s) exceeds the cap: it is recorded as
// killed, and the series goes on. One cluster job at a time. --reuse takes a run's result from its run.json;
// --collect only gathers the run.json rows that exist (runs nothing).
// Writes bench/results/depth-series[-TAG]-<date>.json, copies each community's composition.tsv and
// generator.tsv to bench/results/depth-series/, and prints a Markdown table.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { flag, helpFromHeader, opt } from './lib/args.mjs';
import { communityInfo as libCommunityInfo, measured as libMeasured, scoreRun } from './lib/series.mjs';

helpFromHeader(import.meta.url, 16);

const repo = new URL('..', import.meta.url).pathname;
const work = resolve(opt('work', join(repo, 'bench/work')));
const devDir = resolve(opt('dev', join(repo, '../shared/data/dev-community')));
const communities = opt('communities', 'dev,art7-200k,art29-200k,iss29-novaseq-200k,iss10-miseq-100k,art7-1m,art29-1m,iss29-novaseq-1m,art29-5m')
  .split(',')
  .filter((c) => c !== '');
const variantNames = opt('variants', 'default,graph-all').split(',').filter((v) => v !== '');
const threads = opt('threads', '2');
const memCapGb = opt('mem-cap-gb', '');
const memCapKb = memCapGb === '' ? Infinity : Number(memCapGb) * 1024 * 1024;
if (memCapGb !== '' && !(memCapKb > 0)) throw new Error(`--mem-cap-gb: not a positive number: ${memCapGb}`);
const clusterArgs = opt('cluster-args', '').split(',').filter((a) => a !== '').flatMap((a) => {
  const [name, ...value] = a.split('=');
  return [`--${name}`, ...(value.length > 0 ? [value.join('=')] : [])];
});
const tag = opt('tag', '');
const cli = join(repo, 'dist/src/cli/main.js');
const measured = (argv, logPrefix, capKb) => libMeasured(cli, argv, logPrefix, capKb);
if (!existsSync(cli)) throw new Error(`${cli} missing: build first (npx tsc -p tsconfig.json)`);
if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time missing (apt-get install time)');

// --- variants ------------------------------------------------------------------------------------------
const clusterHelp = spawnSync(process.execPath, [cli, 'cluster', '--help'], { encoding: 'utf8' });
const hasTargetCoverage = `${clusterHelp.stdout}${clusterHelp.stderr}`.includes('--target-coverage');
const VARIANTS = {
  default: { args: [], note: 'metavec cluster with its defaults' },
  'graph-all': hasTargetCoverage
    ? { args: ['--method', 'graph', '--target-coverage', '0'], note: 'every read in the graph' }
    : { args: ['--method', 'graph'], note: 'this CLI has no --target-coverage: plain --method graph (every read in the graph)' },
  graph: { args: ['--method', 'graph'], note: '--method graph with its defaults' },
  kmeans: { args: ['--method', 'kmeans'], note: '--method kmeans' },
};
for (const v of variantNames) if (!VARIANTS[v]) throw new Error(`--variants: unknown variant ${v} (${Object.keys(VARIANTS).join(', ')})`);

// --- helpers ---------------------------------------------------------------------------------------------
const communityInfo = (name) => libCommunityInfo(name, name === 'dev' ? devDir : join(work, name));

// --- the series ------------------------------------------------------------------------------------------
const resultsDir = join(repo, 'bench/results');
const compDir = join(resultsDir, 'depth-series');
const rows = [];
const communityRecords = [];
const preps = {};
for (const name of communities) {
  const info = communityInfo(name);
  if (info.missing) {
    console.error(`[depth-series] ${name}: no community in ${info.dir} (bash bench/make-depth-series.sh): skipped`);
    communityRecords.push({ name, missing: true, dir: info.dir });
    continue;
  }
  const { truth, ...record } = info;
  communityRecords.push({ ...record, truth });
  if (!flag('no-write')) {
    mkdirSync(compDir, { recursive: true });
    copyFileSync(join(info.dir, 'composition.tsv'), join(compDir, `${name}.composition.tsv`));
    if (existsSync(join(info.dir, 'generator.tsv'))) copyFileSync(join(info.dir, 'generator.tsv'), join(compDir, `${name}.generator.tsv`));
  }
  const runDir = join(work, name === 'dev' ? 'dev-community' : name);
  const prepDir = join(runDir, 'prep');
  if (flag('collect')) {
    // rows of earlier runs only: no prep, no cluster
    const saved = join(runDir, 'prep.json');
    preps[name] = existsSync(saved) ? { reused: true, ...JSON.parse(readFileSync(saved, 'utf8')) } : 'not measured';
    for (const v of variantNames) {
      const runJson = join(runDir, `cluster-${v}`, 'run.json');
      if (existsSync(runJson)) rows.push(JSON.parse(readFileSync(runJson, 'utf8')));
      else console.error(`[depth-series] ${name} ${v}: no ${runJson} (--collect runs nothing): left out`);
    }
    continue;
  }
  mkdirSync(runDir, { recursive: true });
  if (flag('fresh-prep')) rmSync(prepDir, { recursive: true, force: true });
  if (existsSync(join(prepDir, 'manifest.json'))) {
    const saved = join(runDir, 'prep.json');
    preps[name] = existsSync(saved) ? { reused: true, ...JSON.parse(readFileSync(saved, 'utf8')) } : 'reused';
    console.error(`[depth-series] ${name}: prep reused (${prepDir})`);
  } else {
    rmSync(prepDir, { recursive: true, force: true });
    console.error(`[depth-series] ${name}: prep (${info.pairs} pairs) ...`);
    const r = await measured(['prep', '--input', join(info.dir, 'R1.fastq.gz'), '--input2', join(info.dir, 'R2.fastq.gz'), '--output', prepDir, '--threads', threads, '--quiet'], join(runDir, 'prep'));
    if (r.status !== 'ok') throw new Error(`prep of ${name} ${r.status} (exit ${r.exit}):\n${r.stderr_tail}`);
    preps[name] = { wall_s: r.wall_s, cpu_s: r.cpu_s, peak_rss_mb: Math.round(r.peak_rss_kb / 1024), other_cpu_s: r.other_cpu_s };
    writeFileSync(join(runDir, 'prep.json'), JSON.stringify(preps[name], null, 2) + '\n');
  }
  const manifest = JSON.parse(readFileSync(join(prepDir, 'manifest.json'), 'utf8'));
  const fragments = manifest.counts.fragments_out;

  for (const v of variantNames) {
    const out = join(runDir, `cluster-${v}`);
    const runJson = join(out, 'run.json');
    if (flag('reuse') && existsSync(runJson)) {
      const row = JSON.parse(readFileSync(runJson, 'utf8'));
      rows.push(row);
      console.error(`[depth-series] ${name} ${v}: reused ${runJson}`);
      continue;
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const argv = ['cluster', '--input', prepDir, '--output', out, ...VARIANTS[v].args, '--k', 'auto', '--threads', threads, '--quiet', ...clusterArgs];
    console.error(`[depth-series] ${name} ${v}: metavec ${argv.join(' ')}${memCapGb ? ` (cap ${memCapGb} GB)` : ''}`);
    const r = await measured(argv, join(runDir, `cluster-${v}`), memCapKb);
    const row = {
      community: name,
      pairs: info.pairs,
      fragments,
      species: info.species,
      simulator: info.simulator,
      read_length: info.read_length,
      variant: v,
      cluster_args: [...VARIANTS[v].args, '--k', 'auto', '--threads', threads, ...clusterArgs],
      status: r.status,
      wall_s: r.wall_s,
      cpu_s: r.cpu_s,
      peak_rss_mb: Math.round(r.peak_rss_kb / 1024),
      bytes_per_fragment: Math.round((r.peak_rss_kb * 1024) / fragments),
      other_cpu_s: r.other_cpu_s,
    };
    if (r.status === 'killed') row.note = `killed: resident set above the ${memCapGb} GB cap`;
    if (r.status === 'failed') row.note = `exit ${r.exit}: ${r.stderr_tail}`;
    if (r.status === 'ok') Object.assign(row, scoreRun(cli, out, truth));
    writeFileSync(runJson, JSON.stringify(row, null, 2) + '\n');
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}

const date = new Date().toISOString();
const result = {
  bench: 'depth-series',
  date,
  issue: 17,
  threads: Number(threads),
  mem_cap_gb: memCapGb === '' ? null : Number(memCapGb),
  variants: Object.fromEntries(variantNames.map((v) => [v, { args: VARIANTS[v].args, note: VARIANTS[v].note }])),
  measurement: '/usr/bin/time -v per child: wall, user+sys CPU, max RSS (and the polled resident set of the child tree); bytes_per_fragment = peak RSS / prep fragments; ARI/NMI/F1 over the truth reads that have a label (species level); other_cpu_s = CPU time the rest of the machine used meanwhile (shared machine)',
  communities: communityRecords,
  preps,
  rows,
};
const table = [
  '| community | pairs | species | simulator | variant (method) | ARI | NMI | F1 weighted / macro | K / true | assigned | wall s | CPU s | peak RSS MB | B/fragment | others\' CPU s |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const kb = (x) => (x === undefined ? '-' : x);
    const q = r.status === 'ok';
    return `| ${r.community} | ${r.pairs} | ${r.species} | ${r.simulator} ${r.read_length} | ${r.variant}${r.method ? ` (${r.method})` : ''} | ${q ? r.ari : r.status} | ${q ? r.nmi : '-'} | ${q ? `${r.f1_weighted} / ${r.f1_macro}` : '-'} | ${q ? `${kb(r.k)} / ${r.species}` : '-'} | ${q ? r.assigned_fraction : '-'} | ${r.wall_s} | ${r.cpu_s} | ${r.peak_rss_mb}${r.status === 'killed' ? ' (cap)' : ''} | ${r.bytes_per_fragment} | ${r.other_cpu_s} |`;
  }),
].join('\n');
console.log(table);
if (!flag('no-write')) {
  mkdirSync(resultsDir, { recursive: true });
  const file = opt('out', join(resultsDir, `depth-series-${tag ? `${tag}-` : ''}${date.slice(0, 10)}.json`));
  writeFileSync(file, JSON.stringify({ ...result, table }, null, 2) + '\n');
  console.log(`results: ${file}`);
}
