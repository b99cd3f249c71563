#!/usr/bin/env node
// The graph method on MPI ranks: communication volume per rank and phase, CPU seconds, peak RSS per rank, and
// whether the labels equal the local engine's, on the dev community (or any reads with a truth table).
//
//   npx tsc -p tsconfig.json && node bench/mpi-graph.mjs [--reads DIR] [--ranks 1,2] [--k 7] [--method graph]
//       [--lpa rank0,distributed] [--dist dist] [--target-coverage 0] [--prep DIR]
//
// --target-coverage 0 (the default here): every fragment in the graph, the build split over the ranks
// (phase2MpiPooled.ts). --target-coverage 12 --k auto: the default method, the coverage-normalised graph over
// the collectives (phase2Normalized.ts; each rank streams its own shards, so give a prep with several shards
// per rank: --prep DIR made with `metavec prep --rows-per-shard 10000`).
//
// Runs `metavec prep` once (default settings: minimizer sketch on) into bench/work/mpi-graph/prep (or reuses
// bench/work/cluster-methods/prep), then `metavec cluster --method graph --k K` on the local engine (1 thread)
// and under `mpirun -n P` for each P, each under /usr/bin/time (wall; CPU = user+sys of the process and its
// children). Per rank: the traffic counters of src/engines/mpi/comm.ts (payload bytes exchanged with other
// ranks, per phase), CPU seconds and peak RSS as the rank reports them (summary.json method_details.mpi), and
// what the rank handled (postings, pairs, edges). ARI/NMI against the truth via `metavec eval`. Writes
// bench/results/mpi-graph-<date>.json. The machine may be shared: the 1-minute load average is recorded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { opt } from './lib/args.mjs';

const repo = new URL('..', import.meta.url).pathname;
const reads = opt('reads', join(repo, '../shared/data/dev-community'));
const rankList = opt('ranks', '1,2').split(',').map(Number);
const k = opt('k', '7');
const method = opt('method', 'graph');
const targetCoverage = opt('target-coverage', '0');
const normalized = method === 'graph' && Number(targetCoverage) > 0;
const lpaModes = method === 'graph' && !normalized ? opt('lpa', 'rank0,distributed').split(',') : ['rank0'];
const work = opt('work', join(repo, 'bench/work/mpi-graph'));
const distDir = opt('dist', 'dist');
const cli = join(repo, distDir, 'src/cli/main.js');
mkdirSync(work, { recursive: true });
const { readLabelsParquet } = await import(join(repo, distDir, 'src/io/labels.js'));
const { readClustersNetcdf } = await import(join(repo, distDir, 'src/io/netcdf.js'));
const { evaluateClustering } = await import(join(repo, distDir, 'src/evaluate/metrics.js'));

function timed(cmd, argv, env = process.env) {
  const load0 = loadavg()[0];
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28, env });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  const [wall, user, sys, rss] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { stdout: r.stdout, wall, cpu: +(user + sys).toFixed(2), maxRssMb: +(rss / 1024).toFixed(1), load: [+load0.toFixed(2), +loadavg()[0].toFixed(2)] };
}

