import {
  allocateKMeansMatrix, chooseK, kmeans, type ChooseKResult, type KMeansExecutor, type KMeansOptions, type KMeansResult,
} from '../cluster/index.js';
import { createLocalKMeansExecutor } from '../engines/local/kmeansPool.js';
import { MetavecError, usageError } from '../errors.js';
import { DownloadDir, localFileFor, openPrepInput } from '../io/inputs.js';
import { camiSampleId, writeCamiBinning } from '../io/binning.js';
import { openOutputStore, type OutputStore } from '../io/store.js';
import { readLabelsParquet, writeLabelsFromParts, writeLabelsParquet } from '../io/labels.js';
import type { PrepManifest } from '../io/manifest.js';
import { writeClustersNetcdf } from '../io/netcdf.js';
import { readShards, type ShardMatrix } from '../io/shards.js';
import type { Normalisation } from '../embed/kmerProfile.js';
import { loadReference, nameClusters, type ClusterName, type Reference } from '../cluster/references.js';
import type { WeightedKChoice } from '../cluster/weightedKMeans.js';
import { kTriedLine, pooledRun, runPooledMethod, type PooledMethodOptions } from './phase2Pooled.js';
import { runNormalizedGraph } from './phase2Normalized.js';
import { rm } from 'node:fs/promises';
import type { KSearch } from '../cluster/pooled.js';
import { evaluateLabels, loadTruth, type EvalReport } from '../evaluate/index.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { ProgressSink } from './progress.js';
import type { SlurmJobOptions } from '../engines/slurm/script.js';
import { describeEmbedding } from '../embed/index.js';
import { embeddingMeaning } from '../embed/describe.js';
import { prepIdentity, requirePrepIdentity, type PrepIdentity } from '../io/prepIdentity.js';
import { sha256File } from '../io/checksum.js';
import { toJson } from '../io/jsonKeys.js';
import { CLUSTER_FILES, clusterRunKey, existingCluster } from './clusterReuse.js';
import { describeClusterMethod, dimCoordinate, labelsKeyValueMetadata } from './clusterDescription.js';

export const CLUSTER_SCHEMA = 'metavec.cluster/1';

export const CLUSTER_METHODS = ['kmeans', 'graph', 'lsh'] as const;
export type ClusterMethod = (typeof CLUSTER_METHODS)[number];
/**
 * The method `metavec cluster` and `metavec run` use without --method: the best one measured on the sample
 * (graph, K auto: ARI 0.59 in 35-46 s for the whole run, against 0.30 in 107-230 s for per-read k-means; README).
 * The one place to change it: help texts, the run summary and the tests follow it.
 */
export const DEFAULT_CLUSTER_METHOD: ClusterMethod = 'graph';

