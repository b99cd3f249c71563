import { Rng } from './rng.js';

/**
 * The read-overlap graph of `cluster --method graph` (docs/graph.md): fragments are nodes; two fragments are
 * joined when they share at least `minShared` minimizers; minimizers found in more than `maxOccurrence`
 * fragments (repeats, or very deep coverage) make no edges; each node keeps its `maxDegree` heaviest edges;
 * label propagation then splits the graph into read groups. Pure functions over typed arrays.
 *
 * The build is written in three steps so that an engine can partition it by minimizer hash (each rank owns
 * the minimizers with hi % ranks == rank): postings -> candidate pairs (per partition), pair counting
 * (partitioned by pair), then the graph itself.
 */

export interface GraphParams {
  /** minimizers two fragments must share to be joined (SpaRC: shared k-mers per edge) */
  minShared: number;
  /** minimizers present in more fragments than this make no edges (repeats) */
  maxOccurrence: number;
  /** edges kept per node (the heaviest; an edge stays when either end keeps it) */
  maxDegree: number;
  /** label-propagation sweeps at most */
  maxIterations: number;
  seed: number;
}

export const DEFAULT_GRAPH: Omit<GraphParams, 'seed'> = { minShared: 3, maxOccurrence: 200, maxDegree: 32, maxIterations: 30 };

/** Minimizer sketches of n fragments: fragment f has words hi/lo[offsets[f], offsets[f+1]), sorted, distinct. */
export interface SketchSet {
  n: number;
  offsets: Int32Array;
  hi: Uint32Array;
  lo: Uint32Array;
}

/** Candidate pairs (a < b, one entry per shared minimizer) and per-fragment occurrence statistics. */
export interface PairList {
  a: Uint32Array;
  b: Uint32Array;
  count: number;
  /** per fragment: sum over its minimizers of min(occurrence, maxOccurrence + 1), and how many were counted */
  occSum: Float64Array;
  occN: Uint32Array;
  /** distinct minimizers seen, and how many were skipped as repeats */
  minimizers: number;
  repeats: number;
}

/** Stable LSD radix sort of `order` by key(order[i]) (32-bit keys, two 16-bit passes). */
function radixSort32(order: Uint32Array, key: Uint32Array, tmp: Uint32Array): void {
  const n = order.length;
  const count = new Uint32Array(65537);
  let src = order;
  let dst = tmp;
  for (let shift = 0; shift < 32; shift += 16) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((key[src[i]!]! >>> shift) & 0xffff) + 1]!++;
    for (let i = 0; i < 65536; i++) count[i + 1]! += count[i]!;
    for (let i = 0; i < n; i++) {
      const o = src[i]!;
      dst[count[(key[o]! >>> shift) & 0xffff]!++] = o;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  // two passes: the result is back in `order`
}

/**
 * Step 1: candidate pairs from the postings of one partition (`part` of `parts`: minimizers with
 * hi % parts == part). Fragments are numbered 0..n-1 in the caller's order; every pair comes out as (a < b).
 */
export function candidatePairs(sk: SketchSet, maxOccurrence: number, part = 0, parts = 1): PairList {
  const { n, offsets, hi, lo } = sk;
  // postings of this partition, in fragment order
  let t = 0;
  for (let f = 0; f < n; f++) for (let j = offsets[f]!; j < offsets[f + 1]!; j++) if (hi[j]! % parts === part) t++;
  const pHi = new Uint32Array(t);
  const pLo = new Uint32Array(t);
  const pFrag = new Uint32Array(t);
  t = 0;
  for (let f = 0; f < n; f++) {
    for (let j = offsets[f]!; j < offsets[f + 1]!; j++) {
      if (hi[j]! % parts !== part) continue;
      pHi[t] = hi[j]!;
      pLo[t] = lo[j]!;
      pFrag[t++] = f;
    }
  }
  const pp = pairsFromPostings(pHi, pLo, pFrag, maxOccurrence);
  const occSum = new Float64Array(n);
  const occN = new Uint32Array(n);
  for (let i = 0; i < t; i++) {
    const f = pFrag[i]!;
    occSum[f] = occSum[f]! + pp.occ[i]!;
    occN[f] = occN[f]! + 1;
  }
  return { a: pp.a, b: pp.b, count: pp.count, occSum, occN, minimizers: pp.minimizers, repeats: pp.repeats };
}

