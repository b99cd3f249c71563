import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCollectives, type Collectives } from '../cluster/collectives.js';
import {
  Assigner, clusterSubset, coverageTable, selectSubset, Via, type FragmentBatch, type FragmentSource, type NormalizedGraphParams, type PoolingRule, type SubsetClustering,
} from '../cluster/normalizedGraph.js';
import { gatherSubset, shareModel, sumCoverageTables } from '../cluster/normalizedRanks.js';
import type { PrepManifest } from '../io/manifest.js';
import { writeLabelsParquet } from '../io/labels.js';
import { scanShards } from '../io/shards.js';
import { graphDetails, isFreqProfile, pooledDetails, pooledParams, pooledRun, requireSketch, type PooledMethodOptions } from './phase2Pooled.js';
import type { ClusterRun } from './phase2.js';
import type { ProgressSink } from './progress.js';

/**
 * `cluster --method graph` with a target coverage (the default): the coverage-normalised graph method
 * (src/cluster/normalizedGraph.ts, docs/graph.md "Depth") over the shards, streamed three times, written once
 * over the Collectives (src/cluster/collectives.ts): the local engine runs it as one rank, the mpi engine as P.
 * Each rank reads a block of consecutive shards; the root (rank 0) clusters the gathered subset and writes the
 * outputs. Per-fragment state is never held for all fragments, on any rank: the labels go to one Parquet part
 * per shard, joined at the end.
 */
export interface NormalizedRun {
  run: ClusterRun;
  labelParts: string[];
  partsDir: string;
  n: number;
}

export type NormalizedOptions = PooledMethodOptions & { normalized: NormalizedGraphParams };

/** The pooling rule of the run's embedding: k-mer counts as weights for frequency profiles. */
export function poolingRule(manifest: PrepManifest): PoolingRule {
  const k = manifest.embedding.k ?? 1;
  const freq = isFreqProfile(manifest);
  return {
    sqrtTransform: freq,
    weight: freq ? (l1, l2) => Math.max(1, Math.max(0, l1 - k + 1) + Math.max(0, l2 - k + 1)) : () => 1,
  };
}

/** One rank's shards: [first, end) of the manifest's list, and the global index of its first fragment. */
export interface ShardBlock {
  first: number;
  end: number;
  rowBase: number;
}

/**
 * Consecutive shards per rank, balanced by rows: shard i goes to the rank whose share of the rows holds the
 * shard's middle row. Ranks beyond the number of shards get none (they still take part in every exchange).
 */
export function shardBlocks(rows: number[], P: number): ShardBlock[] {
  const n = rows.reduce((a, r) => a + r, 0);
  const owner: number[] = [];
  let start = 0;
  for (const r of rows) {
    owner.push(n === 0 ? 0 : Math.min(P - 1, Math.floor((P * (start + r / 2)) / n)));
    start += r;
  }
  const blocks: ShardBlock[] = [];
  let i = 0;
  let rowBase = 0;
  for (let rank = 0; rank < P; rank++) {
    const first = i;
    const base = rowBase;
    while (i < rows.length && owner[i] === rank) rowBase += rows[i++]!;
    blocks.push({ first, end: i, rowBase: base });
  }
  return blocks;
}

/** One rank's report (summary.json method_details.mpi.ranks when there is more than one). */
export interface NormalizedRankReport {
  rank: number;
  host: string;
  shards: [number, number];
  fragments: number;
  subset_fragments: number;
  labels_parts: number;
  /** wall seconds: pass 1 (table and its exchange), pass 2 (and the gather), waiting for the model, pass 3, moving the labels parts */
  seconds: { coverage: number; subset: number; model: number; assign: number; parts: number };
  cpu_seconds: number;
  peak_rss_mb: number;
  traffic?: ReturnType<NonNullable<Collectives['traffic']>>;
}

/** What every rank computed; `root` only on rank 0. */
export interface NormalizedRankResult {
  fragments: number;
  subsetFragments: number;
  seconds: { coverage: number; subset: number; model: number; assign: number };
  root: {
    sc: SubsetClustering;
    subsetN: number;
    tableSize: number;
    tableBytes: number;
    clusterSize: Int32Array;
    centroids: Float32Array;
    clusterCoverage: Float64Array;
    via: number[];
    seconds: { cluster: number };
  } | null;
}

