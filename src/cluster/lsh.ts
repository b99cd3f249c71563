import { Rng } from './rng.js';

/**
 * Locality-sensitive hashing of embeddings (`cluster --method lsh`, docs/graph.md): random-hyperplane
 * signatures (Charikar's SimHash: the sign of the centred embedding's projection on a Gaussian direction, so
 * two rows agree on a bit with probability 1 - angle / pi), cut into `bands` bands of `bits` bits; rows whose
 * signatures agree on a whole band fall into one bucket, and buckets are joined across bands with a
 * union-find (the banding scheme of Indyk-Motwani / Leskovec et al.). A band of b bits joins two rows at
 * angle theta with probability (1 - theta/pi)^b, so more bits make tighter buckets and more bands catch more
 * near pairs. The buckets are then pooled and clustered like the graph method's read groups.
 */
export interface LshParams {
  bands: number;
  bits: number;
  seed: number;
}

export const DEFAULT_LSH = { bands: 4, bits: 24 } as const;

/** Standard normal draws (Box-Muller) from the seeded generator. */
function gaussian(rng: Rng): number {
  const u = Math.max(rng.nextDouble(), 1e-300);
  const v = rng.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function lshBuckets(x: Float32Array, n: number, d: number, p: LshParams): { group: Int32Array; groups: number; largest: number } {
  if (p.bits < 1 || p.bits > 30) throw new RangeError(`lsh: bits=${p.bits} must be in 1..30`);
  const rng = new Rng(p.seed);
  const planes = p.bands * p.bits;
  const h = new Float64Array(planes * d);
  for (let i = 0; i < h.length; i++) h[i] = gaussian(rng);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] = mean[t]! + x[i * d + t]!;
  for (let t = 0; t < d; t++) mean[t] = mean[t]! / Math.max(1, n);
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]!]!;
      a = parent[a]!;
    }
    return a;
  };
  const sig = new Int32Array(n);
  const row = new Float64Array(d);
  for (let b = 0; b < p.bands; b++) {
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < d; t++) row[t] = x[i * d + t]! - mean[t]!;
      let s = 0;
      for (let j = 0; j < p.bits; j++) {
        const o = (b * p.bits + j) * d;
        let dot = 0;
        for (let t = 0; t < d; t++) dot += row[t]! * h[o + t]!;
        if (dot >= 0) s |= 1 << j;
      }
      sig[i] = s;
    }
    // first row seen with each signature; later rows join it
    const first = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const f = first.get(sig[i]!);
      if (f === undefined) first.set(sig[i]!, i);
      else {
        const ra = find(f);
        const rb = find(i);
        if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
      }
    }
  }
  const map = new Int32Array(n).fill(-1);
  const group = new Int32Array(n);
  const size: number[] = [];
  let groups = 0;
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (map[r] === -1) {
      map[r] = groups++;
      size.push(0);
    }
    group[i] = map[r]!;
    size[group[i]!]!++;
  }
  return { group, groups, largest: Math.max(0, ...size) };
}
