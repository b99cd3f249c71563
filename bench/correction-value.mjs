#!/usr/bin/env node
// What error correction buys for clustering (issue 20): each community prepped with --correct and with --no-correct
// (all other prep options at their defaults), each prep clustered by `metavec cluster` with its defaults (K auto) and
// with --k <true species count>, every run scored with `metavec eval --json` against the truth (species).
//   node bench/correction-value.mjs [--communities dev,art7-200k,art29-200k,iss29-novaseq-200k,iss10-miseq-100k]
//     [--data bench/work] [--dev DIR] [--work bench/work/correction-value] [--threads 2] [--modes correct,no-correct]
//     [--k-runs auto,true] [--reuse] [--collect] [--tag NAME] [--out FILE] [--no-write]
//   METAVEC_CLI=path/to/main.js measures another build (default dist/src/cli/main.js).
// --data: where the depth-series communities are (bash bench/make-depth-series.sh); --work: prep and cluster
// outputs, per community <work>/<community>/<mode>/{prep,cluster-auto,cluster-true}. Preps and cluster runs are
// measured with /usr/bin/time -v (wall, user+sys CPU, peak RSS); one child at a time. --reuse takes a prep whose
// manifest exists and a cluster run whose run.json exists (so a series can be run in parts; art7-1m, art29-1m are
// the 1M-pair communities); --collect only gathers what exists (runs nothing).
// Writes bench/results/correction-value[-TAG]-<date>.json and prints Markdown tables: per run, and per community
// the change correction makes (correct minus no-correct) in ARI, NMI, F1 and K.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { flag, helpFromHeader, opt } from './lib/args.mjs';
import { communityInfo, measured, scoreRun } from './lib/series.mjs';

helpFromHeader(import.meta.url, 15);

const repo = new URL('..', import.meta.url).pathname;
const data = resolve(opt('data', join(repo, 'bench/work')));
const devDir = resolve(opt('dev', join(repo, '../shared/data/dev-community')));
const work = resolve(opt('work', join(repo, 'bench/work/correction-value')));
const list = (name, def) => opt(name, def).split(',').filter((x) => x !== '');
const communities = list('communities', 'dev,art7-200k,art29-200k,iss29-novaseq-200k,iss10-miseq-100k');
const modes = list('modes', 'correct,no-correct');
for (const m of modes) if (m !== 'correct' && m !== 'no-correct') throw new Error(`--modes: unknown mode ${m} (correct, no-correct)`);
const kRuns = list('k-runs', 'auto,true');
for (const k of kRuns) if (k !== 'auto' && k !== 'true') throw new Error(`--k-runs: unknown run ${k} (auto, true)`);
const threads = opt('threads', '2');
const tag = opt('tag', '');
const cli = resolve(process.env.METAVEC_CLI ?? join(repo, 'dist/src/cli/main.js'));
if (!existsSync(cli)) throw new Error(`${cli} missing: build first (npx tsc -p tsconfig.json)`);
if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time missing (apt-get install time)');
const reuse = flag('reuse') || flag('collect');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const log = (s) => console.error(`[correction-value] ${s}`);

