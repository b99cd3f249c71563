import { chooseWeightedK, nearestCentroid, weightedKMeans, type WeightedKChoice, type WeightedKMeansResult } from './weightedKMeans.js';
import { pooledNoise } from './poolNoise.js';
import { splitMergeK, type SplitMergeChoice, type SplitMergeParams } from './splitMerge.js';
import type { KTried } from './types.js';

/**
 * Clustering of pooled read groups (the second half of the graph and LSH methods, docs/graph.md).
 *
 * A group's composition is the k-mer profile of all its reads together (the fragments' frequency profiles
 * averaged with their k-mer counts as weights, i.e. the profile of the pooled k-mers), under the square-root
 * (Hellinger) transform so that sampling noise has the same variance, 1 / (4 x k-mers), in every dimension.
 * Its abundance signal is the log of the mean number of fragments that share each of its minimizers (a
 * k-mer coverage estimate, MetaProb's second feature), scaled so that it carries `coverageWeight` times the
 * spread of the composition features. Groups with at least `minGroup` fragments are clustered with weighted
 * k-means (weight = fragments), K given or chosen by the inertia elbow; smaller groups and singletons then go to the
 * nearest centre with their own pooled features. The default minGroup 1 clusters every group: a genome at low
 * coverage has almost only singletons and could not get a cluster of its own otherwise (docs/graph.md).
 */
/** How K is given or searched, and the k-means runs behind it (shared with the Phase 2 options). */
export interface KSearch {
  k: number | 'auto';
  kMin: number;
  kMax: number;
  seed: number;
  nInit: number;
  maxIter: number;
}

export interface PooledParams extends KSearch {
  minGroup: number;
  coverageWeight: number;
  /** K auto: stop when one more cluster lowers the weighted inertia by less than this fraction */
  minGain: number;
  /** K auto: stop when the weighted inertia is within this multiple of the sampling-noise inertia */
  noiseFactor: number;
  /** K auto by over-splitting and merging what noise cannot tell apart (the normalised graph method) */
  splitMerge?: SplitMergeParams;
  /** K auto: hears about every K tried (progress) */
  onK?: (e: KTried) => void;
}

/** The method's own tuning (PooledParams without the K search and its progress). */
export type PooledTuning = Omit<PooledParams, keyof KSearch | 'onK'>;

/** Feature distance of a two-fold coverage difference at --coverage-weight 1. */
export const COVERAGE_UNIT = 0.15 / Math.LN2;

export const DEFAULT_POOLED = { minGroup: 1, coverageWeight: 1, minGain: 0.02, noiseFactor: 1.5 } as const;

export interface PooledInput {
  n: number;
  d: number;
  /** per-fragment embeddings (frequency profiles), n x d */
  embedding: Float32Array;
  /** per-fragment weight when pooling (k-mers counted) */
  weight: Float64Array;
  /** per-fragment abundance estimate (mean minimizer occurrence), or undefined to cluster on composition only */
  occurrence?: Float64Array;
  group: Int32Array;
  groups: number;
  /** square-root transform the pooled profile (for k-mer frequency profiles; off for other embeddings) */
  sqrtTransform: boolean;
}

export interface PooledResult {
  k: number;
  labels: Int32Array;
  /** per fragment: distance of its group's features to the cluster centre */
  distances: Float32Array;
  /** cluster centres in embedding space (pooled profile of every fragment in the cluster), k x d */
  centroids: Float32Array;
  clusterSize: Int32Array;
  selection: WeightedKChoice | SplitMergeChoice | { method: 'given' };
  groupsClustered: number;
  fragmentsInClusteredGroups: number;
  coverageScale: number;
  /** per cluster: mean minimizer occurrence of its fragments (the coverage feature), when it was used */
  clusterCoverage?: Float64Array;
  inertia: number;
  iterations: number;
}

/**
 * Per group: pooled sum of weight x profile (groups x d), sum of weights, fragments, sum of occurrences, and
 * (when the abundance and the resampling redundancy differ, as on a coverage-normalised subset) the sum of
 * the fragments' redundancies.
 */
export interface GroupPool {
  comp: Float64Array;
  mass: Float64Array;
  members: Int32Array;
  cov: Float64Array;
  red?: Float64Array;
}

/**
 * Pools fragments into groups: fragment f (of n, in the order given) adds to group[f]. The sums are taken in
 * the given order, so an engine that hands each group's fragments over in fragment order gets the same bits.
 */
