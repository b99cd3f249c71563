import { ReadCorrector } from '../correct/correct.js';
import { LevelSketch } from '../correct/sketch.js';
import { embedderFor, type EmbedSpec } from '../embed/index.js';
import { fragmentHash } from '../dedup/hash.js';
import { fragmentSketch, SketchScratch } from '../sketch/minimizers.js';
import { allocParsed, parseRecords, type ParsedRecords } from '../io/seqParser.js';
import { encodeAdapters, findAdapter, findOverlap } from '../qc/adapters.js';
import { filterRead } from '../qc/filters.js';
import { FilterReason, type QcParams } from '../qc/params.js';
import { cutFront, cutTail, trimPolyG, type View } from '../qc/quality.js';
import { addInsert, addRead, allocStats, blockOffset } from '../qc/stats.js';
import { checkMateNames } from './mates.js';
import { ATTRS_PER_FRAGMENT, C, COUNTER_NAMES, type BatchParams, type PrepBatch, type PrepBatchResult } from './params.js';

/**
 * The Phase 1 stages for one batch, in order: parse -> QC (quality cut, poly-G, adapters, filters) ->
 * statistics -> correction -> fingerprint for dedup -> embedding of the kept fragments (the embedder named by
 * params.embed: k-mer profile, LSH sketch or an ONNX model, built once per worker thread). Pure: bytes in, typed arrays out; the engine
 * decides where it runs. De-duplication itself needs input order across batches and is applied by the
 * caller (dedup/bloom.ts) to these fingerprints.
 */

interface Mate {
  bytes: Uint8Array;
  parsed: ParsedRecords;
  index: number;
}

const adapterCache = new Map<string, Uint8Array[]>();
function adapters(list: string[]): Uint8Array[] {
  const key = list.join(',');
  let v = adapterCache.get(key);
  if (!v) {
    v = encodeAdapters(list);
    adapterCache.set(key, v);
  }
  return v;
}

