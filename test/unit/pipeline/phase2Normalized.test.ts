// The coverage-normalised graph method written over the collectives: the same labels on 1, 2, 3 and 4 simulated
// ranks (loopback collectives), and the loopback collectives themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localCollectives, pack, unpack, asF64, type Collectives } from '../../../src/cluster/collectives.js';
import { loopbackCollectives } from '../../../src/cluster/loopbackCollectives.js';
import { DEFAULT_GRAPH } from '../../../src/cluster/graph.js';
import { DEFAULT_LSH } from '../../../src/cluster/lsh.js';
import { DEFAULT_MERGE } from '../../../src/cluster/mergeGroups.js';
import { DEFAULT_POOLED } from '../../../src/cluster/pooled.js';
import {
  Assigner, clusterSubset, coverageTable, DEFAULT_NORMALIZED, NORMALIZED_MIN_GROUP, selectSubset, Via, type FragmentSource, type PoolingRule,
} from '../../../src/cluster/normalizedGraph.js';
import { pooledParams } from '../../../src/pipeline/phase2Pooled.js';
import { evaluateClustering } from '../../../src/evaluate/metrics.js';
import { normalizedOnRanks, shardBlocks, type NormalizedOptions, type NormalizedRankResult } from '../../../src/pipeline/phase2Normalized.js';
import type { ProgressSink } from '../../../src/pipeline/progress.js';
import { randomSeq, rng } from '../../helpers/fixtures.js';
import { featuresOf, simulatePairs, type SimPairs } from '../../helpers/community.js';

const RULE: PoolingRule = { sqrtTransform: true, weight: (a, b) => Math.max(1, Math.max(0, a - 3) + Math.max(0, b - 3)) };
const SILENT: ProgressSink = { phase: () => undefined, update: () => undefined, log: () => undefined, finish: () => undefined };
const OPTS: NormalizedOptions = {
  method: 'graph', graph: DEFAULT_GRAPH, merge: DEFAULT_MERGE, lsh: DEFAULT_LSH,
  pooled: { ...DEFAULT_POOLED, minGroup: NORMALIZED_MIN_GROUP }, normalized: DEFAULT_NORMALIZED,
  k: 'auto', kMin: 2, kMax: 12, seed: 3, nInit: 3, maxIter: 100,
};

/** Three genomes at 45x, 25x and 8x, in shuffled order (every rank holds reads of every genome). */
function community(): SimPairs {
  const r = rng(17);
  const genomes = [randomSeq(20_000, r, 0.36), randomSeq(20_000, r, 0.5), randomSeq(20_000, r, 0.64)];
  const sim = simulatePairs(genomes, [45, 25, 8], 4);
  const order = sim.r1.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return { r1: order.map((i) => sim.r1[i]!), r2: order.map((i) => sim.r2[i]!), source: order.map((i) => sim.source[i]!) };
}

/** Shards of `shardRows` fragments; the source of one rank's block of shards, streamed in batches of `batch` within each shard. */
function rankSources(sim: SimPairs, P: number, shardRows: number, batch: number): FragmentSource[] {
  const f = featuresOf(sim);
  const n = f.sketch.n;
  const d = f.d;
  const rows: number[] = [];
  for (let s = 0; s < n; s += shardRows) rows.push(Math.min(shardRows, n - s));
  return shardBlocks(rows, P).map((blk) => ({
    n, d,
    scan: async (need, fn) => {
      let start = blk.rowBase;
      for (let sh = blk.first; sh < blk.end; sh++) {
        const end = start + rows[sh]!;
        for (let s = start; s < end; s += batch) {
          const m = Math.min(batch, end - s);
          const w0 = f.sketch.offsets[s]!;
          const offsets = new Int32Array(m + 1);
          for (let i = 0; i <= m; i++) offsets[i] = f.sketch.offsets[s + i]! - w0;
          const lengths = new Int32Array(2 * m);
          for (let i = 0; i < m; i++) {
            lengths[2 * i] = sim.r1[s + i]!.length;
            lengths[2 * i + 1] = sim.r2[s + i]!.length;
          }
          await fn({
            start: s, n: m, offsets, hi: f.sketch.hi.slice(w0, f.sketch.offsets[s + m]), lo: f.sketch.lo.slice(w0, f.sketch.offsets[s + m]), shard: sh,
            ...(need.embedding ? { embedding: f.embedding.slice(s * d, (s + m) * d) } : {}),
            ...(need.lengths ? { lengths } : {}),
          });
        }
        start = end;
      }
    },
  }));
}