const preps = [];
const rows = [];
const communityRecords = [];
for (const name of communities) {
  const info = communityInfo(name, name === 'dev' ? devDir : join(data, name));
  if (info.missing) {
    log(`${name}: no community in ${info.dir} (bash bench/make-depth-series.sh): skipped`);
    communityRecords.push({ name, missing: true, dir: info.dir });
    continue;
  }
  const { shares: _shares, ...record } = info;
  communityRecords.push(record);
  for (const mode of modes) {
    const dir = join(work, name, mode);
    const prepDir = join(dir, 'prep');
    const prepJson = join(dir, 'prep.json');
    let prep;
    if (reuse && existsSync(join(prepDir, 'manifest.json')) && existsSync(prepJson)) {
      prep = readJson(prepJson);
      log(`${name} ${mode}: prep reused (${prepDir})`);
    } else if (flag('collect')) {
      log(`${name} ${mode}: no prep in ${prepDir} (--collect runs nothing): left out`);
      continue;
    } else {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const argv = ['prep', '--input', join(info.dir, 'R1.fastq.gz'), '--input2', join(info.dir, 'R2.fastq.gz'), '--output', prepDir, `--${mode}`, '--threads', threads, '--quiet'];
      log(`${name} ${mode}: metavec ${argv.join(' ')}`);
      const r = await measured(cli, argv, join(dir, 'prep'));
      if (r.status !== 'ok') throw new Error(`prep of ${name} (${mode}) ${r.status} (exit ${r.exit}):\n${r.stderr_tail}`);
      const m = readJson(join(prepDir, 'manifest.json'));
      const c = m.counts;
      const corr = m.parameters?.correction;
      prep = {
        community: name,
        pairs: info.pairs,
        mode,
        prep_args: argv.slice(7),
        wall_s: r.wall_s,
        cpu_s: r.cpu_s,
        peak_rss_mb: Math.round(r.peak_rss_kb / 1024),
        other_cpu_s: r.other_cpu_s,
        fragments_out: c.fragments_out,
        bases_corrected: c.bases_corrected ?? 0,
        reads_corrected: c.reads_corrected ?? 0,
        reads_uncorrectable: c.reads_uncorrectable ?? 0,
        correction: corr ?? null,
      };
      writeFileSync(prepJson, JSON.stringify(prep, null, 2) + '\n');
    }
    preps.push(prep);

    for (const kRun of kRuns) {
      const out = join(dir, `cluster-${kRun}`);
      const runJson = join(out, 'run.json');
      if (reuse && existsSync(runJson)) {
        rows.push(readJson(runJson));
        log(`${name} ${mode} k=${kRun}: reused ${runJson}`);
        continue;
      }
      if (flag('collect')) continue;
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      const kArgs = ['--k', kRun === 'auto' ? 'auto' : String(info.species)];
      const argv = ['cluster', '--input', prepDir, '--output', out, ...kArgs, '--threads', threads, '--quiet'];
      log(`${name} ${mode} k=${kRun}: metavec ${argv.join(' ')}`);
      const r = await measured(cli, argv, join(dir, `cluster-${kRun}`));
      const row = {
        community: name,
        pairs: info.pairs,
        species: info.species,
        simulator: info.simulator,
        read_length: info.read_length,
        mode,
        k_run: kRun,
        cluster_args: [...kArgs, '--threads', threads],
        status: r.status,
        wall_s: r.wall_s,
        cpu_s: r.cpu_s,
        peak_rss_mb: Math.round(r.peak_rss_kb / 1024),
        other_cpu_s: r.other_cpu_s,
      };
      if (r.status === 'ok') Object.assign(row, scoreRun(cli, out, info.truth));
      else row.note = `exit ${r.exit}: ${r.stderr_tail}`;
      writeFileSync(runJson, JSON.stringify(row, null, 2) + '\n');
      rows.push(row);
      log(JSON.stringify(row));
    }
  }
}