/**
 * The method on one rank of `c` over `src`, this rank's fragments (batch starts are global fragment indices;
 * ranks hold consecutive ranges in rank order). `onLabels` receives every batch's labels and distances (pass 3),
 * in this rank's order.
 */
export async function normalizedOnRanks(
  c: Collectives, src: FragmentSource, o: NormalizedOptions, rule: PoolingRule, progress: ProgressSink,
  onLabels: (b: FragmentBatch, labels: Int32Array, dist: Float32Array) => void | Promise<void>,
): Promise<NormalizedRankResult> {
  const p = o.normalized;
  const d = src.d;
  const root = c.rank === 0;
  const t0 = performance.now();
  c.phase('coverage-table');
  const table = await sumCoverageTables(c, await coverageTable(src, p.sampling));
  const tTable = performance.now();
  c.phase('subset-gather');
  const mine = await selectSubset(src, table, p, rule, o.seed);
  const gathered = await gatherSubset(c, mine, d);
  const tSubset = performance.now();
  let sc: SubsetClustering | null = null;
  if (root && gathered) {
    const sub = gathered.subset;
    progress.log(`cluster: overlap graph of ${sub.n} fragments (${((100 * sub.n) / Math.max(1, src.n)).toFixed(1)}%, target coverage ${p.targetCoverage || 'all'})`);
    sc = clusterSubset(sub, d, table, p, rule, o.graph, o.merge, pooledParams(o, progress));
    progress.log(`cluster: ${sc.model.k} clusters in the subset; labelling every fragment${c.size > 1 ? ` on ${c.size} ranks` : ''}`);
  }
  const tCluster = performance.now();
  c.phase('model-bcast');
  const model = await shareModel(c, sc, table, mine, gathered?.counts ?? null, p, rule.sqrtTransform, d);
  const tModel = performance.now();

  // pass 3: labels of this rank's fragments; cluster sizes, how each was labelled, coverage and pooled profile sums
  const k = model.k;
  const acc = new Float64Array(k + 3 + k + k + k * d);
  const size = acc.subarray(0, k);
  const viaCount = acc.subarray(k, k + 3);
  const covSum = acc.subarray(k + 3, 2 * k + 3);
  const mass = acc.subarray(2 * k + 3, 3 * k + 3);
  const sums = acc.subarray(3 * k + 3);
  const assigner = new Assigner(model);
  let fragments = 0;
  await src.scan({ embedding: true, lengths: true, ids: true }, async (b) => {
    const labels = new Int32Array(b.n);
    const dist = new Float32Array(b.n);
    const via = new Uint8Array(b.n);
    const cov = new Float64Array(b.n);
    assigner.assign(b, labels, dist, via, cov);
    for (let i = 0; i < b.n; i++) {
      const l = labels[i]!;
      size[l]!++;
      viaCount[via[i]!]!++;
      covSum[l] = covSum[l]! + cov[i]!;
      const w = rule.weight(b.lengths![2 * i]!, b.lengths![2 * i + 1]!);
      mass[l] = mass[l]! + w;
      for (let t = 0; t < d; t++) sums[l * d + t] = sums[l * d + t]! + w * b.embedding![i * d + t]!;
    }
    fragments += b.n;
    await onLabels(b, labels, dist);
  });
  const tAssign = performance.now();
  // the ranks' partial sums added in rank order (one rank: this rank's sums as they are)
  c.phase('cluster-sums');
  const all = await c.sum(acc);
  const seconds = {
    coverage: (tTable - t0) / 1000, subset: (tSubset - tTable) / 1000, model: (tModel - tSubset) / 1000, assign: (tAssign - tModel) / 1000,
  };
  if (!root || !sc) return { fragments, subsetFragments: mine.n, seconds, root: null };
  const centroids = new Float32Array(k * d);
  const aMass = all.subarray(2 * k + 3, 3 * k + 3);
  const aSums = all.subarray(3 * k + 3);
  for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) centroids[j * d + t] = aMass[j]! > 0 ? aSums[j * d + t]! / aMass[j]! : 0;
  const clusterSize = Int32Array.from(all.subarray(0, k));
  const aCov = all.subarray(k + 3, 2 * k + 3);
  return {
    fragments, subsetFragments: mine.n, seconds,
    root: {
      sc, subsetN: gathered!.subset.n, tableSize: table.size, tableBytes: table.bytes, clusterSize, centroids,
      clusterCoverage: Float64Array.from(aCov, (x, j) => x / Math.max(1, clusterSize[j]!)),
      via: Array.from(all.subarray(k, k + 3)),
      seconds: { cluster: (tCluster - tSubset) / 1000 },
    },
  };
}

