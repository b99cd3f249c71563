import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  candidatePairs, chooseLabel, countedEdges, countPairs, buildGraph, distinctEdges, heaviestHalfEdges, labelPropagation, readGroups, DEFAULT_GRAPH,
} from '../../../src/cluster/graph.js';
import { mergeGroups, DEFAULT_MERGE } from '../../../src/cluster/mergeGroups.js';
import { clusterPooled, DEFAULT_POOLED, pooledNoise } from '../../../src/cluster/pooled.js';
import { lshBuckets } from '../../../src/cluster/lsh.js';
import { Rng } from '../../../src/cluster/rng.js';
import { evaluateClustering } from '../../../src/evaluate/metrics.js';
import { DEFAULT_SKETCH, fragmentSketch, SketchScratch } from '../../../src/sketch/minimizers.js';
import { randomSeq, revcomp, rng } from '../../helpers/fixtures.js';
import { featuresOf, majority, simulatePairs } from '../../helpers/community.js';

const enc = new TextEncoder();
const POOLED = { ...DEFAULT_POOLED, kMin: 2, kMax: 8, seed: 1, nInit: 3, maxIter: 100 };

function sketchOf(s: string): string[] {
  const b = enc.encode(s);
  const out = new Uint32Array(2 * b.length);
  const m = fragmentSketch(DEFAULT_SKETCH, new SketchScratch(), b, 0, b.length, undefined, 0, 0, out, 0);
  const list: string[] = [];
  for (let i = 0; i < m; i++) list.push(`${out[2 * i]}:${out[2 * i + 1]}`);
  return list;
}

/** Whole method on simulated pairs: graph -> merge -> pooled clustering. */
function runGraphMethod(genomes: string[], coverage: number[], seed: number, k: number | 'auto', pooled: { minGroup?: number } = {}) {
  const sim = simulatePairs(genomes, coverage, seed);
  const f = featuresOf(sim);
  const g = readGroups(f.sketch, { ...DEFAULT_GRAPH, seed });
  const mg = mergeGroups(g.graph, g.group, g.groups, f.embedding, f.weight, f.d, DEFAULT_MERGE);
  const res = clusterPooled(
    { n: f.sketch.n, d: f.d, embedding: f.embedding, weight: f.weight, occurrence: g.occurrence, group: mg.group, groups: mg.groups, sqrtTransform: true },
    { ...POOLED, ...pooled, k, seed },
  );
  return { sim, g, mg, res };
}

test('minimizer sketch: strand-independent, shared by overlapping reads, none from N runs', () => {
  const r = rng(3);
  const g = randomSeq(400, r);
  const a = g.slice(0, 150);
  const b = g.slice(60, 210); // 90 bp overlap
  const c = randomSeq(150, r);
  assert.deepEqual(sketchOf(a), sketchOf(revcomp(a)));
  const sa = new Set(sketchOf(a));
  const shared = sketchOf(b).filter((x) => sa.has(x)).length;
  assert.ok(shared >= 3, `overlapping reads share ${shared} minimizers`);
  assert.equal(sketchOf(c).filter((x) => sa.has(x)).length, 0);
  assert.equal(sketchOf('N'.repeat(150)).length, 0);
  // sorted and distinct
  const list = sketchOf(g);
  assert.equal(new Set(list).size, list.length);
});

test('graph: two genomes without shared k-mers never share a read group', () => {
  const r = rng(11);
  const genomes = [randomSeq(30_000, r, 0.4), randomSeq(30_000, r, 0.6)];
  const sim = simulatePairs(genomes, [8, 8], 5);
  const f = featuresOf(sim);
  const g = readGroups(f.sketch, { ...DEFAULT_GRAPH, seed: 1 });
  const owner = new Map<number, number>();
  for (let i = 0; i < sim.source.length; i++) {
    const prev = owner.get(g.group[i]!);
    if (prev !== undefined) assert.equal(prev, sim.source[i], `group ${g.group[i]} mixes genomes`);
    owner.set(g.group[i]!, sim.source[i]!);
  }
  assert.ok(g.groups < sim.source.length / 5, `reads pooled into ${g.groups} groups`);
});

test('graph method: two genomes, K auto finds both', () => {
  const r = rng(12);
  const { sim, res } = runGraphMethod([randomSeq(40_000, r, 0.35), randomSeq(40_000, r, 0.6)], [6, 6], 7, 'auto');
  assert.equal(res.k, 2);
  assert.ok(evaluateClustering(res.labels, Int32Array.from(sim.source)).ari > 0.95);
});

