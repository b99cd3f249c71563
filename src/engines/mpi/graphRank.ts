/**
 * The pooled methods (graph, lsh) over MPI ranks: this module only moves postings, pairs, edges and rows
 * between ranks and reduces; every computation is a stage function of src/cluster (the same ones the local
 * engine runs). Fragments are owned by the rank holding their row (`parts`, block-aligned like k-means);
 * minimizers by hi % P; candidate pairs by a hash of the pair; groups by group % P. docs/graph.md
 * "Partitioning" and docs/scaling.md describe the data flow and its volume.
 */
import {
  buildGraph, chooseLabel, countPairs, tieKey, distinctEdges, heaviestHalfEdges, pairsFromPostings, type Graph, type GraphParams, type SketchSet,
} from '../../cluster/graph.js';
import { groupLinksOf } from '../../cluster/mergeGroups.js';
import { poolGroups, type GroupPool } from '../../cluster/pooled.js';
import type { MpiComm } from './comm.js';

export interface RowPart {
  start: number;
  end: number;
}

/** Owner rank of global fragment f (parts: contiguous ranges in rank order). */
function fragmentOwner(parts: RowPart[], f: number): number {
  let lo = 0;
  let hi = parts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (parts[mid]!.start <= f) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Owner rank of the candidate pair (a, b): a hash, so that pairs spread evenly whatever the fragment order. */
function pairOwner(a: number, b: number, P: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) % P;
}

/** Word offsets of each destination in a send buffer with counts[j] words for rank j. */
function offsets(counts: Int32Array): Int32Array {
  const o = new Int32Array(counts.length);
  for (let j = 1; j < counts.length; j++) o[j] = o[j - 1]! + counts[j - 1]!;
  return o;
}

/**
 * Step 1 over the ranks: each posting (minimizer hi, lo, global fragment) goes to the minimizer's owner,
 * hi % P; sources arrive in rank order, each in its fragment order, so the owner's postings are in global
 * fragment order, as the local build visits them. Returns the occurrences sent back and the packed pairs.
 */
function postingsStep(comm: MpiComm, sk: SketchSet, base: number, maxOccurrence: number) {
  const P = comm.size;
  comm.setPhase('postings');
  const pc = new Int32Array(P);
  const total = sk.offsets[sk.n]!;
  for (let j = 0; j < total; j++) pc[sk.hi[j]! % P]! += 3;
  const po = offsets(pc);
  const send = new Uint32Array(3 * total);
  for (let f = 0; f < sk.n; f++) {
    for (let j = sk.offsets[f]!; j < sk.offsets[f + 1]!; j++) {
      const r = sk.hi[j]! % P;
      const o = po[r]!;
      send[o] = sk.hi[j]!;
      send[o + 1] = sk.lo[j]!;
      send[o + 2] = base + f;
      po[r] = o + 3;
    }
  }
  const { pHi, pLo, pFrag, fromRank } = unpackPostings(comm.alltoallvWords(send, pc));
  return { ...pairsOfPostings(comm, pHi, pLo, pFrag, maxOccurrence, fromRank), t: pHi.length };
}

/** Received (hi, lo, fragment) triples as three arrays, and how many came from each rank. */
function unpackPostings(got: { data: Uint32Array; counts: Int32Array }): { pHi: Uint32Array; pLo: Uint32Array; pFrag: Uint32Array; fromRank: Int32Array } {
  const t = got.data.length / 3;
  const pHi = new Uint32Array(t);
  const pLo = new Uint32Array(t);
  const pFrag = new Uint32Array(t);
  for (let i = 0; i < t; i++) {
    pHi[i] = got.data[3 * i]!;
    pLo[i] = got.data[3 * i + 1]!;
    pFrag[i] = got.data[3 * i + 2]!;
  }
  return { pHi, pLo, pFrag, fromRank: Int32Array.from(got.counts, (c) => c / 3) };
}

/**
 * The owned postings' candidate pairs: occurrences go back to the fragments' owners (in the order the postings
 * came, so no ids travel), and each pair goes to its owner (for each destination its a's then its b's, so that
 * what arrives is one (a, b) list per source, used in place). The pair buffers are dropped on return.
 */
