/**
 * One rank of the k-means strong-scaling benchmark (started by bench/mpi-scaling.ts under mpirun): reads its
 * block-aligned rows of a raw float32 matrix, runs the k-means driver over the mpi executor and prints one JSON
 * line per rank (phase times by MPI_Wtime, process CPU seconds, peak RSS, bytes sent through collectives).
 *
 *   mpirun -n P node dist/bench/mpi-kmeans-rank.js --matrix FILE --d 136 --k 7 --max-iter 20 [--engine mpi|local]
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { allocateKMeansMatrix, BLOCK_ROWS, kmeans } from '../src/cluster/index.js';
import { blockPartition, MpiComm } from '../src/engines/mpi/comm.js';
import { MpiKMeansExecutor } from '../src/engines/mpi/kmeansRank.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const file = arg('matrix', '');
const d = Number(arg('d', '136'));
const k = Number(arg('k', '7'));
const maxIter = Number(arg('max-iter', '20'));
const init = arg('init', 'k-means||') as 'k-means||' | 'k-means++';

const comm = MpiComm.world();
const fd = openSync(file, 'r');
const bytes = fstatSync(fd).size;
const n = bytes / (4 * d);
const part = blockPartition(n, comm.size, BLOCK_ROWS)[comm.rank]!;
const t0 = comm.wtime();
const local = allocateKMeansMatrix(part.end - part.start, d); // the engine uses it in place
const view = new Uint8Array(local.buffer, local.byteOffset, local.byteLength);
for (let off = 0; off < view.length;) {
  const got = readSync(fd, view, off, Math.min(1 << 26, view.length - off), part.start * d * 4 + off);
  if (got <= 0) throw new Error('short read');
  off += got;
}
closeSync(fd);
comm.barrier();
const tRead = comm.wtime();
const cpu0 = process.cpuUsage();
const exec = new MpiKMeansExecutor(comm, local, n, d);
await exec.prepare();
comm.barrier();
const tPrep = comm.wtime();
const bytes0 = comm.bytesSent;
// Lloyd steps: time and bytes of each assign() (the per-iteration cost the scaling model predicts)
let assignSeconds = 0;
let assignCalls = 0;
let assignCpu = 0;
let assignBytes = 0;
let commSeconds = 0;
const assign = exec.assign.bind(exec);
exec.assign = async (c, kk, first) => {
  const a0 = comm.wtime();
  const b0 = comm.bytesSent;
  const u0 = process.cpuUsage();
  const res = await assign(c, kk, first);
  const u = process.cpuUsage(u0);
  assignCpu += (u.user + u.system) / 1e6;
  assignSeconds += comm.wtime() - a0;
  assignBytes += comm.bytesSent - b0;
  assignCalls++;
  return res;
};
const sum = comm.sumInRankOrder.bind(comm);
comm.sumInRankOrder = (v) => {
  const c0 = comm.wtime();
  const res = sum(v);
  commSeconds += comm.wtime() - c0;
  return res;
};
// tol 0: a fixed number of Lloyd iterations, so 1 and P ranks do the same work
const r = await kmeans(exec, { k, seed: 1, nInit: 1, maxIter, tol: 0, init, algorithm: 'lloyd' });
comm.barrier();
const tKm = comm.wtime();
const cpu = process.cpuUsage(cpu0);
const out = {
  rank: comm.rank, size: comm.size, n, d, k, rows: part.end - part.start,
  iterations: r.iterations, inertia: r.inertia,
  seconds: { read: tRead - t0, prepare: tPrep - tRead, kmeans: tKm - tPrep },
  cpu_seconds: (cpu.user + cpu.system) / 1e6,
  bytes_sent_kmeans: comm.bytesSent - bytes0,
  assign: { calls: assignCalls, seconds_per_call: assignSeconds / assignCalls, cpu_seconds_per_call: assignCpu / assignCalls, bytes_per_call: assignBytes / assignCalls },
  /** time inside the rank-order reductions (communication + waiting for the slower rank) */
  reduce_seconds: commSeconds,
  max_rss_mb: process.resourceUsage().maxRSS / 1024,
};
process.stdout.write(JSON.stringify(out) + '\n');
comm.finalize();
