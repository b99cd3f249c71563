import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { redactUri } from '../io/redact.js';
import { inputError, usageError } from '../errors.js';
import { RecordReader, type SeqFormat } from '../io/recordReader.js';
import { openSource, type ByteSource } from '../io/source.js';
import { allocParsed, detectQualityEncoding, parseRecords, type QualityEncoding } from '../io/seqParser.js';
import { chooseAdapters } from '../qc/adapterChoice.js';
import { DEFAULT_QC, type QcParams } from '../qc/params.js';
import { medianCutoff } from '../qc/quality.js';
import type { PrepBatch } from '../prep/params.js';
import type { InputSet, SetSummary } from '../prep/readBatches.js';
import type { PrepManifest } from '../io/manifest.js';
import type { PrepOptions } from './prepOptions.js';

/**
 * Run-wide decisions of Phase 1 shared by every engine: input validation, parameters resolved from the first
 * records, and the pass-1 spectrum -> pass-2 correction parameters.
 */

const SAMPLE_RECORDS = 20_000;

/** Validates the input options and opens the sources; returns the layout. */
export async function openInputSets(opts: Pick<PrepOptions, 'inputs' | 'inputs2' | 'interleaved'>): Promise<{ sets: InputSet[]; layout: PrepBatch['layout'] }> {
  if (opts.inputs.length === 0) throw usageError('prep: --input is required');
  if (opts.inputs2.length > 0 && opts.inputs2.length !== opts.inputs.length) {
    throw usageError(`prep: ${opts.inputs.length} --input but ${opts.inputs2.length} --input2 (give one --input2 per --input)`);
  }
  if (opts.interleaved && opts.inputs2.length > 0) throw usageError('prep: --interleaved and --input2 are exclusive');
  const layout: PrepBatch['layout'] = opts.inputs2.length > 0 ? 'pe' : opts.interleaved ? 'interleaved' : 'se';
  const sets: InputSet[] = [];
  for (const [i, p] of opts.inputs.entries()) {
    if (layout === 'pe') {
      const same = await sameInput(p, opts.inputs2[i]!);
      if (same) {
        throw usageError(
          `prep: --input and --input2 ${same}: ${redactUri(p)}${p !== opts.inputs2[i] ? ` and ${redactUri(opts.inputs2[i]!)}` : ''} (R2 must be the mate file; for mates in one file use --interleaved)`,
        );
      }
    }
    // local paths or s3:// URIs (io/source.ts)
    const r1 = await openSource(p);
    const r2 = layout === 'pe' ? await openSource(opts.inputs2[i]!) : undefined;
    sets.push(r2 ? { r1, r2 } : { r1 });
  }
  return { sets, layout };
}

