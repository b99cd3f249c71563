import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GRAPH } from '../../../src/cluster/graph.js';
import { DEFAULT_MERGE } from '../../../src/cluster/mergeGroups.js';
import { MinimizerTable } from '../../../src/cluster/minimizerTable.js';
import {
  Assigner, clusterSubset, coverageTable, DEFAULT_NORMALIZED, fragmentCoin, selectSubset, Via,
  type FragmentSource, type NormalizedGraphParams, type PoolingRule,
} from '../../../src/cluster/normalizedGraph.js';
import { DEFAULT_POOLED } from '../../../src/cluster/pooled.js';
import { evaluateClustering } from '../../../src/evaluate/metrics.js';
import { randomSeq, rng } from '../../helpers/fixtures.js';
import { featuresOf, majority, simulatePairs, type SimPairs } from '../../helpers/community.js';

const RULE: PoolingRule = { sqrtTransform: true, weight: (a, b) => Math.max(1, Math.max(0, a - 3) + Math.max(0, b - 3)) };

/** The simulated fragments as a source streamed in batches of `batch`. */
function sourceOf(sim: SimPairs, batch: number): FragmentSource {
  const f = featuresOf(sim);
  const n = f.sketch.n;
  const d = f.d;
  return {
    n,
    d,
    scan: async (need, fn) => {
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        const w0 = f.sketch.offsets[start]!;
        const w1 = f.sketch.offsets[start + m]!;
        const offsets = new Int32Array(m + 1);
        for (let i = 0; i <= m; i++) offsets[i] = f.sketch.offsets[start + i]! - w0;
        const lengths = new Int32Array(2 * m);
        for (let i = 0; i < m; i++) {
          lengths[2 * i] = sim.r1[start + i]!.length;
          lengths[2 * i + 1] = sim.r2[start + i]!.length;
        }
        await fn({
          start, n: m, offsets, hi: f.sketch.hi.slice(w0, w1), lo: f.sketch.lo.slice(w0, w1),
          ...(need.embedding ? { embedding: f.embedding.slice(start * d, (start + m) * d) } : {}),
          ...(need.lengths ? { lengths } : {}),
        });
      }
    },
  };
}

/** The whole method over a source: labels of every fragment, how each was decided, and the model. */
async function runMethod(src: FragmentSource, opts: { k?: number | 'auto'; seed?: number; params?: Partial<NormalizedGraphParams> } = {}) {
  const p = { ...DEFAULT_NORMALIZED, ...opts.params };
  const seed = opts.seed ?? 1;
  const table = await coverageTable(src, p.sampling);
  const sub = await selectSubset(src, table, p, RULE, seed);
  const sc = clusterSubset(sub, src.d, table, p, RULE, DEFAULT_GRAPH, DEFAULT_MERGE, {
    ...DEFAULT_POOLED, k: opts.k ?? 'auto', kMin: 2, kMax: 8, seed, nInit: 3, maxIter: 100,
  });
  const labels = new Int32Array(src.n);
  const via = new Uint8Array(src.n);
  const a = new Assigner(sc.model);
  await src.scan({ embedding: true, lengths: true }, (b) => {
    const l = new Int32Array(b.n);
    const v = new Uint8Array(b.n);
    a.assign(b, l, new Float32Array(b.n), v);
    labels.set(l, b.start);
    via.set(v, b.start);
  });
  return { labels, via, sub, sc, table };
}

function ari(labels: Int32Array, source: number[]): number {
  return evaluateClustering(labels, Int32Array.from(source)).ari;
}

test('minimizer table: counts, growth past its first capacity, labels claimed last-wins', () => {
  const t = new MinimizerTable(1024);
  for (let i = 0; i < 5000; i++) for (let r = 0; r <= i % 3; r++) t.add(i * 7919, i * 104729);
  assert.equal(t.size, 5000);
  assert.ok(t.capacity >= 10_000);
  for (let i = 0; i < 5000; i += 97) assert.equal(t.count(i * 7919, i * 104729), (i % 3) + 1);
  assert.equal(t.count(1, 2), 0);
  t.attachLabels();
  assert.equal(t.label(7919, 104729), -1);
  t.claim(7919, 104729, 3);
  t.claim(7919, 104729, 5);
  t.claim(1, 2, 4); // absent: no effect
  assert.equal(t.label(7919, 104729), 5);
  assert.equal(t.label(1, 2), -1);
  assert.throws(() => t.add(1, 2), /no new keys/);
});

test('subset coin: uniform, order-free, seed-dependent', () => {
  let below = 0;
  for (let i = 0; i < 100_000; i++) if (fragmentCoin(i, 7) < 0.25) below++;
  assert.ok(Math.abs(below / 100_000 - 0.25) < 0.01, `${below}`);
  assert.equal(fragmentCoin(12345, 7), fragmentCoin(12345, 7));
  assert.notEqual(fragmentCoin(12345, 7), fragmentCoin(12345, 8));
});

