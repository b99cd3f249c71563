import { fragmentHash } from '../dedup/hash.js';
import type { ParsedRecords } from '../io/seqParser.js';
import type { View } from '../qc/quality.js';
import { addRead, blockOffset } from '../qc/stats.js';
import { fragmentSketch, SketchScratch, type SketchParams } from '../sketch/minimizers.js';
import { ATTRS_PER_FRAGMENT, type PrepBatchResult } from './params.js';

/**
 * What one batch hands on for its kept fragments (prep/batch.ts): read ids, per-mate lengths, GC and mean quality,
 * the dedup fingerprint, the optional minimizer sketch and clean FASTQ records, and the trimmed sequences' views
 * for the embedder, which runs once over all of them.
 */

/** One mate of the fragment being processed: its batch bytes, parsed records and record index. */
export interface Mate {
  bytes: Uint8Array;
  parsed: ParsedRecords;
  index: number;
}

/** Growable byte sink for the cleaned FASTQ output. */
class ByteSink {
  buf: Uint8Array;
  len = 0;
  constructor(initial: number) {
    this.buf = new Uint8Array(Math.max(initial, 1024));
  }
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.buf[this.len++] = b;
  }
  copy(src: Uint8Array, start: number, end: number): void {
    this.buf.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }
}

function writeFastqRecord(sink: ByteSink, m: Mate, v: View, mateNo: number, paired: boolean): void {
  const p = m.parsed;
  const i = m.index;
  const idS = p.idStart[i]!;
  const idE = p.idEnd[i]!;
  const qs = p.qualStart[i]!;
  sink.ensure(idE - idS + 2 * v.len + 12);
  sink.byte(0x40);
  sink.copy(m.bytes, idS, idE);
  if (paired) {
    sink.byte(0x2f);
    sink.byte(0x30 + mateNo);
  }
  sink.byte(0x0a);
  sink.copy(m.bytes, v.start, v.start + v.len);
  sink.byte(0x0a);
  sink.byte(0x2b);
  sink.byte(0x0a);
  if (qs >= 0) {
    const off = qs - p.seqStart[i]!;
    sink.copy(m.bytes, v.start + off, v.start + off + v.len);
  } else {
    // FASTA input: no qualities; write 'I' (Q40) so the output is valid FASTQ.
    for (let j = 0; j < v.len; j++) sink.byte(0x49);
  }
  sink.byte(0x0a);
}

function ensureCapacity<T extends Float32Array | Int32Array | Uint32Array>(a: T, need: number): T {
  if (a.length >= need) return a;
  const next = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  next.set(a);
  return next;
}

export class BatchOutput {
  kept = 0;
  private idBytes: Uint8Array;
  private idLen = 0;
  private readonly idOffsets: Int32Array;
  private readonly lengths: Int32Array;
  private readonly attrs: Float32Array;
  private readonly hashes: Uint32Array;
  private readonly positions: Int32Array;
  private readonly sketchScratch: SketchScratch | undefined;
  private sketch: Uint32Array;
  private readonly sketchOffsets: Int32Array | undefined;
  private sketchLen = 0;
  // kept fragments' sequences (after trimming and correction), embedded together after the loop
  readonly seqStart1: Int32Array;
  readonly seqLen1: Int32Array;
  readonly seqStart2: Int32Array;
  readonly seqLen2: Int32Array;
  private readonly fq1: ByteSink | undefined;
  private readonly fq2: ByteSink | undefined;
  private readonly fqOff1: Int32Array | undefined;
  private readonly fqOff2: Int32Array | undefined;
  private readonly tmp = new Float64Array(2);

  /** `n` fragments at most; `fastqBytes`: a first guess of the clean FASTQ's size per mate (undefined: none). */
  constructor(
    n: number,
    private readonly paired: boolean,
    private readonly sketchParams: SketchParams | undefined,
    fastqBytes: number | undefined,
  ) {
    this.idBytes = new Uint8Array(n * 16);
    this.idOffsets = new Int32Array(n + 1);
    this.lengths = new Int32Array(n * 2);
    this.attrs = new Float32Array(n * ATTRS_PER_FRAGMENT);
    this.hashes = new Uint32Array(n * 2);
    this.positions = new Int32Array(n);
    this.sketchScratch = sketchParams ? new SketchScratch() : undefined;
    this.sketch = new Uint32Array(sketchParams ? n * 64 : 0);
    this.sketchOffsets = sketchParams ? new Int32Array(n + 1) : undefined;
    this.seqStart1 = new Int32Array(n);
    this.seqLen1 = new Int32Array(n);
    this.seqStart2 = new Int32Array(n);
    this.seqLen2 = new Int32Array(n);
    this.fq1 = fastqBytes !== undefined ? new ByteSink(fastqBytes) : undefined;
    this.fq2 = fastqBytes !== undefined && paired ? new ByteSink(fastqBytes) : undefined;
    this.fqOff1 = fastqBytes !== undefined ? new Int32Array(n + 1) : undefined;
    this.fqOff2 = fastqBytes !== undefined && paired ? new Int32Array(n + 1) : undefined;
  }

