import { FilterReason, type QcParams } from './params.js';

/**
 * Read-level filters, in fastp's order: quality (unqualified fraction), N content, length, complexity.
 * Returns the first failing reason or Pass. FASTA reads (qualStart < 0) skip the quality filter.
 */
export function filterRead(seq: Uint8Array, qualStart: number, start: number, len: number, p: QcParams): FilterReason {
  if (len <= 0) return FilterReason.TooShort;
  let lowQ = 0;
  let n = 0;
  const qq = 33 + p.qualifiedQuality;
  const end = start + len;
  for (let i = start; i < end; i++) if (seq[i] === 0x4e) n++;
  if (qualStart >= 0) {
    const qOff = qualStart - start;
    for (let i = start; i < end; i++) if (seq[i + qOff]! < qq) lowQ++;
    if (lowQ > p.unqualifiedFraction * len) return FilterReason.LowQuality;
  }
  if (n > p.maxNFraction * len) return FilterReason.TooManyN;
  if (len < p.minLength) return FilterReason.TooShort;
  if (p.minComplexity > 0) {
    if (len <= 1) return FilterReason.LowComplexity;
    let diff = 0;
    for (let i = start; i < end - 1; i++) if (seq[i] !== seq[i + 1]) diff++;
    if (diff / (len - 1) < p.minComplexity) return FilterReason.LowComplexity;
  }
  return FilterReason.Pass;
}