test('normalised graph: two genomes are separated with K auto; a deep genome is subsampled, the rest follows the index', async () => {
  const r = rng(21);
  const genomes = [randomSeq(30_000, r, 0.38), randomSeq(30_000, r, 0.6)];
  const sim = simulatePairs(genomes, [60, 8], 3);
  const { labels, via, sub, sc } = await runMethod(sourceOf(sim, 700));
  assert.equal(sc.model.k, 2);
  assert.ok(ari(labels, sim.source) > 0.97, `ARI ${ari(labels, sim.source)}`);
  // the 60x genome is cut to about the target coverage; the 8x one is kept whole
  const kept = [0, 0];
  for (const f of sub.index) kept[sim.source[f]!]!++;
  const total = [sim.source.filter((s) => s === 0).length, sim.source.filter((s) => s === 1).length];
  assert.ok(kept[0]! / total[0]! < 0.45, `deep genome kept ${kept[0]}/${total[0]}`);
  assert.ok(kept[1]! / total[1]! > 0.95, `shallow genome kept ${kept[1]}/${total[1]}`);
  const byIndex = Array.from(via).filter((v) => v === (Via.Index as number)).length;
  assert.ok(byIndex > 0.5 * total[0]!, `${byIndex} labelled through the minimizer index`);
});

test('normalised graph: batch size and order of passes do not change the labels (engine independence)', async () => {
  const r = rng(5);
  const genomes = [randomSeq(20_000, r, 0.4), randomSeq(20_000, r, 0.55)];
  const sim = simulatePairs(genomes, [40, 10], 9);
  const a = await runMethod(sourceOf(sim, 97));
  const b = await runMethod(sourceOf(sim, 5000));
  assert.deepEqual(a.labels, b.labels);
});

test('normalised graph: a shared repeat does not join two genomes', async () => {
  const r = rng(31);
  const repeat = randomSeq(1500, r, 0.5);
  const a = randomSeq(15_000, r, 0.4);
  const b = randomSeq(15_000, r, 0.58);
  const genomes = [a.slice(0, 7000) + repeat + a.slice(7000), b.slice(0, 9000) + repeat + b.slice(9000)];
  const sim = simulatePairs(genomes, [30, 30], 4);
  const { labels } = await runMethod(sourceOf(sim, 1000));
  const m0 = majority(labels, sim.source, 0);
  const m1 = majority(labels, sim.source, 1);
  assert.notEqual(m0.cluster, m1.cluster);
  // the repeat's read group joins one side (with the reads overlapping it): measured 1.0 and 0.77 for seed 4;
  // docs/graph.md "Where it fails"
  assert.ok(m0.fraction > 0.75 && m1.fraction > 0.75, `${m0.fraction} ${m1.fraction}`);
});

test('normalised graph: a 1000x genome beside a 1x genome: both get their own cluster', async () => {
  const r = rng(41);
  const phage = randomSeq(4000, r, 0.5);
  const low = randomSeq(60_000, r, 0.36);
  const sim = simulatePairs([phage, low], [1000, 1], 6);
  const { labels, sub } = await runMethod(sourceOf(sim, 2048), { k: 'auto' });
  const mp = majority(labels, sim.source, 0);
  const ml = majority(labels, sim.source, 1);
  assert.notEqual(mp.cluster, ml.cluster);
  assert.ok(mp.fraction > 0.95, `phage ${mp.fraction}`);
  assert.ok(ml.fraction > 0.7, `1x genome ${ml.fraction}`);
  // the graph holds a small part of the phage: memory follows its content, not its 10,000 fragments
  const phageKept = Array.from(sub.index).filter((f) => sim.source[f] === 0).length;
  assert.ok(phageKept < 0.1 * sim.source.filter((s) => s === 0).length, `phage fragments in the graph: ${phageKept}`);
});

test('normalised graph: a strain pair stays one cluster beside another species', async () => {
  const r = rng(51);
  const strainA = randomSeq(25_000, r, 0.45);
  // strain B: 1% substitutions
  let strainB = '';
  for (const ch of strainA) strainB += r() < 0.01 ? 'ACGT'[('ACGT'.indexOf(ch) + 1) % 4] : ch;
  const other = randomSeq(25_000, r, 0.62);
  const sim = simulatePairs([strainA, strainB, other], [10, 10, 10], 8);
  const { labels } = await runMethod(sourceOf(sim, 1000));
  const species = sim.source.map((s) => (s === 2 ? 1 : 0));
  assert.ok(ari(labels, species) > 0.9, `species ARI ${ari(labels, species)}`);
});

test('normalised graph: a genome seen only as singletons gets its own cluster', async () => {
  const r = rng(61);
  const genomes = [randomSeq(30_000, r, 0.35), randomSeq(30_000, r, 0.5), randomSeq(200_000, r, 0.66)];
  const sim = simulatePairs(genomes, [8, 8, 0.3], 12);
  const { labels } = await runMethod(sourceOf(sim, 1000));
  const m2 = majority(labels, sim.source, 2);
  assert.notEqual(m2.cluster, majority(labels, sim.source, 0).cluster);
  assert.notEqual(m2.cluster, majority(labels, sim.source, 1).cluster);
  assert.ok(m2.fraction > 0.8, `singleton genome ${m2.fraction}`);
});

test('normalised graph: more reads of the same community do not make it worse', async () => {
  const r = rng(71);
  const genomes = [randomSeq(40_000, r, 0.4), randomSeq(40_000, r, 0.47), randomSeq(40_000, r, 0.55)];
  const shares = [1, 0.3, 0.1];
  const scores: number[] = [];
  for (const depth of [2, 20]) {
    const sim = simulatePairs(genomes, shares.map((s) => s * depth), 13);
    scores.push(ari((await runMethod(sourceOf(sim, 1000))).labels, sim.source));
  }
  assert.ok(scores[1]! >= scores[0]! - 0.01, `ARI ${scores.join(' -> ')}`);
  assert.ok(scores[1]! > 0.9, `ARI at depth ${scores[1]}`);
});
