import { correctFragment, correctorFor, newCorrectionTally } from '../correct/pair.js';
import { embedderFor, type EmbedSpec } from '../embed/index.js';
import { allocParsed, parseRecords, type ParsedRecords } from '../io/seqParser.js';
import { encodedAdapters } from '../qc/adapterChoice.js';
import { filterPair } from '../qc/filters.js';
import { FilterReason } from '../qc/params.js';
import { clipAdapters, newTrimTally, trimMate } from '../qc/pairTrim.js';
import type { View } from '../qc/quality.js';
import { addRead, allocStats, blockOffset } from '../qc/stats.js';
import { BatchOutput, type Mate } from './batchOutput.js';
import { checkMateNames } from './mates.js';
import { C, COUNTER_NAMES, type BatchParams, type PrepBatch, type PrepBatchResult } from './params.js';

/**
 * The Phase 1 stages for one batch, in order: parse -> QC (quality cut, poly-G, adapters: qc/pairTrim.ts; filters)
 * -> statistics -> correction (correct/pair.ts) -> fingerprint for dedup -> embedding of the kept fragments (the
 * embedder named by params.embed: k-mer profile, LSH sketch or an ONNX model, built once per worker thread). Pure:
 * bytes in, typed arrays out; the engine decides where it runs. De-duplication itself needs input order across
 * batches and is applied by the caller (dedup/stage.ts) to these fingerprints.
 */

/** The embedding a batch asks for (params.embed; the k-mer profile fields when absent). */
export function embedSpecOf(params: BatchParams): EmbedSpec {
  return params.embed ?? { method: 'kmer', k: params.kmer, normalisation: params.normalisation };
}

function parseMate(batch: PrepBatch, mate: NonNullable<PrepBatch['r2']>): ParsedRecords {
  return parseRecords(
    mate.bytes,
    mate.records,
    { label: mate.label, firstRecord: mate.firstRecord, firstLine: mate.firstLine, format: batch.format, quality: batch.quality },
    allocParsed(mate.records),
  );
}

/** The offset of a view's first quality (-1: FASTA, no qualities). */
function qualOf(m: Mate, v: View): number {
  const qs = m.parsed.qualStart[m.index]!;
  return qs >= 0 ? qs + (v.start - m.parsed.seqStart[m.index]!) : -1;
}

