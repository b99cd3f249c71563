import { readGroups, type GraphParams } from './graph.js';
import { mergeGroups, type MergeParams } from './mergeGroups.js';
import { MinimizerTable } from './minimizerTable.js';
import { clusterPooledGroups, poolGroups, type GroupClustering, type PooledParams } from './pooled.js';
import { nearestCentroid } from './weightedKMeans.js';
import { DEFAULT_SPLIT_MERGE } from './splitMerge.js';

/**
 * The graph method at any depth (docs/graph.md "Depth"): memory follows the community's distinct content, not
 * the number of reads, and more reads never make it worse.
 *
 *  1. Coverage table (one pass): every fragment's sampled minimizers (1 in `sampling`, chosen by hash) are
 *     counted. A fragment's coverage is the median count over its sampled minimizers: robust to its repeats and
 *     its sequencing errors, and not capped (a 1000x phage reads 1000x).
 *  2. Coverage-normalised subset (second pass): a fragment is kept with probability min(1, C / coverage), C =
 *     `targetCoverage`, decided by a hash of its index, so the choice does not depend on the order fragments
 *     are seen in or on the engine. Every genome contributes at most about C-fold coverage (digital
 *     normalisation, Brown et al. 2012, made order-independent); genomes below C keep every fragment, so they
 *     gain from every extra read.
 *  3. The overlap graph, the composition-checked merge and the pooled clustering run on the subset only. The
 *     abundance feature is the full-data coverage; the sampling-noise model uses the redundancy within the subset.
 *  4. Index (no new memory): each sampled minimizer of a subset fragment takes the cluster of the largest read
 *     group holding it.
 *  5. Assignment (a third pass, streamed, nothing kept per fragment): a subset fragment has its label; any other
 *     fragment takes the majority cluster of its sampled minimizers in the index, or the nearest centre by its own
 *     composition and coverage when none is indexed.
 */
export interface NormalizedGraphParams {
  /** C: expected fragments per minimizer kept in the subset; 0 keeps every fragment */
  targetCoverage: number;
  /** 1 in `sampling` minimizers is counted and indexed (a power of two) */
  sampling: number;
}

export const DEFAULT_NORMALIZED: NormalizedGraphParams = { targetCoverage: 12, sampling: 4 };

/** Groups of this many fragments define the clusters (smaller ones join the nearest), unless --min-group says otherwise. */
export const NORMALIZED_MIN_GROUP = 20;

/** Default --k-max of the method: the over-splitting of the K search stops there at the latest. */
export const NORMALIZED_K_MAX = 100;

/**
 * Split-and-merge needs the groups of --min-group+ fragments to hold this fraction of the subset; below it (low
 * depth) every group is clustered and K found by the elbow, searched up to LOW_DEPTH_K_MAX. Measured
 * (docs/graph.md "Depth"): on a 29-species community the elbow gave ARI 0.60 at 1M pairs (core fraction 0.63)
 * where split-merge gave 0.91, and split-merge gave 0.39 at 200k pairs (core fraction 0.4) where the elbow gave 0.53.
 */
export const CORE_FRACTION = 0.5;
export const LOW_DEPTH_K_MAX = 30;

/** A batch of consecutive fragments: global index of the first, sketches, and what the pass asked for. */
export interface FragmentBatch {
  start: number;
  n: number;
  /** sketch of fragment i: words [offsets[i], offsets[i+1]) of hi/lo */
  offsets: Int32Array;
  hi: Uint32Array;
  lo: Uint32Array;
  /** n x d profiles */
  embedding?: Float32Array;
  /** 2 per fragment: mate lengths */
  lengths?: Int32Array;
  readIds?: string[];
  /** which shard the rows come from (sources that write one labels part per shard) */
  shard?: number;
}

/** Fragments streamed in a fixed order, as often as the method needs (an engine's shards, or arrays in tests). */
export interface FragmentSource {
  n: number;
  d: number;
  scan(need: { embedding: boolean; lengths: boolean; ids?: boolean }, fn: (b: FragmentBatch) => void | Promise<void>): Promise<void>;
}

/** How a fragment is pooled (its k-mer count) and whether profiles are square-root transformed. */
export interface PoolingRule {
  weight(len1: number, len2: number): number;
  sqrtTransform: boolean;
}

export function isSampled(lo: number, sampling: number): boolean {
  return ((lo >>> 16) & (sampling - 1)) === 0;
}

