import { inputError } from '../errors.js';
import { FastqFramer, type SeqFormat } from './recordReader.js';

/**
 * Parsed records as offsets into the chunk's bytes (no per-read strings). Sequences are normalised in
 * place to upper-case A/C/G/T/N and qualities to Phred+33.
 */
export interface ParsedRecords {
  n: number;
  /** read_id: the name up to the first whitespace, without a trailing /1 or /2. */
  idStart: Int32Array;
  idEnd: Int32Array;
  seqStart: Int32Array;
  seqLen: Int32Array;
  /** -1 for FASTA (no qualities). */
  qualStart: Int32Array;
}

/**
 * Quality encodings of FASTQ (Cock et al. 2010): Sanger/Illumina 1.8+ Phred+33, Illumina 1.3-1.7 Phred+64, and
 * the early Solexa/Illumina 1.0 scale with offset 64 (Solexa scores -5..62, which are not Phred scores).
 */
export type QualityEncoding = 'phred33' | 'phred64' | 'solexa64';

export interface ParseContext {
  label: string;
  /** 0-based index of the chunk's first record in its file. */
  firstRecord: number;
  /** 1-based line number of the chunk's first line. */
  firstLine: number;
  format: SeqFormat;
  /** Encoding of the input's quality bytes; they are rewritten in place to Phred+33. */
  quality: QualityEncoding;
}

/** Phred score of a Solexa score: 10 log10(10^(Q_solexa/10) + 1) (Cock et al. 2010, equation 3). */
export function phredFromSolexa(q: number): number {
  return 10 * Math.log10(10 ** (q / 10) + 1);
}

/** Input quality byte -> Phred+33 byte (0: not in the encoding's range), for the encodings that need a rewrite. */
const QUALITY_TABLES: Record<'phred64' | 'solexa64', Uint8Array> = (() => {
  const p64 = new Uint8Array(256);
  const s64 = new Uint8Array(256);
  for (let b = 64; b <= 126; b++) p64[b] = b - 31;
  // Solexa -5 (';') .. 62 ('~'), rounded to the nearest Phred score as Biopython and EMBOSS do
  for (let b = 59; b <= 126; b++) s64[b] = 33 + Math.round(phredFromSolexa(b - 64));
  return { phred64: p64, solexa64: s64 };
})();

/** The characters of each encoding, for error messages. */
const QUALITY_RANGE: Record<QualityEncoding, string> = {
  phred33: "Phred+33 expects '!'..'~'",
  phred64: "Phred+64 expects '@'..'~'",
  solexa64: "Solexa+64 expects ';'..'~'",
};

/** byte -> normalised base, 0 = invalid. IUPAC ambiguity codes and '.' become N; lower case is accepted. */
const BASE_TABLE = (() => {
  const t = new Uint8Array(256);
  for (const [from, to] of [
    ['A', 'A'],
    ['C', 'C'],
    ['G', 'G'],
    ['T', 'T'],
    ['U', 'T'],
    ['N', 'N'],
    ['R', 'N'],
    ['Y', 'N'],
    ['K', 'N'],
    ['M', 'N'],
    ['S', 'N'],
    ['W', 'N'],
    ['B', 'N'],
    ['D', 'N'],
    ['H', 'N'],
    ['V', 'N'],
  ] as const) {
    t[from.charCodeAt(0)] = to.charCodeAt(0);
    t[from.toLowerCase().charCodeAt(0)] = to.charCodeAt(0);
  }
  t['.'.charCodeAt(0)] = 'N'.charCodeAt(0);
  return t;
})();

const NL = 0x0a;
const CR = 0x0d;

export function allocParsed(capacity: number): ParsedRecords {
  return {
    n: 0,
    idStart: new Int32Array(capacity),
    idEnd: new Int32Array(capacity),
    seqStart: new Int32Array(capacity),
    seqLen: new Int32Array(capacity),
    qualStart: new Int32Array(capacity),
  };
}