let cachedCorrector: { cells: Uint8Array; key: string; corrector: ReadCorrector } | undefined;
/** One corrector per worker and sketch (its scratch buffers are reused across batches). */
function correctorFor(c: NonNullable<BatchParams['correction']>): ReadCorrector {
  const key = `${c.k}/${c.level}/${c.maxCorrections}/${c.trustThreshold.join(',')}`;
  if (!cachedCorrector || cachedCorrector.cells.buffer !== c.cells.buffer || cachedCorrector.key !== key) {
    cachedCorrector = { cells: c.cells, key, corrector: new ReadCorrector(new LevelSketch(c.cells), c) };
  }
  return cachedCorrector.corrector;
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

/** Quality cut + median rule + poly-G on one mate; returns bases cut at the 5' end (for the overlap rule). */
function trimMate(m: Mate, v: View, qc: QcParams, medianCut: number, counters: Float64Array): number {
  const p = m.parsed;
  const i = m.index;
  const qs = p.qualStart[i]!;
  let front = 0;
  if (qs >= 0 && (qc.cutFront || qc.cutTail)) {
    const before = v.len;
    if (qc.cutFront) {
      const cut = cutFront(m.bytes, v.start, qs + (v.start - p.seqStart[i]!), v.len, qc.cutWindow, qc.cutMeanQuality);
      if (cut < 0) {
        v.len = 0;
        return 0;
      }
      front = cut;
      v.start += cut;
      v.len -= cut;
    }
    if (qc.cutTail && v.len > 0) {
      const keep = cutTail(m.bytes, v.start, qs + (v.start - p.seqStart[i]!), v.len, qc.cutWindow, qc.cutMeanQuality);
      v.len = keep < 0 ? 0 : keep;
    }
    counters[C.quality_bases_trimmed]! += before - v.len;
  }
  if (qs >= 0 && medianCut >= 0 && v.len > 0) {
    const end = Math.min(v.start + v.len, p.seqStart[i]! + medianCut);
    const newLen = Math.max(0, end - v.start);
    counters[C.median_rule_bases_trimmed]! += v.len - newLen;
    v.len = newLen;
  }
  if (qc.polyG && v.len > 0) counters[C.polyg_bases_trimmed]! += trimPolyG(m.bytes, v, qc.polyGMinLen);
  return front;
}

function trimAdapterBySequence(m: Mate, v: View, list: Uint8Array[]): number {
  let cut = -1;
  for (const a of list) {
    const pos = findAdapter(m.bytes, v.start, v.len, a);
    if (pos >= 0 && (cut < 0 || pos < cut)) cut = pos;
  }
  if (cut < 0) return 0;
  const removed = v.len - cut;
  v.len = cut;
  return removed;
}

function ensureCapacity<T extends Float32Array | Int32Array | Uint32Array>(a: T, need: number): T {
  if (a.length >= need) return a;
  const next = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  next.set(a);
  return next;
}

/** The embedding a batch asks for (params.embed; the k-mer profile fields when absent). */
export function embedSpecOf(params: BatchParams): EmbedSpec {
  return params.embed ?? { method: 'kmer', k: params.kmer, normalisation: params.normalisation };
}

/** Runs the Phase 1 stages on one batch. Throws MetavecError('INPUT') on malformed records. */
export async function processBatch(batch: PrepBatch, params: BatchParams): Promise<PrepBatchResult> {
  const qc = params.qc;
  const embedder = await embedderFor(embedSpecOf(params));
  const dim = embedder.dim;
  const paired = batch.layout !== 'se';
  const n = batch.fragments;
  const r1Records = batch.r1.records;
  const p1 = parseRecords(
    batch.r1.bytes,
    r1Records,
    { label: batch.r1.label, firstRecord: batch.r1.firstRecord, firstLine: batch.r1.firstLine, format: batch.format, quality: batch.quality },
    allocParsed(r1Records),
  );
  let p2: ParsedRecords | undefined;
  if (batch.layout === 'pe') {
    const r2 = batch.r2;
    if (!r2) throw new Error('pe batch without r2');
    p2 = parseRecords(
      r2.bytes,
      r2.records,
      { label: r2.label, firstRecord: r2.firstRecord, firstLine: r2.firstLine, format: batch.format, quality: batch.quality },
      allocParsed(r2.records),
    );
  }
  checkMateNames(batch, p1, p2);
  const ad1 = qc.adapterTrim ? adapters(qc.adaptersR1) : [];
  const ad2 = qc.adapterTrim ? adapters(qc.adaptersR2) : [];

  const corrector = params.correction ? correctorFor(params.correction) : undefined;
  const counters = new Float64Array(COUNTER_NAMES.length);
  const stats = allocStats();
  const tmp = new Float64Array(2);
  let idBytes = new Uint8Array(n * 16);
  let idLen = 0;
  const idOffsets = new Int32Array(n + 1);
  const lengths = new Int32Array(n * 2);
  const attrs = new Float32Array(n * ATTRS_PER_FRAGMENT);
  const hashes = new Uint32Array(n * 2);
  const positions = new Int32Array(n);
  const sketchParams = params.minimizers;
  const sketchScratch = sketchParams ? new SketchScratch() : undefined;
  let sketch = new Uint32Array(sketchParams ? n * 64 : 0);
  const sketchOffsets = sketchParams ? new Int32Array(n + 1) : undefined;
  let sketchLen = 0;
  // kept fragments' sequences (after trimming and correction), embedded together after the loop
  const seqStart1 = new Int32Array(n);
  const seqLen1 = new Int32Array(n);
  const seqStart2 = new Int32Array(n);
  const seqLen2 = new Int32Array(n);
  const fq1 = params.writeFastq ? new ByteSink(batch.r1.bytes.length >> 1) : undefined;
  const fq2 = params.writeFastq && paired ? new ByteSink(batch.r1.bytes.length >> 1) : undefined;
  const fqOff1 = params.writeFastq ? new Int32Array(n + 1) : undefined;
  const fqOff2 = params.writeFastq && paired ? new Int32Array(n + 1) : undefined;

  const m1: Mate = { bytes: batch.r1.bytes, parsed: p1, index: 0 };
  const m2: Mate = batch.layout === 'pe' ? { bytes: batch.r2!.bytes, parsed: p2!, index: 0 } : { bytes: batch.r1.bytes, parsed: p1, index: 0 };
  const v1: View = { start: 0, len: 0 };
  const v2: View = { start: 0, len: 0 };
  let kept = 0;

  for (let f = 0; f < n; f++) {
    if (batch.layout === 'interleaved') {
      m1.index = 2 * f;
      m2.index = 2 * f + 1;
    } else {
      m1.index = f;
      m2.index = f;
    }
    v1.start = p1.seqStart[m1.index]!;
    v1.len = p1.seqLen[m1.index]!;
    counters[C.fragments_in]! += 1;
    counters[C.reads_in]! += paired ? 2 : 1;
    counters[C.bases_in]! += v1.len;
    addRead(stats, blockOffset(0, 0), m1.bytes, v1.start, v1.len, p1.qualStart[m1.index]!, tmp);
    const front1 = trimMate(m1, v1, qc, qc.medianCutR1, counters);
    let front2 = 0;
    if (paired) {
      const pp = m2.parsed;
      v2.start = pp.seqStart[m2.index]!;
      v2.len = pp.seqLen[m2.index]!;
      counters[C.bases_in]! += v2.len;
      addRead(stats, blockOffset(1, 0), m2.bytes, v2.start, v2.len, pp.qualStart[m2.index]!, tmp);
      front2 = trimMate(m2, v2, qc, qc.medianCutR2, counters);
    }

    // adapters
    if (qc.adapterTrim) {
      let clipped = false;
      if (paired && v1.len > 0 && v2.len > 0) {
        const ov = findOverlap(m1.bytes, v1.start, v1.len, m2.bytes, v2.start, v2.len, qc.overlapMinLen, qc.overlapDiffLimit, qc.overlapDiffPercent);
        addInsert(stats, ov.found, ov.offset, ov.overlap, v1.len, v2.len, front1, front2);
        if (ov.found && ov.offset < 0) {
          const l1 = Math.min(v1.len, ov.overlap + front2);
          const l2 = Math.min(v2.len, ov.overlap + front1);
          counters[C.adapter_bases_trimmed]! += v1.len - l1 + (v2.len - l2);
          v1.len = l1;
          v2.len = l2;
          counters[C.adapter_fragments_overlap]! += 1;
          clipped = true;
        }
      }
      if (!clipped) {
        let removed = v1.len > 0 ? trimAdapterBySequence(m1, v1, ad1) : 0;
        if (paired && v2.len > 0) removed += trimAdapterBySequence(m2, v2, ad2);
        if (removed > 0) {
          counters[C.adapter_bases_trimmed]! += removed;
          counters[C.adapter_fragments_sequence]! += 1;
        }
      }
    }

    // filters: a pair is kept or dropped as a unit
    const qs1 = p1.qualStart[m1.index]!;
    const qv1 = qs1 >= 0 ? qs1 + (v1.start - p1.seqStart[m1.index]!) : -1;
    let reason = filterRead(m1.bytes, qv1, v1.start, v1.len, qc);
    if (reason === FilterReason.Pass && paired) {
      const pp = m2.parsed;
      const qs2 = pp.qualStart[m2.index]!;
      const qv2 = qs2 >= 0 ? qs2 + (v2.start - pp.seqStart[m2.index]!) : -1;
      reason = filterRead(m2.bytes, qv2, v2.start, v2.len, qc);
    }
    if (reason !== FilterReason.Pass) {
      counters[C.filtered_too_short - 1 + reason]! += 1;
      continue;
    }

    // error correction (between QC and dedup: corrected pairs are fingerprinted and embedded)
    if (corrector) {
      let readsFixed = 0;
      let readsStuck = 0;
      const r1c = corrector.correct(m1.bytes, v1.start, v1.len, qv1);
      let bases = r1c >= 0 ? r1c : -1 - r1c;
      if (r1c > 0) readsFixed++;
      else if (r1c < 0) readsStuck++;
      if (paired) {
        const pp = m2.parsed;
        const qs2 = pp.qualStart[m2.index]!;
        const r2c = corrector.correct(m2.bytes, v2.start, v2.len, qs2 >= 0 ? qs2 + (v2.start - pp.seqStart[m2.index]!) : -1);
        bases += r2c >= 0 ? r2c : -1 - r2c;
        if (r2c > 0) readsFixed++;
        else if (r2c < 0) readsStuck++;
      }
      counters[C.bases_corrected]! += bases;
      counters[C.reads_corrected]! += readsFixed;
      counters[C.reads_uncorrectable]! += readsStuck;
    }

    // kept: statistics after QC, attributes, embedding, fingerprint
    const k = kept++;
    positions[k] = f;
    counters[C.fragments_passed_qc]! += 1;
    counters[C.bases_passed_qc]! += v1.len + (paired ? v2.len : 0);
    addRead(stats, blockOffset(0, 1), m1.bytes, v1.start, v1.len, qv1, tmp);
    attrs[k * ATTRS_PER_FRAGMENT] = tmp[0]!;
    attrs[k * ATTRS_PER_FRAGMENT + 2] = tmp[1]!;
    lengths[2 * k] = v1.len;
    if (paired) {
      const pp = m2.parsed;
      const qs2 = pp.qualStart[m2.index]!;
      addRead(stats, blockOffset(1, 1), m2.bytes, v2.start, v2.len, qs2 >= 0 ? qs2 + (v2.start - pp.seqStart[m2.index]!) : -1, tmp);
      attrs[k * ATTRS_PER_FRAGMENT + 1] = tmp[0]!;
      attrs[k * ATTRS_PER_FRAGMENT + 3] = tmp[1]!;
      lengths[2 * k + 1] = v2.len;
    } else {
      attrs[k * ATTRS_PER_FRAGMENT + 1] = NaN;
      attrs[k * ATTRS_PER_FRAGMENT + 3] = NaN;
    }
    seqStart1[k] = v1.start;
    seqLen1[k] = v1.len;
    if (paired) {
      seqStart2[k] = v2.start;
      seqLen2[k] = v2.len;
    }
    fragmentHash(m1.bytes, v1.start, v1.len, paired ? m2.bytes : undefined, v2.start, paired ? v2.len : 0, hashes, 2 * k);
    if (sketchParams && sketchScratch && sketchOffsets) {
      sketch = ensureCapacity(sketch, 2 * (sketchLen + v1.len + (paired ? v2.len : 0)));
      sketchLen += fragmentSketch(sketchParams, sketchScratch, m1.bytes, v1.start, v1.len, paired ? m2.bytes : undefined, v2.start, paired ? v2.len : 0, sketch, sketchLen);
      sketchOffsets[k + 1] = sketchLen;
    }

    const idS = m1.parsed.idStart[m1.index]!;
    const idE = m1.parsed.idEnd[m1.index]!;
    if (idLen + (idE - idS) > idBytes.length) {
      const next = new Uint8Array(Math.max(idBytes.length * 2, idLen + (idE - idS)));
      next.set(idBytes.subarray(0, idLen));
      idBytes = next;
    }
    idBytes.set(m1.bytes.subarray(idS, idE), idLen);
    idLen += idE - idS;
    idOffsets[k + 1] = idLen;
    if (fq1 && fqOff1) {
      writeFastqRecord(fq1, m1, v1, 1, paired);
      fqOff1[k + 1] = fq1.len;
      if (fq2 && fqOff2) {
        writeFastqRecord(fq2, m2, v2, 2, paired);
        fqOff2[k + 1] = fq2.len;
      }
    }
  }

  const embedding = new Float32Array(kept * dim);
  await embedder.embed({ n: kept, bytes1: m1.bytes, start1: seqStart1, len1: seqLen1, bytes2: m2.bytes, start2: seqStart2, len2: seqLen2 }, embedding);

  const result: PrepBatchResult = {
    index: batch.index,
    kept,
    positions: positions.slice(0, kept),
    idBytes: idBytes.slice(0, idLen),
    idOffsets: idOffsets.slice(0, kept + 1),
    lengths: lengths.slice(0, 2 * kept),
    attrs: attrs.slice(0, kept * ATTRS_PER_FRAGMENT),
    hashes: hashes.slice(0, 2 * kept),
    embedding,
    counters,
    stats,
  };
  if (sketchOffsets) {
    result.minimizers = sketch.slice(0, 2 * sketchLen);
    result.minimizerOffsets = sketchOffsets.slice(0, kept + 1);
  }
  if (fq1 && fqOff1) {
    result.fastq1 = fq1.buf.slice(0, fq1.len);
    result.fastqOffsets1 = fqOff1.slice(0, kept + 1);
  }
  if (fq2 && fqOff2) {
    result.fastq2 = fq2.buf.slice(0, fq2.len);
    result.fastqOffsets2 = fqOff2.slice(0, kept + 1);
  }
  return result;
}

/** Transferable buffers of a result (so a worker hands them over instead of copying). */
export function resultBuffers(r: PrepBatchResult): ArrayBuffer[] {
  const list = [r.positions, r.idBytes, r.idOffsets, r.lengths, r.attrs, r.hashes, r.embedding, r.minimizers, r.minimizerOffsets, r.counters, r.stats, r.fastq1, r.fastq2, r.fastqOffsets1, r.fastqOffsets2];
  return list.filter((a): a is NonNullable<typeof a> => a !== undefined).map((a) => a.buffer as ArrayBuffer);
}
