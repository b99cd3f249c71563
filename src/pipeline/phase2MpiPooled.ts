/**
 * `--method graph|lsh` as one rank of an MPI job (docs/graph.md "Partitioning", docs/hpc.md). Every rank reads
 * the embeddings, mate lengths and (graph) minimizers of its own rows only. The graph's memory-heavy build
 * (postings, candidate pairs, edge counting, degree cap) is split over the ranks by minimizer, pair and
 * fragment owner; the root (rank 0) receives the degree-capped graph and runs label propagation and the
 * composition-checked merge on it (sequential algorithms, the local engine's code); the groups' pooled
 * profiles are summed on the groups' owner ranks in fragment order (bit for bit the local sums), and the root
 * clusters the pooled groups. Cluster centroids are reduced over ranks in rank order (sumInRankOrder).
 */
import { labelPropagation } from '../cluster/graph.js';
import { groupLinks } from '../cluster/mergeGroups.js';
import { lshSignatures, lshUnion } from '../cluster/lsh.js';
import { mergePooledGroups } from '../cluster/mergeGroups.js';
import { clusterPooledGroups, clusterSums, pooledResult } from '../cluster/pooled.js';
import type { MpiComm } from '../engines/mpi/comm.js';
import {
  distributedGraph, distributedGroupLinks, distributedLabelPropagation, gatherSignatures, Ghosts, poolGroupsOnOwners, scatterToOwners, type RowPart,
} from '../engines/mpi/graphRank.js';
import type { PrepManifest } from '../io/manifest.js';
import { readShardLengthRows, readShardRows, readShardSketchRows, type ShardSpan } from '../io/shardSlice.js';
import type { ClusterOptions, ClusterRun } from './phase2.js';
import {
  graphDetails, groupSizeHistogram, isFreqProfile, pooledDetails, pooledParams, pooledRun, poolingWeights, requireSketch, type PooledMethodOptions,
} from './phase2Pooled.js';
import type { ProgressSink } from './progress.js';

/** The pooled-method options of a cluster run (as the local engine builds them). */
export function pooledMethodOptions(opts: ClusterOptions): PooledMethodOptions {
  if (!opts.pooled) throw new Error('cluster: pooled-method parameters missing');
  return {
    ...opts.pooled, method: opts.method === 'graph' ? 'graph' : 'lsh', k: opts.k, kMin: opts.kMin, kMax: opts.kMax, seed: opts.seed, nInit: opts.nInit, maxIter: opts.maxIter,
  };
}

/** Every rank's final labels (node ids), in rank order = fragment order, as groups numbered by first fragment. */
function compactLabels(pieces: Uint8Array[], n: number): { group: Int32Array; groups: number } {
  const map = new Int32Array(n).fill(-1);
  const group = new Int32Array(n);
  let groups = 0;
  let f = 0;
  for (const q of pieces) {
    const l = new Int32Array(q.buffer, q.byteOffset, q.byteLength / 4);
    for (let i = 0; i < l.length; i++, f++) {
      if (map[l[i]!] === -1) map[l[i]!] = groups++;
      group[f] = map[l[i]!]!;
    }
  }
  return { group, groups };
}

/** One rank's report in summary.json (method_details.mpi.ranks). */
interface RankReport {
  rank: number;
  host: string;
  rows: [number, number];
  /** wall seconds: reading its rows, the graph build (graph method), everything after */
  seconds: { read: number; build: number; rest: number };
  cpu_seconds: number;
  peak_rss_mb: number;
  build_bytes: number;
  /** graph: the postings, pairs and edges this rank handled (DistributedGraph.counts) */
  counts?: Record<string, number>;
  traffic: MpiComm['traffic'];
}

