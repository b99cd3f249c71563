import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { allocateKMeansMatrix, chooseK, kmeans, type ChooseKResult, type KMeansOptions } from '../cluster/index.js';
import { createLocalKMeansExecutor } from '../engines/local/kmeansPool.js';
import { MetavecError, usageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readLabelsParquet, writeLabelsParquet } from '../io/labels.js';
import { readPrepManifest, verifyShards } from '../io/manifest.js';
import { writeClustersNetcdf } from '../io/netcdf.js';
import { readShards } from '../io/shards.js';
import { evaluateLabels, loadTruth, type EvalReport } from '../evaluate/index.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { ProgressSink } from './progress.js';

export const CLUSTER_SCHEMA = 'metavec.cluster/1';

export interface ClusterOptions {
  input: string;
  output: string;
  method: 'kmeans';
  k: number | 'auto';
  kMin: number;
  kMax: number;
  seed: number;
  nInit: number;
  maxIter: number;
  tol: number;
  init: KMeansOptions['init'];
  algorithm: KMeansOptions['algorithm'];
  batchSize?: number;
  threads: number;
  progress: ProgressSink;
}

export interface ClusterSummary {
  schema: string;
  tool: { name: string; version: string };
  created: string;
  input: string;
  method: string;
  fragments: number;
  dim: number;
  k: number;
  k_selection: ChooseKResult | { method: 'given' };
  seed: number;
  n_init: number;
  algorithm: string;
  init: string;
  iterations: number;
  converged: boolean;
  inertia: number;
  cluster_sizes: number[];
  seconds: { read: number; choose_k: number; kmeans: number; write: number; total: number };
  outputs: { labels: string; clusters: string };
}

/** Phase 2 on one machine: shards -> k-means -> labels.parquet, clusters.nc, summary.json (written last). */
export async function runCluster(opts: ClusterOptions): Promise<ClusterSummary> {
  const t0 = performance.now();
  const manifest = await readPrepManifest(opts.input);
  const paths = await verifyShards(opts.input, manifest);
  const dim = manifest.embedding.dim;
  opts.progress.phase('cluster');
  opts.progress.log(`cluster: reading ${paths.length} shard(s), ${manifest.shards.reduce((a, s) => a + s.rows, 0)} fragments x ${dim}`);
  // in the k-means engine's own (shared WebAssembly) memory when it fits, so workers use it in place
  const m = await readShards(paths, dim, { shared: true, allocate: allocateKMeansMatrix });
  const expectedRows = manifest.shards.reduce((a, s) => a + s.rows, 0);
  if (m.n !== expectedRows) throw new MetavecError('MANIFEST', `shard: rows read (${m.n}) != rows in the manifest (${expectedRows})`);
  if (m.n === 0) throw new MetavecError('INPUT', `cluster: ${opts.input} has no fragments (every read was filtered?)`);
  if (typeof opts.k === 'number' && opts.k > m.n) {
    throw usageError(`cluster: --k ${opts.k} is larger than the number of fragments (${m.n})`);
  }
  const tRead = performance.now();

  await mkdir(opts.output, { recursive: true });
  await rm(join(opts.output, 'summary.json'), { force: true });
  const exec = await createLocalKMeansExecutor(m.data, m.n, dim, opts.threads);
  let selection: ChooseKResult | { method: 'given' };
  let tChoose: number;
  let result;
  try {
    let k: number;
    if (opts.k === 'auto') {
      const kMax = Math.min(opts.kMax, m.n);
      if (opts.kMin > kMax) throw usageError(`cluster: --k-min ${opts.kMin} exceeds the number of fragments (${m.n})`);
      opts.progress.log(`cluster: choosing K in [${opts.kMin}, ${kMax}]`);
      const ck = await chooseK(exec, { kMin: opts.kMin, kMax, seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter, tol: opts.tol });
      selection = ck;
      k = ck.k;
      opts.progress.log(`cluster: K = ${k} (${ck.method}: ${ck.reason})`);
    } else {
      selection = { method: 'given' };
      k = opts.k;
    }
    tChoose = performance.now();
    opts.progress.log(`cluster: k-means K=${k}, n-init ${opts.nInit}, seed ${opts.seed}, ${opts.threads} thread(s)`);
    result = await kmeans(exec, {
      k,
      seed: opts.seed,
      nInit: opts.nInit,
      maxIter: opts.maxIter,
      tol: opts.tol,
      init: opts.init,
      algorithm: opts.algorithm,
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    });
  } finally {
    await exec.close();
  }
  const tKm = performance.now();
  const labelsPath = join(opts.output, 'labels.parquet');
  const ncPath = join(opts.output, 'clusters.nc');
  await writeLabelsParquet(labelsPath, { readIds: m.readIds, clusters: result.labels, distances: result.distances });
  await writeClustersNetcdf(ncPath, {
    centroids: result.centroids,
    k: result.k,
    d: dim,
    clusterSize: result.clusterSize,
    objective: result.objectiveHistory,
    attrs: {
      method: 'kmeans',
      seed: opts.seed,
      algorithm: result.algorithm,
      init: result.init,
      n_init: opts.nInit,
      inertia: result.inertia,
      embedding: `${manifest.embedding.method} k=${manifest.embedding.k ?? ''} ${manifest.embedding.normalisation ?? ''}`.trim(),
      source_manifest: join(opts.input, 'manifest.json'),
      Conventions: 'CF-1.8',
    },
  });
  const tWrite = performance.now();
  const summary: ClusterSummary = {
    schema: CLUSTER_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    created: new Date().toISOString(),
    input: opts.input,
    method: opts.method,
    fragments: m.n,
    dim,
    k: result.k,
    k_selection: selection,
    seed: opts.seed,
    n_init: opts.nInit,
    algorithm: result.algorithm,
    init: result.init,
    iterations: result.iterations,
    converged: result.converged,
    inertia: result.inertia,
    cluster_sizes: Array.from(result.clusterSize),
    seconds: {
      read: (tRead - t0) / 1000,
      choose_k: (tChoose - tRead) / 1000,
      kmeans: (tKm - tChoose) / 1000,
      write: (tWrite - tKm) / 1000,
      total: (performance.now() - t0) / 1000,
    },
    outputs: { labels: 'labels.parquet', clusters: 'clusters.nc' },
  };
  await writeFileAtomic(join(opts.output, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  opts.progress.finish();
  return summary;
}

/** `metavec eval`: labels.parquet against a truth table. */
export async function runEval(labelsPath: string, truthPath: string, column: string): Promise<EvalReport> {
  const labels = await readLabelsParquet(labelsPath);
  const truth = await loadTruth(truthPath, column);
  return evaluateLabels(labels, truth);
}