test('graph method: a repeat shared by two genomes does not merge them', () => {
  const r = rng(13);
  const repeat = randomSeq(1500, r, 0.5);
  const a = randomSeq(30_000, r, 0.35);
  const b = randomSeq(30_000, r, 0.62);
  const genomes = [a.slice(0, 15_000) + repeat + a.slice(15_000), b.slice(0, 12_000) + repeat + b.slice(12_000)];
  const { sim, res, g } = runGraphMethod(genomes, [10, 10], 9, 2);
  // the overlap graph does join them (the repeat's reads overlap reads of both genomes) ...
  const pairs = candidatePairs(featuresOf(sim).sketch, DEFAULT_GRAPH.maxOccurrence);
  const edges = countPairs([pairs], DEFAULT_GRAPH.minShared);
  let cross = 0;
  for (let i = 0; i < edges.count; i++) if (sim.source[edges.a[i]!] !== sim.source[edges.b[i]!]) cross++;
  assert.ok(cross > 0, 'the repeat links the genomes in the graph');
  // ... but the clusters keep them apart
  const ma = majority(res.labels, sim.source, 0);
  const mb = majority(res.labels, sim.source, 1);
  assert.notEqual(ma.cluster, mb.cluster);
  assert.ok(ma.fraction > 0.9 && mb.fraction > 0.9, `majority fractions ${ma.fraction}, ${mb.fraction}`);
  assert.ok(g.groups > 2);
});

test('graph method: a low-coverage genome keeps its own cluster', () => {
  const r = rng(14);
  const { sim, res } = runGraphMethod([randomSeq(40_000, r, 0.35), randomSeq(40_000, r, 0.65)], [10, 0.6], 3, 2);
  const hi = majority(res.labels, sim.source, 0);
  const lo = majority(res.labels, sim.source, 1);
  assert.notEqual(hi.cluster, lo.cluster);
  assert.ok(lo.fraction > 0.8, `low-coverage genome: ${lo.fraction} in its majority cluster`);
});

test('graph method: K auto gives a genome seen only in singletons its own cluster (every group clustered)', () => {
  // genome 2 at 0.3x: its pairs barely overlap anything, so it has no group of 5; with --min-group 5 (the old
  // default) only the two 8x genomes were clustered and its reads had to join one of them
  const r = rng(16);
  const genomes = [randomSeq(30_000, r, 0.32), randomSeq(30_000, r, 0.68), randomSeq(60_000, r, 0.5)];
  const { sim, res: all } = runGraphMethod(genomes, [8, 8, 0.3], 17, 'auto');
  const truth = Int32Array.from(sim.source);
  assert.equal(DEFAULT_POOLED.minGroup, 1);
  assert.equal(all.k, 3, `K auto chose ${all.k}`);
  const lo = majority(all.labels, sim.source, 2);
  assert.ok(lo.fraction > 0.8, `low-coverage genome: ${lo.fraction} in its majority cluster`);
  assert.notEqual(lo.cluster, majority(all.labels, sim.source, 0).cluster);
  assert.notEqual(lo.cluster, majority(all.labels, sim.source, 1).cluster);
  assert.ok(evaluateClustering(all.labels, truth).ari > 0.95);
  // the same with only groups of 5+ clustered finds two clusters: the low-coverage genome is merged away
  const coreOnly = runGraphMethod(genomes, [8, 8, 0.3], 17, 'auto', { minGroup: 5 }).res;
  assert.equal(coreOnly.k, 2);
});

test('pooled sampling noise: overlapping reads count once per coverage, a singleton always counts', () => {
  const d = 136;
  // 10 fragments, 2,900 pooled k-mers, mean occurrence 5: the group re-samples its bases 5 times
  assert.equal(pooledNoise(d, 2900, 10, 50), (d / 4) * 5 / 2900);
  // a singleton of a 1000x genome (its minimizers all seen ~1000 times) is still one independent sample
  assert.equal(pooledNoise(d, 290, 1, 1000), (d / 4) / 290);
  // 3 fragments at 40x overlap at most 3-fold
  assert.equal(pooledNoise(d, 870, 3, 120), (d / 4) * 3 / 870);
  // no abundance signal: k-mers only
  assert.equal(pooledNoise(d, 290, 1), (d / 4) / 290);
});