function shownByte(b: number): string {
  return b >= 0x21 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

/** End of the line starting at `pos` (index of '\n' or bytes.length) and its content end (without '\r'). */
function lineEnd(bytes: Uint8Array, pos: number): number {
  const nl = bytes.indexOf(NL, pos);
  return nl < 0 ? bytes.length : nl;
}

function contentEnd(bytes: Uint8Array, start: number, nl: number): number {
  return nl > start && bytes[nl - 1] === CR ? nl - 1 : nl;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Sets the read_id of record i (the name up to the first space/tab, without /1 or /2). Returns a problem with
 * the name or undefined: read_ids go into Parquet strings, so control bytes and invalid UTF-8 are refused.
 */
function setId(bytes: Uint8Array, nameStart: number, nameEnd: number, out: ParsedRecords, i: number): string | undefined {
  let e = nameStart;
  let high = false;
  for (; e < nameEnd; e++) {
    const b = bytes[e]!;
    if (b === 0x20 || b === 0x09) break;
    if (b < 0x20 || b === 0x7f) return `control character ${shownByte(b)} in the read name at column ${e - nameStart + 2}`;
    if (b >= 0x80) high = true;
  }
  if (high) {
    try {
      utf8.decode(bytes.subarray(nameStart, e));
    } catch {
      return 'read name is not valid UTF-8';
    }
  }
  if (e - nameStart >= 2 && bytes[e - 2] === 0x2f && (bytes[e - 1] === 0x31 || bytes[e - 1] === 0x32)) e -= 2;
  out.idStart[i] = nameStart;
  out.idEnd[i] = e;
  return undefined;
}

/** Normalises sequence bytes in place; returns the index of the first invalid byte or -1. */
function normaliseSeq(bytes: Uint8Array, start: number, end: number, dst: number): number {
  for (let i = start; i < end; i++) {
    const v = BASE_TABLE[bytes[i]!]!;
    if (v === 0) return i;
    bytes[dst++] = v;
  }
  return -1;
}

/**
 * Parses `expected` records from a chunk cut by RecordReader. Errors name the file, record and line:
 * `fastq: r1.fq.gz record 18231 (line 72921): quality length 149 != sequence length 150`.
 */
export function parseRecords(bytes: Uint8Array, expected: number, ctx: ParseContext, out: ParsedRecords): ParsedRecords {
  return ctx.format === 'fastq' ? parseFastq(bytes, expected, ctx, out) : parseFasta(bytes, expected, ctx, out);
}

const AT = 0x40;
const PLUS = 0x2b;

/** Text of bytes [start, end) for an error message (at most 80 characters, invalid UTF-8 replaced). */
function shownText(bytes: Uint8Array, start: number, end: number): string {
  const t = new TextDecoder().decode(bytes.subarray(start, Math.min(end, start + 80)));
  return JSON.stringify(end - start > 80 ? `${t}...` : t);
}

/**
 * FASTQ as Cock et al. (2010) define it: a '@' title line, sequence lines up to a line starting with '+' (bare,
 * or repeating the title: a different read name there is an error; the description is not compared), then
 * quality lines until the quality is as long as the sequence (quality lines may start with '@' or '+'). Records
 * are framed the same way by RecordReader (FastqFramer): a line starting with '@' where a sequence line or the
 * '+' line should be ends a record there. Wrapped sequence and quality lines are joined in place. Four-line
 * records, nearly all real data, take a path without the joining loops.
 */
function parseFastq(bytes: Uint8Array, expected: number, ctx: ParseContext, out: ParsedRecords): ParsedRecords {
  const fail = (rec: number, line: number, msg: string): never => {
    throw inputError(`fastq: ${ctx.label} record ${ctx.firstRecord + rec + 1} (line ${line}): ${msg}`);
  };
  const n = bytes.length;
  const table = ctx.quality === 'phred33' ? undefined : QUALITY_TABLES[ctx.quality];
  let pos = 0;
  let line = ctx.firstLine; // line of the current record's header
  for (let r = 0; r < expected; r++) {
    // header
    const h = lineEnd(bytes, pos);
    const hEnd = contentEnd(bytes, pos, h);
    if (bytes[pos] !== AT) {
      fail(r, line, pos >= n ? 'missing record' : `header line must start with '@', found ${shownByte(bytes[pos]!)}`);
    }
    const badName = setId(bytes, pos + 1, hEnd, out, r);
    if (badName) fail(r, line, badName);
    if (out.idEnd[r] === pos + 1) fail(r, line, 'empty read name');
    // sequence: one line (fast path) or lines up to the '+' line
    const s0 = h + 1;
    let seqLen: number;
    let seqLines: number;
    let p0: number;
    let s = -1;
    if (s0 < n && bytes[s0] !== AT && bytes[s0] !== PLUS) {
      s = lineEnd(bytes, s0);
    }
    if (s >= 0 && bytes[s + 1] === PLUS) {
      const sEnd = contentEnd(bytes, s0, s);
      const bad = normaliseSeq(bytes, s0, sEnd, s0);
      if (bad >= 0) fail(r, line + 1, `invalid character ${shownByte(bytes[bad]!)} in sequence at position ${bad - s0 + 1}`);
      seqLen = sEnd - s0;
      seqLines = 1;
      p0 = s + 1;
    } else {
      let dst = s0;
      let l = s0;
      seqLines = 0;
      for (;;) {
        // the reader ends a record at a line starting with '@' here, so the end of the chunk means the same
        if (l >= n || bytes[l] === AT) fail(r, line + 1 + seqLines, "missing '+' separator line (found '@')");
        if (bytes[l] === PLUS) break;
        const e = lineEnd(bytes, l);
        const ce = contentEnd(bytes, l, e);
        const bad = normaliseSeq(bytes, l, ce, dst);
        if (bad >= 0) {
          // a non-base at the start of a continuation line: most likely a quality line without its '+' line
          if (seqLines > 0 && bad === l) fail(r, line + 1 + seqLines, `missing '+' separator line (found ${shownByte(bytes[bad]!)})`);
          fail(r, line + 1 + seqLines, `invalid character ${shownByte(bytes[bad]!)} in sequence at position ${dst - s0 + bad - l + 1}`);
        }
        dst += ce - l;
        seqLines++;
        l = e + 1;
      }
      seqLen = dst - s0;
      p0 = l;
    }
    // '+' line: bare, or repeating the title; its read name (up to the first space or tab) must be the header's
    const plusLine = line + 1 + seqLines;
    const p = lineEnd(bytes, p0);
    const pEnd = contentEnd(bytes, p0, p);
    if (pEnd > p0 + 1) {
      const nameEnd = (from: number, to: number): number => {
        let e = from;
        while (e < to && bytes[e] !== 0x20 && bytes[e] !== 0x09) e++;
        return e;
      };
      const hn = nameEnd(pos + 1, hEnd);
      const pn = nameEnd(p0 + 1, pEnd);
      let same = pn - p0 === hn - pos;
      for (let i = 1; same && i < pn - p0; i++) same = bytes[p0 + i] === bytes[pos + i];
      if (!same) {
        fail(r, plusLine, `the '+' line names read ${shownText(bytes, p0 + 1, pn)} but the header names ${shownText(bytes, pos + 1, hn)} (a '+' line repeats the header or is '+' alone)`);
      }
    }
    // quality: lines until it is as long as the sequence (at least one line)
    // an empty read's empty quality line may be the unterminated end of the file
    const q0 = p + 1 > n && seqLen === 0 ? n : p + 1;
    if (q0 > n) fail(r, plusLine + 1, 'truncated record: quality line missing');
    let q = lineEnd(bytes, q0);
    let qEnd = contentEnd(bytes, q0, q);
    let qLines = 1;
    if (qEnd - q0 < seqLen) {
      const firstLen = qEnd - q0;
      let secondFirst = -1;
      while (qEnd - q0 < seqLen && q + 1 < n) {
        const l = q + 1;
        if (qLines === 1) secondFirst = bytes[l]!;
        q = lineEnd(bytes, l);
        const ce = contentEnd(bytes, l, q);
        bytes.copyWithin(qEnd, l, ce);
        qEnd += ce - l;
        qLines++;
      }
      // a quality line too short, followed by the next record's header
      if (qEnd - q0 !== seqLen && secondFirst === AT) fail(r, plusLine + 1, `quality length ${firstLen} != sequence length ${seqLen}`);
    }
    const qualLen = qEnd - q0;
    if (qualLen !== seqLen) {
      fail(r, plusLine + 1, `quality length ${qualLen} != sequence length ${seqLen}${qLines > 1 ? ` (quality on lines ${plusLine + 1}-${plusLine + qLines})` : ''}`);
    }
    if (table === undefined) {
      // Range check without a branch per byte (any byte outside 33..126 makes `outOfRange` negative); Phred+33
      // input needs no rewrite. Parsing the 100k dev R1 records: 50 -> 43 ms (best of 7).
      let outOfRange = 0;
      for (let i = q0; i < qEnd; i++) {
        const v = bytes[i]!;
        outOfRange |= (v - 33) | (126 - v);
      }
      if (outOfRange < 0) {
        for (let i = q0; i < qEnd; i++) {
          const b = bytes[i]!;
          if (b < 33 || b > 126) fail(r, plusLine + 1, `invalid quality character ${shownByte(b)} at position ${i - q0 + 1} (${QUALITY_RANGE.phred33})`);
        }
      }
    } else {
      for (let i = q0; i < qEnd; i++) {
        const b = bytes[i]!;
        const v = table[b]!;
        if (v === 0) {
          const low = ctx.quality === 'phred64' ? 64 : 59;
          fail(
            r,
            plusLine + 1,
            b >= 33 && b < low
              ? `quality character ${shownByte(b)} at position ${i - q0 + 1} is below the ${ctx.quality === 'phred64' ? 'Phred+64' : 'Solexa+64'} range (is the input Phred+33?)`
              : `invalid quality character ${shownByte(b)} at position ${i - q0 + 1} (${QUALITY_RANGE[ctx.quality]})`,
          );
        }
        bytes[i] = v;
      }
    }
    out.seqStart[r] = s0;
    out.seqLen[r] = seqLen;
    out.qualStart[r] = q0;
    pos = q + 1;
    line = plusLine + 1 + qLines;
  }
  out.n = expected;
  return out;
}

function parseFasta(bytes: Uint8Array, expected: number, ctx: ParseContext, out: ParsedRecords): ParsedRecords {
  let pos = 0;
  let line = ctx.firstLine;
  for (let r = 0; r < expected; r++) {
    const recNo = ctx.firstRecord + r + 1;
    if (bytes[pos] !== 0x3e) {
      throw inputError(`fasta: ${ctx.label} record ${recNo} (line ${line}): header line must start with '>'`);
    }
    const h = lineEnd(bytes, pos);
    const badName = setId(bytes, pos + 1, contentEnd(bytes, pos, h), out, r);
    if (badName) throw inputError(`fasta: ${ctx.label} record ${recNo} (line ${line}): ${badName}`);
    if (out.idEnd[r] === pos + 1) throw inputError(`fasta: ${ctx.label} record ${recNo} (line ${line}): empty read name`);
    line++;
    // Sequence lines are compacted in place right after the header.
    const s0 = h + 1;
    let dst = s0;
    let p = s0;
    while (p < bytes.length && bytes[p] !== 0x3e) {
      const nl = lineEnd(bytes, p);
      const e = contentEnd(bytes, p, nl);
      const bad = normaliseSeq(bytes, p, e, dst);
      if (bad >= 0) {
        throw inputError(
          `fasta: ${ctx.label} record ${recNo} (line ${line}): invalid character ${shownByte(bytes[bad]!)} in sequence at column ${bad - p + 1}`,
        );
      }
      dst += e - p;
      p = nl + 1;
      line++;
    }
    out.seqStart[r] = s0;
    out.seqLen[r] = dst - s0;
    out.qualStart[r] = -1;
    pos = p;
  }
  out.n = expected;
  return out;
}

/**
 * Guesses the quality encoding from whole FASTQ records as read (quality lines found by the reader's framing, so
 * wrapped records count; a malformed record does not stop the guess). A byte below ';' (59) can only be Phred+33.
 * When all bytes are ';' or above and some are above 'J' (74, the highest Illumina 1.8+ Phred+33 score): all '@'
 * (64) or above is Phred+64 (Illumina 1.3-1.7); any of ';'..'?' is Solexa+64 (scores -5..-1 exist only there).
 * Anything else is Phred+33. undefined: no quality bytes. Bytes outside '!'..'~' are left to the parser.
 */
export function detectQualityEncoding(bytes: Uint8Array): QualityEncoding | undefined {
  let min = 255;
  let max = 0;
  const framer = new FastqFramer();
  for (let p = 0; p < bytes.length; ) {
    let e = bytes.indexOf(NL, p);
    if (e < 0) e = bytes.length;
    if (framer.state === 2) {
      for (let i = p, ce = contentEnd(bytes, p, e); i < ce; i++) {
        const b = bytes[i]!;
        if (b < 33 || b > 126) continue;
        if (b < min) min = b;
        if (b > max) max = b;
      }
    }
    framer.line(bytes, p, e);
    p = e + 1;
  }
  if (max === 0) return undefined;
  if (min < 59 || max <= 74) return 'phred33';
  return min >= 64 ? 'phred64' : 'solexa64';
}
