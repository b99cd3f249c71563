/**
 * The exchanges of the coverage-normalised graph method (normalizedGraph.ts) between ranks, written over the
 * Collectives (collectives.ts): with one rank each is the identity, so the local engine runs the same code.
 * docs/scaling.md "The coverage-normalised graph method on P ranks" gives their volumes.
 *
 *  - pass 1: each rank counts its own fragments' sampled minimizers; the tables are summed by minimizer owner
 *    (hi mod P, an all-to-all) and the owners' sums are gathered by every rank (the table is replicated: each
 *    rank needs the count of every minimizer its fragments carry, in passes 2 and 3).
 *  - pass 2: each rank selects its own fragments (the coin is a hash of the global fragment index); the
 *    subsets are gathered on the root in rank order, which is global order when ranks hold consecutive shards.
 *  - the root clusters the subset; the model (centres, the minimizer -> cluster index) is broadcast and each
 *    rank gets back the labels of its own subset fragments.
 */
import { asF32, asF64, asI32, asU32, pack, unpack, type Collectives } from './collectives.js';
import { MinimizerTable } from './minimizerTable.js';
import type { AssignModel, NormalizedGraphParams, Subset, SubsetClustering } from './normalizedGraph.js';

/** Minimizer (hi, lo, count) triples of the keys counted at least `minCount` times, per owner rank (hi mod P). */
function triplesByOwner(t: MinimizerTable, P: number, minCount = 1): Uint8Array[] {
  const counts = new Int32Array(P);
  t.forEach((hi, _lo, c) => {
    if (c >= minCount) counts[hi % P]!++;
  });
  const out = Array.from(counts, (c) => new Uint32Array(3 * c));
  const at = new Int32Array(P);
  t.forEach((hi, lo, c) => {
    if (c < minCount) return;
    const r = hi % P;
    const a = out[r]!;
    const o = at[r]!;
    a[o] = hi;
    a[o + 1] = lo;
    a[o + 2] = c;
    at[r] = o + 3;
  });
  return out.map((a) => new Uint8Array(a.buffer));
}

/** Adds (hi, lo, count) triples (bytes of a Uint32Array) to `t`. */
function addTriples(t: MinimizerTable, bytes: Uint8Array): void {
  const w = bytes.byteOffset % 4 === 0 ? asU32(bytes) : asU32(bytes.slice());
  for (let i = 0; i + 2 < w.length; i += 3) t.add(w[i]!, w[i + 1]!, w[i + 2]);
}

/**
 * Pass 1 over the ranks: the coverage table of every rank's fragments, on every rank, without the keys seen in
 * one fragment only. Those are most of the table (52% on the dev community, more with depth: sequencing
 * errors) and change nothing: a fragment's own sampled minimizers were all counted, so an absent one counts 1
 * (fragmentCoverage), and a key no other fragment carries gives no other fragment a vote in the index. The
 * result holds the same keys and counts whatever P (its capacity, and so `bytes`, depends on the number of
 * keys only), so the labels do not depend on P.
 */
export async function sumCoverageTables(c: Collectives, local: MinimizerTable): Promise<MinimizerTable> {
  const table = new MinimizerTable(1 << 20);
  if (c.size === 1) {
    local.forEach((hi, lo, n) => {
      if (n > 1) table.add(hi, lo, n);
    });
    return table;
  }
  const got = await c.allToAll(triplesByOwner(local, c.size));
  const owned = new MinimizerTable(1 << 16);
  for (const g of got) addTriples(owned, g);
  const parts = await c.allGather(triplesByOwner(owned, 1, 2)[0]!);
  for (const p of parts) addTriples(table, p);
  return table;
}

/** A subset as one message (its arrays, in Subset's order). */
function packSubset(s: Subset): Uint8Array {
  return pack([s.index, s.offsets, s.hi, s.lo, s.embedding, s.weight, s.coverage]);
}

/**
 * Pass 2's result on the root: every rank's subset, concatenated in rank order (global order: ranks hold
 * consecutive fragments), and how many fragments each rank contributed. Null on the other ranks.
 */