test('graph method: K auto still finds a genome whose reads are all singletons at very high coverage', () => {
  // a 4 kb genome at 500x: each of its minimizers is in more than --max-occurrence fragments, so its reads
  // make no edges and stay singletons, with a mean occurrence in the hundreds (the 1000x phage of a 1M-pair
  // community). Counting them as 500-fold redundant inflated the noise so much that K auto stopped at 2, with
  // the two 8x genomes in one cluster.
  const r = rng(18);
  const genomes = [randomSeq(30_000, r, 0.32), randomSeq(30_000, r, 0.68), randomSeq(4_000, r, 0.5)];
  const { sim, res, mg } = runGraphMethod(genomes, [8, 8, 500], 19, 'auto');
  const phage = sim.source.map((s, i) => (s === 2 ? mg.group[i]! : -1)).filter((x) => x >= 0);
  assert.ok(new Set(phage).size > 0.9 * phage.length, 'the high-coverage genome is (almost) all singletons');
  const why = `K auto chose ${res.k} (${res.selection.method === 'elbow' ? res.selection.reason : ''})`;
  const lo = majority(res.labels, sim.source, 0);
  const hi = majority(res.labels, sim.source, 1);
  const ph = majority(res.labels, sim.source, 2);
  assert.equal(new Set([lo.cluster, hi.cluster, ph.cluster]).size, 3, why);
  assert.ok(lo.fraction > 0.9 && hi.fraction > 0.9, `${why}; majority fractions ${lo.fraction}, ${hi.fraction}, phage ${ph.fraction}`);
  // (the phage's singletons vary in occurrence more than the composition noise model allows, so K auto may
  // split them: K is 3-5 depending on the seed)
});

test('graph method: same seed, same labels', () => {
  const r = rng(15);
  const genomes = [randomSeq(20_000, r, 0.4), randomSeq(20_000, r, 0.55), randomSeq(20_000, r, 0.3)];
  const x = runGraphMethod(genomes, [5, 5, 5], 21, 'auto');
  const y = runGraphMethod(genomes, [5, 5, 5], 21, 'auto');
  assert.deepEqual(x.res.labels, y.res.labels);
  assert.deepEqual(x.g.group, y.g.group);
});

test('partitioned graph build equals the single-partition build', () => {
  const r = rng(16);
  const f = featuresOf(simulatePairs([randomSeq(20_000, r, 0.45)], [6], 2));
  const one = countPairs([candidatePairs(f.sketch, 200)], 3);
  const parts = [0, 1, 2].map((p) => candidatePairs(f.sketch, 200, p, 3));
  const three = countPairs(parts, 3);
  assert.deepEqual(three, one);
});

test('edges counted in parts of first fragments equal the edges counted at once, with the same occurrences', () => {
  const r = rng(17);
  // two genomes, one with a repeat above the occurrence cap, so repeats and singletons are both present
  const rep = randomSeq(300, r, 0.5);
  const f = featuresOf(simulatePairs([randomSeq(15_000, r, 0.45) + rep + rep + rep, randomSeq(8_000, r, 0.6)], [9, 3], 5));
  const pairs = candidatePairs(f.sketch, 12);
  const once = countPairs([pairs], 3);
  for (const perPart of [1, 500, 10_000, 1e9]) {
    const ce = countedEdges(f.sketch, 12, 3, perPart);
    assert.deepEqual(ce.edges, once, `parts of ${perPart} pairs`);
    assert.equal(ce.candidatePairs, pairs.count);
    assert.deepEqual(ce.occSum, pairs.occSum);
    assert.deepEqual(ce.occN, pairs.occN);
    assert.equal(ce.repeats, pairs.repeats);
    assert.equal(ce.minimizers, pairs.minimizers);
    if (perPart === 500) assert.ok(ce.parts > 3, `${ce.parts} parts`);
    if (perPart === 1e9) assert.equal(ce.parts, 1);
  }
  assert.ok(pairs.repeats > 0);
});

