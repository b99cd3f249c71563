/**
 * Duplication levels (how many distinct fragments occur once, twice, ..., 10 or more times, as FastQC and
 * MultiQC show them) in memory fixed up front. The Bloom filter (bloom.ts) only answers "seen before", so the
 * levels are counted exactly on a sample of the distinct fragments chosen by their fingerprint: a fragment is
 * sampled when the low `shift` bits of its first hash half are zero, so every copy of a sampled fragment is
 * counted and the sample is 1 / 2^shift of the distinct fragments, uniformly. When more than MAX_SAMPLED
 * distinct fragments are held, `shift` grows by one and the entries that no longer qualify are dropped
 * (adaptive distinct sampling, Gibbons 2001): the counts of the entries kept stay exact. Below MAX_SAMPLED
 * distinct fragments nothing is dropped and the levels are exact. Fragments are offered in input order.
 */
export const MAX_SAMPLED = 16_384;
/** Levels 1..LEVELS - 1, and LEVELS or more in the last. */
export const LEVELS = 10;

/** 53 bits of the 64-bit fingerprint, exact as a double (Map key): collisions ~2^-53 per pair in the sample. */
const key = (h1: number, h2: number): number => (h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) >>> 11);

export interface DuplicationLevels {
  /** sampling: 1 / 2^shift of the distinct fragments (0 = every fragment, exact) */
  shift: number;
  sampled_distinct: number;
  /** level (1..9, "10+"): estimated distinct fragments and the fragments (all copies) they stand for */
  levels: { level: string; distinct: number; fragments: number }[];
  /** estimated share of fragments that are a second or later copy (1 - distinct / fragments) */
  duplicate_fraction: number;
}

export class DuplicationSample {
  shift = 0;
  private mask = 0;
  /** fingerprint key -> copies (the key holds all of h1, whose low bits decide the sampling) */
  readonly counts = new Map<number, number>();

  add(h1: number, h2: number): void {
    if ((h1 & this.mask) !== 0) return;
    const k = key(h1, h2);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    while (this.counts.size > MAX_SAMPLED && this.shift < 30) this.raise();
  }

  private raise(): void {
    this.shift++;
    this.mask = 2 ** this.shift - 1;
    for (const k of this.counts.keys()) if ((Math.floor(k / 2 ** 21) & this.mask) !== 0) this.counts.delete(k);
  }

  /** [shift, then key and count per entry] (for the resume journal). */
  encode(): Float64Array {
    const out = new Float64Array(1 + 2 * this.counts.size);
    out[0] = this.shift;
    let i = 1;
    for (const [k, c] of this.counts) {
      out[i++] = k;
      out[i++] = c;
    }
    return out;
  }

  static decode(a: Float64Array): DuplicationSample {
    const s = new DuplicationSample();
    if (a.length === 0) return s;
    s.shift = a[0]!;
    s.mask = 2 ** s.shift - 1;
    for (let i = 1; i + 1 < a.length; i += 2) s.counts.set(a[i]!, a[i + 1]!);
    return s;
  }

  levels(): DuplicationLevels {
    const distinct = new Float64Array(LEVELS);
    for (const c of this.counts.values()) distinct[Math.min(c, LEVELS) - 1]! += 1;
    const scale = 2 ** this.shift;
    let frags = 0;
    let dist = 0;
    const sums = new Float64Array(LEVELS);
    for (const c of this.counts.values()) sums[Math.min(c, LEVELS) - 1]! += c;
    const levels = Array.from(distinct, (d, i) => {
      frags += sums[i]!;
      dist += d;
      return { level: i === LEVELS - 1 ? `${LEVELS}+` : String(i + 1), distinct: d * scale, fragments: sums[i]! * scale };
    });
    return {
      shift: this.shift,
      sampled_distinct: this.counts.size,
      levels,
      duplicate_fraction: frags > 0 ? +(1 - dist / frags).toFixed(6) : 0,
    };
  }
}
