/**
 * Phase 2 as one rank of an MPI job (`mpirun -n N metavec cluster --engine mpi ...`, or srun): every rank reads
 * the manifest, verifies and reads only the shards overlapping its block-aligned row range, and runs the same
 * driver (chooseK, kmeans) over the mpi executor, or the graph / LSH method over the ranks (phase2MpiPooled.ts),
 * or the default method, the coverage-normalised graph, over the MPI collectives (phase2Normalized.ts: each rank
 * reads a block of whole shards instead of a row range);
 * rank 0 reads the read ids, receives the labels and writes the outputs (summary.json last). Any rank failing makes the launcher stop the job (MPI_Abort on a non-zero
 * exit), so summary.json only ever appears for a complete result.
 */
import { availableParallelism } from 'node:os';
import { allocateKMeansMatrix, BLOCK_ROWS } from '../cluster/index.js';
import { blockPartition, mpiChunkBytes, MpiComm } from '../engines/mpi/comm.js';
import { MpiKMeansExecutor } from '../engines/mpi/kmeansRank.js';
import { MetavecError } from '../errors.js';
import { openPrepInput, type PrepInput } from '../io/inputs.js';
import { isS3Uri, joinLocation } from '../io/location.js';
import { resolveInRun } from '../io/manifest.js';
import { readShardIds, readShardRows, shardPieces } from '../io/shardSlice.js';
import {
  checkClusterSize, clusterWith, prepareOutputDir, writeClusterOutputs, type ClusterOptions, type ClusterRun, type ClusterSummary,
} from './phase2.js';
import type { ProgressSink } from './progress.js';
import type { NormalizedGraphParams } from '../cluster/normalizedGraph.js';
import { mpiCollectives } from '../engines/mpi/collectives.js';
import { runNormalizedGraph, shardBlocks } from './phase2Normalized.js';
import { pooledMethodOptions } from './phase2MpiPooled.js';
import { rm } from 'node:fs/promises';

const silent: ProgressSink = { phase: () => undefined, update: () => undefined, log: () => undefined, finish: () => undefined };

export async function runClusterMpi(opts: ClusterOptions): Promise<ClusterSummary> {
  const comm = MpiComm.world();
  const t0 = performance.now();
  const progress = comm.rank === 0 ? opts.progress : silent;
  // a directory or an S3 prefix (a rank downloads only the shards it reads; docs/s3.md)
  const input = await openPrepInput(opts.input);
  try {
    return await clusterRank(opts, comm, input, t0, progress);
  } finally {
    await input.close();
  }
}

