/** Synthetic data generators for the k-means tests and benchmark (seeded, deterministic). */
import { Rng } from './rng.js';

export function gaussian(rng: Rng): number {
  const u = 1 - rng.nextDouble();
  const v = rng.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** k well-separated isotropic Gaussian blobs: centers uniform in [-10,10]^d (min separation enforced), sd `sd`. */
export function blobs(k: number, perBlob: number, d: number, seed: number, sd = 0.5): { x: Float32Array; n: number; truth: Int32Array; centers: Float64Array } {
  const rng = new Rng(seed);
  const centers = new Float64Array(k * d);
  for (let j = 0; j < k; j++) {
    for (let tries = 0; ; tries++) {
      for (let t = 0; t < d; t++) centers[j * d + t] = rng.nextDouble() * 20 - 10;
      let ok = true;
      for (let q = 0; q < j && ok; q++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += (centers[j * d + t]! - centers[q * d + t]!) ** 2;
        if (Math.sqrt(s) < 12 * sd) ok = false;
      }
      if (ok || tries > 1000) break;
    }
  }
  const n = k * perBlob;
  const x = new Float32Array(n * d);
  const truth = new Int32Array(n);
  // Interleave blobs so that every block holds all of them.
  for (let i = 0; i < n; i++) {
    const j = i % k;
    truth[i] = j;
    for (let t = 0; t < d; t++) x[i * d + t] = centers[j * d + t]! + sd * gaussian(rng);
  }
  return { x, n, truth, centers };
}

/** Rows drawn around `k` Dirichlet-like composition centers (like 4-mer profiles), noise sd. */
export function profileMixture(k: number, n: number, d: number, seed: number, sd = 0.004): Float32Array {
  const rng = new Rng(seed);
  const centers = new Float64Array(k * d);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < d; t++) { const g = -Math.log(1 - rng.nextDouble()); centers[j * d + t] = g; s += g; }
    for (let t = 0; t < d; t++) centers[j * d + t] = centers[j * d + t]! / s;
  }
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const j = rng.nextInt(k);
    for (let t = 0; t < d; t++) x[i * d + t] = centers[j * d + t]! + sd * gaussian(rng);
  }
  return x;
}

/** True when the predicted labels are a relabelling of the truth (perfect recovery). */
export function samePartition(a: Int32Array, b: Int32Array): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if ((ab.get(x) ?? y) !== y || (ba.get(y) ?? x) !== x) return false;
    ab.set(x, y);
    ba.set(y, x);
  }
  return true;
}