interface Outcome {
  labels: Int32Array;
  dist: Float32Array;
  /** fragments labelled by each rank, and the shards each rank's labels came from */
  byRank: number[];
  shardsByRank: Set<number>[];
  root: NonNullable<NormalizedRankResult['root']>;
}

async function runOn(colls: Collectives[], sim: SimPairs, shardRows: number): Promise<Outcome> {
  const n = sim.r1.length;
  const labels = new Int32Array(n).fill(-1);
  const dist = new Float32Array(n);
  const srcs = rankSources(sim, colls.length, shardRows, 300);
  const shardsByRank = colls.map(() => new Set<number>());
  const results = await Promise.all(colls.map((c, r) =>
    normalizedOnRanks(c, srcs[r]!, OPTS, RULE, SILENT, (b, l, dd) => {
      for (let i = 0; i < b.n; i++) {
        assert.equal(labels[b.start + i], -1, `fragment ${b.start + i} labelled twice`);
        labels[b.start + i] = l[i]!;
        dist[b.start + i] = dd[i]!;
      }
      shardsByRank[r]!.add(b.shard!);
    })));
  assert.ok(results[0]!.root, 'rank 0 has the run');
  for (const x of results.slice(1)) assert.equal(x.root, null, 'only rank 0 has the run');
  assert.ok(labels.every((l) => l >= 0), 'every fragment labelled once');
  return { labels, dist, byRank: results.map((x) => x.fragments), shardsByRank, root: results[0]!.root };
}

test('normalised graph over the collectives: 2, 3 and 4 loopback ranks give the one-rank labels, distances and clusters', async () => {
  const sim = community();
  const n = sim.r1.length;
  const one = await runOn([localCollectives], sim, 900);
  const ari = evaluateClustering(one.labels, Int32Array.from(sim.source)).ari;
  assert.ok(ari > 0.95, `ARI ${ari}`);
  // the deep genome is subsampled and its other fragments follow the index: all three ways of labelling are exercised
  assert.ok(one.root.subsetN < 0.75 * n, `subset ${one.root.subsetN} of ${n}`);
  assert.ok(one.root.via[Via.Index]! > 0.1 * n, `index ${one.root.via[Via.Index]}`);
  for (const P of [2, 3, 4]) {
    const many = await runOn(loopbackCollectives(P), sim, 900);
    assert.deepEqual(many.labels, one.labels, `labels, ${P} ranks`);
    assert.deepEqual(many.dist, one.dist, `distances, ${P} ranks`);
    assert.equal(many.root.sc.model.k, one.root.sc.model.k);
    assert.deepEqual(many.root.clusterSize, one.root.clusterSize);
    assert.deepEqual(many.root.via, one.root.via);
    assert.equal(many.root.subsetN, one.root.subsetN);
    assert.equal(many.root.tableSize, one.root.tableSize);
    assert.equal(many.root.tableBytes, one.root.tableBytes);
    // centroids: the ranks' partial sums added in rank order (docs/hpc.md: equal up to float64 rounding)
    many.root.centroids.forEach((x, i) => assert.ok(Math.abs(x - one.root.centroids[i]!) <= 1e-6 * Math.max(1e-3, Math.abs(x)), `centroid value ${i}`));
    // every rank labelled its own consecutive shards, and only those
    assert.equal(many.byRank.reduce((a, x) => a + x, 0), n);
    assert.ok(many.byRank.every((x) => x > 0), `fragments per rank ${many.byRank.join(',')}`);
    const seen = many.shardsByRank.flatMap((s) => [...s]);
    assert.deepEqual(seen, [...new Set(seen)].sort((a, b) => a - b), 'shards in rank order, each on one rank');
  }
});

test('normalised graph over the collectives: dropping the keys of one fragment from the coverage table changes no label', async () => {
  const sim = community();
  const one = await runOn([localCollectives], sim, 900);
  // the method's steps on the whole table (every key, singletons included), as before the table was pruned
  const src = rankSources(sim, 1, 900, 300)[0]!;
  const p = OPTS.normalized;
  const table = await coverageTable(src, p.sampling);
  const sc = clusterSubset(await selectSubset(src, table, p, RULE, OPTS.seed), src.d, table, p, RULE, OPTS.graph, OPTS.merge, pooledParams(OPTS));
  const labels = new Int32Array(src.n);
  const dist = new Float32Array(src.n);
  const a = new Assigner(sc.model);
  await src.scan({ embedding: true, lengths: true }, (b) => {
    const l = new Int32Array(b.n);
    const dd = new Float32Array(b.n);
    a.assign(b, l, dd, new Uint8Array(b.n));
    labels.set(l, b.start);
    dist.set(dd, b.start);
  });
  assert.ok(one.root.tableSize < 0.8 * table.size, `pruned ${one.root.tableSize} of ${table.size} keys`);
  assert.deepEqual(one.labels, labels);
  assert.deepEqual(one.dist, dist);
});