/**
 * Every rank's labels parts on the root, in rank order then part order (= shard order), moved through the
 * collectives (no shared file system is assumed). The parts travel in rounds of at most `roundBytes` (one part
 * at least): the (rank, part) list in global order is cut into rounds every rank computes alike from the
 * parts' sizes, and in each round every rank sends its parts of the round in one message. Rank 0's own parts
 * stay where they are. Null off the root.
 */
async function collectParts(c: Collectives, mine: string[], dir: string, roundBytes: number): Promise<string[] | null> {
  if (c.size === 1) return mine;
  const sizes = new Float64Array(mine.length);
  for (const [j, f] of mine.entries()) sizes[j] = (await stat(f)).size;
  const all = (await c.allGather(new Uint8Array(sizes.buffer))).map((b) => new Float64Array(b.slice().buffer));
  // rounds: [rank, part] items in global order; rank 0's parts cost nothing
  const rounds: [number, number][][] = [[]];
  let bytes = 0;
  all.forEach((list, r) => list.forEach((size, j) => {
    const cost = r === 0 ? 0 : size;
    if (bytes + cost > roundBytes && bytes > 0) {
      rounds.push([]);
      bytes = 0;
    }
    rounds[rounds.length - 1]!.push([r, j]);
    bytes += cost;
  }));
  const out: string[] = [];
  for (const round of rounds) {
    const my = round.filter(([r]) => r === c.rank && r !== 0).map(([, j]) => j);
    const msg = new Uint8Array(my.reduce((a, j) => a + sizes[j]!, 0));
    let o = 0;
    for (const j of my) {
      msg.set(await readFile(mine[j]!), o);
      o += sizes[j]!;
    }
    const got = await c.gather(msg, 0);
    if (!got) continue;
    const at = new Array<number>(c.size).fill(0);
    for (const [r, j] of round) {
      if (r === 0) {
        out.push(mine[j]!);
        continue;
      }
      const size = all[r]![j]!;
      const file = join(dir, `rank-${String(r).padStart(5, '0')}-part-${String(j).padStart(5, '0')}.parquet`);
      await writeFile(file, got[r]!.subarray(at[r], at[r]! + size));
      at[r]! += size;
      out.push(file);
    }
  }
  return c.rank === 0 ? out : null;
}

/**
 * The method on this rank's shards (`paths`: the manifest's shards [block.first, block.end), verified);
 * returns the run on the root (rank 0), null on the other ranks. The local engine: one block of every shard,
 * `localCollectives`. `partsRoundBytes`: the most labels-part bytes rank 0 receives at once.
 */