let prepDir = opt('prep', join(repo, 'bench/work/cluster-methods/prep'));
if (!existsSync(join(prepDir, 'manifest.json'))) {
  prepDir = join(work, 'prep');
  if (!existsSync(join(prepDir, 'manifest.json'))) {
    console.error(`mpi-graph: metavec prep -> ${prepDir}`);
    timed(process.execPath, [cli, 'prep', '--input', join(reads, 'R1.fastq.gz'), '--input2', join(reads, 'R2.fastq.gz'), '--output', prepDir, '--threads', '2', '--quiet']);
  }
}
const truthPath = join(reads, 'truth.tsv.gz');
function evaluate(out) {
  const r = spawnSync(process.execPath, [cli, 'eval', '--labels', join(out, 'labels.parquet'), '--truth', truthPath, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const a = JSON.parse(r.stdout).assigned;
  return { ari: +a.ari.toFixed(4), nmi: +a.nmi.toFixed(4) };
}
const clusterArgs = ['--input', prepDir, '--method', method, '--k', k, '--json', '--quiet', ...(method === 'graph' ? ['--target-coverage', targetCoverage] : [])];

console.error('mpi-graph: local engine');
const tag = normalized ? `${method}-c${targetCoverage}` : method;
const localOut = join(work, `local-${tag}`);
const local = timed(process.execPath, [cli, 'cluster', ...clusterArgs, '--output', localOut, '--threads', '1']);
const ls = JSON.parse(local.stdout);
const localLabels = await readLabelsParquet(join(localOut, 'labels.parquet'));
const localCentroids = (await readClustersNetcdf(join(localOut, 'clusters.nc'))).centroids;
const rows = [{
  engine: 'local', ranks: 1, wall_s: local.wall, lp_groups: ls.method_details.graph?.groups_label_propagation,
  merged_groups: ls.method_details.graph?.groups_after_merge, lpa_sweeps: ls.method_details.graph?.label_propagation_sweeps, cpu_s: local.cpu, peak_rss_mb: local.maxRssMb, load: local.load, k: ls.k,
  build_bytes_per_fragment: ls.method_details.graph?.build_bytes_per_fragment, quality: evaluate(localOut),
}];

const mpiEnv = { ...process.env, OMPI_MCA_mpi_yield_when_idle: '1', OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
for (const lpa of lpaModes) for (const P of rankList) {
  console.error(`mpi-graph: ${P} rank(s), --lpa ${lpa}`);
  const out = join(work, `mpi${P}-${tag}-${lpa}`);
  const r = timed('mpirun', ['-n', String(P), '--oversubscribe', process.execPath, cli, 'cluster', '--engine', 'mpi', ...clusterArgs, ...(normalized ? [] : ['--lpa', lpa]), '--output', out], mpiEnv);
  const s = JSON.parse(r.stdout);
  const labels = await readLabelsParquet(join(out, 'labels.parquet'));
  const same = labels.readIds.length === localLabels.readIds.length
    && labels.clusters.every((c, i) => c === localLabels.clusters[i]) && labels.readIds.every((id, i) => id === localLabels.readIds[i]);
  // one rank: no per-rank report from the normalised method (nothing is exchanged)
  const perRank = (s.method_details.mpi?.ranks ?? []).map((x) => {
    const sent = Object.values(x.traffic ?? {}).reduce((a, t) => a + t.sent, 0);
    const received = Object.values(x.traffic ?? {}).reduce((a, t) => a + t.received, 0);
    // the all-reads graph reports row ranges; the normalised method whole shards and their fragments
    const nr = x.rows ? x.rows[1] - x.rows[0] : x.fragments;
    return {
      rank: x.rank, fragments: nr, ...(x.shards ? { shards: x.shards, subset_fragments: x.subset_fragments, labels_parts: x.labels_parts } : {}),
      seconds: x.seconds, cpu_s: x.cpu_seconds, peak_rss_mb: x.peak_rss_mb,
      ...(x.build_bytes !== undefined ? { build_bytes_per_fragment: +(x.build_bytes / nr).toFixed(1) } : {}),
      counts: x.counts, sent_bytes: sent, received_bytes: received,
      sent_bytes_per_fragment: +(sent / nr).toFixed(1), received_bytes_per_fragment: +(received / nr).toFixed(1),
      seconds_in_collectives: +Object.values(x.traffic ?? {}).reduce((a, t) => a + t.seconds, 0).toFixed(3),
      traffic: x.traffic,
    };
  });
  const sameOrder = labels.readIds.every((id, i) => id === localLabels.readIds[i]);
  rows.push({
    engine: 'mpi', ranks: P, lpa, wall_s: r.wall, cpu_s_all_ranks_and_mpirun: r.cpu, load: r.load, k: s.k,
    labels_equal_local: same, centroids_equal_local: (await readClustersNetcdf(join(out, 'clusters.nc'))).centroids.every((c, i) => c === localCentroids[i]),
    inertia_equal_local: s.inertia === ls.inertia,
    ari_vs_local: sameOrder ? +evaluateClustering(labels.clusters, localLabels.clusters).ari.toFixed(4) : null,
    lp_groups: s.method_details.graph?.groups_label_propagation, merged_groups: s.method_details.graph?.groups_after_merge,
    lpa_sweeps: s.method_details.graph?.label_propagation_sweeps,
    quality: evaluate(out), per_rank: perRank,
  });
}

const date = new Date().toISOString().slice(0, 10);
const result = {
  benchmark: 'mpi-graph',
  command: `node bench/mpi-graph.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: 'shared 2-core VM (other agents running); mpirun --oversubscribe, OMPI_MCA_mpi_yield_when_idle=1',
  prep: prepDir,
  fragments: ls.fragments,
  method,
  target_coverage: method === 'graph' ? Number(targetCoverage) : undefined,
  k,
  graph: ls.method_details.graph,
  normalization: ls.method_details.normalization,
  rows,
};
mkdirSync(join(repo, 'bench/results'), { recursive: true });
const file = join(repo, `bench/results/mpi-graph-${normalized ? `normalized-` : ''}${date}.json`);
writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(rows.map(({ per_rank: pr, ...rest }) => ({ ...rest, per_rank: pr?.map(({ traffic: _t, ...x }) => x) })), null, 2));
console.error(`mpi-graph: wrote ${file}`);