// --- tables ------------------------------------------------------------------------------------------------
const fmt = (x, d = 3) => (typeof x === 'number' ? x.toFixed(d) : '-');
const signed = (x, d = 3) => (typeof x === 'number' ? `${x >= 0 ? '+' : ''}${x.toFixed(d)}` : '-');
const find = (c, mode, kRun) => rows.find((r) => r.community === c && r.mode === mode && r.k_run === kRun && r.status === 'ok');
const runTable = [
  '| community | pairs | species | simulator | correction | K run | ARI | NMI | F1 weighted / macro | K found | assigned | cluster wall s | CPU s | peak RSS MB |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const q = r.status === 'ok';
    return `| ${r.community} | ${r.pairs} | ${r.species} | ${r.simulator} ${r.read_length} | ${r.mode === 'correct' ? 'on' : 'off'} | ${r.k_run === 'auto' ? 'auto' : `--k ${r.species}`} | ${q ? fmt(r.ari) : r.status} | ${q ? fmt(r.nmi) : '-'} | ${q ? `${fmt(r.f1_weighted)} / ${fmt(r.f1_macro)}` : '-'} | ${q ? r.k : '-'} | ${q ? r.assigned_fraction : '-'} | ${r.wall_s} | ${r.cpu_s} | ${r.peak_rss_mb} |`;
  }),
].join('\n');
const deltas = [];
for (const c of communityRecords.filter((x) => !x.missing)) {
  for (const kRun of kRuns) {
    const on = find(c.name, 'correct', kRun);
    const off = find(c.name, 'no-correct', kRun);
    if (!on || !off) continue;
    deltas.push({
      community: c.name,
      k_run: kRun,
      species: c.species,
      ari_on: on.ari, ari_off: off.ari, d_ari: +(on.ari - off.ari).toFixed(4),
      nmi_on: on.nmi, nmi_off: off.nmi, d_nmi: +(on.nmi - off.nmi).toFixed(4),
      f1_on: on.f1_weighted, f1_off: off.f1_weighted, d_f1: +(on.f1_weighted - off.f1_weighted).toFixed(4),
      k_on: on.k, k_off: off.k,
    });
  }
}
const deltaTable = [
  '| community | species | K run | ARI on / off (change) | NMI on / off (change) | F1 weighted on / off (change) | K on / off |',
  '|---|---|---|---|---|---|---|',
  ...deltas.map((d) => `| ${d.community} | ${d.species} | ${d.k_run === 'auto' ? 'auto' : `--k ${d.species}`} | ${fmt(d.ari_on)} / ${fmt(d.ari_off)} (${signed(d.d_ari)}) | ${fmt(d.nmi_on)} / ${fmt(d.nmi_off)} (${signed(d.d_nmi)}) | ${fmt(d.f1_on)} / ${fmt(d.f1_off)} (${signed(d.d_f1)}) | ${d.k_on} / ${d.k_off} |`),
].join('\n');
const prepTable = [
  '| community | pairs | correction | prep wall s | CPU s | peak RSS MB | others\' CPU s | fragments out | bases corrected | reads corrected | reads uncorrectable |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...preps.map((p) => `| ${p.community} | ${p.pairs} | ${p.mode === 'correct' ? 'on' : 'off'} | ${p.wall_s ?? '-'} | ${p.cpu_s ?? '-'} | ${p.peak_rss_mb ?? '-'} | ${p.other_cpu_s ?? '-'} | ${p.fragments_out} | ${p.bases_corrected} | ${p.reads_corrected} | ${p.reads_uncorrectable} |`),
  ...preps.filter((p) => p.note).map((p, i) => `${i === 0 ? '\n' : ''}- ${p.community}, correction ${p.mode === 'correct' ? 'on' : 'off'}: ${p.note}`),
].join('\n');
console.log(`${deltaTable}\n\n${runTable}\n\n${prepTable}`);

if (!flag('no-write')) {
  const date = new Date().toISOString();
  const file = opt('out', join(repo, 'bench/results', `correction-value-${tag ? `${tag}-` : ''}${date.slice(0, 10)}.json`));
  mkdirSync(join(repo, 'bench/results'), { recursive: true });
  const result = {
    bench: 'correction-value',
    issue: 20,
    date,
    threads: Number(threads),
    measurement: '/usr/bin/time -v per child (wall, user+sys CPU, max RSS); other_cpu_s = CPU the rest of the (shared) machine used meanwhile; ARI/NMI/F1 over the truth reads that have a label (species level); cluster: metavec cluster with its defaults, K auto or --k <true species>',
    communities: communityRecords,
    preps,
    rows,
    deltas,
    tables: { deltas: deltaTable, runs: runTable, preps: prepTable },
  };
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`results: ${file}`);
}
