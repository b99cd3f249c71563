import type { Graph } from './graph.js';
import { poolGroups } from './pooled.js';

/**
 * Composition-checked merging of read groups (docs/graph.md). Label propagation leaves groups that are pure but
 * short (segments of a genome at low coverage); connected components would make them long but let one shared
 * repeat join two genomes. This step joins groups along the overlap graph, heaviest links first, with a
 * union-find that refuses a union when the two sides' pooled compositions differ by more than sampling noise
 * explains: in square-root (Hellinger) coordinates a pooled profile of N k-mers has noise variance about
 * 1 / (4 N) per dimension, so two samples of one genome have squared distance about (d / 4)(1/N1 + 1/N2) plus
 * the genome's own local variation. A union needs distance^2 <= tolerance x that + floor. A repeat read group
 * can join one genome, but the merged side then no longer matches the other genome, which stays apart.
 */
export interface MergeParams {
  /** allowed squared distance in units of the expected sampling noise */
  tolerance: number;
  /** allowed squared distance on top (local composition variation within a genome) */
  floor: number;
}

export const DEFAULT_MERGE: MergeParams = { tolerance: 10, floor: 0.03 };

export function mergeGroups(
  g: Graph,
  group: Int32Array,
  groups: number,
  embedding: Float32Array,
  weight: Float64Array,
  d: number,
  p: MergeParams,
  redundancy?: Float64Array,
): { group: Int32Array; groups: number; unions: number; refused: number } {
  // pooled k-mer mass per group: sum of weight x profile
  const pool = poolGroups(g.n, d, embedding, weight, undefined, group, groups, redundancy);
  const red = pool.red ? { sum: pool.red, members: Float64Array.from(pool.members) } : undefined;
  return mergePooledGroups(groupLinks(g, group, groups), group, groups, pool.comp, pool.mass, d, p, red);
}

/**
 * Group-level links: total edge weight between two groups, keyed a * groups + b for a < b (each unordered
 * pair once, from its smaller side; self-links skipped). Weights are integers, so partial sums an engine adds
 * in any order give the same totals.
 */
export function groupLinks(g: Graph, group: Int32Array, groups: number): Map<number, number> {
  return groupLinksOf(g.n, g.start, g.nbr, g.w, group, groups);
}

/**
 * groupLinks over any adjacency: node v in [0, nodes) has neighbours j in [start[v], start[v+1]) whose group is
 * group[ref[j]] (an engine's remote neighbours are extra entries of `group` after its own nodes).
 */
export function groupLinksOf(
  nodes: number, start: Int32Array, ref: ArrayLike<number>, w: ArrayLike<number>, group: Int32Array, groups: number,
): Map<number, number> {
  const link = new Map<number, number>();
  for (let v = 0; v < nodes; v++) {
    const a = group[v]!;
    for (let j = start[v]!; j < start[v + 1]!; j++) {
      const b = group[ref[j]!]!;
      if (a >= b) continue;
      const key = a * groups + b;
      link.set(key, (link.get(key) ?? 0) + w[j]!);
    }
  }
  return link;
}

/**
 * The merge given the group links (groupLinks) and each group's pooled k-mer mass (`sum`, groups x d: sum of
 * weight x profile; `mass`: sum of weights), however an engine computed them (poolGroups over the group's
 * fragments in fragment order). The sums are updated in place as groups are joined.
 */
export function mergePooledGroups(
  link: Map<number, number>,
  group: Int32Array,
  groups: number,
  sum: Float64Array,
  mass: Float64Array,
  d: number,
  p: MergeParams,
  red?: { sum: Float64Array; members: Float64Array },
): { group: Int32Array; groups: number; unions: number; refused: number } {
  const n = group.length;
  // effective k-mers: overlapping reads re-sample the same bases, so a group's pooled k-mers count once per
  // `redundancy` (its fragments' mean minimizer occurrence, at most its fragments; pooledNoise). Without it the
  // noise of a deep group was underestimated by its coverage, and a 12x subset stayed in ~1 kb pieces.
  const effective = (g: number, m: number): number => (red ? m / Math.max(1, Math.min(red.sum[g]! / Math.max(1, red.members[g]!), red.members[g]!)) : m);
  const edges = Array.from(link.entries()).sort((x, y) => y[1] - x[1] || x[0] - y[0]);
  const parent = new Int32Array(groups);
  for (let i = 0; i < groups; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  let unions = 0;
  let refused = 0;
  for (const [key] of edges) {
    const a = find(Math.floor(key / groups));
    const b = find(key % groups);
    if (a === b) continue;
    const ma = mass[a]!;
    const mb = mass[b]!;
    if (ma <= 0 || mb <= 0) continue;
    let dist = 0;
    for (let t = 0; t < d; t++) {
      const u = Math.sqrt(Math.max(0, sum[a * d + t]! / ma)) - Math.sqrt(Math.max(0, sum[b * d + t]! / mb));
      dist += u * u;
    }
    const noise = (d / 4) * (1 / effective(a, ma) + 1 / effective(b, mb));
    if (dist > p.tolerance * noise + p.floor) {
      refused++;
      continue;
    }
    const [r, s] = a < b ? [a, b] : [b, a];
    parent[s] = r;
    mass[r] = ma + mb;
    if (red) {
      red.sum[r] = red.sum[r]! + red.sum[s]!;
      red.members[r] = red.members[r]! + red.members[s]!;
    }
    for (let t = 0; t < d; t++) sum[r * d + t] = sum[r * d + t]! + sum[s * d + t]!;
    unions++;
  }
  const map = new Int32Array(groups).fill(-1);
  const out = new Int32Array(n);
  let count = 0;
  for (let f = 0; f < n; f++) {
    const r = find(group[f]!);
    if (map[r] === -1) map[r] = count++;
    out[f] = map[r]!;
  }
  return { group: out, groups: count, unions, refused };
}
