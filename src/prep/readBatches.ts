import { inputError } from '../errors.js';
import { RecordReader, type SeqFormat } from '../io/recordReader.js';
import type { QualityEncoding } from '../io/seqParser.js';
import type { ByteSource } from '../io/source.js';
import type { PrepBatch } from './params.js';

/** One input: read 1 (or interleaved mates) and, for paired-end files, read 2. */
export interface InputSet {
  r1: ByteSource;
  r2?: ByteSource;
}

/** Where a run of batches starts in the whole input (zero for a whole file; a slice's plan entry otherwise). */
export interface BatchBase {
  /** Index of the first batch and run-wide index of the first fragment. */
  batch: number;
  fragment: number;
  /** Records and lines before the first record, per mate (so error messages name whole-file positions). */
  records1: number;
  lines1: number;
  records2: number;
  lines2: number;
}

export const ZERO_BASE: BatchBase = { batch: 0, fragment: 0, records1: 0, lines1: 0, records2: 0, lines2: 0 };

/** What an input set held, reported after its last batch. */
export interface SetSummary {
  records1: number;
  records2: number;
}

/**
 * Reads one input set (or one record-aligned slice of it) as batches of `batchSize` fragments (fewer when a
 * mate's chunk reaches the reader's byte cap: very long reads), mates checked for equal counts. The batches depend only on where the set starts, so a slice that starts at a multiple of
 * `batchSize` fragments yields exactly the batches a whole-file reader yields there.
 */
export async function* readSetBatches(
  set: InputSet,
  layout: PrepBatch['layout'],
  format: SeqFormat,
  quality: QualityEncoding,
  batchSize: number,
  base: BatchBase,
  done?: (s: SetSummary) => void,
): AsyncGenerator<PrepBatch> {
  const rd1 = new RecordReader(set.r1);
  const rd2 = set.r2 ? new RecordReader(set.r2) : undefined;
  const f1 = await rd1.detect();
  if (f1 !== format) throw inputError(`${set.r1.label}: is ${f1.toUpperCase()} but the first input is ${format.toUpperCase()}`);
  if (rd2) await rd2.detect();
  const perBatch = layout === 'interleaved' ? batchSize * 2 : batchSize;
  let index = base.batch;
  let fragmentBase = base.fragment;
  for (;;) {
    let c1 = await rd1.next(perBatch, undefined, layout === 'interleaved' ? 2 : 1);
    if (!c1) {
      if (rd2) {
        const extra = await rd2.next(1);
        if (extra) {
          throw inputError(
            `${format}: ${set.r1.label} ends after ${base.records1 + rd1.recordsRead} records but ${set.r2!.label} continues (record ${base.records2 + rd2.recordsRead}, line ${base.lines2 + extra.firstLine}): mate files have different numbers of reads`,
          );
        }
      }
      break;
    }
    if (layout === 'interleaved' && c1.records % 2 === 1) {
      throw inputError(
        `${format}: ${set.r1.label} record ${base.records1 + c1.firstRecord + c1.records}: interleaved input has an odd number of records (the last read has no mate)`,
      );
    }
    let c2;
    if (rd2) {
      c2 = await rd2.next(c1.records);
      const got = c2?.records ?? 0;
      // R2 stopped at the chunk byte cap (its reads are longer): the batch shrinks to what R2 could fit.
      if (got > 0 && got < c1.records && !rd2.exhausted) c1 = rd1.unread(c1, got);
      if (got < c1.records) {
        throw inputError(
          `${format}: ${set.r2!.label} ends after ${base.records2 + rd2.recordsRead} records but ${set.r1.label} continues (record ${base.records1 + c1.firstRecord + got + 1}): mate files have different numbers of reads`,
        );
      }
    }
    const fragments = layout === 'interleaved' ? c1.records / 2 : c1.records;
    const batch: PrepBatch = {
      index: index++,
      firstFragment: fragmentBase,
      format,
      quality,
      fragments,
      layout,
      r1: { label: set.r1.label, bytes: c1.bytes, records: c1.records, firstRecord: base.records1 + c1.firstRecord, firstLine: base.lines1 + c1.firstLine },
    };
    if (c2 && set.r2) {
      batch.r2 = { label: set.r2.label, bytes: c2.bytes, records: c2.records, firstRecord: base.records2 + c2.firstRecord, firstLine: base.lines2 + c2.firstLine };
    }
    fragmentBase += fragments;
    yield batch;
  }
  done?.({ records1: rd1.recordsRead, records2: rd2?.recordsRead ?? 0 });
}

/** Reads all inputs as record-aligned batches in input order; reports each input set when done. */
export async function* readBatches(
  sets: InputSet[],
  layout: PrepBatch['layout'],
  format: SeqFormat,
  quality: QualityEncoding,
  batchSize: number,
  onSet: (setIndex: number, s: SetSummary) => void,
): AsyncGenerator<PrepBatch> {
  const base = { ...ZERO_BASE };
  for (const [i, set] of sets.entries()) {
    let last: PrepBatch | undefined;
    for await (const b of readSetBatches(set, layout, format, quality, batchSize, base, (s) => onSet(i, s))) {
      last = b;
      yield b;
    }
    if (last) {
      base.batch = last.index + 1;
      base.fragment = last.firstFragment + last.fragments;
    }
  }
}