test('normalised graph over the collectives: a rank without shards takes part and the labels are the same', async () => {
  const sim = community();
  const shardRows = Math.ceil(sim.r1.length / 3); // 3 shards for 4 ranks
  const one = await runOn([localCollectives], sim, shardRows);
  const four = await runOn(loopbackCollectives(4), sim, shardRows);
  assert.equal(four.byRank.filter((x) => x === 0).length, 1, `fragments per rank ${four.byRank.join(',')}`);
  assert.deepEqual(four.labels, one.labels);
});

test('shard blocks: consecutive, balanced by rows, every shard once', () => {
  assert.deepEqual(shardBlocks([10, 10, 10, 10], 2), [{ first: 0, end: 2, rowBase: 0 }, { first: 2, end: 4, rowBase: 20 }]);
  assert.deepEqual(shardBlocks([10, 10, 10], 4).map((b) => b.end - b.first), [1, 0, 1, 1]); // shard middles at rows 5, 15, 25 of 30
  assert.deepEqual(shardBlocks([100, 5, 5, 5], 2), [{ first: 0, end: 1, rowBase: 0 }, { first: 1, end: 4, rowBase: 100 }]);
  assert.deepEqual(shardBlocks([7], 1), [{ first: 0, end: 1, rowBase: 0 }]);
});

test('loopback collectives: rank-order sums, pieces by source rank, all-to-all by owner, a mismatched call fails', async () => {
  const cs = loopbackCollectives(3);
  const out = await Promise.all(cs.map(async (c) => {
    const sum = await c.sum(Float64Array.of(c.rank, 0.1 * (c.rank + 1)));
    const g = await c.gather(Uint8Array.of(c.rank, 9), 1);
    const ag = await c.allGather(Uint8Array.of(10 + c.rank));
    const b = await c.broadcast(c.rank === 2 ? Uint8Array.of(7, 7) : null, 2);
    const a2a = await c.allToAll(cs.map((_, j) => Uint8Array.of(10 * c.rank + j)));
    await c.barrier();
    return { sum, g, ag, b, a2a };
  }));
  for (const [r, o] of out.entries()) {
    assert.deepEqual(o.sum, Float64Array.of(3, (0.1 + 0.2) + 0.3)); // ((v0 + v1) + v2)
    assert.deepEqual(o.g, r === 1 ? [Uint8Array.of(0, 9), Uint8Array.of(1, 9), Uint8Array.of(2, 9)] : null);
    assert.deepEqual(o.ag, [Uint8Array.of(10), Uint8Array.of(11), Uint8Array.of(12)]);
    assert.deepEqual(o.b, Uint8Array.of(7, 7));
    assert.deepEqual(o.a2a, [Uint8Array.of(r), Uint8Array.of(10 + r), Uint8Array.of(20 + r)]);
  }
  const [x, y] = loopbackCollectives(2);
  const results = await Promise.allSettled([x!.sum(Float64Array.of(1)), y!.barrier()]);
  assert.ok(results.every((q) => q.status === 'rejected'));
  assert.match(String((results[1] as PromiseRejectedResult).reason), /call 0: rank 1 called barrier where another rank called sum/);
});

test('pack / unpack: several typed arrays in one message, aligned for in-place views', () => {
  const msg = pack([Float64Array.of(1.5, -2), new Uint8Array([1, 2, 3]), new Int32Array(0), Float64Array.of(3)]);
  const [a, b, c, d] = unpack(msg);
  assert.deepEqual(asF64(a!), Float64Array.of(1.5, -2));
  assert.deepEqual(b, new Uint8Array([1, 2, 3]));
  assert.equal(c!.byteLength, 0);
  assert.deepEqual(asF64(d!), Float64Array.of(3));
  // a message at an odd offset (as it may arrive) is copied once, not misread
  const shifted = new Uint8Array(msg.byteLength + 1);
  shifted.set(msg, 1);
  assert.deepEqual(asF64(unpack(shifted.subarray(1))[3]!), Float64Array.of(3));
  assert.throws(() => unpack(msg.subarray(0, 20)), /runs past the message/);
});