/** Runs the Phase 1 stages on one batch. Throws MetavecError('INPUT') on malformed records. */
export async function processBatch(batch: PrepBatch, params: BatchParams): Promise<PrepBatchResult> {
  const qc = params.qc;
  const embedder = await embedderFor(embedSpecOf(params));
  const paired = batch.layout !== 'se';
  const n = batch.fragments;
  const p1 = parseMate(batch, batch.r1);
  let p2: ParsedRecords | undefined;
  if (batch.layout === 'pe') {
    if (!batch.r2) throw new Error('pe batch without r2');
    p2 = parseMate(batch, batch.r2);
  }
  checkMateNames(batch, p1, p2);
  const ad1 = qc.adapterTrim ? encodedAdapters(qc.adaptersR1) : [];
  const ad2 = qc.adapterTrim ? encodedAdapters(qc.adaptersR2) : [];
  const corrector = params.correction ? correctorFor(params.correction) : undefined;

  const counters = new Float64Array(COUNTER_NAMES.length);
  const stats = allocStats();
  const tmp = new Float64Array(2);
  const trim = newTrimTally();
  const fixes = newCorrectionTally();
  const out = new BatchOutput(n, paired, params.minimizers, params.writeFastq ? batch.r1.bytes.length >> 1 : undefined);
  const m1: Mate = { bytes: batch.r1.bytes, parsed: p1, index: 0 };
  const m2: Mate = batch.layout === 'pe' ? { bytes: batch.r2!.bytes, parsed: p2!, index: 0 } : { bytes: batch.r1.bytes, parsed: p1, index: 0 };
  const b2 = paired ? m2.bytes : undefined;
  const v1: View = { start: 0, len: 0 };
  const v2: View = { start: 0, len: 0 };

  for (let f = 0; f < n; f++) {
    m1.index = batch.layout === 'interleaved' ? 2 * f : f;
    m2.index = batch.layout === 'interleaved' ? 2 * f + 1 : f;
    // statistics before QC, then trimming (each mate, then adapters of the pair)
    v1.start = p1.seqStart[m1.index]!;
    v1.len = p1.seqLen[m1.index]!;
    counters[C.fragments_in]! += 1;
    counters[C.reads_in]! += paired ? 2 : 1;
    counters[C.bases_in]! += v1.len;
    addRead(stats, blockOffset(0, 0), m1.bytes, v1.start, v1.len, p1.qualStart[m1.index]!, tmp);
    const front1 = trimMate(m1.bytes, p1.seqStart[m1.index]!, p1.qualStart[m1.index]!, v1, qc, qc.medianCutR1, trim);
    let front2 = 0;
    if (paired) {
      const pp = m2.parsed;
      v2.start = pp.seqStart[m2.index]!;
      v2.len = pp.seqLen[m2.index]!;
      counters[C.bases_in]! += v2.len;
      addRead(stats, blockOffset(1, 0), m2.bytes, v2.start, v2.len, pp.qualStart[m2.index]!, tmp);
      front2 = trimMate(m2.bytes, pp.seqStart[m2.index]!, pp.qualStart[m2.index]!, v2, qc, qc.medianCutR2, trim);
    }
    if (qc.adapterTrim) clipAdapters(m1.bytes, v1, front1, ad1, b2, v2, front2, ad2, qc, stats, trim);

    // filters: a pair is kept or dropped as a unit
    const q1 = qualOf(m1, v1);
    const q2 = paired ? qualOf(m2, v2) : -1;
    const reason = filterPair(m1.bytes, q1, v1, b2, q2, v2, qc);
    if (reason !== FilterReason.Pass) {
      counters[C.filtered_too_short - 1 + reason]! += 1;
      continue;
    }
    // error correction (between QC and dedup: corrected pairs are fingerprinted and embedded)
    if (corrector) correctFragment(corrector, m1.bytes, v1, q1, b2, v2, q2, fixes);

    counters[C.fragments_passed_qc]! += 1;
    counters[C.bases_passed_qc]! += v1.len + (paired ? v2.len : 0);
    out.keep(f, m1, v1, q1, m2, v2, q2, stats);
  }
  // integer counts: adding them once per batch gives the same sums as adding them per fragment
  counters[C.quality_bases_trimmed]! += trim.qualityBases;
  counters[C.median_rule_bases_trimmed]! += trim.medianBases;
  counters[C.polyg_bases_trimmed]! += trim.polyGBases;
  counters[C.adapter_bases_trimmed]! += trim.adapterBases;
  counters[C.adapter_fragments_overlap]! += trim.overlapFragments;
  counters[C.adapter_fragments_sequence]! += trim.sequenceFragments;
  if (corrector) {
    counters[C.bases_corrected]! += fixes.bases;
    counters[C.reads_corrected]! += fixes.readsCorrected;
    counters[C.reads_uncorrectable]! += fixes.readsUncorrectable;
  }

  const embedding = new Float32Array(out.kept * embedder.dim);
  await embedder.embed({ n: out.kept, bytes1: m1.bytes, start1: out.seqStart1, len1: out.seqLen1, bytes2: m2.bytes, start2: out.seqStart2, len2: out.seqLen2 }, embedding);
  return out.result(batch.index, embedding, counters, stats);
}

/** Transferable buffers of a result (so a worker hands them over instead of copying). */
export function resultBuffers(r: PrepBatchResult): ArrayBuffer[] {
  const list = [r.positions, r.idBytes, r.idOffsets, r.lengths, r.attrs, r.hashes, r.embedding, r.minimizers, r.minimizerOffsets, r.counters, r.stats, r.fastq1, r.fastq2, r.fastqOffsets1, r.fastqOffsets2];
  return list.filter((a): a is NonNullable<typeof a> => a !== undefined).map((a) => a.buffer as ArrayBuffer);
}