/** Phase 2 options; K and its k-means runs are the KSearch fields (k, kMin, kMax, seed, nInit, maxIter). */
export interface ClusterOptions extends KSearch {
  input: string;
  output: string;
  method: ClusterMethod;
  /** graph / lsh method parameters (docs/graph.md) */
  pooled?: Omit<PooledMethodOptions, 'method' | keyof KSearch>;
  /** reference genomes (FASTA) that name the clusters */
  references?: string[];
  tol: number;
  init: KMeansOptions['init'];
  algorithm: KMeansOptions['algorithm'];
  batchSize?: number;
  threads: number;
  progress: ProgressSink;
  /** local (default): worker threads; mpi: this process is one rank of an MPI job; slurm: submit an mpi job. */
  engine?: 'local' | 'mpi' | 'slurm';
  /** --engine slurm: the batch job. */
  slurm?: SlurmJobOptions;
  /** graph method on mpi/slurm: label propagation on rank 0 (default; the local engine's labels) or over the ranks */
  lpa?: 'rank0' | 'distributed';
  /** replace a finished result in --output that was made from another prep (refused otherwise) */
  overwrite?: boolean;
  /** bins.binning: one row per read (read_id/1, read_id/2) instead of per read pair (paired runs) */
  binningReads?: boolean;
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
  k_selection: ChooseKResult | WeightedKChoice | { method: 'given' };
  seed: number;
  n_init: number;
  algorithm: string;
  init: string;
  iterations: number;
  converged: boolean;
  inertia: number;
  cluster_sizes: number[];
  seconds: { read: number; choose_k: number; kmeans: number; write: number; total: number };
  /** binning: the labels in the CAMI binning format (AMBER), whose @SampleID is sample_id */
  outputs: { labels: string; clusters: string; binning?: string; binning_rows?: 'read' | 'read pair'; sample_id?: string };
  /** the prep this result was made from: its manifest and the manifest's sha256 (absent in older results) */
  prep?: PrepIdentity;
  /** what a re-run compares before reusing this result: the run's key and the outputs' sha256 */
  reuse?: { key: string; sha256: Record<string, string> };
  /** set (not written) when this summary is a finished earlier result that was reused */
  reused?: boolean;
  /** How it ran (absent: local). */
  engine?: { name: string; ranks?: number; mpi?: string; job_id?: string; rank?: number };
  /** graph/lsh: how the read groups were made and clustered */
  method_details?: Record<string, unknown>;
  /** with --references: the name of each cluster (index = cluster id) */
  cluster_names?: string[];
  /** with --references: each cluster's nearest reference, its distance, and the runner-up */
  cluster_naming?: ClusterName[];
  references?: { name: string; path: string; bases: number; contigs: number }[];
}

/** Phase 2: shards -> k-means -> labels.parquet, clusters.nc, summary.json (written last). */
export async function runCluster(opts: ClusterOptions): Promise<ClusterSummary> {
  if (opts.engine === 'mpi') return (await import('./phase2Mpi.js')).runClusterMpi(opts);
  if (opts.engine === 'slurm') return (await import('./phase2Slurm.js')).runClusterSlurm(opts);
  const t0 = performance.now();
  // What the output already holds: another prep's result is refused (without --overwrite), a verified result of
  // the same prep and parameters is reused (clusterReuse.ts). A missing prep is reported by openPrepInput below.
  const prep = await prepIdentity(opts.input);
  if (prep) {
    const existing = await existingCluster(opts, prep, await clusterRunKey(opts, prep));
    if (existing.state === 'reuse') {
      opts.progress.log(`cluster: reusing the finished result in ${opts.output} (outputs verified, same prep and parameters)`);
      opts.progress.finish();
      return { ...existing.summary, reused: true };
    }
  }
  // The output is checked first (a wrong bucket or credentials fail before any work); the input is a
  // directory or an S3 prefix whose shards are streamed to a temporary directory and verified.
  await prepareOutputDir(opts.output);
  const input = await openPrepInput(opts.input);
  try {
    return await clusterLocal(opts, input.manifest, await input.shardFiles(), t0);
  } finally {
    await input.close();
  }
}