export async function pooledRank(
  opts: ClusterOptions, comm: MpiComm, manifest: PrepManifest, shards: ShardSpan[], parts: RowPart[], progress: ProgressSink,
): Promise<{ run: ClusterRun | null; tRead: number }> {
  const { rank, size } = comm;
  const root = rank === 0;
  const tStart = performance.now();
  const o = pooledMethodOptions(opts);
  const part = parts[rank]!;
  const nLocal = part.end - part.start;
  const n = parts[parts.length - 1]!.end;
  const d = manifest.embedding.dim;
  const freqProfile = isFreqProfile(manifest);
  const sketch = o.method === 'graph' ? requireSketch(manifest, shards.map((s) => s.path)) : undefined;
  const emb = await readShardRows(shards, d, part.start, part.end);
  const weight = poolingWeights(manifest, await readShardLengthRows(shards, part.start, part.end), nLocal);
  const sk = sketch ? await readShardSketchRows(shards, part.start, part.end) : undefined;
  const tRead = performance.now();

  const details: Record<string, unknown> = {};
  let group: Int32Array | null = null;
  let groups = 0;
  let occ: { sum: Float64Array; n: Uint32Array } | undefined;
  let buildBytes = 0;
  let counts: Record<string, number> | undefined;
  let tBuilt = performance.now();
  const t0 = performance.now();
  if (sk && sketch) {
    progress.log(`cluster: overlap graph of ${n} fragments over ${size} rank(s) (k=${sketch.k}, w=${sketch.w})`);
    const distributedLpa = opts.lpa === 'distributed';
    const dg = distributedGraph(comm, parts, sk, o.graph, n, distributedLpa);
    occ = { sum: dg.occSum, n: dg.occN };
    buildBytes = dg.peakBytes;
    counts = dg.counts;
    tBuilt = performance.now();
    const peak = Math.max(...comm.allgatherNumber(dg.peakBytes));
    // label propagation: on rank 0 over the gathered graph (the local engine's result), or over the ranks
    let lp: { group: Int32Array; groups: number; iterations: number } | undefined;
    let ghosts: Ghosts | undefined;
    if (dg.adjacency) {
      ghosts = new Ghosts(comm, parts, dg.adjacency);
      const dl = distributedLabelPropagation(comm, parts, dg.adjacency, ghosts, o.graph.maxIterations, o.seed);
      comm.setPhase('lpa-gather');
      const all = comm.gathervPieces(dl.label, 0);
      if (all) lp = { ...compactLabels(all, n), iterations: dl.iterations };
    } else if (root) {
      lp = labelPropagation(dg.graph!, o.graph.maxIterations, o.seed);
    }
    comm.setPhase('bcast');
    const lpGroups = Number(comm.bcastString(String(lp?.groups ?? 0), 0));
    const tGraph = performance.now();
    let merged: { group: Int32Array; groups: number; unions: number; refused: number } | undefined;
    if (freqProfile) {
      // composition-checked merge: the LP groups' pooled profiles, summed on their owners, merged on the root
      comm.setPhase('groups-scatter');
      const lpLocal = scatterToOwners(comm, parts, lp?.group ?? null);
      const pool = poolGroupsOnOwners(comm, lpLocal, lpGroups, d, emb, weight, undefined, 'merge-pools');
      const links = dg.adjacency ? distributedGroupLinks(comm, dg.adjacency, ghosts!, lpLocal, lpGroups) : root ? groupLinks(dg.graph!, lp!.group, lp!.groups) : null;
      if (root) merged = mergePooledGroups(links!, lp!.group, lp!.groups, pool!.comp, pool!.mass, d, o.merge);
    }
    if (root) {
      group = merged?.group ?? lp!.group;
      groups = merged?.groups ?? lp!.groups;
      details.graph = graphDetails(manifest, o, n, { ...dg.stats, iterations: lp!.iterations, peakBytes: peak }, lp!.groups, merged, (tGraph - t0) / 1000);
      details.graph_lpa = distributedLpa ? 'distributed over the ranks (--lpa distributed: differs from the local engine, docs/scaling.md)' : 'rank 0 (the local engine\'s result)';
    }
  } else {
    // LSH: the mean of all rows (rank partial sums in rank order), signatures of the rank's rows, buckets on the root
    comm.setPhase('lsh-mean');
    const colSum = new Float64Array(d);
    for (let i = 0; i < nLocal; i++) for (let t = 0; t < d; t++) colSum[t] = colSum[t]! + emb[i * d + t]!;
    const sum = comm.sumInRankOrder(colSum);
    const mean = new Float64Array(d);
    for (let t = 0; t < d; t++) mean[t] = sum[t]! / Math.max(1, n);
    const sig = lshSignatures(emb, nLocal, d, mean, { ...o.lsh, seed: o.seed });
    const all = gatherSignatures(comm, parts, sig, o.lsh.bands, n);
    if (all) {
      const b = lshUnion(all, n, o.lsh.bands);
      group = b.group;
      groups = b.groups;
      details.lsh = { parameters: o.lsh, buckets: b.groups, largest_bucket: b.largest, seconds: +((performance.now() - t0) / 1000).toFixed(3) };
    }
  }
  comm.setPhase('bcast');
  groups = Number(comm.bcastString(String(groups), 0));
  if (root) {
    details.fragments_by_group_size = groupSizeHistogram(group!, groups, n);
    progress.log(`cluster: ${groups} read groups; clustering the pooled groups (K ${o.k === 'auto' ? `auto in [${o.kMin}, ${o.kMax}]` : o.k})`);
  }
  comm.setPhase('groups-scatter');
  const localGroup = scatterToOwners(comm, parts, group);
  const pool = poolGroupsOnOwners(comm, localGroup, groups, d, emb, weight, occ, 'group-pools');
  let labels: Int32Array | null = null;
  let gc: ReturnType<typeof clusterPooledGroups> | undefined;
  if (root) {
    gc = clusterPooledGroups(pool!, groups, d, occ !== undefined, freqProfile, pooledParams(o, progress));
    labels = new Int32Array(n);
    for (let f = 0; f < n; f++) labels[f] = gc.groupLabel[group![f]!]!;
  }
  comm.setPhase('bcast');
  const k = Number(comm.bcastString(String(gc?.k ?? 0), 0));
  comm.setPhase('labels-scatter');
  const localLabels = scatterToOwners(comm, parts, labels);
  comm.setPhase('centroid-sums');
  const sums = comm.sumInRankOrder(clusterSums(nLocal, d, emb, weight, localLabels, k));

  // every rank's traffic, CPU and memory, for summary.json
  comm.setPhase('report');
  const ru = process.resourceUsage();
  const mine: RankReport = {
    rank, host: comm.info.host, rows: [part.start, part.end],
    seconds: { read: +((tRead - tStart) / 1000).toFixed(3), build: +((tBuilt - tRead) / 1000).toFixed(3), rest: +((performance.now() - tBuilt) / 1000).toFixed(3) },
    cpu_seconds: +((ru.userCPUTime + ru.systemCPUTime) / 1e6).toFixed(3),
    peak_rss_mb: +(ru.maxRSS / 1024).toFixed(1), build_bytes: buildBytes, ...(counts ? { counts } : {}), traffic: comm.traffic,
  };
  const reports = comm.gathervBytes(new TextEncoder().encode(JSON.stringify(mine) + '\n'), 0);
  if (!root) return { run: null, tRead };
  const distances = new Float32Array(n);
  const clusterSize = new Int32Array(k);
  for (let f = 0; f < n; f++) {
    distances[f] = gc!.groupDist[group![f]!]!;
    clusterSize[labels![f]!]!++;
  }
  const result = pooledResult(gc!, labels!, distances, clusterSize, sums, d);
  details.pooled = pooledDetails(manifest, o, result, occ !== undefined);
  details.mpi = {
    ranks: new TextDecoder().decode(reports).trim().split('\n').map((l) => JSON.parse(l) as RankReport),
    note: 'traffic: payload bytes exchanged with other ranks per phase; cpu_seconds and peak_rss_mb before writing the outputs',
  };
  return { run: pooledRun(opts, result, details, d), tRead };
}
