import { kmerHashes } from './kmerCode.js';
import { LevelSketch, occurrenceLevel, SUBSAMPLE } from './sketch.js';

/**
 * Pass 1 on one read: every k-mer occurrence raises its sketch cells to the occurrence's level, and k-mers
 * in the 1/SUBSAMPLE hash-subsample are counted exactly in `sub`.
 */
export class SpectrumBuilder {
  private hashes = new Uint32Array(1024);
  private valid = new Uint8Array(512);
  kmers = 0;

  constructor(
    private readonly sketch: LevelSketch,
    private readonly k: number,
    readonly sub: Map<number, number>,
  ) {}

  addRead(s: Uint8Array, start: number, len: number, readIndex: number): void {
    if (this.valid.length < len) {
      this.valid = new Uint8Array(len * 2);
      this.hashes = new Uint32Array(len * 4);
    }
    const n = kmerHashes(s, start, len, this.k, this.hashes, this.valid);
    for (let i = 0; i < n; i++) {
      if (!this.valid[i]) continue;
      const h1 = this.hashes[2 * i]!;
      const h2 = this.hashes[2 * i + 1]!;
      this.kmers++;
      this.sketch.add(h1, h2, occurrenceLevel(h1, readIndex, i));
      if ((h2 & (SUBSAMPLE - 1)) === 0) this.sub.set(h1, (this.sub.get(h1) ?? 0) + 1);
    }
  }
}