async function clusterLocal(opts: ClusterOptions, manifest: PrepManifest, paths: string[], t0: number): Promise<ClusterSummary> {
  const dim = manifest.embedding.dim;
  opts.progress.phase('cluster');
  const normalized = opts.method === 'graph' ? opts.pooled?.normalized : undefined;
  if (normalized && normalized.targetCoverage > 0) {
    // streamed three times; nothing per fragment is held for all fragments (docs/graph.md "Depth")
    const n = manifest.shards.reduce((a, s) => a + s.rows, 0);
    checkClusterSize(opts, n);
    const nr = await runNormalizedGraph(
      manifest, paths, { first: 0, end: paths.length, rowBase: 0 },
      { ...opts.pooled!, normalized, method: 'graph', k: opts.k, kMin: opts.kMin, kMax: opts.kMax, seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter },
      opts.progress,
    );
    if (!nr) throw new Error('cluster: the local engine is rank 0 and returned no run');
    try {
      return await writeClusterOutputs(opts, { manifest, labelParts: nr.labelParts, n, dim, run: nr.run, t0, tRead: t0 });
    } finally {
      await rm(nr.partsDir, { recursive: true, force: true });
    }
  }
  opts.progress.log(`cluster: reading ${paths.length} shard(s), ${manifest.shards.reduce((a, s) => a + s.rows, 0)} fragments x ${dim}`);
  // in the k-means engine's own (shared WebAssembly) memory when it fits, so workers use it in place
  const m = await readShards(paths, dim, { shared: true, allocate: allocateKMeansMatrix });
  const expectedRows = manifest.shards.reduce((a, s) => a + s.rows, 0);
  if (m.n !== expectedRows) throw new MetavecError('MANIFEST', `shard: rows read (${m.n}) != rows in the manifest (${expectedRows})`);
  checkClusterSize(opts, m.n);
  const tRead = performance.now();

  if (opts.method !== 'kmeans') {
    const run = await clusterPooledMethod(opts, manifest, paths, m);
    return writeClusterOutputs(opts, { manifest, readIds: m.readIds, n: m.n, dim, run, t0, tRead });
  }
  const exec = await createLocalKMeansExecutor(m.data, m.n, dim, opts.threads);
  let run: ClusterRun;
  try {
    run = await clusterWith(exec, m.n, opts, `${opts.threads} thread(s)`);
  } finally {
    await exec.close();
  }
  return writeClusterOutputs(opts, { manifest, readIds: m.readIds, n: m.n, dim, run, t0, tRead });
}

/** --method graph|lsh on one machine: read groups, then pooled clustering (docs/graph.md). */
async function clusterPooledMethod(opts: ClusterOptions, manifest: PrepManifest, paths: string[], m: ShardMatrix): Promise<ClusterRun> {
  if (!opts.pooled) throw new Error('cluster: pooled-method parameters missing');
  const method = opts.method === 'graph' ? 'graph' : 'lsh';
  const pm = await runPooledMethod(
    manifest,
    paths,
    m,
    { ...opts.pooled, method, k: opts.k, kMin: opts.kMin, kMax: opts.kMax, seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter },
    opts.progress,
  );
  return pooledRun(opts, pm.result, pm.details, m.dim);
}

/** Usage checks that need the number of fragments. */
export function checkClusterSize(opts: ClusterOptions, n: number): void {
  if (n === 0) throw new MetavecError('INPUT', `cluster: ${opts.input} has no fragments (every read was filtered?)`);
  if (typeof opts.k === 'number' && opts.k > n) {
    throw usageError(`cluster: --k ${opts.k} is larger than the number of fragments (${n})`);
  }
}

/**
 * The output (a directory, created, or an S3 prefix, whose bucket is checked) holds no summary.json (which
 * marks a complete result) until this run ends.
 */
export async function prepareOutputDir(output: string): Promise<void> {
  const store = await openOutputStore(output);
  try {
    await store.remove('summary.json');
  } finally {
    await store.close();
  }
}

export interface ClusterRun {
  selection: ClusterSummary['k_selection'];
  result: KMeansResult;
  /** graph/lsh: what the method did (summary.json method_details) */
  details?: Record<string, unknown>;
  /** performance.now() after choosing K and after k-means. */
  tChoose: number;
  tKm: number;
}