/** Candidate pairs of a set of postings, and each posting's occurrence (min(fragments, maxOccurrence + 1)). */
export interface PostingPairs {
  a: Uint32Array;
  b: Uint32Array;
  count: number;
  /** per posting (input order): fragments sharing its minimizer, capped at maxOccurrence + 1 */
  occ: Uint32Array;
  minimizers: number;
  repeats: number;
}

/**
 * The core of step 1 over explicit postings (minimizer hi/lo, fragment), given in non-decreasing fragment
 * order (what an engine that receives postings in fragment order from its ranks has): pairs come out as a < b.
 */
export function pairsFromPostings(pHi: Uint32Array, pLo: Uint32Array, pFrag: Uint32Array, maxOccurrence: number): PostingPairs {
  const t = pHi.length;
  const order = new Uint32Array(t);
  for (let i = 0; i < t; i++) order[i] = i;
  radixSort32(order, pLo, new Uint32Array(t));
  radixSort32(order, pHi, new Uint32Array(t));
  // order is now sorted by (hi, lo) and, within equal minimizers, by fragment (stable from posting order)
  const occ = new Uint32Array(t);
  let a = new Uint32Array(Math.max(1024, t));
  let b = new Uint32Array(a.length);
  let count = 0;
  let minimizers = 0;
  let repeats = 0;
  for (let s = 0; s < t; ) {
    const h = pHi[order[s]!]!;
    const l = pLo[order[s]!]!;
    let e = s + 1;
    while (e < t && pHi[order[e]!] === h && pLo[order[e]!] === l) e++;
    const size = e - s;
    minimizers++;
    const o = Math.min(size, maxOccurrence + 1);
    for (let i = s; i < e; i++) occ[order[i]!] = o;
    if (size > maxOccurrence) repeats++;
    else if (size > 1) {
      const need = count + (size * (size - 1)) / 2;
      if (need > a.length) {
        const cap = Math.max(need, a.length * 2);
        const na = new Uint32Array(cap);
        na.set(a.subarray(0, count));
        a = na;
        const nb = new Uint32Array(cap);
        nb.set(b.subarray(0, count));
        b = nb;
      }
      for (let i = s; i < e; i++) {
        const fi = pFrag[order[i]!]!;
        for (let j = i + 1; j < e; j++) {
          a[count] = fi;
          b[count++] = pFrag[order[j]!]!;
        }
      }
    }
    s = e;
  }
  return { a, b, count, occ, minimizers, repeats };
}

/** Minimizers shared by 2..maxOccurrence fragments: each one's fragments (ascending), as a CSR. */
export interface MinimizerGroups {
  /** group g holds frag[start[g], start[g+1]) */
  start: Uint32Array;
  frag: Uint32Array;
  groups: number;
  /** per fragment: sum over its minimizers of min(occurrence, maxOccurrence + 1), and how many it has */
  occSum: Float64Array;
  occN: Uint32Array;
  minimizers: number;
  repeats: number;
}

/**
 * The postings of every sketch sorted by minimizer, kept only where they make pairs. Sorted in place of the
 * sketch's own words (no copies of hi/lo): 16 bytes per posting at the peak (the sketch, the order and the
 * sort's scratch), and the groups are compacted into the order array itself.
 */
