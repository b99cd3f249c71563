/**
 * The k-mer spectrum of pass 1, as two mergeable structures (docs/correction.md):
 *
 * 1. A "level sketch": Lighter samples each k-mer occurrence into a Bloom filter with probability alpha.
 *    We store instead, for each k-mer, the maximum over its occurrences of a geometric level
 *    (the number of leading zero bits of a per-occurrence hash), in byte cells with 3 probes. A k-mer is
 *    "in Lighter's sampled set for alpha = 2^-L" exactly when its level is >= L, so alpha can be chosen after
 *    pass 1 from the measured coverage. Cells merge by element-wise max (order-independent, so the result does
 *    not depend on threads, batches or engines); the local engine updates one shared array with CAS.
 * 2. An exact spectrum of a 1/SUBSAMPLE hash-subsample of k-mers (counts merged by addition), from which the
 *    solid threshold, genome size and k-mer coverage are estimated when --genome-size is not given.
 */
export const SUBSAMPLE = 512;
const PROBES = 3;

export class LevelSketch {
  readonly cells: Uint8Array;
  readonly mask: number;

  constructor(cells: Uint8Array) {
    if ((cells.length & (cells.length - 1)) !== 0) throw new RangeError('sketch size must be a power of two');
    this.cells = cells;
    this.mask = cells.length - 1;
  }

  static allocate(bytes: number, shared: boolean): LevelSketch {
    let n = 1 << 16;
    while (n * 2 <= bytes && n < 2 ** 31) n *= 2;
    const buf = shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n);
    return new LevelSketch(new Uint8Array(buf));
  }

  // Blocked layout: the 3 probes of a k-mer fall in one 64-byte cache line (h1 picks the line, h2 the cells),
  // so a lookup costs one cache miss instead of three in a table far larger than the CPU caches.

  /** Raises the k-mer's cells to `level` (atomic max: safe with concurrent writers). */
  add(h1: number, h2: number, level: number): void {
    if (level === 0) return;
    const cells = this.cells;
    const line = (h1 & this.mask & ~63) >>> 0;
    for (let i = 0; i < PROBES; i++) {
      const idx = line + ((h2 >>> (6 * i)) & 63);
      // Cells only grow, so a plain read that already shows >= level is final; only smaller values need the
      // atomic compare-and-swap (most occurrences of a frequent k-mer stop here).
      if (cells[idx]! >= level) continue;
      let cur = Atomics.load(cells, idx);
      while (level > cur) {
        const prev = Atomics.compareExchange(cells, idx, cur, level);
        if (prev === cur) break;
        cur = prev;
      }
    }
  }

  /** Level of a k-mer: the minimum of its cells (an upper bound of its true level, as a Bloom filter). */
  level(h1: number, h2: number): number {
    const cells = this.cells;
    const line = (h1 & this.mask & ~63) >>> 0;
    let min = 255;
    for (let i = 0; i < PROBES; i++) {
      const v = cells[line + ((h2 >>> (6 * i)) & 63)]!;
      if (v < min) min = v;
    }
    return min;
  }

  /** Fraction of cells at or above a level (to estimate the false-membership rate: that fraction^3). */
  occupancy(level: number): number {
    let c = 0;
    for (let i = 0; i < this.cells.length; i++) if (this.cells[i]! >= level) c++;
    return c / this.cells.length;
  }
}

/** Per-occurrence level: leading zeros of a hash of (k-mer, read, position); P(level >= L) = 2^-L. */
export function occurrenceLevel(h1: number, readIndex: number, pos: number): number {
  let h = Math.imul(h1 ^ Math.imul(readIndex + 1, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(pos + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return Math.min(Math.clz32(h), 30);
}

export interface SpectrumEstimate {
  /** k-mers seen at least this often are solid (the valley of the subsampled spectrum). */
  solidThreshold: number;
  genomeSize: number;
  /** Mean occurrences of a solid k-mer. */
  kmerCoverage: number;
  /** Histogram of the subsample: counts[c] = distinct subsampled k-mers seen c times (c capped at 255). */
  histogram: number[];
}

/** Solid threshold, genome size and k-mer coverage from the subsampled exact spectrum. */
export function estimateSpectrum(counts: Map<number, number>): SpectrumEstimate {
  const hist = new Array<number>(256).fill(0);
  for (const c of counts.values()) hist[Math.min(c, 255)]! += 1;
  // valley: the first c >= 2 where the histogram stops falling (errors) before it rises (genome)
  let t = 2;
  while (t < 254 && hist[t + 1]! < hist[t]!) t++;
  if (t >= 254) t = 2;
  let distinct = 0;
  let occ = 0;
  for (let c = t; c < 256; c++) {
    distinct += hist[c]!;
    occ += c * hist[c]!;
  }
  return {
    solidThreshold: t,
    genomeSize: distinct * SUBSAMPLE,
    kmerCoverage: distinct > 0 ? occ / distinct : 0,
    histogram: hist,
  };
}

export function mergeSubsample(into: Map<number, number>, keys: Uint32Array, counts: Uint32Array): void {
  for (let i = 0; i < keys.length; i++) into.set(keys[i]!, (into.get(keys[i]!) ?? 0) + counts[i]!);
}

/**
 * The one merge of pass 1, whatever the engine: batches, slices and slice partials all reduce here. Cells merge
 * by element-wise max, subsample counts and k-mer occurrences by addition: both order-independent, so every
 * engine reaches the same spectrum.
 */
export class SpectrumMerge {
  readonly sub = new Map<number, number>();
  kmers = 0;
  constructor(readonly cells: Uint8Array) {}

  /** A result whose k-mers were raised into `cells` already (the batch wrote the shared sketch in place). */
  addCounts(keys: Uint32Array, counts: Uint32Array, kmers: number): void {
    mergeSubsample(this.sub, keys, counts);
    this.kmers += kmers;
  }

  /** A partial with its own sketch of the same size. */
  addPartial(cells: Uint8Array, keys: Uint32Array, counts: Uint32Array, kmers: number): void {
    const into = this.cells;
    for (let i = 0; i < into.length; i++) if (cells[i]! > into[i]!) into[i] = cells[i]!;
    this.addCounts(keys, counts, kmers);
  }

  /** The subsample as parallel arrays (a slice's partial). */
  subsampleArrays(): { keys: Uint32Array; counts: Uint32Array } {
    const keys = new Uint32Array(this.sub.size);
    const counts = new Uint32Array(this.sub.size);
    let j = 0;
    for (const [k, c] of this.sub) {
      keys[j] = k;
      counts[j++] = c;
    }
    return { keys, counts };
  }
}