  /**
   * Keeps fragment `f` of the batch (trimmed views v1/v2, their first qualities at q1/q2, -1: none): statistics
   * after QC into `stats`, attributes, fingerprint, sketch, read id and FASTQ records.
   */
  keep(f: number, m1: Mate, v1: View, q1: number, m2: Mate, v2: View, q2: number, stats: Float64Array): void {
    const paired = this.paired;
    const tmp = this.tmp;
    const attrs = this.attrs;
    const k = this.kept++;
    this.positions[k] = f;
    addRead(stats, blockOffset(0, 1), m1.bytes, v1.start, v1.len, q1, tmp);
    attrs[k * ATTRS_PER_FRAGMENT] = tmp[0]!;
    attrs[k * ATTRS_PER_FRAGMENT + 2] = tmp[1]!;
    this.lengths[2 * k] = v1.len;
    if (paired) {
      addRead(stats, blockOffset(1, 1), m2.bytes, v2.start, v2.len, q2, tmp);
      attrs[k * ATTRS_PER_FRAGMENT + 1] = tmp[0]!;
      attrs[k * ATTRS_PER_FRAGMENT + 3] = tmp[1]!;
      this.lengths[2 * k + 1] = v2.len;
    } else {
      attrs[k * ATTRS_PER_FRAGMENT + 1] = NaN;
      attrs[k * ATTRS_PER_FRAGMENT + 3] = NaN;
    }
    this.seqStart1[k] = v1.start;
    this.seqLen1[k] = v1.len;
    if (paired) {
      this.seqStart2[k] = v2.start;
      this.seqLen2[k] = v2.len;
    }
    fragmentHash(m1.bytes, v1.start, v1.len, paired ? m2.bytes : undefined, v2.start, paired ? v2.len : 0, this.hashes, 2 * k);
    const sketchParams = this.sketchParams;
    if (sketchParams && this.sketchScratch && this.sketchOffsets) {
      this.sketch = ensureCapacity(this.sketch, 2 * (this.sketchLen + v1.len + (paired ? v2.len : 0)));
      this.sketchLen += fragmentSketch(sketchParams, this.sketchScratch, m1.bytes, v1.start, v1.len, paired ? m2.bytes : undefined, v2.start, paired ? v2.len : 0, this.sketch, this.sketchLen);
      this.sketchOffsets[k + 1] = this.sketchLen;
    }

    const idS = m1.parsed.idStart[m1.index]!;
    const idE = m1.parsed.idEnd[m1.index]!;
    if (this.idLen + (idE - idS) > this.idBytes.length) {
      const next = new Uint8Array(Math.max(this.idBytes.length * 2, this.idLen + (idE - idS)));
      next.set(this.idBytes.subarray(0, this.idLen));
      this.idBytes = next;
    }
    this.idBytes.set(m1.bytes.subarray(idS, idE), this.idLen);
    this.idLen += idE - idS;
    this.idOffsets[k + 1] = this.idLen;
    if (this.fq1 && this.fqOff1) {
      writeFastqRecord(this.fq1, m1, v1, 1, paired);
      this.fqOff1[k + 1] = this.fq1.len;
      if (this.fq2 && this.fqOff2) {
        writeFastqRecord(this.fq2, m2, v2, 2, paired);
        this.fqOff2[k + 1] = this.fq2.len;
      }
    }
  }

  /** The batch result (copies trimmed to the kept fragments: the engine transfers their buffers). */
  result(index: number, embedding: Float32Array, counters: Float64Array, stats: Float64Array): PrepBatchResult {
    const kept = this.kept;
    const result: PrepBatchResult = {
      index,
      kept,
      positions: this.positions.slice(0, kept),
      idBytes: this.idBytes.slice(0, this.idLen),
      idOffsets: this.idOffsets.slice(0, kept + 1),
      lengths: this.lengths.slice(0, 2 * kept),
      attrs: this.attrs.slice(0, kept * ATTRS_PER_FRAGMENT),
      hashes: this.hashes.slice(0, 2 * kept),
      embedding,
      counters,
      stats,
    };
    if (this.sketchOffsets) {
      result.minimizers = this.sketch.slice(0, 2 * this.sketchLen);
      result.minimizerOffsets = this.sketchOffsets.slice(0, kept + 1);
    }
    if (this.fq1 && this.fqOff1) {
      result.fastq1 = this.fq1.buf.slice(0, this.fq1.len);
      result.fastqOffsets1 = this.fqOff1.slice(0, kept + 1);
    }
    if (this.fq2 && this.fqOff2) {
      result.fastq2 = this.fq2.buf.slice(0, this.fq2.len);
      result.fastqOffsets2 = this.fqOff2.slice(0, kept + 1);
    }
    return result;
  }
}