export function minimizerGroups(sk: SketchSet, maxOccurrence: number): MinimizerGroups {
  const { n, offsets, hi, lo } = sk;
  const t = offsets[n]!;
  const order = new Uint32Array(t);
  for (let i = 0; i < t; i++) order[i] = i;
  {
    const tmp = new Uint32Array(t);
    radixSort32(order, lo, tmp);
    radixSort32(order, hi, tmp);
  }
  // fragment of a posting: postings are in fragment order, so a walk over the sorted order looks each one up
  const fragOf = (j: number): number => {
    let a = 0;
    let b = n; // offsets[a] <= j < offsets[b]
    while (b - a > 1) {
      const m = (a + b) >>> 1;
      if (offsets[m]! <= j) a = m;
      else b = m;
    }
    return a;
  };
  const occSum = new Float64Array(n);
  const occN = new Uint32Array(n);
  const starts: number[] = [0];
  let w = 0;
  let minimizers = 0;
  let repeats = 0;
  for (let s = 0; s < t; ) {
    const h = hi[order[s]!]!;
    const l = lo[order[s]!]!;
    let e = s + 1;
    while (e < t && hi[order[e]!] === h && lo[order[e]!] === l) e++;
    const size = e - s;
    minimizers++;
    const o = Math.min(size, maxOccurrence + 1);
    const keep = size > 1 && size <= maxOccurrence;
    if (size > maxOccurrence) repeats++;
    for (let i = s; i < e; i++) {
      const f = fragOf(order[i]!);
      occSum[f] = occSum[f]! + o;
      occN[f]!++;
      if (keep) order[w++] = f; // w <= i: the compaction never overtakes the walk
    }
    if (keep) starts.push(w);
    s = e;
  }
  const frag = order.slice(0, w); // a right-sized copy: the full order array is garbage once this returns
  return { start: Uint32Array.from(starts), frag, groups: starts.length - 1, occSum, occN, minimizers, repeats };
}

/** Candidate pairs per first fragment a (a < b), for cutting the counting into parts. */
function pairsPerFragment(mg: MinimizerGroups, n: number): Float64Array {
  const per = new Float64Array(n);
  for (let g = 0; g < mg.groups; g++) {
    const s = mg.start[g]!;
    const e = mg.start[g + 1]!;
    for (let i = s; i < e - 1; i++) per[mg.frag[i]!] = per[mg.frag[i]!]! + (e - 1 - i);
  }
  return per;
}

/** A growable typed array of uint32 (edge lists of unknown final length, without JS number arrays). */
class U32List {
  a = new Uint32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  done(): Uint32Array {
    return this.a.slice(0, this.n);
  }
}

/**
 * Steps 1-2 of the local build in bounded memory: the candidate pairs are enumerated and counted in parts of
 * contiguous first fragments, each part at most `pairsPerPart` pairs (16 bytes per pair while it is counted),
 * so the peak no longer grows with the pairs of the whole set (about 100 per fragment at 12x: 9 GB for 2.3M
 * fragments held at once). The edges are those of countPairs([candidatePairs(sk)]): same pairs, same counts,
 * sorted by (a, b).
 */
export function countedEdges(sk: SketchSet, maxOccurrence: number, minShared: number, pairsPerPart = 16 * 1024 * 1024): {
  edges: EdgeList; occSum: Float64Array; occN: Uint32Array; minimizers: number; repeats: number; candidatePairs: number; parts: number; peakBytes: number;
} {
  const n = sk.n;
  const postings = sk.offsets[n]!;
  const mg = minimizerGroups(sk, maxOccurrence);
  const per = pairsPerFragment(mg, n);
  let total = 0;
  let largest = 0;
  const bounds: number[] = [0];
  let acc = 0;
  for (let f = 0; f < n; f++) {
    if (acc > 0 && acc + per[f]! > pairsPerPart) {
      bounds.push(f);
      largest = Math.max(largest, acc);
      acc = 0;
    }
    acc += per[f]!;
    total += per[f]!;
  }
  largest = Math.max(largest, acc);
  bounds.push(n);
  const A = new Uint32Array(largest);
  const B = new Uint32Array(largest);
  const order = new Uint32Array(largest);
  const tmp = new Uint32Array(largest);
  const ea = new U32List();
  const eb = new U32List();
  const ew = new U32List();
  for (let p = 0; p + 1 < bounds.length; p++) {
    const lo = bounds[p]!;
    const hi = bounds[p + 1]!;
    let count = 0;
    for (let g = 0; g < mg.groups; g++) {
      const s = mg.start[g]!;
      const e = mg.start[g + 1]!;
      for (let i = s; i < e - 1; i++) {
        const a = mg.frag[i]!;
        if (a < lo) continue;
        if (a >= hi) break; // fragments ascend within a group
        for (let j = i + 1; j < e; j++) {
          A[count] = a;
          B[count++] = mg.frag[j]!;
        }
      }
    }
    const ord = order.subarray(0, count);
    for (let i = 0; i < count; i++) ord[i] = i;
    radixSort32(ord, B, tmp);
    radixSort32(ord, A, tmp);
    for (let s = 0; s < count; ) {
      const x = A[ord[s]!]!;
      const y = B[ord[s]!]!;
      let e = s + 1;
      while (e < count && A[ord[e]!] === x && B[ord[e]!] === y) e++;
      if (e - s >= minShared) {
        ea.push(x);
        eb.push(y);
        ew.push(e - s);
      }
      s = e;
    }
  }
  const edges = { a: ea.done(), b: eb.done(), w: ew.done(), count: ea.n };
  // the largest simultaneous allocation: the posting sort (sketch words, order, scratch) or the counting of a
  // part (groups + 4 arrays per pair) with the edges so far
  const peakBytes = Math.max(postings * 16, postings * 8 + mg.frag.length * 4 + largest * 16 + edges.count * 12);
  return { edges, occSum: mg.occSum, occN: mg.occN, minimizers: mg.minimizers, repeats: mg.repeats, candidatePairs: total, parts: bounds.length - 1, peakBytes };
}

