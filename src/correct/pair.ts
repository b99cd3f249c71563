import { ReadCorrector, type CorrectionParams } from './correct.js';
import { LevelSketch } from './sketch.js';
import type { View } from '../qc/quality.js';

/** Pass 2 of error correction on one fragment: what it changed (the caller adds it to its counters). */
export interface CorrectionTally {
  bases: number;
  readsCorrected: number;
  readsUncorrectable: number;
}

export function newCorrectionTally(): CorrectionTally {
  return { bases: 0, readsCorrected: 0, readsUncorrectable: 0 };
}

let cached: { cells: Uint8Array; key: string; corrector: ReadCorrector } | undefined;
/** One corrector per worker and sketch (its scratch buffers are reused across batches). */
export function correctorFor(c: CorrectionParams & { cells: Uint8Array }): ReadCorrector {
  const key = `${c.k}/${c.level}/${c.maxCorrections}/${c.trustThreshold.join(',')}`;
  if (!cached || cached.cells.buffer !== c.cells.buffer || cached.key !== key) {
    cached = { cells: c.cells, key, corrector: new ReadCorrector(new LevelSketch(c.cells), c) };
  }
  return cached.corrector;
}

/**
 * Corrects a read or pair in place (`b2` undefined: single-end); q1/q2 are the qualities' offsets of the views'
 * first bases (-1: none).
 */
export function correctFragment(corrector: ReadCorrector, b1: Uint8Array, v1: View, q1: number, b2: Uint8Array | undefined, v2: View, q2: number, tally: CorrectionTally): void {
  const r1c = corrector.correct(b1, v1.start, v1.len, q1);
  tally.bases += r1c >= 0 ? r1c : -1 - r1c;
  if (r1c > 0) tally.readsCorrected++;
  else if (r1c < 0) tally.readsUncorrectable++;
  if (b2) {
    const r2c = corrector.correct(b2, v2.start, v2.len, q2);
    tally.bases += r2c >= 0 ? r2c : -1 - r2c;
    if (r2c > 0) tally.readsCorrected++;
    else if (r2c < 0) tally.readsUncorrectable++;
  }
}