/** K (given or chosen) and k-means over any executor: the same driver for every engine. */
export async function clusterWith(exec: KMeansExecutor, n: number, opts: ClusterOptions, where: string): Promise<ClusterRun> {
  let selection: ChooseKResult | { method: 'given' };
  let k: number;
  if (opts.k === 'auto') {
    const kMax = Math.min(opts.kMax, n);
    if (opts.kMin > kMax) throw usageError(`cluster: --k-min ${opts.kMin} exceeds the number of fragments (${n})`);
    opts.progress.log(`cluster: choosing K in [${opts.kMin}, ${kMax}]`);
    const ck = await chooseK(exec, { kMin: opts.kMin, kMax, seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter, tol: opts.tol, onK: (e) => opts.progress.log(kTriedLine(e)) });
    selection = ck;
    k = ck.k;
    opts.progress.log(`cluster: K = ${k} (${ck.method}: ${ck.reason})`);
  } else {
    selection = { method: 'given' };
    k = opts.k;
  }
  const tChoose = performance.now();
  opts.progress.log(`cluster: k-means K=${k}, n-init ${opts.nInit}, seed ${opts.seed}, ${where}`);
  const result = await kmeans(exec, {
    k,
    seed: opts.seed,
    nInit: opts.nInit,
    maxIter: opts.maxIter,
    tol: opts.tol,
    init: opts.init,
    algorithm: opts.algorithm,
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
  });
  return { selection, result, tChoose, tKm: performance.now() };
}

export interface ClusterOutputs {
  manifest: PrepManifest;
  /** the labels: read ids with run.result's labels and distances, or parts already written in row order */
  readIds?: string[];
  labelParts?: string[];
  n: number;
  dim: number;
  run: ClusterRun;
  /** performance.now() at the start and after reading. */
  t0: number;
  tRead: number;
  engine?: ClusterSummary['engine'];
}

/** labels.parquet, clusters.nc, then summary.json (last: a result is complete exactly when it exists). */
export async function writeClusterOutputs(opts: ClusterOptions, o: ClusterOutputs): Promise<ClusterSummary> {
  const out = await openOutputStore(opts.output);
  try {
    return await writeClusterOutputsTo(out, opts, o);
  } finally {
    await out.close();
  }
}

async function writeClusterOutputsTo(out: OutputStore, opts: ClusterOptions, o: ClusterOutputs): Promise<ClusterSummary> {
  const { manifest, readIds, n, dim, run: { result, selection, tChoose, tKm, details }, t0, tRead } = o;
  // produced locally (staged for an S3 prefix), published, then summary.json last
  const labelsPath = await out.stagingPath('labels.parquet');
  const ncPath = await out.stagingPath('clusters.nc');
  const binningPath = await out.stagingPath('bins.binning');
  const sampleId = camiSampleId(sampleName(opts.output));
  const prep = await requirePrepIdentity(opts.input);
  const refs = opts.references && opts.references.length > 0 ? await loadReferences(opts.references, manifest) : undefined;
  const names = refs ? nameClusters(result.centroids, result.k, dim, refs) : undefined;
  const described = describeClusterMethod(opts.method, result, manifest, details);
  const metadata = labelsKeyValueMetadata(opts.method, result.k, described, manifest, prep.sha256);
  const clusterNames = names ? { clusterNames: names.map((x) => x.name) } : {};
  if (o.labelParts) await writeLabelsFromParts(labelsPath, o.labelParts, clusterNames.clusterNames, metadata);
  else await writeLabelsParquet(labelsPath, { readIds: readIds ?? [], clusters: result.labels, distances: result.distances, ...clusterNames, metadata });
  // from the written labels (streamed by DuckDB), so it holds exactly what labels.parquet holds
  const perRead = opts.binningReads === true && manifest.layout !== 'se';
  await writeCamiBinning(binningPath, labelsPath, sampleId, perRead);
  const dimCoord = dimCoordinate(manifest);
  await writeClustersNetcdf(ncPath, {
    centroids: result.centroids,
    k: result.k,
    d: dim,
    clusterSize: result.clusterSize,
    // only a method with a per-iteration objective has the variable (graph/lsh record none)
    ...(described.objective ? { objective: result.objectiveHistory } : {}),
    ...(dimCoord.names ? { dimNames: dimCoord.names } : {}),
    longNames: { centroids: described.centroids, dim: dimCoord.longName, ...(described.objective ? { objective: described.objective } : {}) },
    attrs: {
      method: opts.method,
      seed: opts.seed,
      ...described.attrs,
      n_init: opts.nInit,
      iterations: result.iterations,
      inertia: result.inertia,
      inertia_definition: described.inertia,
      labels_distance_definition: described.distance,
      embedding: describeEmbedding(manifest.embedding),
      embedding_meaning: embeddingMeaning(manifest.embedding),
      source_manifest: prep.manifest,
      source_manifest_sha256: prep.sha256,
      Conventions: 'CF-1.8',
    },
  });
  const staged: Record<(typeof CLUSTER_FILES)[number], string> = { 'labels.parquet': labelsPath, 'clusters.nc': ncPath, 'bins.binning': binningPath };
  const sha256: Record<string, string> = {};
  for (const name of CLUSTER_FILES) sha256[name] = await sha256File(staged[name]);
  for (const name of CLUSTER_FILES) await out.putFile(name, staged[name], { sha256: sha256[name]! });
  const tWrite = performance.now();
  const summary: ClusterSummary = {
    schema: CLUSTER_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    created: new Date().toISOString(),
    input: opts.input,
    method: opts.method,
    fragments: n,
    dim,
    k: result.k,
    k_selection: selection,
    seed: opts.seed,
    n_init: opts.nInit,
    algorithm: details ? 'weighted-lloyd (pooled groups)' : result.algorithm,
    init: details ? 'k-means++ (weighted)' : result.init,
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
    outputs: { labels: 'labels.parquet', clusters: 'clusters.nc', binning: 'bins.binning', binning_rows: perRead ? 'read' : 'read pair', sample_id: sampleId },
    prep,
    reuse: { key: await clusterRunKey(opts, prep), sha256 },
    ...(o.engine ? { engine: o.engine } : {}),
    ...(details ? { method_details: details } : {}),
    ...(names && refs ? { cluster_names: names.map((x) => x.name), cluster_naming: names, references: refs.map((r) => ({ name: r.name, path: r.path, bases: r.bases, contigs: r.contigs })) } : {}),
  };
  // snake_case keys throughout (method_details' parameter objects included), like every JSON metavec writes
  await out.putBytes('summary.json', toJson(summary));
  opts.progress.finish();
  return summary;
}

