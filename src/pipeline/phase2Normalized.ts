import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Assigner, clusterSubset, coverageTable, selectSubset, Via, type FragmentSource, type NormalizedGraphParams, type PoolingRule,
} from '../cluster/normalizedGraph.js';
import type { PrepManifest } from '../io/manifest.js';
import { writeLabelsParquet } from '../io/labels.js';
import { scanShards } from '../io/shards.js';
import { graphDetails, isFreqProfile, pooledDetails, pooledParams, requireSketch, type PooledMethodOptions } from './phase2Pooled.js';
import type { ClusterRun } from './phase2.js';
import type { ProgressSink } from './progress.js';

/**
 * `cluster --method graph` with a target coverage (the default): the coverage-normalised graph method
 * (src/cluster/normalizedGraph.ts, docs/graph.md "Depth") over the shards, streamed three times. Per-fragment
 * state is never held for all fragments: the labels go to one Parquet part per shard, joined at the end.
 */
export interface NormalizedRun {
  run: ClusterRun;
  labelParts: string[];
  partsDir: string;
  n: number;
}

/** The pooling rule of the run's embedding: k-mer counts as weights for frequency profiles. */
export function poolingRule(manifest: PrepManifest): PoolingRule {
  const k = manifest.embedding.k ?? 1;
  const freq = isFreqProfile(manifest);
  return {
    sqrtTransform: freq,
    weight: freq ? (l1, l2) => Math.max(1, Math.max(0, l1 - k + 1) + Math.max(0, l2 - k + 1)) : () => 1,
  };
}

export async function runNormalizedGraph(
  manifest: PrepManifest, paths: string[], o: PooledMethodOptions & { normalized: NormalizedGraphParams }, progress: ProgressSink,
): Promise<NormalizedRun> {
  const sketch = requireSketch(manifest, paths);
  const d = manifest.embedding.dim;
  const n = manifest.shards.reduce((a, s) => a + s.rows, 0);
  const rule = poolingRule(manifest);
  const src: FragmentSource = { n, d, scan: (need, fn) => scanShards(paths, d, need, fn).then(() => undefined) };
  const p = o.normalized;
  const t0 = performance.now();
  progress.log(`cluster: coverage of ${n} fragments (1 in ${p.sampling} minimizers, k=${sketch.k}, w=${sketch.w})`);
  const table = await coverageTable(src, p.sampling);
  const tTable = performance.now();
  const sub = await selectSubset(src, table, p, rule, o.seed);
  const tSubset = performance.now();
  progress.log(`cluster: overlap graph of ${sub.n} fragments (${((100 * sub.n) / Math.max(1, n)).toFixed(1)}%, target coverage ${p.targetCoverage || 'all'})`);
  const sc = clusterSubset(sub, d, table, p, rule, o.graph, o.merge, pooledParams(o, progress));
  const tCluster = performance.now();
  const gc = sc.model.clustering;
  progress.log(`cluster: K = ${gc.k} (${gc.selection.method}${'reason' in gc.selection ? `: ${gc.selection.reason}` : ''}); labelling every fragment`);

  // pass 3: labels per shard part, cluster sizes and embedding-space centroids of all fragments
  const k = gc.k;
  const partsDir = await mkdtemp(join(tmpdir(), 'metavec-labels-'));
  const labelParts: string[] = [];
  const clusterSize = new Int32Array(k);
  const sums = new Float64Array(k * d);
  const mass = new Float64Array(k);
  const viaCount = [0, 0, 0];
  const covSum = new Float64Array(k);
  const assigner = new Assigner(sc.model);
  let part: { shard: number; ids: string[]; labels: number[]; dist: number[] } | undefined;
  const flush = async (): Promise<void> => {
    if (!part) return;
    const file = join(partsDir, `part-${String(labelParts.length).padStart(5, '0')}.parquet`);
    await writeLabelsParquet(file, { readIds: part.ids, clusters: Int32Array.from(part.labels), distances: Float32Array.from(part.dist) });
    labelParts.push(file);
    part = undefined;
  };
  try {
    await scanShards(paths, d, { embedding: true, lengths: true, ids: true }, async (b) => {
      if (part && part.shard !== b.shard) await flush();
      part ??= { shard: b.shard, ids: [], labels: [], dist: [] };
      const labels = new Int32Array(b.n);
      const dist = new Float32Array(b.n);
      const via = new Uint8Array(b.n);
      const cov = new Float64Array(b.n);
      assigner.assign(b, labels, dist, via, cov);
      for (let i = 0; i < b.n; i++) {
        const l = labels[i]!;
        clusterSize[l]!++;
        viaCount[via[i]!]!++;
        covSum[l] = covSum[l]! + cov[i]!;
        const w = rule.weight(b.lengths![2 * i]!, b.lengths![2 * i + 1]!);
        mass[l] = mass[l]! + w;
        for (let t = 0; t < d; t++) sums[l * d + t] = sums[l * d + t]! + w * b.embedding![i * d + t]!;
        part.ids.push(b.readIds![i]!);
        part.labels.push(l);
        part.dist.push(dist[i]!);
      }
    });
    await flush();
  } catch (err) {
    await rm(partsDir, { recursive: true, force: true });
    throw err;
  }
  const centroids = new Float32Array(k * d);
  for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) centroids[j * d + t] = mass[j]! > 0 ? sums[j * d + t]! / mass[j]! : 0;
  const tAssign = performance.now();

  const details: Record<string, unknown> = {
    normalization: {
      parameters: p,
      coverage_table_minimizers: table.size,
      coverage_table_bytes: table.bytes,
      subset_fragments: sub.n,
      subset_fraction: +(sub.n / Math.max(1, n)).toFixed(4),
      k_search: sc.kSearch,
      assigned: { subset: viaCount[Via.Subset], minimizer_index: viaCount[Via.Index], nearest_centre: viaCount[Via.Nearest] },
      seconds: {
        coverage: +((tTable - t0) / 1000).toFixed(3),
        subset: +((tSubset - tTable) / 1000).toFixed(3),
        read_groups: +sc.seconds.groups.toFixed(3),
        pooled_clustering: +sc.seconds.clustering.toFixed(3),
        assign: +((tAssign - tCluster) / 1000).toFixed(3),
      },
    },
    graph: graphDetails(manifest, o, sub.n, sc.graphStats, sc.groups.lp, { groups: sc.groups.merged, unions: sc.groups.unions, refused: sc.groups.refused }, (tCluster - tSubset) / 1000),
    fragments_by_group_size: sc.fragmentsByGroupSize,
    pooled: pooledDetails(manifest, o, { ...gc, clusterCoverage: covSum.map((x, j) => x / Math.max(1, clusterSize[j]!)) }, true),
  };
  const tChoose = performance.now();
  return {
    n,
    labelParts,
    partsDir,
    run: {
      selection: gc.selection,
      result: {
        k,
        d,
        centroids,
        labels: new Int32Array(0),
        distances: new Float32Array(0),
        clusterSize,
        inertia: gc.inertia,
        objectiveHistory: Float64Array.of(gc.inertia),
        iterations: gc.iterations,
        converged: true,
        bestInit: 0,
        algorithm: 'lloyd',
        init: 'k-means++',
      },
      details,
      tChoose,
      tKm: performance.now(),
    },
  };
}