/** Weighted undirected edges (a < b), weight = shared minimizers. */
export interface EdgeList {
  a: Uint32Array;
  b: Uint32Array;
  w: Uint32Array;
  count: number;
}

/** Step 2: counts identical pairs (from every partition) into edges with weight >= minShared. */
export function countPairs(lists: { a: Uint32Array; b: Uint32Array; count: number }[], minShared: number): EdgeList {
  const total = lists.reduce((s, l) => s + l.count, 0);
  const A = new Uint32Array(total);
  const B = new Uint32Array(total);
  let o = 0;
  for (const l of lists) {
    A.set(l.a.subarray(0, l.count), o);
    B.set(l.b.subarray(0, l.count), o);
    o += l.count;
  }
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const tmp = new Uint32Array(total);
  radixSort32(order, B, tmp);
  radixSort32(order, A, tmp);
  const ea: number[] = [];
  const eb: number[] = [];
  const ew: number[] = [];
  for (let s = 0; s < total; ) {
    const x = A[order[s]!]!;
    const y = B[order[s]!]!;
    let e = s + 1;
    while (e < total && A[order[e]!] === x && B[order[e]!] === y) e++;
    if (e - s >= minShared) {
      ea.push(x);
      eb.push(y);
      ew.push(e - s);
    }
    s = e;
  }
  return { a: Uint32Array.from(ea), b: Uint32Array.from(eb), w: Uint32Array.from(ew), count: ea.length };
}

/** Compressed adjacency (both directions). */
export interface Graph {
  n: number;
  start: Int32Array;
  nbr: Uint32Array;
  w: Float32Array;
  edges: number;
}

/** Step 3: adjacency with each node's `maxDegree` heaviest edges (an edge stays if either end keeps it). */
export function buildGraph(n: number, e: EdgeList, maxDegree: number): Graph {
  const deg = new Int32Array(n + 1);
  for (let i = 0; i < e.count; i++) {
    deg[e.a[i]! + 1]!++;
    deg[e.b[i]! + 1]!++;
  }
  for (let i = 0; i < n; i++) deg[i + 1]! += deg[i]!;
  const fill = deg.slice(0, n);
  const nb = new Uint32Array(2 * e.count);
  const eid = new Uint32Array(2 * e.count);
  for (let i = 0; i < e.count; i++) {
    const x = e.a[i]!;
    const y = e.b[i]!;
    nb[fill[x]!] = y;
    eid[fill[x]!++] = i;
    nb[fill[y]!] = x;
    eid[fill[y]!++] = i;
  }
  const hw = new Uint32Array(2 * e.count);
  for (let j = 0; j < hw.length; j++) hw[j] = e.w[eid[j]!]!;
  const kept = heaviestHalfEdges(n, deg, nb, hw, maxDegree);
  const keep = new Uint8Array(e.count);
  for (let j = 0; j < kept.length; j++) if (kept[j]) keep[eid[j]!] = 1;
  const start = new Int32Array(n + 1);
  let edges = 0;
  for (let i = 0; i < e.count; i++) {
    if (!keep[i]) continue;
    edges++;
    start[e.a[i]! + 1]!++;
    start[e.b[i]! + 1]!++;
  }
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const pos = start.slice(0, n);
  const nbr = new Uint32Array(2 * edges);
  const w = new Float32Array(2 * edges);
  for (let i = 0; i < e.count; i++) {
    if (!keep[i]) continue;
    const x = e.a[i]!;
    const y = e.b[i]!;
    nbr[pos[x]!] = y;
    w[pos[x]!++] = e.w[i]!;
    nbr[pos[y]!] = x;
    w[pos[y]!++] = e.w[i]!;
  }
  return { n, start, nbr, w, edges };
}

