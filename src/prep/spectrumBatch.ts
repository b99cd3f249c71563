import { SpectrumBuilder } from '../correct/spectrum.js';
import { LevelSketch } from '../correct/sketch.js';
import { allocParsed, parseRecords } from '../io/seqParser.js';
import { checkMateNames } from './mates.js';
import type { PrepBatch, SpectrumBatchResult } from './params.js';

/**
 * Pass 1 of error correction for one batch: parse the raw reads and add every k-mer occurrence to the
 * spectrum. Pure apart from the sketch, whose cells only ever grow by max (order-independent).
 */
export function spectrumBatch(batch: PrepBatch, k: number, cells: Uint8Array): SpectrumBatchResult {
  const sketch = new LevelSketch(cells);
  const builder = new SpectrumBuilder(sketch, k, new Map());
  const ctx = (m: NonNullable<PrepBatch['r2']>) => ({
    label: m.label,
    firstRecord: m.firstRecord,
    firstLine: m.firstLine,
    format: batch.format,
    quality: batch.quality,
  });
  const p1 = parseRecords(batch.r1.bytes, batch.r1.records, ctx(batch.r1), allocParsed(batch.r1.records));
  const p2 = batch.r2 ? parseRecords(batch.r2.bytes, batch.r2.records, ctx(batch.r2), allocParsed(batch.r2.records)) : undefined;
  // the first pass over the input: mismatched mate files fail here, not after a whole pass
  checkMateNames(batch, p1, p2);
  for (let i = 0; i < p1.n; i++) {
    // read index: fragment * 2 + mate, so the sampling does not depend on how inputs are batched
    const readIndex = batch.layout === 'interleaved' ? 2 * batch.firstFragment + i : (batch.firstFragment + i) * 2;
    builder.addRead(batch.r1.bytes, p1.seqStart[i]!, p1.seqLen[i]!, readIndex);
  }
  if (batch.r2 && p2) {
    for (let i = 0; i < p2.n; i++) builder.addRead(batch.r2.bytes, p2.seqStart[i]!, p2.seqLen[i]!, (batch.firstFragment + i) * 2 + 1);
  }
  const keys = new Uint32Array(builder.sub.size);
  const counts = new Uint32Array(builder.sub.size);
  let j = 0;
  for (const [key, c] of builder.sub) {
    keys[j] = key;
    counts[j++] = c;
  }
  return { index: batch.index, kmers: builder.kmers, keys, counts };
}