function pairsOfPostings(comm: MpiComm, pHi: Uint32Array, pLo: Uint32Array, pFrag: Uint32Array, maxOccurrence: number, fromRank: Int32Array) {
  const P = comm.size;
  const pp = pairsFromPostings(pHi, pLo, pFrag, maxOccurrence);
  comm.setPhase('occurrence');
  const back = comm.alltoallvWords(pp.occ, fromRank);
  const owner = new Uint32Array(pp.count);
  const qc = new Int32Array(P);
  for (let i = 0; i < pp.count; i++) {
    owner[i] = pairOwner(pp.a[i]!, pp.b[i]!, P);
    qc[owner[i]!]! += 2;
  }
  const qo = offsets(qc);
  const qa = Int32Array.from(qo);
  const qb = Int32Array.from(qo, (o, r) => o + qc[r]! / 2);
  const qs = new Uint32Array(2 * pp.count);
  for (let i = 0; i < pp.count; i++) {
    const r = owner[i]!;
    qs[qa[r]!++] = pp.a[i]!;
    qs[qb[r]!++] = pp.b[i]!;
  }
  comm.setPhase('pairs');
  const qin = comm.alltoallvWords(qs, qc);
  return { back, qin, minimizers: pp.minimizers, repeats: pp.repeats, pairsOut: pp.count, pairBuf: pp.a.length };
}

export interface DistributedGraph {
  /** per local fragment: sum of its minimizers' occurrences and how many were counted (integers) */
  occSum: Float64Array;
  occN: Uint32Array;
  /** totals over all ranks */
  stats: { minimizers: number; repeats: number; candidatePairs: number; edges: number; edgesKept: number };
  /** this rank's largest simultaneous allocation of the build (estimated like the local build's) */
  peakBytes: number;
  /** what this rank handled: its fragments' postings, the postings it owned, pairs emitted and owned, edges owned, half-edges of its nodes and those kept */
  counts: { postings: number; postingsOwned: number; pairsEmitted: number; pairsOwned: number; edgesOwned: number; halfEdges: number; keptHalfEdges: number };
  /** on the root: the degree-capped graph of all fragments, identical to the local engine's buildGraph */
  graph: Graph | null;
  /** keepDistributed: this rank's nodes' capped adjacency (no graph on the root) */
  adjacency: LocalAdjacency | null;
}

/**
 * Steps 1-3 of the graph method (candidate pairs, edges, degree cap) over the ranks; the capped graph is
 * gathered on `root`, or (keepDistributed) each rank keeps its nodes' capped adjacency. The edges are exactly the local build's: every minimizer's postings meet on one rank
 * (arriving in fragment order, as the local build visits them), every pair's counts meet on one rank, and
 * every fragment's edges meet on its owner, where the cap is applied with the same total order.
 */
