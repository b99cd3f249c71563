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
  const colSum = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) colSum[t] = colSum[t]! + x[i * d + t]!;
  const mean = new Float64Array(d);
  for (let t = 0; t < d; t++) mean[t] = colSum[t]! / Math.max(1, n);
  return lshUnion(lshSignatures(x, n, d, mean, p), n, p.bands);
}

/**
 * Band signatures (band-major: band b of row i at [b * n + i]) of n rows, centred on the mean of all rows
 * (given: an engine holding a slice of the rows passes the global mean).
 */
export function lshSignatures(x: Float32Array, n: number, d: number, mean: Float64Array, p: LshParams): Int32Array {
  if (p.bits < 1 || p.bits > 30) throw new RangeError(`lsh: bits=${p.bits} must be in 1..30`);
  const rng = new Rng(p.seed);
  const planes = p.bands * p.bits;
  const h = new Float64Array(planes * d);
  for (let i = 0; i < h.length; i++) h[i] = gaussian(rng);
  const sig = new Int32Array(p.bands * n);
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
      sig[b * n + i] = s;
    }
  }
  return sig;
}

/** Buckets of equal band signatures joined across bands (union-find), numbered by first row. */
export function lshUnion(sig: Int32Array, n: number, bands: number): { group: Int32Array; groups: number; largest: number } {
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]!]!;
      a = parent[a]!;
    }
    return a;
  };
  for (let b = 0; b < bands; b++) {
    // first row seen with each signature; later rows join it
    const first = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const f = first.get(sig[b * n + i]!);
      if (f === undefined) first.set(sig[b * n + i]!, i);
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
