/**
 * k-means strong scaling of the mpi engine: the same n x d matrix, the same K and a fixed number of Lloyd
 * iterations (tol 0) on 1 and 2 (or --ranks) MPI ranks; efficiency = T(1) / (P * T(P)).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/mpi-scaling.js [--n 1000000] [--d 136] [--k 7] [--max-iter 20]
 *       [--ranks 1,2] [--repeat 2] [--init k-means||]
 *
 * The matrix (7 composition centers + noise, like 4-mer profiles: src/cluster/synthetic.ts) is written once to
 * bench/work/mpi-scaling/ as raw float32; each rank reads only its rows (the benchmark measures k-means, not
 * Parquet). Each configuration runs --repeat times, alternating; medians are reported with wall, CPU seconds
 * (user+sys of mpirun and its children, /usr/bin/time) and the 1-minute load average around the run: the
 * machine may be shared. Writes bench/results/mpi-scaling-<date>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { profileMixture } from '../src/cluster/synthetic.js';
import { TOOL_VERSION } from '../src/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const n = Number(arg('n', '1000000'));
const d = Number(arg('d', '136'));
const k = Number(arg('k', '7'));
const maxIter = Number(arg('max-iter', '20'));
const rankList = arg('ranks', '1,2').split(',').map(Number);
const repeat = Number(arg('repeat', '2'));
const init = arg('init', 'k-means||');

const work = join(ROOT, 'bench/work/mpi-scaling');
mkdirSync(work, { recursive: true });
const matrix = join(work, `x-${n}x${d}.f32`);
if (!existsSync(matrix)) {
  console.error(`mpi-scaling: generating ${n} x ${d} -> ${matrix}`);
  // in chunks of 100k rows (different seeds): bounded memory for any n
  const fd = openSync(matrix, 'w');
  for (let r0 = 0, c = 0; r0 < n; r0 += 100_000, c++) {
    const m = Math.min(100_000, n - r0);
    const x = profileMixture(k, m, d, 1000 + c, 0.008);
    writeSync(fd, new Uint8Array(x.buffer));
  }
  closeSync(fd);
}

interface RankOut {
  rank: number; size: number; rows: number; iterations: number; inertia: number;
  seconds: { read: number; prepare: number; kmeans: number };
  cpu_seconds: number; bytes_sent_kmeans: number; max_rss_mb: number;
  assign: { calls: number; seconds_per_call: number; cpu_seconds_per_call: number; bytes_per_call: number };
  reduce_seconds: number;
}

function runOnce(P: number): { wall: number; cpu: number; maxRssMb: number; load: [number, number]; ranks: RankOut[] } {
  const load0 = loadavg()[0]!;
  const rootArgs = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', 'mpirun', '-n', String(P), '--oversubscribe', '--bind-to', 'none', ...rootArgs,
    process.execPath, join(ROOT, 'dist/bench/mpi-kmeans-rank.js'), '--matrix', matrix, '--d', String(d), '--k', String(k),
    '--max-iter', String(maxIter), '--init', init], { encoding: 'utf8', env: { ...process.env, OMPI_MCA_mpi_yield_when_idle: '1' } });
  if (r.status !== 0) throw new Error(`mpirun -n ${P} failed:\n${r.stderr}`);
  const timeLine = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  const ranks = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as RankOut).sort((a, b) => a.rank - b.rank);
  return { wall: timeLine[0]!, cpu: timeLine[2]! + timeLine[3]!, maxRssMb: timeLine[1]! / 1024, load: [load0, loadavg()[0]!], ranks };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const runs = new Map<number, ReturnType<typeof runOnce>[]>();
for (let rep = 0; rep < repeat; rep++) {
  const order = rep % 2 === 0 ? rankList : [...rankList].reverse();
  for (const P of order) {
    const res = runOnce(P);
    const km = Math.max(...res.ranks.map((x) => x.seconds.kmeans));
    console.error(`mpi-scaling: P=${P} rep ${rep}: k-means ${km.toFixed(2)} s (wall ${res.wall} s, cpu ${res.cpu.toFixed(1)} s, load ${res.load[0].toFixed(1)}->${res.load[1].toFixed(1)})`);
    runs.set(P, [...(runs.get(P) ?? []), res]);
  }
}

const results = rankList.map((P) => {
  const rs = runs.get(P)!;
  const kmT = rs.map((r) => Math.max(...r.ranks.map((x) => x.seconds.kmeans)));
  const assignT = rs.map((r) => Math.max(...r.ranks.map((x) => x.assign.seconds_per_call)));
  const reduceT = rs.map((r) => Math.max(...r.ranks.map((x) => x.reduce_seconds)));
  const r0 = rs[0]!.ranks[0]!;
  return {
    ranks: P,
    kmeans_seconds_median: median(kmT),
    kmeans_seconds: kmT,
    lloyd_assign_seconds_per_iteration_median: median(assignT),
    reduce_seconds_median: median(reduceT),
    /** CPU seconds of one Lloyd assign step, summed over ranks (first one unpruned, later ones pruned) */
    lloyd_assign_cpu_seconds_per_iteration_sum_median: median(rs.map((r) => r.ranks.reduce((a, x) => a + x.assign.cpu_seconds_per_call, 0))),
    wall_seconds_median: median(rs.map((r) => r.wall)),
    cpu_seconds_median: median(rs.map((r) => r.cpu)),
    /** k-means CPU seconds (user+sys) summed over ranks: the work, whatever the machine's load */
    kmeans_cpu_seconds_sum_median: median(rs.map((r) => r.ranks.reduce((a, x) => a + x.cpu_seconds, 0))),
    peak_rss_mb_per_rank: Math.max(...rs.flatMap((r) => r.ranks.map((x) => x.max_rss_mb))),
    bytes_sent_per_rank_per_assign: r0.assign.bytes_per_call,
    assign_calls: r0.assign.calls,
    iterations: r0.iterations,
    inertia: r0.inertia,
    rows_per_rank: rs[0]!.ranks.map((x) => x.rows),
    load_average: rs.map((r) => r.load),
  };
});
const base = results.find((r) => r.ranks === 1);
const out = {
  benchmark: 'mpi-scaling',
  tool_version: TOOL_VERSION,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', note: 'shared with other jobs: see load_average' },
  command: `node dist/bench/mpi-scaling.js --n ${n} --d ${d} --k ${k} --max-iter ${maxIter} --ranks ${rankList.join(',')} --repeat ${repeat} --init ${init}`,
  params: { n, d, k, max_iter: maxIter, tol: 0, init, n_init: 1 },
  results: results.map((r) => ({
    ...r,
    speedup: base ? base.kmeans_seconds_median / r.kmeans_seconds_median : null,
    efficiency: base ? base.kmeans_seconds_median / (r.ranks * r.kmeans_seconds_median) : null,
    assign_speedup: base ? base.lloyd_assign_seconds_per_iteration_median / r.lloyd_assign_seconds_per_iteration_median : null,
    /** CPU time of 1 rank / CPU time summed over P ranks: 1.0 = no parallel overhead (load-independent) */
    cpu_efficiency: base ? base.kmeans_cpu_seconds_sum_median / r.kmeans_cpu_seconds_sum_median : null,
  })),
  same_inertia_all_ranks: new Set(results.map((r) => r.inertia.toPrecision(12))).size === 1,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, `bench/results/mpi-scaling-${out.date.slice(0, 10)}.json`);
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
for (const r of out.results) {
  console.log(`P=${r.ranks}: k-means ${r.kmeans_seconds_median.toFixed(2)} s, assign/iter ${(r.lloyd_assign_seconds_per_iteration_median * 1000).toFixed(0)} ms, ` +
    `speedup ${r.speedup?.toFixed(2)}, efficiency ${r.efficiency?.toFixed(2)} (CPU ${r.cpu_efficiency?.toFixed(2)}), ${(r.bytes_sent_per_rank_per_assign / 1024).toFixed(1)} KiB/rank/iteration, RSS ${r.peak_rss_mb_per_rank.toFixed(0)} MB/rank`);
}
console.log(`-> ${file}`);
