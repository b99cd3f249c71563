import { findAdapter, findOverlap } from './adapters.js';
import type { QcParams } from './params.js';
import { cutFront, cutTail, trimPolyG, type View } from './quality.js';
import { addInsert } from './stats.js';

/**
 * The trimming rules of a read or pair, as fastp applies them: per mate the sliding-window quality cut, the
 * median rule and poly-G; then adapters, where a pair whose mates overlap is clipped to the overlap (fastp's
 * adapter trimmer: the insert is shorter than the reads) and otherwise each mate by adapter sequence.
 * Views are narrowed in place; what was cut is added to a TrimTally.
 */

/** Bases and fragments cut so far (the caller adds them to its counters). */
export interface TrimTally {
  qualityBases: number;
  medianBases: number;
  polyGBases: number;
  adapterBases: number;
  /** pairs clipped to their overlap */
  overlapFragments: number;
  /** fragments clipped by adapter sequence */
  sequenceFragments: number;
}

export function newTrimTally(): TrimTally {
  return { qualityBases: 0, medianBases: 0, polyGBases: 0, adapterBases: 0, overlapFragments: 0, sequenceFragments: 0 };
}

/**
 * Quality cut + median rule + poly-G on one mate: `bytes` holds the record, `seqStart` its sequence's offset and
 * `qualStart` its qualities' (-1: FASTA). Returns the bases cut at the 5' end (for the overlap rule).
 */
export function trimMate(bytes: Uint8Array, seqStart: number, qualStart: number, v: View, qc: QcParams, medianCut: number, tally: TrimTally): number {
  const qs = qualStart;
  let front = 0;
  if (qs >= 0 && (qc.cutFront || qc.cutTail)) {
    const before = v.len;
    if (qc.cutFront) {
      const cut = cutFront(bytes, v.start, qs + (v.start - seqStart), v.len, qc.cutWindow, qc.cutMeanQuality);
      if (cut < 0) {
        v.len = 0;
        return 0;
      }
      front = cut;
      v.start += cut;
      v.len -= cut;
    }
    if (qc.cutTail && v.len > 0) {
      const keep = cutTail(bytes, v.start, qs + (v.start - seqStart), v.len, qc.cutWindow, qc.cutMeanQuality);
      v.len = keep < 0 ? 0 : keep;
    }
    tally.qualityBases += before - v.len;
  }
  if (qs >= 0 && medianCut >= 0 && v.len > 0) {
    const end = Math.min(v.start + v.len, seqStart + medianCut);
    const newLen = Math.max(0, end - v.start);
    tally.medianBases += v.len - newLen;
    v.len = newLen;
  }
  if (qc.polyG && v.len > 0) tally.polyGBases += trimPolyG(bytes, v, qc.polyGMinLen);
  return front;
}

function trimAdapterBySequence(bytes: Uint8Array, v: View, list: Uint8Array[]): number {
  let cut = -1;
  for (const a of list) {
    const pos = findAdapter(bytes, v.start, v.len, a);
    if (pos >= 0 && (cut < 0 || pos < cut)) cut = pos;
  }
  if (cut < 0) return 0;
  const removed = v.len - cut;
  v.len = cut;
  return removed;
}

/**
 * Adapter clipping of a fragment (`b2` undefined: single-end). A pair whose mates overlap with the insert shorter
 * than the reads is cut to the overlap plus what quality trimming took from the other mate's 5' end (front1/2);
 * its insert size is recorded in `stats`. Otherwise each mate is cut at the first adapter (encoded: ad1, ad2).
 */
export function clipAdapters(
  b1: Uint8Array, v1: View, front1: number, ad1: Uint8Array[],
  b2: Uint8Array | undefined, v2: View, front2: number, ad2: Uint8Array[],
  qc: QcParams, stats: Float64Array, tally: TrimTally,
): void {
  if (b2 && v1.len > 0 && v2.len > 0) {
    const ov = findOverlap(b1, v1.start, v1.len, b2, v2.start, v2.len, qc.overlapMinLen, qc.overlapDiffLimit, qc.overlapDiffPercent);
    addInsert(stats, ov.found, ov.offset, ov.overlap, v1.len, v2.len, front1, front2);
    if (ov.found && ov.offset < 0) {
      const l1 = Math.min(v1.len, ov.overlap + front2);
      const l2 = Math.min(v2.len, ov.overlap + front1);
      tally.adapterBases += v1.len - l1 + (v2.len - l2);
      v1.len = l1;
      v2.len = l2;
      tally.overlapFragments += 1;
      return;
    }
  }
  let removed = v1.len > 0 ? trimAdapterBySequence(b1, v1, ad1) : 0;
  if (b2 && v2.len > 0) removed += trimAdapterBySequence(b2, v2, ad2);
  if (removed > 0) {
    tally.adapterBases += removed;
    tally.sequenceFragments += 1;
  }
}