export function poolGroups(
  n: number, d: number, embedding: Float32Array, weight: Float64Array | Uint32Array, occurrence: Float64Array | undefined, group: Int32Array, G: number,
  redundancy?: Float64Array,
): GroupPool {
  const comp = new Float64Array(G * d);
  const mass = new Float64Array(G);
  const members = new Int32Array(G);
  const cov = new Float64Array(G);
  const red = redundancy ? new Float64Array(G) : undefined;
  for (let f = 0; f < n; f++) {
    const g = group[f]!;
    const w = weight[f]!;
    members[g]!++;
    mass[g] = mass[g]! + w;
    for (let t = 0; t < d; t++) comp[g * d + t] = comp[g * d + t]! + w * embedding[f * d + t]!;
    if (occurrence) cov[g] = cov[g]! + occurrence[f]!;
    if (red) red[g] = red[g]! + redundancy![f]!;
  }
  return red ? { comp, mass, members, cov, red } : { comp, mass, members, cov };
}

/** What clustering the pooled groups decides, per group (clusterPooledGroups). */
export interface GroupClustering {
  k: number;
  /** cluster centres in feature space (k x (d + 1 with coverage)): square-root profile, then scaled log coverage */
  featureCentroids: Float64Array;
  groupLabel: Int32Array;
  groupDist: Float64Array;
  selection: PooledResult['selection'];
  groupsClustered: number;
  fragmentsInClusteredGroups: number;
  coverageScale: number;
  clusterCoverage?: Float64Array;
  inertia: number;
  iterations: number;
}

export { pooledNoise } from './poolNoise.js';

export function clusterPooled(inp: PooledInput, p: PooledParams): PooledResult {
  const { n, d, embedding, weight, group, groups: G } = inp;
  const pool = poolGroups(n, d, embedding, weight, inp.occurrence, group, G);
  const gc = clusterPooledGroups(pool, G, d, inp.occurrence !== undefined, inp.sqrtTransform, p);
  const labels = new Int32Array(n);
  const distances = new Float32Array(n);
  const clusterSize = new Int32Array(gc.k);
  for (let f = 0; f < n; f++) {
    const l = gc.groupLabel[group[f]!]!;
    labels[f] = l;
    distances[f] = gc.groupDist[group[f]!]!;
    clusterSize[l]!++;
  }
  const cs = clusterSums(n, d, embedding, weight, labels, gc.k);
  return pooledResult(gc, labels, distances, clusterSize, cs, d);
}

/** Per cluster: sum of weight x profile over its fragments (in the order given) and of weights: mass at [k*d + j]. */
export function clusterSums(n: number, d: number, embedding: Float32Array, weight: Float64Array | Uint32Array, labels: Int32Array, k: number): Float64Array {
  const s = new Float64Array(k * d + k);
  for (let f = 0; f < n; f++) {
    const l = labels[f]!;
    const w = weight[f]!;
    s[k * d + l] = s[k * d + l]! + w;
    for (let t = 0; t < d; t++) s[l * d + t] = s[l * d + t]! + w * embedding[f * d + t]!;
  }
  return s;
}

/** The result from the group clustering, per-fragment labels and the cluster sums (clusterSums). */
export function pooledResult(gc: GroupClustering, labels: Int32Array, distances: Float32Array, clusterSize: Int32Array, sums: Float64Array, d: number): PooledResult {
  const k = gc.k;
  const centroids = new Float32Array(k * d);
  for (let j = 0; j < k; j++) {
    const m = sums[k * d + j]!;
    for (let t = 0; t < d; t++) centroids[j * d + t] = m > 0 ? sums[j * d + t]! / m : 0;
  }
  return {
    k,
    labels,
    distances,
    centroids,
    clusterSize,
    selection: gc.selection,
    groupsClustered: gc.groupsClustered,
    fragmentsInClusteredGroups: gc.fragmentsInClusteredGroups,
    coverageScale: gc.coverageScale,
    ...(gc.clusterCoverage ? { clusterCoverage: gc.clusterCoverage } : {}),
    inertia: gc.inertia,
    iterations: gc.iterations,
  };
}

