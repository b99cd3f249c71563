/**
 * Quality trimming on mate views [start, start+len) with Phred+33 quality bytes.
 * cutFront/cutTail follow fastp's sliding-window rule exactly (docs/qc.md): the window moves while its mean
 * quality is below the threshold; once it moves, the cut lands at the far edge of the first passing window
 * and adjacent N bases are dropped too.
 */

export interface View {
  start: number;
  len: number;
}

/**
 * Cuts from the 5' end of the read whose bases start at b[s0] and qualities at b[q0] (len bases).
 * Returns the number of bases removed, or -1 if the read is not longer than the window.
 */
export function cutFront(b: Uint8Array, s0: number, q0: number, len: number, window: number, meanQ: number): number {
  if (len - window <= 0) return -1;
  const need = (33 + meanQ) * window;
  let total = 0;
  for (let i = 0; i < window - 1; i++) total += b[q0 + i]!;
  let s = 0;
  for (; s + window < len; s++) {
    total += b[q0 + s + window - 1]!;
    if (s > 0) total -= b[q0 + s - 1]!;
    if (total >= need) break;
  }
  if (s > 0) s = s + window - 1;
  while (s < len && b[s0 + s] === 0x4e) s++;
  return s;
}

/** Cuts from the 3' end; returns the new length, or -1 if the read is not longer than the window. */
export function cutTail(b: Uint8Array, s0: number, q0: number, len: number, window: number, meanQ: number): number {
  if (len - window <= 0) return -1;
  const need = (33 + meanQ) * window;
  let total = 0;
  for (let i = 0; i < window - 1; i++) total += b[q0 + len - 1 - i]!;
  let t = len - 1;
  for (; t - window >= 0; t--) {
    total += b[q0 + t - window + 1]!;
    if (t < len - 1) total -= b[q0 + t + 1]!;
    if (total >= need) break;
  }
  if (t < len - 1) t = t - window + 1;
  while (t >= 0 && b[s0 + t] === 0x4e) t--;
  return Math.max(t + 1, 0);
}

/**
 * Poly-G tail (two-colour chemistry artefact): removes a 3' run of G of at least minLen bases, allowing one
 * mismatch per 8 bases of the run. Returns bases removed.
 */
export function trimPolyG(seq: Uint8Array, v: View, minLen: number): number {
  const end = v.start + v.len;
  let mism = 0;
  let best = 0;
  for (let i = 1; i <= v.len; i++) {
    if (seq[end - i] !== 0x47) {
      mism++;
      if (mism > (i >> 3)) break;
    } else if (i >= minLen) best = i;
  }
  if (best === 0) return 0;
  v.len -= best;
  return best;
}

/**
 * The median-quality rule: from per-cycle quality histograms of a sample of reads, the first cycle whose
 * median quality is below `threshold`; reads are cut there. Returns -1 when no cycle is below.
 * `hist[pos * 94 + q]` counts reads with Phred q at cycle pos.
 */
export function medianCutoff(hist: Float64Array, maxPos: number, threshold: number): number {
  for (let pos = 0; pos < maxPos; pos++) {
    let total = 0;
    for (let q = 0; q < 94; q++) total += hist[pos * 94 + q]!;
    if (total === 0) return -1;
    let acc = 0;
    let median = 0;
    for (let q = 0; q < 94; q++) {
      acc += hist[pos * 94 + q]!;
      if (acc * 2 >= total) {
        median = q;
        break;
      }
    }
    if (median < threshold) return pos;
  }
  return -1;
}