/**
 * The sample's name in bins.binning (@SampleID): the run's directory name, i.e. the output's name, or its
 * parent's when the output is a run's `cluster` directory (`metavec run --output DIR` writes DIR/cluster).
 */
export function sampleName(output: string): string {
  const parts = output.replace(/^s3:\/\//, '').split('/').filter((p) => p.length > 0);
  const name = parts[parts.length - 1] ?? 'sample';
  return name === 'cluster' && parts.length > 1 ? parts[parts.length - 2]! : name;
}

/** Reference signatures for cluster naming: same k-mer size and normalisation as the run's embedding. */
async function loadReferences(paths: string[], manifest: PrepManifest): Promise<Reference[]> {
  if (manifest.embedding.method !== 'kmer' || !manifest.embedding.k) {
    throw usageError(`cluster: --references needs k-mer profile embeddings (this run used --embed ${manifest.embedding.method})`);
  }
  const refs: Reference[] = [];
  for (const p of paths) refs.push(await loadReference(p, manifest.embedding.k, (manifest.embedding.normalisation ?? 'freq') as Normalisation));
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(r.name)) throw usageError(`cluster: two references are named '${r.name}' (names come from the file names)`);
    seen.add(r.name);
  }
  return refs;
}

/** `metavec eval`: labels.parquet against a truth table; `labels` names the file evaluated (report: runParts.ts). */
export async function runEval(labelsPath: string, truthPath: string, column: string): Promise<EvalReport & { labels: { path: string; sha256: string } }> {
  const dir = new DownloadDir();
  try {
    const local = await localFileFor(labelsPath, dir);
    const labels = await readLabelsParquet(local);
    const truth = await loadTruth(truthPath, column);
    return { ...evaluateLabels(labels, truth), labels: { path: labelsPath, sha256: await sha256File(local) } };
  } finally {
    await dir.dispose();
  }
}
