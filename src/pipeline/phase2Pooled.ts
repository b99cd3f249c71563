import { readGroups, type GraphParams } from '../cluster/graph.js';
import { lshBuckets, type LshParams } from '../cluster/lsh.js';
import { mergeGroups, type MergeParams } from '../cluster/mergeGroups.js';
import { clusterPooled, type KSearch, type PooledResult, type PooledTuning } from '../cluster/pooled.js';
import { MetavecError } from '../errors.js';
import type { PrepManifest } from '../io/manifest.js';
import { readShardLengths, readShardSketches, type ShardMatrix } from '../io/shards.js';
import type { ProgressSink } from './progress.js';

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
}

export interface PooledMethodResult {
  result: PooledResult;
  details: Record<string, unknown>;
}

/** Per-fragment pooling weight: k-mers counted in the embedding (both mates). */
function kmerWeights(lengths: Int32Array, n: number, k: number): Float64Array {
  const w = new Float64Array(n);
  for (let f = 0; f < n; f++) w[f] = Math.max(1, Math.max(0, lengths[2 * f]! - k + 1) + Math.max(0, lengths[2 * f + 1]! - k + 1));
  return w;
}

export async function runPooledMethod(
  manifest: PrepManifest,
  paths: string[],
  m: ShardMatrix,
  o: PooledMethodOptions,
  progress: ProgressSink,
): Promise<PooledMethodResult> {
  const d = m.dim;
  const freqProfile = manifest.embedding.method === 'kmer' && (manifest.embedding.normalisation ?? 'freq') === 'freq';
  const k = manifest.embedding.k ?? 1;
  const lengths = await readShardLengths(paths);
  if (lengths.length !== 2 * m.n) throw new MetavecError('MANIFEST', `shard: ${lengths.length / 2} length rows for ${m.n} fragments`);
  const weight = freqProfile ? kmerWeights(lengths, m.n, k) : new Float64Array(m.n).fill(1);
  const details: Record<string, unknown> = {};
  let group: Int32Array;
  let groups: number;
  let occurrence: Float64Array | undefined;
  const t0 = performance.now();
  if (o.method === 'graph') {
    if (!manifest.sketch) {
      throw new MetavecError(
        'USAGE',
        `cluster: --method graph needs the minimizer sketch, but ${paths.length > 0 ? 'this prep run' : 'the run'} was made without it (re-run 'metavec prep' without --no-sketch)`,
      );
    }
    const sk = await readShardSketches(paths);
    if (sk.n !== m.n) throw new MetavecError('MANIFEST', `shard: ${sk.n} sketches for ${m.n} fragments`);
    progress.log(`cluster: overlap graph of ${m.n} fragments (${sk.offsets[sk.n]!} minimizers, k=${manifest.sketch.k}, w=${manifest.sketch.w})`);
    const g = readGroups(sk, { ...o.graph, seed: o.seed });
    const tGraph = performance.now();
    occurrence = g.occurrence;
    // composition-checked merging needs frequency profiles (its noise model); other embeddings keep the LP groups
    const merged = freqProfile ? mergeGroups(g.graph, g.group, g.groups, m.data, weight, d, o.merge) : undefined;
    group = merged?.group ?? g.group;
    groups = merged?.groups ?? g.groups;
    details.graph = {
      sketch: manifest.sketch,
      parameters: { ...o.graph, merge: freqProfile ? o.merge : 'off (embedding is not a k-mer frequency profile)' },
      minimizers_distinct: g.stats.minimizers,
      minimizers_skipped_as_repeats: g.stats.repeats,
      candidate_pairs: g.stats.candidatePairs,
      edges: g.stats.edges,
      edges_after_degree_cap: g.stats.edgesKept,
      label_propagation_sweeps: g.stats.iterations,
      groups_label_propagation: g.groups,
      groups_after_merge: groups,
      merge_unions: merged?.unions ?? 0,
      merge_refused: merged?.refused ?? 0,
      build_bytes: g.stats.peakBytes,
      build_bytes_per_fragment: +(g.stats.peakBytes / Math.max(1, m.n)).toFixed(1),
      seconds: +((tGraph - t0) / 1000).toFixed(3),
    };
  } else {
    const b = lshBuckets(m.data, m.n, d, { ...o.lsh, seed: o.seed });
    group = b.group;
    groups = b.groups;
    details.lsh = { parameters: o.lsh, buckets: b.groups, largest_bucket: b.largest, seconds: +((performance.now() - t0) / 1000).toFixed(3) };
  }
  const sizes = new Int32Array(groups);
  for (let f = 0; f < m.n; f++) sizes[group[f]!]!++;
  const hist: Record<string, number> = { '1': 0, '2-4': 0, '5-19': 0, '20-99': 0, '100-999': 0, '1000+': 0 };
  for (const s of sizes) {
    const key = s === 1 ? '1' : s < 5 ? '2-4' : s < 20 ? '5-19' : s < 100 ? '20-99' : s < 1000 ? '100-999' : '1000+';
    hist[key]! += s;
  }
  details.fragments_by_group_size = hist;
  progress.log(`cluster: ${groups} read groups; clustering the pooled groups (K ${o.k === 'auto' ? `auto in [${o.kMin}, ${o.kMax}]` : o.k})`);
  const result = clusterPooled(
    { n: m.n, d, embedding: m.data, weight, ...(occurrence ? { occurrence } : {}), group, groups, sqrtTransform: freqProfile },
    { ...o.pooled, k: o.k, kMin: o.kMin, kMax: o.kMax, seed: o.seed, nInit: o.nInit, maxIter: o.maxIter },
  );
  details.pooled = {
    parameters: o.pooled,
    composition: freqProfile ? 'pooled k-mer frequency profile, square-root transformed' : `mean ${manifest.embedding.method} embedding`,
    abundance: occurrence ? 'log mean minimizer occurrence' : 'none',
    coverage_scale: +result.coverageScale.toFixed(6),
    groups_clustered: result.groupsClustered,
    fragments_in_clustered_groups: result.fragmentsInClusteredGroups,
  };
  return { result, details };
}
