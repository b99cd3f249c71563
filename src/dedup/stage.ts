import { DuplicateFilter } from './bloom.js';
import { DuplicationSample } from './levels.js';

/**
 * The de-duplication stage: fragments come in input order with the fingerprints the workers computed
 * (dedup/hash.ts, hi/lo pairs); the first fragment of a fingerprint is kept, later ones are exact duplicates.
 * The only stage with state across batches, so it runs where the results meet, in input order. The duplication
 * levels of all QC-passed fragments (qc_stats.json) are sampled whether duplicates are removed or not.
 */
export class DedupStage {
  /** the fixed-memory filter; undefined with --no-dedup */
  readonly filter: DuplicateFilter | undefined;
  levels = new DuplicationSample();
  duplicates = 0;

  constructor(remove: boolean, memBytes: number) {
    this.filter = remove ? new DuplicateFilter(memBytes) : undefined;
  }

  /**
   * Continues after a checkpoint: the filter after a prefix holds exactly the bits of the prefix's kept fragments
   * (a duplicate sets none), so marking their fingerprints again restores it.
   */
  restore(duplicates: number, levels: DuplicationSample, keptHashes: Iterable<Uint32Array>): void {
    this.duplicates = duplicates;
    this.levels = levels;
    const f = this.filter;
    if (f) for (const h of keptHashes) for (let i = 0; i < h.length; i += 2) f.testAndSet(h[i]!, h[i + 1]!);
  }

  /** Sets keep[k] = 1 for each of the first n fragments (fingerprints hashes[2k], hashes[2k+1]) that is kept. */
  mark(hashes: Uint32Array, n: number, keep: Uint8Array): void {
    const dedup = this.filter;
    const levels = this.levels;
    for (let k = 0; k < n; k++) {
      levels.add(hashes[2 * k]!, hashes[2 * k + 1]!);
      if (dedup && dedup.testAndSet(hashes[2 * k]!, hashes[2 * k + 1]!)) {
        this.duplicates++;
        continue;
      }
      keep[k] = 1;
    }
  }
}