export function distributedGraph(
  comm: MpiComm, parts: RowPart[], sk: SketchSet, p: Omit<GraphParams, 'seed'>, n: number, keepDistributed = false, root = 0,
): DistributedGraph {
  const P = comm.size;
  const me = comm.rank;
  const base = parts[me]!.start;
  const nLocal = sk.n;
  // 1. postings to the minimizers' owners, candidate pairs there, occurrences back
  const { back, qin, minimizers, repeats, pairsOut, pairBuf, t } = postingsStep(comm, sk, base, p.maxOccurrence);
  const bo = offsets(back.counts);
  const occSum = new Float64Array(nLocal);
  const occN = new Uint32Array(nLocal);
  for (let f = 0; f < nLocal; f++) {
    for (let j = sk.offsets[f]!; j < sk.offsets[f + 1]!; j++) {
      const r = sk.hi[j]! % P;
      occSum[f] = occSum[f]! + back.data[bo[r]!]!;
      bo[r]!++;
      occN[f] = occN[f]! + 1;
    }
  }
  // 2. the pairs each rank owns (exchanged in pairsOfPostings), counted over all partitions
  const lists: { a: Uint32Array; b: Uint32Array; count: number }[] = [];
  let m = 0;
  for (let r = 0, o = 0; r < P; r++) {
    const c = qin.counts[r]! / 2;
    lists.push({ a: qin.data.subarray(o, o + c), b: qin.data.subarray(o + c, o + 2 * c), count: c });
    o += 2 * c;
    m += c;
  }
  const edges = countPairs(lists, p.minShared);

  // 3. each edge to the owners of both ends, which keep their nodes' heaviest edges
  comm.setPhase('edges');
  const ec = new Int32Array(P);
  for (let i = 0; i < edges.count; i++) {
    ec[fragmentOwner(parts, edges.a[i]!)]! += 3;
    ec[fragmentOwner(parts, edges.b[i]!)]! += 3;
  }
  const eo = offsets(ec);
  const es = new Uint32Array(6 * edges.count);
  for (let i = 0; i < edges.count; i++) {
    for (const [v, u] of [[edges.a[i]!, edges.b[i]!], [edges.b[i]!, edges.a[i]!]] as const) {
      const r = fragmentOwner(parts, v);
      es[eo[r]!] = v;
      es[eo[r]! + 1] = u;
      es[eo[r]! + 2] = edges.w[i]!;
      eo[r]! += 3;
    }
  }
  const half = comm.alltoallvWords(es, ec).data;
  const h = half.length / 3;
  const start = new Int32Array(nLocal + 1);
  for (let i = 0; i < h; i++) start[half[3 * i]! - base + 1]!++;
  for (let v = 0; v < nLocal; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, nLocal);
  const nb = new Uint32Array(h);
  const hw = new Uint32Array(h);
  for (let i = 0; i < h; i++) {
    const v = half[3 * i]! - base;
    nb[fill[v]!] = half[3 * i + 1]!;
    hw[fill[v]!++] = half[3 * i + 2]!;
  }
  const keep = heaviestHalfEdges(nLocal, start, nb, hw, p.maxDegree);
  let kept = 0;
  for (let j = 0; j < h; j++) kept += keep[j]!;
  const ks = new Uint32Array(3 * kept);
  let o = 0;
  for (let v = 0; v < nLocal; v++) {
    for (let j = start[v]!; j < start[v + 1]!; j++) {
      if (!keep[j]) continue;
      const x = base + v;
      const y = nb[j]!;
      ks[o++] = Math.min(x, y);
      ks[o++] = Math.max(x, y);
      ks[o++] = hw[j]!;
    }
  }

  let graph: Graph | null = null;
  let adjacency: LocalAdjacency | null = null;
  let keptEdges = 0;
  if (keepDistributed) {
    // each node's whole capped adjacency on its owner: the edges it kept plus those only the other end kept
    comm.setPhase('adjacency');
    const ac = new Int32Array(P);
    for (let v = 0; v < nLocal; v++) for (let j = start[v]!; j < start[v + 1]!; j++) if (keep[j]) ac[fragmentOwner(parts, nb[j]!)]! += 3;
    const ao = offsets(ac);
    const as = new Uint32Array(3 * kept);
    for (let v = 0; v < nLocal; v++) {
      for (let j = start[v]!; j < start[v + 1]!; j++) {
        if (!keep[j]) continue;
        const r = fragmentOwner(parts, nb[j]!);
        as[ao[r]!] = nb[j]!;
        as[ao[r]! + 1] = base + v;
        as[ao[r]! + 2] = hw[j]!;
        ao[r]! += 3;
      }
    }
    const got = comm.alltoallvWords(as, ac).data;
    const mine = new Uint32Array(3 * kept);
    let q = 0;
    for (let v = 0; v < nLocal; v++) {
      for (let j = start[v]!; j < start[v + 1]!; j++) {
        if (!keep[j]) continue;
        mine[q++] = base + v;
        mine[q++] = nb[j]!;
        mine[q++] = hw[j]!;
      }
    }
    adjacency = localAdjacency(nLocal, base, [mine, got]);
    for (let v = 0; v < nLocal; v++) for (let j = adjacency.start[v]!; j < adjacency.start[v + 1]!; j++) if (base + v < adjacency.nbr[j]!) keptEdges++;
  } else {
    // the capped graph (each edge from one or both ends) on the root
    comm.setPhase('graph-gather');
    const all = comm.gathervPieces(ks, root);
    if (all) {
      const c = all.reduce((x, q) => x + q.byteLength / 12, 0);
      const a = new Uint32Array(c);
      const b = new Uint32Array(c);
      const w = new Uint32Array(c);
      let i = 0;
      for (const q of all) {
        const words = new Uint32Array(q.buffer, q.byteOffset, q.byteLength / 4);
        for (let j = 0; j < words.length; j += 3, i++) {
          a[i] = words[j]!;
          b[i] = words[j + 1]!;
          w[i] = words[j + 2]!;
        }
      }
      // sorted by (a, b) like countPairs' output; every node's degree is below n, so buildGraph keeps them all
      graph = buildGraph(n, distinctEdges(a, b, w), n);
      keptEdges = graph.edges;
    }
  }
  comm.setPhase('stats');
  const st = comm.allreduceSum(Float64Array.of(minimizers, repeats, pairsOut, edges.count, keptEdges));
  // the local build's estimate (postings 20 B, pair buffer 8 B, counting 16 B per pair, edges, adjacency) for
  // this rank's share, plus the exchange buffers it held at the same time (received postings, pairs out and in)
  const peakBytes = t * 20 + pairBuf * 8 + m * 16 + edges.count * 12 + h * 8 + t * 12 + pairsOut * 8 + m * 8;
  return {
    occSum,
    occN,
    stats: { minimizers: st[0]!, repeats: st[1]!, candidatePairs: st[2]!, edges: st[3]!, edgesKept: st[4]! },
    peakBytes,
    counts: { postings: sk.offsets[nLocal]!, postingsOwned: t, pairsEmitted: pairsOut, pairsOwned: m, edgesOwned: edges.count, halfEdges: h, keptHalfEdges: kept },
    graph,
    adjacency,
  };
}

