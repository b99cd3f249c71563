import { readGroups, type GraphParams } from '../cluster/graph.js';
import { lshBuckets, type LshParams } from '../cluster/lsh.js';
import { mergeGroups, type MergeParams } from '../cluster/mergeGroups.js';
import { clusterPooled, type KSearch, type PooledParams, type PooledResult, type PooledTuning } from '../cluster/pooled.js';
import { MetavecError } from '../errors.js';
import type { NormalizedGraphParams } from '../cluster/normalizedGraph.js';
import type { PrepManifest } from '../io/manifest.js';
import { readShardLengths, readShardSketches, type ShardMatrix } from '../io/shards.js';
import type { ProgressSink } from './progress.js';
import type { KTried } from '../cluster/types.js';
import type { ClusterRun } from './phase2.js';

/**
 * The pooled methods of Phase 2 (docs/graph.md): read groups from the overlap graph (`graph`) or from LSH
 * buckets (`lsh`), then pooled composition clustering of the groups. Returns per-fragment labels and a
 * description of what was done for summary.json.
 */
export interface PooledMethodOptions extends KSearch {
  method: 'graph' | 'lsh';
  graph: Omit<GraphParams, 'seed'>;
  merge: MergeParams;
  lsh: Omit<LshParams, 'seed'>;
  pooled: PooledTuning;
  /** graph method: the coverage-normalised subset (targetCoverage 0: every fragment in the graph, held in memory) */
  normalized?: NormalizedGraphParams;
}

export interface PooledMethodResult {
  result: PooledResult;
  details: Record<string, unknown>;
}

/** Per-fragment pooling weight: k-mers counted in the embedding (both mates). */
export function kmerWeights(lengths: Int32Array, n: number, k: number): Float64Array {
  const w = new Float64Array(n);
  for (let f = 0; f < n; f++) w[f] = Math.max(1, Math.max(0, lengths[2 * f]! - k + 1) + Math.max(0, lengths[2 * f + 1]! - k + 1));
  return w;
}

/** The embedding is a k-mer frequency profile (pooled with k-mer weights, square-root features, merge on). */
export function isFreqProfile(manifest: PrepManifest): boolean {
  return manifest.embedding.method === 'kmer' && (manifest.embedding.normalisation ?? 'freq') === 'freq';
}

/** Pooling weights of fragments with the given mate lengths (2 per fragment). */
export function poolingWeights(manifest: PrepManifest, lengths: Int32Array, n: number): Float64Array {
  if (lengths.length !== 2 * n) throw new MetavecError('MANIFEST', `shard: ${lengths.length / 2} length rows for ${n} fragments`);
  return isFreqProfile(manifest) ? kmerWeights(lengths, n, manifest.embedding.k ?? 1) : new Float64Array(n).fill(1);
}

export function requireSketch(manifest: PrepManifest, paths: string[]): NonNullable<PrepManifest['sketch']> {
  if (!manifest.sketch) {
    throw new MetavecError(
      'USAGE',
      `cluster: --method graph needs the minimizer sketch, but ${paths.length > 0 ? 'this prep run' : 'the run'} was made without it (re-run 'metavec prep' without --no-sketch, or cluster with --method kmeans or lsh)`,
    );
  }
  return manifest.sketch;
}

/** What the graph build did, for summary.json (the same keys under every engine). */
export function graphDetails(
  manifest: PrepManifest, o: PooledMethodOptions, n: number,
  st: { minimizers: number; repeats: number; candidatePairs: number; edges: number; edgesKept: number; iterations: number; peakBytes: number },
  lpGroups: number, merged: { groups: number; unions: number; refused: number } | undefined, seconds: number,
): Record<string, unknown> {
  return {
    sketch: manifest.sketch,
    parameters: { ...o.graph, merge: isFreqProfile(manifest) ? o.merge : 'off (embedding is not a k-mer frequency profile)' },
    minimizers_distinct: st.minimizers,
    minimizers_skipped_as_repeats: st.repeats,
    candidate_pairs: st.candidatePairs,
    edges: st.edges,
    edges_after_degree_cap: st.edgesKept,
    label_propagation_sweeps: st.iterations,
    groups_label_propagation: lpGroups,
    groups_after_merge: merged?.groups ?? lpGroups,
    merge_unions: merged?.unions ?? 0,
    merge_refused: merged?.refused ?? 0,
    build_bytes: st.peakBytes,
    build_bytes_per_fragment: +(st.peakBytes / Math.max(1, n)).toFixed(1),
    seconds: +seconds.toFixed(3),
  };
}

/** Fragments by the size of their read group. */
export function groupSizeHistogram(group: Int32Array, groups: number, n: number): Record<string, number> {
  const sizes = new Int32Array(groups);
  for (let f = 0; f < n; f++) sizes[group[f]!]!++;
  const hist: Record<string, number> = { '1': 0, '2-4': 0, '5-19': 0, '20-99': 0, '100-999': 0, '1000+': 0 };
  for (const s of sizes) {
    const key = s === 1 ? '1' : s < 5 ? '2-4' : s < 20 ? '5-19' : s < 100 ? '20-99' : s < 1000 ? '100-999' : '1000+';
    hist[key]! += s;
  }
  return hist;
}