export async function runNormalizedGraph(
  manifest: PrepManifest, paths: string[], block: ShardBlock, o: NormalizedOptions, progress: ProgressSink, c: Collectives = localCollectives,
  partsRoundBytes = 1 << 28,
): Promise<NormalizedRun | null> {
  const tStart = performance.now();
  const sketch = requireSketch(manifest, paths);
  const d = manifest.embedding.dim;
  const n = manifest.shards.reduce((a, s) => a + s.rows, 0);
  const rule = poolingRule(manifest);
  const src: FragmentSource = {
    n, d,
    scan: (need, fn) => scanShards(paths, d, need, (b) => fn({ ...b, start: block.rowBase + b.start, shard: block.first + b.shard })).then(() => undefined),
  };
  const p = o.normalized;
  progress.log(`cluster: coverage of ${n} fragments (1 in ${p.sampling} minimizers, k=${sketch.k}, w=${sketch.w})${c.size > 1 ? ` over ${c.size} ranks` : ''}`);

  const partsDir = await mkdtemp(join(tmpdir(), 'metavec-labels-'));
  const labelParts: string[] = [];
  let part: { shard: number; ids: string[]; labels: Int32Array[]; dist: Float32Array[] } | undefined;
  const flush = async (): Promise<void> => {
    if (!part) return;
    const file = join(partsDir, `part-${String(labelParts.length).padStart(5, '0')}.parquet`);
    const m = part.ids.length;
    const clusters = new Int32Array(m);
    const distances = new Float32Array(m);
    let o2 = 0;
    part.labels.forEach((l, i) => {
      clusters.set(l, o2);
      distances.set(part!.dist[i]!, o2);
      o2 += l.length;
    });
    await writeLabelsParquet(file, { readIds: part.ids, clusters, distances });
    labelParts.push(file);
    part = undefined;
  };
  let r: NormalizedRankResult;
  let all: string[] | null;
  let tParts: number;
  try {
    r = await normalizedOnRanks(c, src, o, rule, progress, async (b, labels, dist) => {
      if (part && part.shard !== b.shard) await flush();
      part ??= { shard: b.shard!, ids: [], labels: [], dist: [] };
      for (const id of b.readIds!) part.ids.push(id);
      part.labels.push(labels);
      part.dist.push(dist);
    });
    await flush();
    tParts = performance.now();
    c.phase('labels-parts');
    all = await collectParts(c, labelParts, partsDir, partsRoundBytes);
  } catch (err) {
    await rm(partsDir, { recursive: true, force: true });
    throw err;
  }
  const tEnd = performance.now();

  // every rank's work, CPU and memory (more than one rank), for summary.json
  let ranks: NormalizedRankReport[] | undefined;
  if (c.size > 1) {
    c.phase('report');
    const ru = process.resourceUsage();
    const mine: NormalizedRankReport = {
      rank: c.rank, host: hostname(), shards: [block.first, block.end], fragments: r.fragments, subset_fragments: r.subsetFragments,
      labels_parts: labelParts.length,
      seconds: {
        coverage: +r.seconds.coverage.toFixed(3), subset: +r.seconds.subset.toFixed(3), model: +r.seconds.model.toFixed(3),
        assign: +r.seconds.assign.toFixed(3), parts: +((tEnd - tParts) / 1000).toFixed(3),
      },
      cpu_seconds: +((ru.userCPUTime + ru.systemCPUTime) / 1e6).toFixed(3),
      peak_rss_mb: +(ru.maxRSS / 1024).toFixed(1),
      ...(c.traffic ? { traffic: c.traffic() } : {}),
    };
    const got = await c.gather(new TextEncoder().encode(JSON.stringify(mine)), 0);
    if (got) ranks = got.map((b) => JSON.parse(new TextDecoder().decode(b)) as NormalizedRankReport);
  }
  if (!r.root || !all) {
    await rm(partsDir, { recursive: true, force: true });
    return null;
  }
  const { sc, subsetN } = r.root;
  const gc = sc.model.clustering;
  const details: Record<string, unknown> = {
    normalization: {
      parameters: p,
      coverage_table_minimizers: r.root.tableSize,
      coverage_table_bytes: r.root.tableBytes,
      subset_fragments: subsetN,
      subset_fraction: +(subsetN / Math.max(1, n)).toFixed(4),
      k_search: sc.kSearch,
      assigned: { subset: r.root.via[Via.Subset], minimizer_index: r.root.via[Via.Index], nearest_centre: r.root.via[Via.Nearest] },
      seconds: {
        coverage: +r.seconds.coverage.toFixed(3),
        subset: +r.seconds.subset.toFixed(3),
        read_groups: +sc.seconds.groups.toFixed(3),
        pooled_clustering: +sc.seconds.clustering.toFixed(3),
        assign: +r.seconds.assign.toFixed(3),
      },
    },
    graph: graphDetails(manifest, o, subsetN, sc.graphStats, sc.groups.lp, { groups: sc.groups.merged, unions: sc.groups.unions, refused: sc.groups.refused }, r.root.seconds.cluster),
    fragments_by_group_size: sc.fragmentsByGroupSize,
    pooled: pooledDetails(manifest, o, { ...gc, clusterCoverage: r.root.clusterCoverage }, true),
    ...(ranks
      ? {
        mpi: {
          ranks,
          note: `each rank read shards [first, end) and wrote their labels parts; traffic: payload bytes exchanged with other ranks per phase; cpu_seconds and peak_rss_mb before the outputs were written (${((tEnd - tStart) / 1000).toFixed(1)} s on rank 0)`,
        },
      }
      : {}),
  };
  const run = pooledRun(
    { progress },
    { k: gc.k, selection: gc.selection, centroids: r.root.centroids, labels: new Int32Array(0), distances: new Float32Array(0), clusterSize: r.root.clusterSize, inertia: gc.inertia, iterations: gc.iterations },
    details, d,
  );
  return { n, labelParts: all, partsDir, run };
}