test('degree cap per node owner + distinct edges rebuild the local graph exactly', () => {
  const r = rng(17);
  const f = featuresOf(simulatePairs([randomSeq(20_000, r, 0.45)], [12], 3));
  const n = f.sketch.n;
  const edges = countPairs([candidatePairs(f.sketch, 200)], 2);
  const local = buildGraph(n, edges, 5);
  // owners of node ranges [0, n/3), [n/3, 2n/3), [2n/3, n): each caps its nodes' half-edges (given in a
  // scrambled order), the kept edges from both ends are deduplicated
  const cuts = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
  const ka: number[] = [];
  const kb: number[] = [];
  const kw: number[] = [];
  for (let p = 0; p < 3; p++) {
    const [s0, s1] = [cuts[p]!, cuts[p + 1]!];
    const half: [number, number, number][] = [];
    for (let i = edges.count - 1; i >= 0; i--) {
      for (const [v, u] of [[edges.a[i]!, edges.b[i]!], [edges.b[i]!, edges.a[i]!]] as const) if (v >= s0 && v < s1) half.push([v, u, edges.w[i]!]);
    }
    const start = new Int32Array(s1 - s0 + 1);
    for (const [v] of half) start[v - s0 + 1]!++;
    for (let v = 0; v < s1 - s0; v++) start[v + 1]! += start[v]!;
    const fill = start.slice(0, s1 - s0);
    const nb = new Uint32Array(half.length);
    const hw = new Uint32Array(half.length);
    for (const [v, u, w] of half) {
      nb[fill[v - s0]!] = u;
      hw[fill[v - s0]!++] = w;
    }
    const keep = heaviestHalfEdges(s1 - s0, start, nb, hw, 5);
    for (let v = 0; v < s1 - s0; v++) {
      for (let j = start[v]!; j < start[v + 1]!; j++) {
        if (!keep[j]) continue;
        ka.push(Math.min(s0 + v, nb[j]!));
        kb.push(Math.max(s0 + v, nb[j]!));
        kw.push(hw[j]!);
      }
    }
  }
  const kept = distinctEdges(Uint32Array.from(ka), Uint32Array.from(kb), Uint32Array.from(kw));
  assert.ok(kept.count < edges.count, 'the cap removed edges');
  assert.deepEqual(buildGraph(n, kept, n), local);
});

test('chooseLabel, swept in labelPropagation\'s order, is labelPropagation', () => {
  const r = rng(18);
  const f = featuresOf(simulatePairs([randomSeq(15_000, r, 0.4), randomSeq(15_000, r, 0.6)], [8, 5], 4));
  const n = f.sketch.n;
  const g = buildGraph(n, countPairs([candidatePairs(f.sketch, 200)], 3), 6);
  const seed = 9;
  const want = labelPropagation(g, 30, seed);
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rand.nextInt(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const labels = Int32Array.from({ length: n }, (_, i) => i);
  const ref = Int32Array.from(g.nbr);
  const w = Uint32Array.from(g.w);
  const labs = new Int32Array(n);
  const ws = new Float64Array(n);
  let sweeps = 0;
  for (let changed = 1; changed > 0 && sweeps < 30; ) {
    sweeps++;
    changed = 0;
    for (const v of order) {
      const best = chooseLabel(labels[v]!, v, sweeps, seed, labels, ref, w, g.start[v]!, g.start[v + 1]!, labs, ws);
      if (best !== labels[v]) {
        labels[v] = best;
        changed++;
      }
    }
  }
  assert.equal(sweeps, want.iterations);
  const map = new Map<number, number>();
  const group = Int32Array.from(labels, (l) => {
    if (!map.has(l)) map.set(l, map.size);
    return map.get(l)!;
  });
  assert.deepEqual(group, want.group);
});

test('label propagation: two cliques joined by one edge stay two groups', () => {
  // nodes 0-4 and 5-9 fully connected (weight 5), one bridge 4-5 (weight 5)
  const a: number[] = [];
  const b: number[] = [];
  const w: number[] = [];
  for (const base of [0, 5]) {
    for (let i = 0; i < 5; i++) {
      for (let j = i + 1; j < 5; j++) {
        a.push(base + i);
        b.push(base + j);
        w.push(5);
      }
    }
  }
  a.push(4);
  b.push(5);
  w.push(5);
  const g = buildGraph(10, { a: Uint32Array.from(a), b: Uint32Array.from(b), w: Uint32Array.from(w), count: a.length }, 32);
  const lp = labelPropagation(g, 30, 1);
  assert.equal(lp.groups, 2);
  assert.deepEqual(Array.from(lp.group), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
});

test('lsh buckets: deterministic; identical rows share a bucket', () => {
  const r = rng(17);
  const n = 200;
  const d = 8;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) x[i * d + t] = i % 2 === 0 ? r() : r() + 5 * (t % 2);
  x.set(x.subarray(0, d), 10 * d); // row 10 = row 0
  const p = { bands: 4, bits: 12, seed: 3 };
  const one = lshBuckets(x, n, d, p);
  const two = lshBuckets(x, n, d, p);
  assert.deepEqual(one.group, two.group);
  assert.equal(one.group[0], one.group[10]);
});
