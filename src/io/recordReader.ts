import { inputError } from '../errors.js';
import type { ByteSource } from './source.js';

export type SeqFormat = 'fastq' | 'fasta';

/** A run of whole records cut from one input, with where it starts (for error messages). */
export interface RecordChunk {
  bytes: Uint8Array;
  records: number;
  /** 0-based index of the first record in the file. */
  firstRecord: number;
  /** 1-based line number of the first line. */
  firstLine: number;
}

const NL = 0x0a;
const GT = 0x3e;
/** A single record larger than this is refused instead of growing memory without bound. */
export const MAX_RECORD_BYTES = 256 << 20;

function isBlank(b: number | undefined): boolean {
  return b === NL || b === 0x0d || b === 0x20 || b === 0x09;
}

/**
 * Cuts whole FASTQ (4 lines per record) or FASTA (a '>' line plus sequence lines) records out of a stream
 * of decompressed chunks, carrying partial records across chunk boundaries. Only record boundaries are
 * found here (Uint8Array.indexOf is a memchr); the records are validated by the parser in the workers,
 * which is told the record and line numbers of the chunk.
 */
export class RecordReader {
  readonly source: ByteSource;
  format: SeqFormat | undefined;
  private readonly iter: AsyncIterator<Uint8Array>;
  private buf = new Uint8Array(4 << 20);
  private start = 0;
  private end = 0;
  private eof = false;
  private recordsEmitted = 0;
  private linesEmitted = 0;
  private totalBytes = 0;

  constructor(source: ByteSource) {
    this.source = source;
    this.iter = source.chunks()[Symbol.asyncIterator]();
  }

  /** Decompressed bytes read so far. */
  get bytesRead(): number {
    return this.totalBytes;
  }

  get recordsRead(): number {
    return this.recordsEmitted;
  }

  /** Appends the next chunk; live bytes may move (callers keep offsets relative to `start`). */
  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const r = await this.iter.next();
    if (r.done) {
      this.eof = true;
      return false;
    }
    const chunk = r.value;
    this.totalBytes += chunk.length;
    const live = this.end - this.start;
    if (live > MAX_RECORD_BYTES) {
      throw inputError(
        `${this.source.label}: record ${this.recordsEmitted + 1} (line ${this.linesEmitted + 1}): a single record exceeds ${MAX_RECORD_BYTES >> 20} MiB (binary data or a missing newline?)`,
      );
    }
    if (live + chunk.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, live + chunk.length));
      next.set(this.buf.subarray(this.start, this.end));
      this.buf = next;
    } else if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
    }
    this.start = 0;
    this.end = live;
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
    return true;
  }

  /** Detects the format from the first non-blank byte. */
  async detect(): Promise<SeqFormat> {
    if (this.format) return this.format;
    for (;;) {
      let i = this.start;
      while (i < this.end && isBlank(this.buf[i])) i++;
      if (i < this.end) {
        const b = this.buf[i]!;
        if (b === 0x40) this.format = 'fastq';
        else if (b === GT) this.format = 'fasta';
        else {
          const shown = b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
          throw inputError(`${this.source.label}: not FASTQ or FASTA (record 1, line 1: starts with ${shown}, expected '@' or '>')`);
        }
        return this.format;
      }
      if (!(await this.fill())) throw inputError(`${this.source.label}: empty file (no records)`);
    }
  }

  /**
   * Next chunk of up to `maxRecords` whole records, or null at end of input. A final FASTQ record cut
   * short by the end of the file is an error naming its record and line.
   */
  async next(maxRecords: number): Promise<RecordChunk | null> {
    const format = await this.detect();
    // Offsets relative to this.start, so they survive fill() moving the live bytes.
    let rel = 0;
    let lines = 0;
    let records = 0;
    let recEnd = 0;
    let recEndLines = 0;
    let checked = -1; // relative offset of the last line start already tested for '>'
    scan: for (;;) {
      const base = this.start;
      const end = this.end;
      let pos = base + rel;
      if (format === 'fastq') {
        while (records < maxRecords) {
          const nl = this.buf.indexOf(NL, pos);
          if (nl < 0 || nl >= end) break;
          pos = nl + 1;
          lines++;
          if ((lines & 3) === 0) {
            records++;
            recEnd = pos - base;
            recEndLines = lines;
          }
        }
      } else {
        while (records < maxRecords && pos < end) {
          if (pos - base !== checked && this.buf[pos] === GT && pos > base) {
            checked = pos - base;
            records++;
            recEnd = pos - base;
            recEndLines = lines;
            if (records >= maxRecords) break;
          }
          checked = pos - base;
          const nl = this.buf.indexOf(NL, pos);
          if (nl < 0 || nl >= end) break;
          pos = nl + 1;
          lines++;
        }
      }
      rel = pos - base;
      if (records >= maxRecords) break scan;
      if (!(await this.fill())) break scan;
    }
    if (records < maxRecords && this.eof) {
      const tail = this.buf.subarray(this.start + recEnd, this.end);
      // Trailing blank lines at the very end are tolerated.
      let t = tail.length;
      while (t > 0 && isBlank(tail[t - 1])) t--;
      if (t > 0) {
        let tailLines = 1;
        for (let i = tail.indexOf(NL); i >= 0 && i < t; i = tail.indexOf(NL, i + 1)) tailLines++;
        if (format === 'fastq') {
          if (tailLines % 4 !== 0) {
            const rec = this.recordsEmitted + records + Math.floor(tailLines / 4) + 1;
            const line = this.linesEmitted + recEndLines + tailLines - (tailLines % 4) + 1;
            throw inputError(
              `fastq: ${this.source.label} record ${rec} (line ${line}): truncated record: the file ends after ${tailLines % 4} of its 4 lines`,
            );
          }
          records += tailLines / 4;
        } else {
          records += 1;
        }
        recEndLines += tailLines;
      }
      recEnd = this.end - this.start;
    }
    if (records === 0) {
      this.start += recEnd;
      return null;
    }
    const chunk: RecordChunk = {
      bytes: this.buf.slice(this.start, this.start + recEnd),
      records,
      firstRecord: this.recordsEmitted,
      firstLine: this.linesEmitted + 1,
    };
    this.recordsEmitted += records;
    this.linesEmitted += recEndLines;
    this.start += recEnd;
    return chunk;
  }
}