/** Features of the pooled groups, weighted k-means of the core groups, the rest to the nearest centre. */
export function clusterPooledGroups(pool: GroupPool, G: number, d: number, withCov: boolean, sqrtTransform: boolean, p: PooledParams): GroupClustering {
  const { comp, mass, members, cov } = pool;
  const D = d + (withCov ? 1 : 0);
  const feat = new Float64Array(G * D);
  for (let g = 0; g < G; g++) {
    const m = mass[g]! > 0 ? mass[g]! : 1;
    for (let t = 0; t < d; t++) feat[g * D + t] = sqrtTransform ? Math.sqrt(Math.max(0, comp[g * d + t]! / m)) : comp[g * d + t]! / m;
    if (withCov) feat[g * D + d] = Math.log(cov[g]! / members[g]!);
  }
  // core groups
  const core: number[] = [];
  for (let g = 0; g < G; g++) if (members[g]! >= p.minGroup) core.push(g);
  if (core.length === 0) for (let g = 0; g < G; g++) core.push(g); // nothing large enough: cluster everything
  const C = core.length;
  const w = new Float64Array(C);
  for (let i = 0; i < C; i++) w[i] = members[core[i]!]!;
  // coverage scale: fixed, so that a two-fold coverage difference weighs as much as a typical composition
  // distance between two species (~0.15 in square-root coordinates); a scale fitted to the data's spread made
  // pure noise as heavy as composition when the community's coverages were all alike
  const coverageScale = withCov ? p.coverageWeight * COVERAGE_UNIT : 0;
  if (withCov) for (let g = 0; g < G; g++) feat[g * D + d] = feat[g * D + d]! * coverageScale;
  const x = new Float64Array(C * D);
  for (let i = 0; i < C; i++) x.set(feat.subarray(core[i]! * D, core[i]! * D + D), i * D);
  const kOpts = { seed: p.seed, nInit: p.nInit, maxIter: p.maxIter };
  let fit;
  let selection: PooledResult['selection'];
  if (p.k === 'auto' && p.splitMerge) {
    const sub = (a: Float64Array, width: number): Float64Array => {
      const out = new Float64Array(C * width);
      for (let i = 0; i < C; i++) out.set(a.subarray(core[i]! * width, core[i]! * width + width), i * width);
      return out;
    };
    const sm = splitMergeK(
      {
        x, w, n: C, D, d, comp: sub(comp, d), mass: sub(mass, 1), members: Float64Array.from(core, (g) => members[g]!), cov: sub(cov, 1),
        red: sub(pool.red ?? cov, 1), coverageScale, sqrtTransform,
      },
      { ...p.splitMerge, kMin: p.kMin, kMax: p.kMax, seed: p.seed, nInit: p.nInit, maxIter: p.maxIter, ...(p.onK ? { onK: p.onK } : {}) },
    );
    const dist2 = new Float64Array(C);
    for (let i = 0; i < C; i++) {
      let q = 0;
      for (let t = 0; t < D; t++) {
        const u = x[i * D + t]! - sm.centroids[sm.labels[i]! * D + t]!;
        q += u * u;
      }
      dist2[i] = q;
    }
    fit = { k: sm.k, labels: sm.labels, centroids: sm.centroids, dist2, inertia: sm.inertia, iterations: sm.iterations } satisfies WeightedKMeansResult;
    selection = sm.choice;
  } else if (p.k === 'auto') {
    let noiseInertia = 0;
    // the resampling redundancy: the fragments' own (pool.red, on a normalised subset) or their abundance
    const red = pool.red ?? (withCov ? cov : undefined);
    for (const g of core) noiseInertia += members[g]! * pooledNoise(d, mass[g]!, members[g]!, red ? red[g]! : undefined);
    const r = chooseWeightedK(x, w, C, D, { ...kOpts, kMin: p.kMin, kMax: Math.min(p.kMax, C), minGain: p.minGain, ...(sqrtTransform ? { noiseInertia: p.noiseFactor * noiseInertia } : {}), ...(p.onK ? { onK: p.onK } : {}) });
    fit = r.fit;
    selection = r.choice;
  } else {
    fit = weightedKMeans(x, w, C, D, Math.min(p.k, C), kOpts);
    selection = { method: 'given' };
  }
  const k = fit.k;
  const groupLabel = new Int32Array(G).fill(-1);
  const groupDist = new Float64Array(G);
  for (let i = 0; i < C; i++) {
    groupLabel[core[i]!] = fit.labels[i]!;
    groupDist[core[i]!] = Math.sqrt(fit.dist2[i]!);
  }
  const v = new Float64Array(D);
  for (let g = 0; g < G; g++) {
    if (groupLabel[g]! >= 0) continue;
    for (let t = 0; t < D; t++) v[t] = feat[g * D + t]!;
    const nc = nearestCentroid(v, fit.centroids, k, D);
    groupLabel[g] = nc.label;
    groupDist[g] = Math.sqrt(nc.dist2);
  }
  let fragmentsInClusteredGroups = 0;
  for (const g of core) fragmentsInClusteredGroups += members[g]!;
  // per cluster: the mean minimizer occurrence of its fragments (for the report's coverage-vs-GC plot)
  let clusterCoverage: Float64Array | undefined;
  if (withCov) {
    clusterCoverage = new Float64Array(k);
    const frags = new Float64Array(k);
    for (let g = 0; g < G; g++) {
      clusterCoverage[groupLabel[g]!] = clusterCoverage[groupLabel[g]!]! + cov[g]!;
      frags[groupLabel[g]!] = frags[groupLabel[g]!]! + members[g]!;
    }
    for (let j = 0; j < k; j++) clusterCoverage[j] = frags[j]! > 0 ? clusterCoverage[j]! / frags[j]! : 0;
  }
  return {
    k,
    featureCentroids: fit.centroids,
    groupLabel,
    groupDist,
    selection,
    groupsClustered: C,
    fragmentsInClusteredGroups,
    coverageScale,
    ...(clusterCoverage ? { clusterCoverage } : {}),
    inertia: fit.inertia,
    iterations: fit.iterations,
  };
}