/** The pooled clustering's summary.json entry. */
export function pooledDetails(
  manifest: PrepManifest, o: PooledMethodOptions,
  r: { coverageScale: number; groupsClustered: number; fragmentsInClusteredGroups: number; clusterCoverage?: Float64Array }, withOccurrence: boolean,
): Record<string, unknown> {
  const freqProfile = isFreqProfile(manifest);
  return {
    parameters: o.pooled,
    composition: freqProfile ? 'pooled k-mer frequency profile, square-root transformed' : `mean ${manifest.embedding.method} embedding`,
    abundance: withOccurrence ? 'log mean minimizer occurrence' : 'none',
    coverage_scale: +r.coverageScale.toFixed(6),
    groups_clustered: r.groupsClustered,
    fragments_in_clustered_groups: r.fragmentsInClusteredGroups,
    // per cluster id: mean minimizer occurrence of its fragments (a k-mer coverage estimate; the report plots it)
    ...(r.clusterCoverage ? { cluster_mean_coverage: Array.from(r.clusterCoverage, (c) => +c.toPrecision(4)) } : {}),
  };
}

/** The pooled parameters of the K search and the method's tuning; with `progress`, every K tried is reported. */
export function pooledParams(o: PooledMethodOptions, progress?: ProgressSink): PooledParams {
  return {
    ...o.pooled, k: o.k, kMin: o.kMin, kMax: o.kMax, seed: o.seed, nInit: o.nInit, maxIter: o.maxIter,
    ...(progress ? { onK: (e: KTried) => progress.log(kTriedLine(e)) } : {}),
  };
}

/** One progress line per K of a K search (every method and engine). */
export function kTriedLine(e: KTried): string {
  const score = e.inertia !== undefined ? `: weighted inertia ${e.inertia.toPrecision(4)}${e.gain !== undefined ? ` (${(e.gain * 100).toFixed(1)}% below K=${e.k - 1})` : ''}` : ' done';
  return `cluster: K search: K=${e.k}${score} [${e.done} of ${e.inertia !== undefined ? 'at most ' : ''}${e.total}]`;
}

export async function runPooledMethod(
  manifest: PrepManifest,
  paths: string[],
  m: ShardMatrix,
  o: PooledMethodOptions,
  progress: ProgressSink,
): Promise<PooledMethodResult> {
  const d = m.dim;
  const freqProfile = isFreqProfile(manifest);
  const weight = poolingWeights(manifest, await readShardLengths(paths), m.n);
  const details: Record<string, unknown> = {};
  let group: Int32Array;
  let groups: number;
  let occurrence: Float64Array | undefined;
  const t0 = performance.now();
  if (o.method === 'graph') {
    const sketch = requireSketch(manifest, paths);
    const sk = await readShardSketches(paths);
    if (sk.n !== m.n) throw new MetavecError('MANIFEST', `shard: ${sk.n} sketches for ${m.n} fragments`);
    progress.log(`cluster: overlap graph of ${m.n} fragments (${sk.offsets[sk.n]!} minimizers, k=${sketch.k}, w=${sketch.w})`);
    const g = readGroups(sk, { ...o.graph, seed: o.seed });
    const tGraph = performance.now();
    occurrence = g.occurrence;
    // composition-checked merging needs frequency profiles (its noise model); other embeddings keep the LP groups
    const merged = freqProfile ? mergeGroups(g.graph, g.group, g.groups, m.data, weight, d, o.merge) : undefined;
    group = merged?.group ?? g.group;
    groups = merged?.groups ?? g.groups;
    details.graph = graphDetails(manifest, o, m.n, g.stats, g.groups, merged, (tGraph - t0) / 1000);
  } else {
    const b = lshBuckets(m.data, m.n, d, { ...o.lsh, seed: o.seed });
    group = b.group;
    groups = b.groups;
    details.lsh = { parameters: o.lsh, buckets: b.groups, largest_bucket: b.largest, seconds: +((performance.now() - t0) / 1000).toFixed(3) };
  }
  details.fragments_by_group_size = groupSizeHistogram(group, groups, m.n);
  progress.log(`cluster: ${groups} read groups; clustering the pooled groups (K ${o.k === 'auto' ? `auto in [${o.kMin}, ${o.kMax}]` : o.k})`);
  const result = clusterPooled(
    { n: m.n, d, embedding: m.data, weight, ...(occurrence ? { occurrence } : {}), group, groups, sqrtTransform: freqProfile },
    pooledParams(o, progress),
  );
  details.pooled = pooledDetails(manifest, o, result, occurrence !== undefined);
  return { result, details };
}

/**
 * A pooled method's result as the ClusterRun the outputs are written from (every method that pools read groups,
 * every engine; the coverage-normalised graph passes empty labels and distances: its labels are in parts).
 */
export function pooledRun(
  opts: { progress: ProgressSink },
  r: Pick<PooledResult, 'k' | 'selection' | 'centroids' | 'labels' | 'distances' | 'clusterSize' | 'inertia' | 'iterations'>,
  details: Record<string, unknown>, dim: number,
): ClusterRun {
  const tChoose = performance.now();
  opts.progress.log(`cluster: K = ${r.k} (${r.selection.method}${'reason' in r.selection ? `: ${r.selection.reason}` : ''})`);
  return {
    selection: r.selection,
    result: {
      k: r.k,
      d: dim,
      centroids: r.centroids,
      labels: r.labels,
      distances: r.distances,
      clusterSize: r.clusterSize,
      inertia: r.inertia,
      // no per-iteration objective: clusters.nc has no objective variable for graph/lsh (clusterDescription.ts)
      objectiveHistory: new Float64Array(0),
      iterations: r.iterations,
      converged: true,
      bestInit: 0,
      // what the outputs say about a pooled method comes from describeClusterMethod, not from these two
      algorithm: 'lloyd',
      init: 'k-means++',
    },
    details,
    tChoose,
    tKm: performance.now(),
  };
}
