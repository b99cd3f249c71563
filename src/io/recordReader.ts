import { inputError, type MetavecError } from '../errors.js';
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
/**
 * A chunk stops growing once it holds this many bytes (at least one record or mate pair): batches of very long
 * reads stay bounded in memory. Ordinary short-read batches (8192 pairs of 150 bp: ~2.7 MB a mate) never reach it.
 */
export const MAX_CHUNK_BYTES = 32 << 20;

function isBlank(b: number | undefined): boolean {
  return b === NL || b === 0x0d || b === 0x20 || b === 0x09;
}

function shown(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

const AT = 0x40;
const PLUS = 0x2b;
const CR = 0x0d;

/** What a line did to the record being framed. */
const enum Framed {
  /** the record goes on */
  More = 0,
  /** the record ends with this line */
  Ends = 1,
  /** the record ended before this line, which starts the next record */
  EndedBefore = 2,
}

/**
 * Record framing of FASTQ, line by line (Cock et al. 2010; the parser, src/io/seqParser.ts, follows the same
 * rules): a title line, sequence lines up to a line starting with '+', then quality lines until the quality is
 * at least as long as the sequence. A line starting with '@' where a sequence line or the '+' line should be
 * ends the record before it (the parser reports the missing '+'), so a broken record does not swallow the rest
 * of the file. Four-line records cost a first-byte test and a length per line.
 */
export class FastqFramer {
  /** 0: expecting a title line; 1: in the sequence lines; 2: in the quality lines */
  state = 0;
  seqLen = 0;
  seqLines = 0;
  qualLen = 0;
  qualLines = 0;

  /** Feeds the line [start, end) of `b` (end: its '\n' or the end of the data). */
  line(b: Uint8Array, start: number, end: number): Framed {
    if (this.state === 0) {
      this.state = 1;
      this.seqLen = 0;
      this.seqLines = 0;
      return Framed.More;
    }
    const len = end > start && b[end - 1] === CR ? end - start - 1 : end - start;
    if (this.state === 1) {
      const first = b[start];
      if (first === PLUS && start < end) {
        this.state = 2;
        this.qualLen = 0;
        this.qualLines = 0;
        return Framed.More;
      }
      if (first === AT && start < end) {
        // this line is the next record's title
        this.seqLen = 0;
        this.seqLines = 0;
        return Framed.EndedBefore;
      }
      this.seqLen += len;
      this.seqLines++;
      return Framed.More;
    }
    this.qualLen += len;
    this.qualLines++;
    if (this.qualLen < this.seqLen) return Framed.More;
    this.state = 0;
    return Framed.Ends;
  }
}

/** What is missing from a FASTQ record cut short by the end of the file (`rec`: its bytes). */
function truncation(f: FastqFramer, rec: Uint8Array): string {
  if (f.state === 2) {
    return f.qualLines === 0 ? 'the file ends before its quality line' : `quality length ${f.qualLen} != sequence length ${f.seqLen} at the end of the file`;
  }
  if (f.seqLines > 0) return "the file ends before its '+' line";
  const cr = rec.indexOf(CR);
  const hint = cr >= 0 && cr < rec.length - 2 ? " (old Mac CR-only line endings? convert them with tr '\\r' '\\n')" : '';
  return `the file ends after the header line${hint}`;
}

/** Magic bytes of compressed or binary formats someone may pass by mistake, for a useful error. */
const MAGICS: { bytes: number[]; what: string }[] = [
  { bytes: [0x1f, 0x8b], what: 'gzip data inside gzip (compressed twice?)' },
  { bytes: [0x42, 0x5a, 0x68], what: 'bzip2-compressed (only gzip is read: decompress it or recompress with gzip)' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed (only gzip is read: decompress it or recompress with gzip)' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed (only gzip is read: decompress it or recompress with gzip)' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive (unpack it first)' },
  { bytes: [0x50, 0x41, 0x52, 0x31], what: 'a Parquet file (give the FASTQ/FASTA input, or use metavec cluster on a prep output)' },
  { bytes: [0x42, 0x41, 0x4d, 0x01], what: 'a BAM file (convert it to FASTQ first, e.g. samtools fastq)' },
  { bytes: [0xef, 0xbb, 0xbf], what: 'text with a UTF-8 byte-order mark (remove the BOM)' },
];

/**
 * Cuts whole FASTQ (4 lines per record, or wrapped: FastqFramer) or FASTA (a '>' line plus sequence lines) records out of a stream
 * of decompressed chunks, carrying partial records across chunk boundaries. Only record boundaries are
 * found here (Uint8Array.indexOf is a memchr); the records are validated by the parser in the workers,
 * which is told the record and line numbers of the chunk.
 *
 * Memory is bounded whatever the input: a chunk holds at most `maxRecords` records and stops at
 * MAX_CHUNK_BYTES, and a record longer than MAX_RECORD_BYTES (binary data, a gzip bomb, a missing newline)
 * is an error, so the buffer never exceeds about MAX_RECORD_BYTES + MAX_CHUNK_BYTES.
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
  /** A truncated final record, reported after the whole records before it were handed out. */
  private pendingError: MetavecError | undefined;

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

  /** True when every record has been handed out and the input is at its end. */
  get exhausted(): boolean {
    return this.eof && this.start >= this.end && this.pendingError === undefined;
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
    if (live + chunk.length > this.buf.length) {
      // Doubling, but not far past what one chunk plus one maximal record can need.
      const soft = MAX_RECORD_BYTES + MAX_CHUNK_BYTES + (8 << 20);
      const next = new Uint8Array(Math.max(Math.min(this.buf.length * 2, soft), live + chunk.length));
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

  /** Detects the format from the first non-blank byte; leading blank lines are skipped (and counted). */
  async detect(): Promise<SeqFormat> {
    if (this.format) return this.format;
    for (;;) {
      let i = this.start;
      while (i < this.end && isBlank(this.buf[i])) i++;
      if (i < this.end) {
        const b = this.buf[i]!;
        const lineStart = this.start + this.buf.subarray(this.start, i).lastIndexOf(NL) + 1;
        for (let p = this.buf.indexOf(NL, this.start); p >= 0 && p < lineStart; p = this.buf.indexOf(NL, p + 1)) this.linesEmitted++;
        this.start = lineStart;
        if (b === 0x40) this.format = 'fastq';
        else if (b === GT) this.format = 'fasta';
        else {
          // Enough bytes to recognise the magic numbers above.
          const rel = i - this.start;
          while (this.end - this.start - rel < 8 && (await this.fill()));
          const head = this.buf.subarray(this.start + rel, this.end);
          const magic = MAGICS.find((m) => m.bytes.every((x, j) => head[j] === x));
          const line = this.linesEmitted + 1;
          throw inputError(
            `${this.source.label}: not FASTQ or FASTA (record 1, line ${line}: starts with ${shown(b)}, expected '@' or '>')${magic ? `: looks like ${magic.what}` : ''}`,
          );
        }
        return this.format;
      }
      if (!(await this.fill())) throw inputError(`${this.source.label}: empty file (no records)`);
    }
  }

  private tooLong(records: number, lines: number): MetavecError {
    return inputError(
      `${this.source.label}: record ${this.recordsEmitted + records + 1} (line ${this.linesEmitted + lines + 1}): a single record exceeds ${MAX_RECORD_BYTES >> 20} MiB (binary data or a missing newline?)`,
    );
  }

  /**
   * Next chunk of up to `maxRecords` whole records (fewer once it holds `maxBytes`; a multiple of `unit`
   * records unless the input ends), or null at end of input. A final FASTQ record cut short by the end of the
   * file is an error naming its record and line, raised after the whole records before it were returned.
   */
  async next(maxRecords: number, maxBytes = MAX_CHUNK_BYTES, unit = 1): Promise<RecordChunk | null> {
    if (this.pendingError) throw this.pendingError;
    const format = await this.detect();
    // Offsets relative to this.start, so they survive fill() moving the live bytes.
    let search = 0; // where the next newline search starts (bytes before it hold no unseen newline)
    let lineStart = 0; // start of the current line (FASTA: tested for '>')
    let lines = 0;
    let records = 0;
    let recEnd = 0;
    let recEndLines = 0;
    let checked = -1; // relative offset of the last line start already tested for '>'
    const framer = new FastqFramer();
    const full = (): boolean => records >= maxRecords || (recEnd >= maxBytes && records % unit === 0);
    for (;;) {
      const base = this.start;
      const end = this.end;
      // Searches stop at `end`: indexOf on the whole buffer would rescan its unused tail on every fill
      // (a 300 MB line took 31 s; now linear).
      const view = this.buf.subarray(0, end);
      if (format === 'fastq') {
        let ls = base + lineStart;
        let pos = base + search;
        // full() inlined: this loop runs once per line
        while (records < maxRecords && (recEnd < maxBytes || records % unit !== 0)) {
          const nl = view.indexOf(NL, pos);
          if (nl < 0) {
            pos = end;
            break;
          }
          pos = nl + 1;
          lines++;
          const f = framer.line(view, ls, nl);
          if (f === Framed.Ends) {
            records++;
            recEnd = pos - base;
            recEndLines = lines;
          } else if (f === Framed.EndedBefore) {
            records++;
            recEnd = ls - base;
            recEndLines = lines - 1;
          }
          ls = pos;
        }
        lineStart = ls - base;
        search = pos - base;
      } else {
        let ls = base + lineStart;
        let pos = base + search;
        while (ls < end) {
          if (ls - base !== checked) {
            checked = ls - base;
            if (view[ls] === GT && ls > base) {
              records++;
              recEnd = ls - base;
              recEndLines = lines;
              if (full()) break;
            }
          }
          const nl = view.indexOf(NL, Math.max(ls, pos));
          if (nl < 0) {
            pos = end;
            break;
          }
          ls = nl + 1;
          pos = ls;
          lines++;
        }
        lineStart = ls - base;
        search = pos - base;
      }
      if (full()) break;
      if (this.end - this.start - recEnd > MAX_RECORD_BYTES) throw this.tooLong(records, recEndLines);
      if (!(await this.fill())) break;
    }
    if (!full() && this.eof && format === 'fastq') {
      const end = this.end;
      const ls = this.start + lineStart;
      // the last line, without a final newline
      if (ls < end) {
        const f = framer.line(this.buf, ls, end);
        if (f === Framed.Ends) {
          records++;
          recEndLines = lines + 1;
          recEnd = end - this.start;
        } else if (f === Framed.EndedBefore) {
          records++;
          recEnd = ls - this.start;
          recEndLines = lines;
        }
      }
      if (framer.state !== 0) {
        const tail = this.buf.subarray(this.start + recEnd, end);
        let blank = true;
        for (let i = 0; blank && i < tail.length; i++) blank = isBlank(tail[i]);
        if (blank) {
          // trailing blank lines at the very end are tolerated
          recEnd = end - this.start;
        } else if (framer.state === 2 && framer.seqLen === 0 && framer.qualLines === 0) {
          // a zero-length read whose (empty) quality line is the unterminated end of the file: complete
          records++;
          recEndLines = lines + (ls < end ? 1 : 0);
          recEnd = end - this.start;
        } else {
          const err = inputError(
            `fastq: ${this.source.label} record ${this.recordsEmitted + records + 1} (line ${this.linesEmitted + recEndLines + 1}): truncated record: ${truncation(framer, tail)}`,
          );
          if (records === 0) throw err;
          // Hand out the whole records first: an error inside them (found by the parser) comes earlier.
          this.pendingError = err;
        }
      }
    } else if (!full() && this.eof) {
      const tail = this.buf.subarray(this.start + recEnd, this.end);
      // Trailing blank lines at the very end are tolerated.
      let t = tail.length;
      while (t > 0 && isBlank(tail[t - 1])) t--;
      if (t > 0) {
        let tailLines = 1;
        for (let i = tail.indexOf(NL); i >= 0 && i < t; i = tail.indexOf(NL, i + 1)) tailLines++;
        records += 1;
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

  /**
   * Takes back all but the first `keep` records of `chunk`, the chunk returned by the last next() call (its
   * bytes are still in the buffer just before `start`); returns the shortened chunk. Used to keep a mate
   * file's batch to the records its partner could fit under the byte cap.
   */
  unread(chunk: RecordChunk, keep: number): RecordChunk {
    if (keep <= 0 || keep >= chunk.records) throw new RangeError(`RecordReader.unread: keep ${keep} of ${chunk.records}`);
    const b = chunk.bytes;
    let off = 0;
    let lines = 0;
    if (this.format === 'fastq') {
      const framer = new FastqFramer();
      let rec = 0;
      for (let p = 0; p < b.length; ) {
        const nl = b.indexOf(NL, p);
        const e = nl < 0 ? b.length : nl;
        const f = framer.line(b, p, e);
        if (f === Framed.EndedBefore && ++rec === keep) {
          off = p;
          break;
        }
        lines++;
        p = e + 1;
        if (f === Framed.Ends && ++rec === keep) {
          off = p;
          break;
        }
      }
    } else {
      let rec = 0;
      for (let p = 0; p < b.length; ) {
        if (b[p] === GT && p > 0 && ++rec === keep) {
          off = p;
          break;
        }
        const nl = b.indexOf(NL, p);
        if (nl < 0) break;
        p = nl + 1;
        lines++;
      }
    }
    const back = b.length - off;
    if (off <= 0 || this.start < back) throw new RangeError('RecordReader.unread: chunk is not the last one read');
    this.start -= back;
    this.recordsEmitted = chunk.firstRecord + keep;
    this.linesEmitted = chunk.firstLine - 1 + lines;
    this.pendingError = undefined; // found again when the records are read again
    return { ...chunk, bytes: b.subarray(0, off), records: keep };
  }
}