/**
 * The degree cap of step 3 for `nodes` nodes whose half-edges are given as a CSR (node v: [start[v],
 * start[v+1]) with neighbour nb and weight w): flags the `maxDegree` heaviest of each node (weight
 * descending, then neighbour ascending: a total order, so the input order of a node's half-edges does not
 * matter), or all of them when the node has at most `maxDegree`. An engine that holds each node's half-edges
 * on the node's owner applies it there; an edge is kept when either end flags it.
 */
export function heaviestHalfEdges(nodes: number, start: Int32Array, nb: Uint32Array, w: Uint32Array, maxDegree: number): Uint8Array {
  const keep = new Uint8Array(start[nodes]!);
  const idx: number[] = [];
  for (let v = 0; v < nodes; v++) {
    const s = start[v]!;
    const t = start[v + 1]!;
    if (t - s <= maxDegree) {
      keep.fill(1, s, t);
      continue;
    }
    idx.length = 0;
    for (let j = s; j < t; j++) idx.push(j);
    idx.sort((p, q) => w[q]! - w[p]! || nb[p]! - nb[q]!);
    for (let j = 0; j < maxDegree; j++) keep[idx[j]!] = 1;
  }
  return keep;
}

/** Edges given as (a, b, w) triples with a < b, possibly repeated (kept by both ends): sorted by (a, b), each once. */
export function distinctEdges(a: Uint32Array, b: Uint32Array, w: Uint32Array): EdgeList {
  const total = a.length;
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const tmp = new Uint32Array(total);
  radixSort32(order, b, tmp);
  radixSort32(order, a, tmp);
  let count = 0;
  for (let i = 0; i < total; i++) if (i === 0 || a[order[i]!] !== a[order[i - 1]!] || b[order[i]!] !== b[order[i - 1]!]) count++;
  const out = { a: new Uint32Array(count), b: new Uint32Array(count), w: new Uint32Array(count), count };
  let o = 0;
  for (let i = 0; i < total; i++) {
    const x = order[i]!;
    if (i > 0 && a[x] === a[order[i - 1]!] && b[x] === b[order[i - 1]!]) continue;
    out.a[o] = a[x]!;
    out.b[o] = b[x]!;
    out.w[o++] = w[x]!;
  }
  return out;
}

/**
 * Weighted label propagation (Raghavan et al. 2007, as SpaRC): every node starts with its own label and
 * repeatedly takes the label with the largest total edge weight among its neighbours, visiting nodes in a
 * seeded random order (asynchronous updates converge; ties keep the current label, else a seeded hash picks).
 * Returns group ids 0..G-1 numbered by first fragment, and the sweeps used.
 */
export function labelPropagation(g: Graph, maxIterations: number, seed: number): { group: Int32Array; groups: number; iterations: number } {
  const n = g.n;
  const label = new Int32Array(n);
  for (let i = 0; i < n; i++) label[i] = i;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const acc = new Float64Array(n);
  const touched = new Int32Array(Math.max(1, maxDegreeOf(g)));
  let iterations = 0;
  for (; iterations < maxIterations; ) {
    iterations++;
    let changed = 0;
    for (let oi = 0; oi < n; oi++) {
      const v = order[oi]!;
      const s = g.start[v]!;
      const t = g.start[v + 1]!;
      if (s === t) continue;
      let m = 0;
      for (let j = s; j < t; j++) {
        const l = label[g.nbr[j]!]!;
        if (acc[l] === 0) touched[m++] = l;
        acc[l] = acc[l]! + g.w[j]!;
      }
      const cur = label[v]!;
      let best = cur;
      let bestW = acc[cur]!;
      let bestKey = tieKey(cur, v, iterations, seed);
      for (let j = 0; j < m; j++) {
        const l = touched[j]!;
        const x = acc[l]!;
        if (x < bestW || l === best) continue;
        // ties keep the current label; among other tied labels a seeded hash decides (the smallest label would
        // flood: every node starts tied)
        const key = tieKey(l, v, iterations, seed);
        if (x > bestW || (best !== cur && key < bestKey)) {
          best = l;
          bestW = x;
          bestKey = key;
        }
      }
      for (let j = 0; j < m; j++) acc[touched[j]!] = 0;
      if (best !== cur) {
        label[v] = best;
        changed++;
      }
    }
    if (changed === 0) break;
  }
  // compact: groups numbered by their first fragment
  const map = new Int32Array(n).fill(-1);
  const group = new Int32Array(n);
  let groups = 0;
  for (let i = 0; i < n; i++) {
    const l = label[i]!;
    if (map[l] === -1) map[l] = groups++;
    group[i] = map[l]!;
  }
  return { group, groups, iterations };
}