/** A rank's nodes' capped adjacency: node v (local index) has neighbours nbr[start[v]..start[v+1]) (global ids). */
export interface LocalAdjacency {
  start: Int32Array;
  nbr: Uint32Array;
  w: Uint32Array;
}

/** The adjacency of nodes [base, base + nLocal) from (v, u, w) half-edge triples (v local), each neighbour once. */
function localAdjacency(nLocal: number, base: number, lists: Uint32Array[]): LocalAdjacency {
  const pairs: [number, number, number][] = [];
  for (const l of lists) for (let i = 0; i < l.length; i += 3) pairs.push([l[i]! - base, l[i + 1]!, l[i + 2]!]);
  pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const start = new Int32Array(nLocal + 1);
  const nbr: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const [v, u, x] = pairs[i]!;
    if (i > 0 && pairs[i - 1]![0] === v && pairs[i - 1]![1] === u) continue;
    start[v + 1]!++;
    nbr.push(u);
    w.push(x);
  }
  for (let v = 0; v < nLocal; v++) start[v + 1]! += start[v]!;
  return { start, nbr: Uint32Array.from(nbr), w: Uint32Array.from(w) };
}

/**
 * The labels (or any per-node values) of the remote neighbours of a rank's nodes: every rank tells each
 * owner once which of its nodes it needs; then each exchange() sends exactly those values, in that order.
 * `ref[j]` indexes half-edge j's neighbour in [local nodes..., ghosts...].
 */
export class Ghosts {
  readonly ref: Int32Array;
  readonly count: number;
  private readonly serve: Int32Array;
  private readonly serveCounts: Int32Array;

  constructor(private readonly comm: MpiComm, parts: RowPart[], adj: LocalAdjacency) {
    const P = comm.size;
    const { start: s0, end: s1 } = parts[comm.rank]!;
    const remote = new Set<number>();
    for (const u of adj.nbr) if (u < s0 || u >= s1) remote.add(u);
    const ids = Uint32Array.from(remote).sort();
    this.count = ids.length;
    const slot = new Map<number, number>();
    ids.forEach((u, i) => slot.set(u, s1 - s0 + i));
    this.ref = Int32Array.from(adj.nbr, (u) => (u >= s0 && u < s1 ? u - s0 : slot.get(u)!));
    // ids are sorted and owners hold contiguous ranges: the requests to each owner are consecutive
    const rc = new Int32Array(P);
    for (const u of ids) rc[fragmentOwner(parts, u)]!++;
    comm.setPhase('ghosts');
    const req = comm.alltoallvWords(ids, rc);
    this.serve = Int32Array.from(req.data, (u) => u - s0);
    this.serveCounts = req.counts;
  }

  /** Every ghost's value from its owner (`local`: this rank's nodes' values). */
  exchange(local: Int32Array, phase: string): Int32Array {
    this.comm.setPhase(phase);
    const send = Uint32Array.from(this.serve, (v) => local[v]!);
    const got = this.comm.alltoallvWords(send, this.serveCounts).data;
    return new Int32Array(got.buffer, got.byteOffset, got.length);
  }
}