async function clusterRank(opts: ClusterOptions, comm: MpiComm, input: PrepInput, t0: number, progress: ProgressSink): Promise<ClusterSummary> {
  const { rank, size } = comm;
  const manifest = input.manifest;
  const dim = manifest.embedding.dim;
  const n = manifest.shards.reduce((a, s) => a + s.rows, 0);
  checkClusterSize(opts, n);
  const normalized = opts.method === 'graph' ? opts.pooled?.normalized : undefined;
  if (normalized && normalized.targetCoverage > 0) return normalizedRank(opts, comm, input, t0, progress, normalized);
  const part = blockPartition(n, size, BLOCK_ROWS)[rank]!;
  const manifestPath = joinLocation(opts.input, 'manifest.json');
  const remote = isS3Uri(opts.input);
  const shards = manifest.shards.map((s) => ({ path: remote ? '' : resolveInRun(opts.input, s.path, manifestPath), rows: s.rows }));
  opts.progress.log(`cluster: mpi rank ${rank}/${size} pid ${process.pid} on ${comm.info.host}: rows [${part.start}, ${part.end}) of ${n}`);
  if (part.end <= part.start) {
    throw new MetavecError('USAGE', `mpi: ${n} fragments make ${Math.ceil(n / BLOCK_ROWS)} block(s) of ${BLOCK_ROWS} rows, fewer than the ${size} ranks: run with at most ${Math.ceil(n / BLOCK_ROWS)} rank(s)`);
  }
  // Each rank verifies the checksums of the shards it reads (together: every shard). From S3 a rank downloads
  // (verified) only those, rank 0 all of them (it reads every shard's read ids).
  const mine = new Set(shardPieces(shards, part.start, part.end).map((p) => p.shard));
  const wanted = remote && rank === 0 ? manifest.shards.map((_, i) => i) : [...mine].sort((a, b) => a - b);
  const files = await input.shardFiles(wanted);
  wanted.forEach((i, j) => (shards[i]!.path = files[j]!));
  if (rank === 0) {
    progress.phase('cluster');
    progress.log(`cluster: ${size} MPI rank(s) (${comm.info.version.split(/[,\n]/)[0]}), ${shards.length} shard(s), ${n} fragments x ${dim}`);
    await prepareOutputDir(opts.output);
  }
  let run: ClusterRun | null;
  let tRead: number;
  let readIds: string[] = [];
  if (opts.method === 'kmeans') {
    const local = await readShardRows(shards, dim, part.start, part.end, allocateKMeansMatrix);
    readIds = rank === 0 ? await readShardIds(shards) : [];
    tRead = performance.now();
    // Threads per rank: --threads, at most this node's cores divided by the ranks on it.
    const localRanks = Number(process.env.OMPI_COMM_WORLD_LOCAL_SIZE ?? process.env.SLURM_NTASKS_PER_NODE ?? '') || size;
    const threads = Math.max(1, Math.min(opts.threads, Math.floor(availableParallelism() / localRanks)));
    const exec = await MpiKMeansExecutor.create(comm, local, n, dim, threads);
    try {
      run = await clusterWith(exec, n, { ...opts, progress }, `${size} MPI rank(s) x ${threads} thread(s)`);
    } finally {
      await exec.close();
    }
  } else {
    // graph / lsh: the build over the ranks, the sequential group steps on rank 0 (phase2MpiPooled.ts)
    const { pooledRank } = await import('./phase2MpiPooled.js');
    ({ run, tRead } = await pooledRank({ ...opts, progress }, comm, manifest, shards, blockPartition(n, size, BLOCK_ROWS), progress));
    if (rank === 0) readIds = await readShardIds(shards);
  }
  let text = '';
  if (rank === 0) {
    const summary = await writeClusterOutputs({ ...opts, progress }, {
      manifest, readIds, n, dim, run: run!, t0, tRead,
      engine: { name: 'mpi', ranks: size, mpi: comm.info.version.split(/[,\n]/)[0]! },
    });
    text = JSON.stringify(summary);
  }
  // The job ends together: no rank reports success before rank 0 has written summary.json.
  const summary = JSON.parse(comm.bcastString(text, 0)) as ClusterSummary;
  comm.finalize();
  return { ...summary, engine: { name: 'mpi', ...summary.engine, rank } };
}

/**
 * The coverage-normalised graph method (the default) as one rank: the method's own code over the MPI
 * collectives (phase2Normalized.ts). The rank reads (and from S3 downloads) only its block of consecutive
 * shards, in all three passes; rank 0 clusters the subset, receives the ranks' labels parts and writes the outputs.
 */
async function normalizedRank(
  opts: ClusterOptions, comm: MpiComm, input: PrepInput, t0: number, progress: ProgressSink, normalized: NormalizedGraphParams,
): Promise<ClusterSummary> {
  const { rank, size } = comm;
  const manifest = input.manifest;
  const n = manifest.shards.reduce((a, s) => a + s.rows, 0);
  const block = shardBlocks(manifest.shards.map((s) => s.rows), size)[rank]!;
  opts.progress.log(`cluster: mpi rank ${rank}/${size} pid ${process.pid} on ${comm.info.host}: shards [${block.first}, ${block.end}) of ${manifest.shards.length}`);
  const paths = await input.shardFiles(Array.from({ length: block.end - block.first }, (_, i) => block.first + i));
  if (rank === 0) {
    progress.phase('cluster');
    progress.log(`cluster: ${size} MPI rank(s) (${comm.info.version.split(/[,\n]/)[0]}), ${manifest.shards.length} shard(s), ${n} fragments x ${manifest.embedding.dim}`);
    await prepareOutputDir(opts.output);
  }
  const nr = await runNormalizedGraph(manifest, paths, block, { ...pooledMethodOptions(opts), normalized }, progress, mpiCollectives(comm), mpiChunkBytes());
  let text = '';
  if (nr) {
    try {
      const summary = await writeClusterOutputs({ ...opts, progress }, {
        manifest, labelParts: nr.labelParts, n, dim: manifest.embedding.dim, run: nr.run, t0, tRead: t0,
        engine: { name: 'mpi', ranks: size, mpi: comm.info.version.split(/[,\n]/)[0]! },
      });
      text = JSON.stringify(summary);
    } finally {
      await rm(nr.partsDir, { recursive: true, force: true });
    }
  }
  // The job ends together: no rank reports success before rank 0 has written summary.json.
  const summary = JSON.parse(comm.bcastString(text, 0)) as ClusterSummary;
  comm.finalize();
  return { ...summary, engine: { name: 'mpi', ...summary.engine, rank } };
}