export async function gatherSubset(c: Collectives, mine: Subset, d: number): Promise<{ subset: Subset; counts: number[] } | null> {
  if (c.size === 1) return { subset: mine, counts: [mine.n] };
  const pieces = await c.gather(packSubset(mine), 0);
  if (!pieces) return null;
  const parts = pieces.map((p) => {
    const [index, offsets, hi, lo, embedding, weight, coverage] = unpack(p);
    return { index: asF64(index!), offsets: asI32(offsets!), hi: asU32(hi!), lo: asU32(lo!), embedding: asF32(embedding!), weight: asF64(weight!), coverage: asF64(coverage!) };
  });
  const counts = parts.map((q) => q.index.length);
  const n = counts.reduce((a, x) => a + x, 0);
  const words = parts.reduce((a, q) => a + q.hi.length, 0);
  const s: Subset = {
    n, index: new Float64Array(n), offsets: new Int32Array(n + 1), hi: new Uint32Array(words), lo: new Uint32Array(words),
    embedding: new Float32Array(n * d), weight: new Float64Array(n), coverage: new Float64Array(n),
  };
  let f = 0;
  let w = 0;
  for (const q of parts) {
    const m = q.index.length;
    if (q.offsets.length !== m + 1 || q.embedding.length !== m * d) throw new Error(`normalised graph: a rank's subset of ${m} fragments is malformed`);
    s.index.set(q.index, f);
    for (let i = 1; i <= m; i++) s.offsets[f + i] = w + q.offsets[i]!;
    s.hi.set(q.hi, w);
    s.lo.set(q.lo, w);
    s.embedding.set(q.embedding, f * d);
    s.weight.set(q.weight, f);
    s.coverage.set(q.coverage, f);
    f += m;
    w += q.hi.length;
  }
  return { subset: s, counts };
}

/**
 * The model on every rank after the root clustered the subset (`sc`, null elsewhere): K, the coverage scale
 * and the feature-space centres, the minimizer -> cluster index (the labelled keys, claimed in each rank's
 * copy of the table), and the labels and distances of the rank's own subset fragments (`mine`; the root sends
 * each rank its slice, `counts` per rank). The root's table is the one `sc` labelled.
 */
export async function shareModel(
  c: Collectives, sc: SubsetClustering | null, table: MinimizerTable, mine: Subset, counts: number[] | null, p: NormalizedGraphParams, sqrtTransform: boolean, d: number,
): Promise<AssignModel> {
  const root = c.rank === 0;
  if (c.size === 1) {
    if (!sc) throw new Error('normalised graph: one rank and no model');
    return sc.model;
  }
  let header: Uint8Array | null = null;
  if (root) {
    if (!sc || !counts) throw new Error('normalised graph: the root has no model');
    const labelled: number[] = [];
    table.forEachLabel((hi, lo, l) => labelled.push(hi, lo, l));
    header = pack([Float64Array.of(sc.model.k, sc.model.coverageScale), sc.model.clustering.featureCentroids, Uint32Array.from(labelled)]);
  }
  const [kc, centres, claims] = unpack(await c.broadcast(header, 0));
  const [k, coverageScale] = asF64(kc!);
  if (!root) {
    table.attachLabels();
    const w = asU32(claims!);
    for (let i = 0; i + 2 < w.length; i += 3) table.claim(w[i]!, w[i + 1]!, w[i + 2]!);
  }
  // the labels and distances of each rank's subset fragments, from the root (consecutive slices, rank order)
  const send: Uint8Array[] = Array.from({ length: c.size }, () => new Uint8Array(0));
  if (root) {
    let o = 0;
    counts!.forEach((m, j) => {
      send[j] = pack([sc!.model.subsetLabel.subarray(o, o + m), sc!.model.subsetDist.subarray(o, o + m)]);
      o += m;
    });
  }
  const [labels, dist] = unpack((await c.allToAll(send))[0]!);
  const subsetLabel = asI32(labels!);
  if (subsetLabel.length !== mine.n) throw new Error(`normalised graph: rank ${c.rank} received ${subsetLabel.length} subset labels for its ${mine.n} subset fragments`);
  return {
    d, k: k!, sampling: p.sampling, sqrtTransform, coverageScale: coverageScale!, table,
    subsetIndex: mine.index, subsetLabel, subsetDist: asF32(dist!),
    clustering: { featureCentroids: Float64Array.from(asF64(centres!)) },
  };
}