/**
 * One node's update under labelPropagation's rule, for an engine that holds the graph in pieces: node v (label
 * `cur`) has neighbours j in [s, t) with labels labels[ref[j]] and weights w[j]; returns the label with the
 * largest total weight, the current one on a tie with it, else the tied label with the smallest tie key (the
 * result does not depend on the neighbours' order). `labs`/`ws` are scratch of at least t - s entries.
 */
export function chooseLabel(
  cur: number, v: number, sweep: number, seed: number,
  labels: Int32Array, ref: Int32Array, w: Uint32Array, s: number, t: number, labs: Int32Array, ws: Float64Array,
): number {
  let m = 0;
  let curW = 0;
  for (let j = s; j < t; j++) {
    const l = labels[ref[j]!]!;
    if (l === cur) curW += w[j]!;
    let i = 0;
    while (i < m && labs[i] !== l) i++;
    if (i === m) {
      labs[m] = l;
      ws[m++] = 0;
    }
    ws[i] = ws[i]! + w[j]!;
  }
  let best = cur;
  let bestW = curW;
  let bestKey = tieKey(cur, v, sweep, seed);
  for (let i = 0; i < m; i++) {
    const l = labs[i]!;
    const x = ws[i]!;
    if (x < bestW || l === best) continue;
    const key = tieKey(l, v, sweep, seed);
    if (x > bestW || (best !== cur && key < bestKey)) {
      best = l;
      bestW = x;
      bestKey = key;
    }
  }
  return best;
}

/** Deterministic pseudo-random rank of a label at a node in a sweep (tie-breaking). */
export function tieKey(label: number, node: number, sweep: number, seed: number): number {
  let h = Math.imul(label ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(node + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(sweep + seed, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

function maxDegreeOf(g: Graph): number {
  let m = 0;
  for (let v = 0; v < g.n; v++) m = Math.max(m, g.start[v + 1]! - g.start[v]!);
  return m;
}

/** The whole local build: sketches -> read groups. */
export function readGroups(sk: SketchSet, p: GraphParams): {
  group: Int32Array;
  groups: number;
  graph: Graph;
  occurrence: Float64Array;
  stats: { minimizers: number; repeats: number; candidatePairs: number; edges: number; edgesKept: number; iterations: number; peakBytes: number };
} {
  const ce = countedEdges(sk, p.maxOccurrence, p.minShared);
  const g = buildGraph(sk.n, ce.edges, p.maxDegree);
  const lp = labelPropagation(g, p.maxIterations, p.seed);
  const occurrence = new Float64Array(sk.n);
  for (let f = 0; f < sk.n; f++) occurrence[f] = ce.occN[f]! > 0 ? ce.occSum[f]! / ce.occN[f]! : 1;
  const peakBytes = Math.max(ce.peakBytes, sk.offsets[sk.n]! * 8 + ce.edges.count * 12 + g.nbr.length * 8);
  return {
    group: lp.group,
    groups: lp.groups,
    graph: g,
    occurrence,
    stats: {
      minimizers: ce.minimizers,
      repeats: ce.repeats,
      candidatePairs: ce.candidatePairs,
      edges: ce.edges.count,
      edgesKept: g.edges,
      iterations: lp.iterations,
      peakBytes,
    },
  };
}