/** Position of node v in a seeded pseudo-random order (the distributed sweep's visiting order). */
function visitKey(v: number, seed: number): number {
  let h = Math.imul(v ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(seed + 0x6a09e667, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/**
 * Label propagation over ranks (--lpa distributed): each rank updates its own nodes asynchronously in a
 * seeded order (chooseLabel: labelPropagation's rule), seeing its remote neighbours' labels as they were at
 * the start of the sweep (their changes damped: a seeded quarter of the boundary nodes wait each sweep); a sweep
 * ends with an exchange of the labels other ranks need. Stops when no node wants to change anywhere. Not the local engine's result (its order is one global sequence): see
 * docs/scaling.md for the measured difference. Returns this rank's nodes' labels (global node ids).
 */
export function distributedLabelPropagation(
  comm: MpiComm, parts: RowPart[], adj: LocalAdjacency, ghosts: Ghosts, maxIterations: number, seed: number,
): { label: Int32Array; iterations: number } {
  const { start: s0, end: s1 } = parts[comm.rank]!;
  const nLocal = s1 - s0;
  const labels = new Int32Array(nLocal + ghosts.count);
  for (let v = 0; v < nLocal; v++) labels[v] = s0 + v;
  const order = Array.from({ length: nLocal }, (_, v) => v).sort((a, b) => visitKey(s0 + a, seed) - visitKey(s0 + b, seed) || a - b);
  let maxDeg = 1;
  for (let v = 0; v < nLocal; v++) maxDeg = Math.max(maxDeg, adj.start[v + 1]! - adj.start[v]!);
  const labs = new Int32Array(maxDeg);
  const ws = new Float64Array(maxDeg);
  // nodes with a neighbour on another rank see stale labels: two such neighbours can swap labels forever
  // (each adopts the other's), so their changes are damped: in each sweep a seeded quarter of them wait (a
  // half converged more slowly on the dev community: 2 nodes still changing after 30 sweeps, against 0 after 25)
  const boundary = new Uint8Array(nLocal);
  for (let v = 0; v < nLocal; v++) for (let j = adj.start[v]!; j < adj.start[v + 1]!; j++) if (ghosts.ref[j]! >= nLocal) boundary[v] = 1;
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    labels.set(ghosts.exchange(labels.subarray(0, nLocal), 'lpa-sweeps'), nLocal);
    let changed = 0;
    for (const v of order) {
      const cur = labels[v]!;
      const best = chooseLabel(cur, s0 + v, iterations, seed, labels, ghosts.ref, adj.w, adj.start[v]!, adj.start[v + 1]!, labs, ws);
      if (best !== cur) {
        changed++; // a damped change still counts: the sweeps go on until nothing wants to change
        if (!boundary[v] || (tieKey(s0 + v, s0 + v, iterations, seed ^ 0x5bd1e995) & 3) !== 0) labels[v] = best;
      }
    }
    comm.setPhase('lpa-sweeps');
    if (comm.allreduceSum(Float64Array.of(changed))[0] === 0) break;
  }
  return { label: labels.slice(0, nLocal), iterations };
}

/**
 * groupLinks over ranks: each rank sums the links of its nodes' half-edges (group of a remote neighbour from
 * its owner), rank 0 adds the partial sums (integers: the same totals in any order). Rank 0 gets the links.
 */
export function distributedGroupLinks(
  comm: MpiComm, adj: LocalAdjacency, ghosts: Ghosts, group: Int32Array, groups: number, root = 0,
): Map<number, number> | null {
  const nLocal = group.length;
  const g = new Int32Array(nLocal + ghosts.count);
  g.set(group, 0);
  g.set(ghosts.exchange(group, 'merge-links'), nLocal);
  const link = groupLinksOf(nLocal, adj.start, ghosts.ref, adj.w, g, groups);
  const flat = new Float64Array(2 * link.size);
  let i = 0;
  for (const [key, w] of link) {
    flat[i++] = key;
    flat[i++] = w;
  }
  comm.setPhase('merge-links');
  const all = comm.gathervPieces(flat, root);
  if (!all) return null;
  const out = new Map<number, number>();
  for (const q of all) {
    const x = new Float64Array(q.buffer, q.byteOffset, q.byteLength / 8);
    for (let j = 0; j < x.length; j += 2) out.set(x[j]!, (out.get(x[j]!) ?? 0) + x[j + 1]!);
  }
  return out;
}

/** The root's per-fragment values, sliced to the fragments' owners; every rank returns its slice. */
export function scatterToOwners(comm: MpiComm, parts: RowPart[], values: Int32Array | null, root = 0): Int32Array {
  const slices = comm.rank === root && values ? parts.map((q) => new Uint32Array(values.buffer, values.byteOffset + 4 * q.start, q.end - q.start)) : null;
  const got = comm.scatterWords(slices, parts.map((q) => q.end - q.start), root);
  return new Int32Array(got.buffer, got.byteOffset, got.length);
}

/** Number of groups g in [0, G) with g % P == r (the groups rank r owns, slot = floor(g / P)). */
function ownedSlots(G: number, P: number, r: number): number {
  return r < G ? Math.floor((G - 1 - r) / P) + 1 : 0;
}

/**
 * poolGroups over all ranks, bit for bit as on one machine: each fragment's row (weight, occurrence counts,
 * embedding) goes to its group's owner (g % P), arriving in fragment order, where the owner pools its groups;
 * the root then gathers every group's pool. Returns the pool of all G groups on the root, null elsewhere.
 */
export function poolGroupsOnOwners(
  comm: MpiComm,
  group: Int32Array,
  G: number,
  d: number,
  embedding: Float32Array,
  weight: Float64Array,
  occ: { sum: Float64Array; n: Uint32Array } | undefined,
  phase: string,
  root = 0,
): GroupPool | null {
  const P = comm.size;
  const nLocal = group.length;
  const rec = 4 + d;
  comm.setPhase(phase);
  const counts = new Int32Array(P);
  for (let f = 0; f < nLocal; f++) counts[group[f]! % P]! += rec;
  const off = offsets(counts);
  const send = new Uint32Array(rec * nLocal);
  const sendF = new Float32Array(send.buffer);
  for (let f = 0; f < nLocal; f++) {
    const g = group[f]!;
    const o = off[g % P]!;
    const w = weight[f]!;
    if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new Error(`mpi: fragment weight ${w} is not a 32-bit count`);
    send[o] = Math.floor(g / P);
    send[o + 1] = w;
    send[o + 2] = occ ? occ.sum[f]! : 0;
    send[o + 3] = occ ? occ.n[f]! : 0;
    sendF.set(embedding.subarray(f * d, f * d + d), o + 4);
    off[g % P] = o + rec;
  }
  const got = comm.alltoallvWords(send, counts).data;
  const gotF = new Float32Array(got.buffer, got.byteOffset, got.length);
  const m = got.length / rec;
  const slot = new Int32Array(m);
  const w = new Float64Array(m);
  const oc = occ ? new Float64Array(m) : undefined;
  const emb = new Float32Array(m * d);
  for (let i = 0; i < m; i++) {
    slot[i] = got[i * rec]!;
    w[i] = got[i * rec + 1]!;
    if (oc) oc[i] = got[i * rec + 3]! > 0 ? got[i * rec + 2]! / got[i * rec + 3]! : 1;
    emb.set(gotF.subarray(i * rec + 4, i * rec + rec), i * d);
  }
  const S = ownedSlots(G, P, comm.rank);
  const pool = poolGroups(m, d, emb, w, oc, slot, S);
  // to the root: comp (S x d), mass, members, cov of this rank's groups
  const packed = new Float64Array(S * (d + 3));
  packed.set(pool.comp, 0);
  packed.set(pool.mass, S * d);
  for (let s = 0; s < S; s++) packed[S * (d + 1) + s] = pool.members[s]!;
  packed.set(pool.cov, S * (d + 2));
  const all = comm.gathervPieces(packed, root);
  if (!all) return null;
  const out: GroupPool = { comp: new Float64Array(G * d), mass: new Float64Array(G), members: new Int32Array(G), cov: new Float64Array(G) };
  for (let r = 0; r < P; r++) {
    const words = new Float64Array(all[r]!.buffer, all[r]!.byteOffset, all[r]!.byteLength / 8);
    const Sr = ownedSlots(G, P, r);
    for (let s = 0; s < Sr; s++) {
      const g = r + s * P;
      out.comp.set(words.subarray(s * d, s * d + d), g * d);
      out.mass[g] = words[Sr * d + s]!;
      out.members[g] = words[Sr * (d + 1) + s]!;
      out.cov[g] = words[Sr * (d + 2) + s]!;
    }
  }
  return out;
}

/** Every rank's band signatures (band-major over its rows) assembled band-major over all n rows on the root. */
export function gatherSignatures(comm: MpiComm, parts: RowPart[], sig: Int32Array, bands: number, n: number, root = 0): Int32Array | null {
  comm.setPhase('lsh-signatures');
  const all = comm.gathervPieces(sig, root);
  if (!all) return null;
  const out = new Int32Array(bands * n);
  parts.forEach((q, r) => {
    const words = new Int32Array(all[r]!.buffer, all[r]!.byteOffset, all[r]!.byteLength / 4);
    const len = q.end - q.start;
    for (let b = 0; b < bands; b++) out.set(words.subarray(b * len, b * len + len), b * n + q.start);
  });
  return out;
}