/** Why two input locations are the same data ('are the same file', 'are one file (same inode)'), or undefined. */
async function sameInput(a: string, b: string): Promise<string | undefined> {
  if (resolve(a) === resolve(b) || a === b) return 'are the same file';
  if (/^s3:\/\//i.test(a) || /^s3:\/\//i.test(b)) return undefined;
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  if (sa && sb && sa.isFile() && sa.dev === sb.dev && sa.ino === sb.ino) return 'are one file (the same inode: a link to it)';
  return undefined;
}

async function sampleChunk(src: ByteSource, records: number): Promise<{ bytes: Uint8Array; records: number; firstLine: number; format: SeqFormat }> {
  const reader = new RecordReader(src);
  const format = await reader.detect();
  const c = await reader.next(records);
  return { bytes: c?.bytes ?? new Uint8Array(0), records: c?.records ?? 0, firstLine: c?.firstLine ?? 1, format };
}

export interface ResolvedParameters {
  format: SeqFormat;
  quality: QualityEncoding;
  qc: QcParams;
  encoding: string;
  adapterInfo: Record<string, unknown>;
}

/** Decides Phred offset, adapters and the median-rule cut-offs from the first records of the first input. */
export async function resolveParameters(set: InputSet, opts: PrepOptions, layout: PrepBatch['layout']): Promise<ResolvedParameters> {
  const s1 = await sampleChunk(set.r1, SAMPLE_RECORDS);
  const s2 = set.r2 ? await sampleChunk(set.r2, SAMPLE_RECORDS) : undefined;
  if (s2 && s2.format !== s1.format) {
    throw inputError(`${set.r1.label} is ${s1.format.toUpperCase()} but ${set.r2!.label} is ${s2.format.toUpperCase()}`);
  }
  const format = s1.format;
  let quality: QualityEncoding = 'phred33';
  let encoding = format === 'fasta' ? 'none (FASTA)' : 'phred33';
  if (format === 'fastq') {
    const detected = detectQualityEncoding(s1.bytes);
    const given = opts.phred === '64' ? 'phred64' : opts.phred === 'solexa' ? 'solexa64' : opts.phred === '33' ? 'phred33' : undefined;
    quality = given ?? detected ?? 'phred33';
    const names: Record<QualityEncoding, string> = { phred33: 'Phred+33', phred64: 'Phred+64', solexa64: 'Solexa+64' };
    if (quality !== 'phred33') encoding = `${quality} (${given ? 'given' : 'detected'}; converted to phred33)`;
    if (given && detected && detected !== given && detected !== 'phred33') {
      opts.progress.log(`warning: ${set.r1.label} looks like ${names[detected]} but --phred ${opts.phred} was given`);
    } else if (!given && quality !== 'phred33') {
      opts.progress.log(`${set.r1.label}: ${names[quality]} qualities detected, converted to Phred+33 (--phred 33|64|solexa to force)`);
    }
  }
  const qc: QcParams = { ...DEFAULT_QC, ...opts.qc };
  const adapterInfo: Record<string, unknown> = {};
  // Parse the sample once (in place: these bytes come from a separate reader and are used only here) for
  // adapter detection and the median rule.
  const parseSample = (bytes: Uint8Array, records: number, label: string, firstLine: number) =>
    parseRecords(bytes, records, { label, firstRecord: 0, firstLine, format, quality }, allocParsed(records));
  type Parsed = ReturnType<typeof parseSample>;
  const readsOf = (bytes: Uint8Array, p: Parsed, step: number, first: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = first; i < p.n; i += step) out.push(bytes.subarray(p.seqStart[i], p.seqStart[i]! + p.seqLen[i]!));
    return out;
  };
  const b1 = s1.bytes;
  const pp1 = parseSample(b1, s1.records, set.r1.label, s1.firstLine);
  const reads1 = readsOf(b1, pp1, layout === 'interleaved' ? 2 : 1, 0);
  let reads2: Uint8Array[] = [];
  let b2: Uint8Array | undefined;
  let pp2: Parsed | undefined;
  if (layout === 'interleaved') reads2 = readsOf(b1, pp1, 2, 1);
  else if (s2) {
    b2 = s2.bytes;
    pp2 = parseSample(b2, s2.records, set.r2!.label, s2.firstLine);
    reads2 = readsOf(b2, pp2, 1, 0);
  }
  if (qc.adapterTrim) {
    const chosen = chooseAdapters(reads1, reads2, layout !== 'se', { r1: opts.adapterR1, r2: opts.adapterR2 }, opts.detectAdapters);
    qc.adaptersR1 = chosen.adaptersR1;
    if (chosen.adaptersR2) qc.adaptersR2 = chosen.adaptersR2;
    Object.assign(adapterInfo, chosen.info);
  }
  if (opts.medianQuality !== undefined && format === 'fastq') {
    const cut = (bytes: Uint8Array, p: Parsed, step: number, first: number): number => {
      const maxPos = 1024;
      const hist = new Float64Array(maxPos * 94);
      for (let i = first; i < p.n; i += step) {
        const q0 = p.qualStart[i]!;
        const len = Math.min(p.seqLen[i]!, maxPos);
        for (let j = 0; j < len; j++) hist[j * 94 + bytes[q0 + j]! - 33]! += 1;
      }
      return medianCutoff(hist, maxPos, opts.medianQuality!);
    };
    qc.medianCutR1 = cut(b1, pp1, layout === 'interleaved' ? 2 : 1, 0);
    if (layout === 'interleaved') qc.medianCutR2 = cut(b1, pp1, 2, 1);
    else if (b2 && pp2) qc.medianCutR2 = cut(b2, pp2, 1, 0);
  }
  return { format, quality, qc, encoding, adapterInfo };
}

/**
 * Bytes of the pass-1 sketch: one byte per expected k-mer occurrence (an upper bound of the distinct k-mers),
 * at least 16 MiB, at most --correct-mem, so a small run gets a small, cache-friendly sketch. The bases are
 * estimated from the file sizes: FASTQ is about half bases; gzip compresses FASTQ about 4x.
 */
export function sketchBytesFor(sets: InputSet[], correctMemBytes: number): number {
  const inputBases = sets.reduce((a, st) => a + [st.r1, st.r2].reduce((b, src) => b + (src ? (src.size * (src.compression === 'gzip' ? 4 : 1)) / 2 : 0), 0), 0);
  const bytes = Math.min(correctMemBytes, Math.max(16 << 20, 2 * inputBases));
  let n = 1 << 16; // the power-of-two rule of LevelSketch.allocate
  while (n * 2 <= bytes && n < 2 ** 31) n *= 2;
  return n;
}

/** The manifest's `inputs` entries of one input set. */
export function inputInfo(set: InputSet, format: SeqFormat, s: SetSummary): PrepManifest['inputs'] {
  const info: PrepManifest['inputs'] = [{ uri: redactUri(set.r1.uri), bytes: set.r1.size, format, compression: set.r1.compression, mate: 1, records: s.records1 }];
  if (set.r2) info.push({ uri: redactUri(set.r2.uri), bytes: set.r2.size, format, compression: set.r2.compression, mate: 2, records: s.records2 });
  return info;
}