/** Uniform [0, 1) from a fragment's global index (the subset's coin; independent of order and engine). */
export function fragmentCoin(index: number, seed: number): number {
  let h = Math.imul((index >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((Math.floor(index / 4294967296) + seed) | 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Median count of a fragment's sampled minimizers (0: none sampled). `scratch` holds at least t - s numbers. */
export function fragmentCoverage(table: MinimizerTable, hi: Uint32Array, lo: Uint32Array, s: number, t: number, sampling: number, scratch: Float64Array): number {
  let m = 0;
  // absent: a key of this fragment alone (count 1), dropped from the table after pass 1 (normalizedRanks.ts)
  for (let j = s; j < t; j++) if (isSampled(lo[j]!, sampling)) scratch[m++] = Math.max(1, table.count(hi[j]!, lo[j]!));
  if (m === 0) return 0;
  const v = scratch.subarray(0, m).sort();
  return m % 2 === 1 ? v[(m - 1) / 2]! : (v[m / 2 - 1]! + v[m / 2]!) / 2;
}

/** The kept subset: sketches, profiles, weights, coverage, and the fragments' global indices (ascending). */
export interface Subset {
  n: number;
  index: Float64Array;
  offsets: Int32Array;
  hi: Uint32Array;
  lo: Uint32Array;
  embedding: Float32Array;
  weight: Float64Array;
  coverage: Float64Array;
}

/** Pass 1: the coverage table of every fragment's sampled minimizers. */
export async function coverageTable(src: FragmentSource, sampling: number): Promise<MinimizerTable> {
  const table = new MinimizerTable(1 << 20);
  await src.scan({ embedding: false, lengths: false }, (b) => {
    const end = b.offsets[b.n]!;
    for (let j = b.offsets[0]!; j < end; j++) if (isSampled(b.lo[j]!, sampling)) table.add(b.hi[j]!, b.lo[j]!);
  });
  return table;
}

/**
 * Pass 2: the coverage-normalised subset, in two scans: the first (sketches only) judges every fragment and
 * keeps the global index and coverage of those the coin keeps (16 B each), the second reads the kept fragments
 * into arrays of exactly that size, taking them by index. Growing the profile arrays in one scan instead left
 * up to three times the profiles allocated at its end (capacity 2n plus a trimmed copy; 4.45 GB peak at
 * art29-5m, whose subset is 2.29M fragments); the extra scan reads only the minimizer column.
 */
export async function selectSubset(src: FragmentSource, table: MinimizerTable, p: NormalizedGraphParams, rule: PoolingRule, seed: number): Promise<Subset> {
  const d = src.d;
  let scratch = new Float64Array(256);
  let keptIndex: Float64Array = new Float64Array(1 << 12);
  let keptCoverage: Float64Array = new Float64Array(1 << 12);
  let total = 0;
  let totalWords = 0;
  await src.scan({ embedding: false, lengths: false }, (b) => {
    for (let i = 0; i < b.n; i++) {
      const s = b.offsets[i]!;
      const t = b.offsets[i + 1]!;
      if (t - s > scratch.length) scratch = new Float64Array(2 * (t - s));
      const cov = fragmentCoverage(table, b.hi, b.lo, s, t, p.sampling, scratch);
      // fragments without a sampled minimizer (very short) cannot be judged: kept
      if (p.targetCoverage > 0 && cov > p.targetCoverage && fragmentCoin(b.start + i, seed) >= p.targetCoverage / cov) continue;
      if (total === keptIndex.length) {
        const more = (a: Float64Array): Float64Array => {
          const c = new Float64Array(2 * a.length);
          c.set(a);
          return c;
        };
        keptIndex = more(keptIndex);
        keptCoverage = more(keptCoverage);
      }
      keptIndex[total] = b.start + i;
      keptCoverage[total++] = Math.max(1, cov);
      totalWords += t - s;
    }
  });
  const index = keptIndex.slice(0, total);
  const coverage = keptCoverage.slice(0, total);
  const offsets = new Int32Array(total + 1);
  const hi = new Uint32Array(totalWords);
  const lo = new Uint32Array(totalWords);
  const embedding = new Float32Array(total * d);
  const weight = new Float64Array(total);
  let n = 0;
  let words = 0;
  await src.scan({ embedding: true, lengths: true }, (b) => {
    for (let i = 0; i < b.n && n < total; i++) {
      if (b.start + i !== index[n]) continue;
      const s = b.offsets[i]!;
      const t = b.offsets[i + 1]!;
      hi.set(b.hi.subarray(s, t), words);
      lo.set(b.lo.subarray(s, t), words);
      words += t - s;
      offsets[n + 1] = words;
      embedding.set(b.embedding!.subarray(i * d, i * d + d), n * d);
      weight[n] = rule.weight(b.lengths![2 * i]!, b.lengths![2 * i + 1]!);
      n++;
    }
  });
  if (n !== total || words !== totalWords) throw new Error(`normalised subset: the second scan found ${n} of the ${total} kept fragments (${words} of ${totalWords} words)`);
  return { n, index, offsets, hi, lo, embedding, weight, coverage };
}

/** What the subset's clustering decided, and what the assignment of the other fragments needs. */
export interface NormalizedModel {
  d: number;
  k: number;
  sampling: number;
  sqrtTransform: boolean;
  coverageScale: number;
  table: MinimizerTable;
  /** subset fragments (global index, ascending) and their labels / distances */
  subsetIndex: Float64Array;
  subsetLabel: Int32Array;
  subsetDist: Float32Array;
  clustering: GroupClustering;
}

/**
 * What the assignment needs of the model: its subset part may be a rank's own subset fragments only, and of
 * the clustering only the feature-space centres.
 */
export type AssignModel = Omit<NormalizedModel, 'clustering'> & { clustering: Pick<GroupClustering, 'featureCentroids'> };

export interface SubsetClustering {
  model: NormalizedModel;
  groups: { lp: number; merged: number; unions: number; refused: number };
  graphStats: ReturnType<typeof readGroups>['stats'];
  fragmentsByGroupSize: Record<string, number>;
  groupSizes: Int32Array;
  /** read groups (graph, propagation, merge) and their clustering (K search included) */
  seconds: { groups: number; clustering: number };
  kSearch: { core_fraction: number; method: string };
}

/** Steps 3-4: graph, merge and pooled clustering of the subset; the minimizer -> cluster index. */
export function clusterSubset(
  sub: Subset, d: number, table: MinimizerTable, p: NormalizedGraphParams, rule: PoolingRule,
  graph: Omit<GraphParams, 'seed'>, merge: MergeParams, pooled: PooledParams,
): SubsetClustering {
  const t0 = performance.now();
  const rg = readGroups({ n: sub.n, offsets: sub.offsets, hi: sub.hi, lo: sub.lo }, { ...graph, seed: pooled.seed });
  const merged = rule.sqrtTransform ? mergeGroups(rg.graph, rg.group, rg.groups, sub.embedding, sub.weight, d, merge, rg.occurrence) : undefined;
  const group = merged?.group ?? rg.group;
  const G = merged?.groups ?? rg.groups;
  const t1 = performance.now();
  // abundance: the full-data coverage; noise: the redundancy within the subset (its own minimizer occurrence)
  const pool = poolGroups(sub.n, d, sub.embedding, sub.weight, sub.coverage, group, G, rg.occurrence);
  // which K search: clusters defined by the reliable groups (split and merge) once they hold most of the subset;
  // at low depth, where most fragments are in small groups, every group is clustered and K found by the elbow
  let inCore = 0;
  for (let g = 0; g < G; g++) if (pool.members[g]! >= pooled.minGroup) inCore += pool.members[g]!;
  const coreFraction = inCore / Math.max(1, sub.n);
  const bySplit = coreFraction >= CORE_FRACTION;
  const gc = clusterPooledGroups(
    pool, G, d, true, rule.sqrtTransform,
    bySplit ? { ...pooled, splitMerge: pooled.splitMerge ?? DEFAULT_SPLIT_MERGE } : { ...pooled, minGroup: 1, kMax: Math.min(pooled.kMax, LOW_DEPTH_K_MAX) },
  );
  const t2 = performance.now();
  const subsetLabel = new Int32Array(sub.n);
  const subsetDist = new Float32Array(sub.n);
  for (let i = 0; i < sub.n; i++) {
    subsetLabel[i] = gc.groupLabel[group[i]!]!;
    subsetDist[i] = gc.groupDist[group[i]!]!;
  }
  // index: a minimizer takes the cluster of the largest read group that holds it
  table.attachLabels();
  const order = Array.from({ length: sub.n }, (_, i) => i).sort((a, b) => pool.members[group[a]!]! - pool.members[group[b]!]! || a - b);
  for (const i of order) {
    for (let j = sub.offsets[i]!; j < sub.offsets[i + 1]!; j++) if (isSampled(sub.lo[j]!, p.sampling)) table.claim(sub.hi[j]!, sub.lo[j]!, subsetLabel[i]!);
  }
  const hist: Record<string, number> = { '1': 0, '2-4': 0, '5-19': 0, '20-99': 0, '100-999': 0, '1000+': 0 };
  for (let g = 0; g < G; g++) {
    const s = pool.members[g]!;
    const key = s === 1 ? '1' : s < 5 ? '2-4' : s < 20 ? '5-19' : s < 100 ? '20-99' : s < 1000 ? '100-999' : '1000+';
    hist[key]! += s;
  }
  return {
    model: {
      d, k: gc.k, sampling: p.sampling, sqrtTransform: rule.sqrtTransform, coverageScale: gc.coverageScale, table,
      subsetIndex: sub.index, subsetLabel, subsetDist, clustering: gc,
    },
    groups: { lp: rg.groups, merged: G, unions: merged?.unions ?? 0, refused: merged?.refused ?? 0 },
    graphStats: rg.stats,
    fragmentsByGroupSize: hist,
    groupSizes: pool.members,
    seconds: { groups: (t1 - t0) / 1000, clustering: (t2 - t1) / 1000 },
    kSearch: { core_fraction: +coreFraction.toFixed(4), method: bySplit ? 'split-merge over groups of --min-group+ fragments' : 'elbow over every group (low depth)' },
  };
}

/** How each fragment of a batch was labelled. */
export const enum Via {
  Subset = 0,
  Index = 1,
  Nearest = 2,
}

/**
 * Step 5 for one batch (needs embedding and lengths): labels, distances (of the fragment's own features to its
 * cluster's centre, or its group's for subset fragments) and how each was decided. `cursor` walks the subset
 * index across batches given in order.
 */
export class Assigner {
  private cursor = 0;
  private votes: Int32Array;
  private tally: Int32Array;
  private v: Float64Array;
  private scratch = new Float64Array(256);

  /** `m`: the model, or what a rank that did not cluster the subset received of it (AssignModel). */
  constructor(private readonly m: AssignModel) {
    this.votes = new Int32Array(m.k);
    this.tally = new Int32Array(256);
    this.v = new Float64Array(m.d + 1);
  }

  /** `coverage` (optional) receives every fragment's coverage estimate (median count of its sampled minimizers). */
  assign(b: FragmentBatch, labels: Int32Array, dist: Float32Array, via: Uint8Array, coverage?: Float64Array): void {
    const { m } = this;
    const { d, k } = m;
    const D = d + 1;
    const cent = m.clustering.featureCentroids;
    for (let i = 0; i < b.n; i++) {
      const f = b.start + i;
      const s = b.offsets[i]!;
      const t = b.offsets[i + 1]!;
      if (t - s > this.scratch.length) this.scratch = new Float64Array(2 * (t - s));
      const cov = Math.max(1, fragmentCoverage(m.table, b.hi, b.lo, s, t, m.sampling, this.scratch));
      if (coverage) coverage[i] = cov;
      while (this.cursor < m.subsetIndex.length && m.subsetIndex[this.cursor]! < f) this.cursor++;
      if (this.cursor < m.subsetIndex.length && m.subsetIndex[this.cursor] === f) {
        labels[i] = m.subsetLabel[this.cursor]!;
        dist[i] = m.subsetDist[this.cursor]!;
        via[i] = Via.Subset;
        continue;
      }
      // votes of the indexed minimizers
      let voters = 0;
      for (let j = s; j < t; j++) {
        if (!isSampled(b.lo[j]!, m.sampling)) continue;
        const l = m.table.label(b.hi[j]!, b.lo[j]!);
        if (l < 0) continue;
        if (this.votes[l] === 0) this.tally[voters++] = l;
        this.votes[l]!++;
        if (voters === this.tally.length) break;
      }
      // own features: square-root profile and scaled log coverage
      const e = b.embedding!;
      for (let x = 0; x < d; x++) this.v[x] = m.sqrtTransform ? Math.sqrt(Math.max(0, e[i * d + x]!)) : e[i * d + x]!;
      this.v[d] = Math.log(cov) * m.coverageScale;
      if (voters > 0) {
        let best = -1;
        let bestVotes = 0;
        for (let q = 0; q < voters; q++) {
          const l = this.tally[q]!;
          if (this.votes[l]! > bestVotes || (this.votes[l] === bestVotes && l < best)) {
            best = l;
            bestVotes = this.votes[l]!;
          }
          this.votes[l] = 0;
        }
        labels[i] = best;
        let s2 = 0;
        for (let x = 0; x < D; x++) {
          const u = this.v[x]! - cent[best * D + x]!;
          s2 += u * u;
        }
        dist[i] = Math.sqrt(s2);
        via[i] = Via.Index;
      } else {
        const nc = nearestCentroid(this.v, cent, k, D);
        labels[i] = nc.label;
        dist[i] = Math.sqrt(nc.dist2);
        via[i] = Via.Nearest;
      }
    }
  }
}
