import { inputError } from '../errors.js';
import type { ParsedRecords } from '../io/seqParser.js';
import type { PrepBatch } from './params.js';

/**
 * Mate pairing of one parsed batch: both mates of every fragment carry the same read name (without /1 /2 or
 * comment: the parser's idStart..idEnd). Checked by the first pass that reads the input (correction pass 1,
 * or the prep pass with --no-correct), so mismatched mate files fail at their first bad batch.
 */

const decoder = new TextDecoder();

/** A read name for an error message (one line, at most 100 characters). */
function nameOf(bytes: Uint8Array, p: ParsedRecords, i: number): string {
  const s = p.idStart[i]!;
  const e = p.idEnd[i]!;
  const name = decoder.decode(bytes.subarray(s, Math.min(e, s + 100)));
  return e - s > 100 ? `${name}...` : name;
}

function sameName(b1: Uint8Array, p1: ParsedRecords, i1: number, b2: Uint8Array, p2: ParsedRecords, i2: number): boolean {
  const s1 = p1.idStart[i1]!;
  const len = p1.idEnd[i1]! - s1;
  const s2 = p2.idStart[i2]!;
  if (p2.idEnd[i2]! - s2 !== len) return false;
  for (let t = 0; t < len; t++) if (b1[s1 + t] !== b2[s2 + t]) return false;
  return true;
}

/**
 * Throws an input error naming the files, the record, the lines and both names at the first fragment whose
 * mates are named differently. `p1` holds the batch's R1 records (both mates alternately when interleaved),
 * `p2` its R2 records (layout 'pe'). Single-end batches have nothing to check.
 */
export function checkMateNames(batch: PrepBatch, p1: ParsedRecords, p2?: ParsedRecords): void {
  if (batch.layout === 'se') return;
  const interleaved = batch.layout === 'interleaved';
  const b2 = interleaved ? batch.r1.bytes : batch.r2!.bytes;
  const q2 = interleaved ? p1 : p2!;
  for (let f = 0; f < batch.fragments; f++) {
    const i1 = interleaved ? 2 * f : f;
    const i2 = interleaved ? 2 * f + 1 : f;
    if (sameName(batch.r1.bytes, p1, i1, b2, q2, i2)) continue;
    const rec1 = batch.r1.firstRecord + i1 + 1;
    const where = interleaved
      ? `records ${rec1} and ${rec1 + 1}`
      : `record ${rec1} (R1 line ${batch.r1.firstLine + i1 * 4}, R2 line ${batch.r2!.firstLine + i2 * 4})`;
    throw inputError(
      `${batch.format}: ${batch.r1.label}${interleaved ? '' : ` / ${batch.r2!.label}`} ${where}: mate names differ ('${nameOf(batch.r1.bytes, p1, i1)}' vs '${nameOf(b2, q2, i2)}')`,
    );
  }
}
