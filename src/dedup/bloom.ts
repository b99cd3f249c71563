/**
 * Exact-duplicate filter with memory fixed up front (like fastp's bit arrays): a Bloom filter over the
 * 64-bit fragment fingerprints with 3 probes (double hashing). Memory = `bytes`, whatever the input size.
 * False positive rate (a unique fragment wrongly called duplicate) for n fragments and m bits:
 * (1 - e^(-3n/m))^3, e.g. 64 MiB and 10M fragments: 1.6e-4; 256 MiB and 100M fragments: 1.5e-3.
 * docs/dedup.md gives the table; raise --dedup-mem for very large runs.
 *
 * Fragments must be offered in input order for the result to be independent of the thread count.
 */
export class DuplicateFilter {
  readonly bits: Uint32Array;
  private readonly mask: number;
  readonly bytes: number;

  constructor(bytes: number) {
    // Power of two number of bits, at least 2^16.
    let nbits = 1 << 16;
    while (nbits * 2 <= bytes * 8 && nbits < 2 ** 32) nbits *= 2;
    this.bits = new Uint32Array(nbits / 32);
    this.mask = nbits - 1;
    this.bytes = nbits / 8;
  }

  /** Marks the fragment and returns true if it had (probably) been seen before. */
  testAndSet(h1: number, h2: number): boolean {
    let seen = true;
    const bits = this.bits;
    const step = h2 | 1;
    let pos = h1 >>> 0;
    for (let i = 0; i < 3; i++) {
      const b = (pos & this.mask) >>> 0;
      const w = b >>> 5;
      const m = 1 << (b & 31);
      if ((bits[w]! & m) === 0) {
        seen = false;
        bits[w] = bits[w]! | m;
      }
      pos = (pos + step) >>> 0;
    }
    return seen;
  }
}
