/**
 * Seeded generators and property checks for the FASTQ/FASTA reader+parser and the manifest reader. Used by
 * the property tests (test/unit/io/*.fuzz.test.ts, a few hundred cases in CI) and by bench/fuzz.ts (a long run).
 * Hand-written rather than fast-check: no extra dependency, and the generators know the formats' structure
 * (valid records, then structure-aware mutations), which finds more than random bytes.
 */
import { mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, isAbsolute, sep } from 'node:path';
import { MetavecError } from '../../src/errors.js';
import { readPrepManifest, resolveInRun, PREP_SCHEMA } from '../../src/io/manifest.js';
import { RecordReader, type SeqFormat } from '../../src/io/recordReader.js';
import { allocParsed, parseRecords } from '../../src/io/seqParser.js';
import type { ByteSource } from '../../src/io/source.js';
import { rng } from './fixtures.js';

export type Rand = () => number;
export const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export { rng };

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_-.|#=';
const BASES = 'ACGTNacgtnRYKMSWBDHVU.';

export interface GeneratedInput {
  text: Uint8Array;
  format: SeqFormat;
  /** expected read_ids and normalised sequences (valid input only) */
  ids: string[];
  seqs: string[];
}

const NORMAL: Record<string, string> = { A: 'A', C: 'C', G: 'G', T: 'T', U: 'T', N: 'N' };
function normalise(s: string): string {
  return [...s.toUpperCase()].map((c) => NORMAL[c] ?? 'N').join('');
}

/**
 * A random valid FASTQ or FASTA file: names with comments and /1 /2, lengths 0..n, LF or CRLF per line, wrapped
 * FASTA and (a quarter of the FASTQ files) wrapped FASTQ.
 */
export function validInput(r: Rand, opts: { maxRecords?: number; maxLen?: number } = {}): GeneratedInput {
  const format: SeqFormat = r() < 0.7 ? 'fastq' : 'fasta';
  const wrapFastq = r() < 0.25;
  const n = int(r, 1, opts.maxRecords ?? 40);
  const maxLen = r() < 0.1 ? 5000 : (opts.maxLen ?? 200);
  const ids: string[] = [];
  const seqs: string[] = [];
  let out = r() < 0.1 ? '\n\n' : '';
  const eol = (): string => (r() < 0.15 ? '\r\n' : '\n');
  for (let i = 0; i < n; i++) {
    let id = '';
    for (let j = int(r, 1, 30); j > 0; j--) id += pick(r, [...NAME_CHARS]);
    if (r() < 0.05) id += 'é'; // valid UTF-8
    const mate = r() < 0.3 ? pick(r, ['/1', '/2']) : '';
    const comment = r() < 0.3 ? `${pick(r, [' ', '\t'])}len=${int(r, 0, 999)} x` : '';
    let seq = '';
    const len = r() < 0.05 ? 0 : int(r, 1, maxLen);
    for (let j = 0; j < len; j++) seq += r() < 0.9 ? pick(r, [...'ACGT']) : pick(r, [...BASES]);
    ids.push(id);
    seqs.push(normalise(seq));
    if (format === 'fastq') {
      let q = '';
      for (let j = 0; j < len; j++) q += String.fromCharCode(int(r, 33, 126));
      // wrapped sequence and quality lines (quality lines may then start with '@' or '+')
      const width = wrapFastq && len > 0 ? int(r, 1, 80) : 0;
      const wrap = (x: string): string => {
        if (width === 0) return x;
        let w = x.slice(0, width);
        for (let j = width; j < x.length; j += width) w += eol() + x.slice(j, j + width);
        return w;
      };
      const plus = r() < 0.1 ? `${id}${mate}${r() < 0.5 ? comment : ''}` : '';
      out += `@${id}${mate}${comment}${eol()}${wrap(seq)}${eol()}+${plus}${eol()}${wrap(q)}`;
    } else {
      out += `>${id}${mate}${comment}`;
      const width = r() < 0.5 ? 60 : int(r, 1, 200);
      for (let j = 0; j < len; j += width) out += eol() + seq.slice(j, j + width);
    }
    if (i < n - 1 || r() < 0.8) out += eol();
  }
  if (r() < 0.1) out += '\n\n';
  return { text: new TextEncoder().encode(out), format, ids, seqs };
}

/** Structure-aware mutations: byte flips, insertions of special bytes, deletions, truncation, duplicated lines. */
export function mutate(r: Rand, input: Uint8Array): Uint8Array {
  let b = Array.from(input);
  const special = [0x00, 0x0a, 0x0d, 0x20, 0x09, 0x40, 0x2b, 0x3e, 0x7f, 0x80, 0xff, 0xc3, 0x1f, 0x8b];
  for (let m = int(r, 1, 4); m > 0; m--) {
    const pos = int(r, 0, Math.max(0, b.length - 1));
    switch (int(r, 0, 7)) {
      case 0:
        b[pos] = int(r, 0, 255);
        break;
      case 1:
        b.splice(pos, 0, pick(r, special));
        break;
      case 2:
        b.splice(pos, int(r, 1, 20));
        break;
      case 3:
        b = b.slice(0, pos);
        break;
      case 4: {
        // duplicate or drop a line
        const s = b.lastIndexOf(0x0a, pos) + 1;
        let e = b.indexOf(0x0a, pos);
        if (e < 0) e = b.length;
        const line = b.slice(s, e + 1);
        if (r() < 0.5) b.splice(s, 0, ...line);
        else b.splice(s, line.length);
        break;
      }
      case 5:
        b[pos] = pick(r, special);
        break;
      case 6: {
        // a long run of one byte (a long line or a long gap)
        const run = new Array<number>(int(r, 100, 20000)).fill(pick(r, [0x41, 0x49, 0x0a, 0x00]));
        b.splice(pos, 0, ...run);
        break;
      }
      default:
        b.splice(pos, 0, ...Array.from({ length: int(r, 1, 50) }, () => int(r, 0, 255)));
    }
  }
  return new Uint8Array(b);
}

export function memSource(bytes: Uint8Array, chunkSizes: () => number, label = 'fuzz.fq'): ByteSource {
  return {
    uri: 'mem',
    label,
    size: bytes.length,
    compression: 'none',
    rawBytesRead: () => 0,
    chunks: async function* () {
      await Promise.resolve();
      for (let i = 0; i < bytes.length; ) {
        const n = Math.max(1, chunkSizes());
        yield bytes.slice(i, i + n);
        i += n;
      }
    },
  };
}

export interface ReadOutcome {
  ok: boolean;
  ids: string[];
  seqs: string[];
  error?: string;
}

const dec = new TextDecoder();

/**
 * Reads and parses everything the way prep does (chunks of up to `perChunk` records / `maxBytes` bytes, each
 * parsed with its record and line numbers); checks the parsed offsets' invariants. Any exception that is not a
 * MetavecError with code INPUT is rethrown (a property failure).
 */
export async function readAllChecked(src: ByteSource, perChunk: number, maxBytes?: number): Promise<ReadOutcome> {
  const ids: string[] = [];
  const seqs: string[] = [];
  const rd = new RecordReader(src);
  try {
    const format = await rd.detect();
    let expectRecord = 0;
    for (;;) {
      const c = await rd.next(perChunk, maxBytes);
      if (!c) break;
      if (c.firstRecord !== expectRecord) throw new Error(`invariant: chunk firstRecord ${c.firstRecord} != ${expectRecord}`);
      expectRecord += c.records;
      const p = parseRecords(c.bytes, c.records, { label: src.label, firstRecord: c.firstRecord, firstLine: c.firstLine, format, quality: 'phred33' }, allocParsed(c.records));
      for (let i = 0; i < p.n; i++) {
        const s = p.seqStart[i]!;
        const len = p.seqLen[i]!;
        if (len < 0 || s < 0 || s + len > c.bytes.length) throw new Error(`invariant: record ${i} sequence [${s}, ${s + len}) outside the chunk`);
        for (let j = s; j < s + len; j++) {
          const v = c.bytes[j]!;
          if (v !== 65 && v !== 67 && v !== 71 && v !== 84 && v !== 78) throw new Error(`invariant: base byte ${v} after normalisation`);
        }
        const q = p.qualStart[i]!;
        if (format === 'fastq') {
          for (let j = q; j < q + len; j++) if (c.bytes[j]! < 33 || c.bytes[j]! > 126) throw new Error(`invariant: quality byte ${c.bytes[j]}`);
        } else if (q !== -1) throw new Error('invariant: FASTA record with qualities');
        ids.push(dec.decode(c.bytes.subarray(p.idStart[i], p.idEnd[i])));
        seqs.push(dec.decode(c.bytes.subarray(s, s + len)));
      }
    }
    return { ok: true, ids, seqs };
  } catch (err) {
    if (err instanceof MetavecError && err.code === 'INPUT') {
      const msg = err.message;
      if (msg.includes('\n')) throw new Error(`error message spans lines: ${JSON.stringify(msg.slice(0, 200))}`, { cause: err });
      // file, and record/line whenever the problem is inside a record
      if (!msg.includes(src.label)) throw new Error(`error message does not name the file: ${msg}`, { cause: err });
      if (!/record \d+/.test(msg) && !/empty file/.test(msg)) throw new Error(`error message names no record: ${msg}`, { cause: err });
      return { ok: false, ids, seqs, error: msg };
    }
    throw err;
  }
}

/**
 * One parser property case: (a) a valid input reads back exactly, for random chunkings; (b) a mutated input
 * gives the same outcome (records or the same one-line error) whatever the byte chunking and chunk sizes.
 * Returns a description of the case for failure reports.
 */
export async function parserCase(seed: number): Promise<string> {
  const r = rng(seed);
  const g = validInput(r);
  const chunker = (kind: number, size: number): (() => number) => {
    const cr = rng(seed * 31 + kind);
    // 1-byte and tiny chunks only for small inputs (an await per chunk; larger odd sizes cross the same kinds of boundary)
    if (kind === 0 && size > 20_000) kind = 1;
    if (kind === 1 && size > 100_000) kind = 2;
    return kind === 0 ? () => 1 : kind === 1 ? () => int(cr, 1, 17) : kind === 2 ? () => int(cr, 1, 5000) : () => 1 << 20;
  };
  const valid = await readAllChecked(memSource(g.text, chunker(int(r, 0, 3), g.text.length)), int(r, 1, 50));
  if (!valid.ok) throw new Error(`valid input rejected: ${valid.error}`);
  if (JSON.stringify(valid.ids) !== JSON.stringify(g.ids)) throw new Error(`ids differ: ${JSON.stringify(valid.ids.slice(0, 3))} vs ${JSON.stringify(g.ids.slice(0, 3))}`);
  if (JSON.stringify(valid.seqs) !== JSON.stringify(g.seqs)) throw new Error('sequences differ');
  const bad = mutate(r, g.text);
  const per = int(r, 1, 50);
  const outcomes: ReadOutcome[] = [];
  for (const kind of [0, 1, 2, 3]) outcomes.push(await readAllChecked(memSource(bad, chunker(kind, bad.length)), per, r() < 0.3 ? int(r, 1, 4096) : undefined));
  const key = (o: ReadOutcome): string => (o.ok ? `ok ${o.ids.length} ${o.seqs.join(',')}` : `error ${o.error}`);
  const first = key(outcomes[0]!);
  for (const o of outcomes) if (key(o) !== first) throw new Error(`outcome depends on chunking: ${first.slice(0, 200)} vs ${key(o).slice(0, 200)}`);
  return `${g.format} ${g.ids.length} records, mutated ${bad.length} bytes -> ${first.slice(0, 120)}`;
}

/** A run directory with a valid manifest and two small shard files (content is not Parquet; only paths matter). */
export function makeRunDir(dir: string): { shards: { path: string; rows: number; bytes: number; sha256: string }[] } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'shards'), { recursive: true });
  mkdirSync(join(dir, '..', 'outside'), { recursive: true });
  writeFileSync(join(dir, '..', 'outside', 'secret.parquet'), 'outside');
  writeFileSync(join(dir, 'shards', 'part-00000.parquet'), 'a');
  writeFileSync(join(dir, 'shards', 'part-00001.parquet'), 'b');
  symlinkSync(join(dir, '..', 'outside', 'secret.parquet'), join(dir, 'shards', 'link-out.parquet'));
  symlinkSync(join(dir, 'shards', 'part-00000.parquet'), join(dir, 'shards', 'link-in.parquet'));
  symlinkSync(join(dir, '..', 'outside'), join(dir, 'dirlink'));
  return {
    shards: [
      { path: 'shards/part-00000.parquet', rows: 10, bytes: 1, sha256: 'a'.repeat(64) },
      { path: 'shards/part-00001.parquet', rows: 5, bytes: 1, sha256: 'b'.repeat(64) },
    ],
  };
}

const PATHS = [
  'shards/part-00000.parquet', 'shards/part-00001.parquet', '../outside/secret.parquet', '/etc/passwd', 'shards/../../outside/secret.parquet',
  'shards/link-out.parquet', 'shards/link-in.parquet', 'dirlink/secret.parquet', './shards/part-00001.parquet', 'shards//part-00000.parquet',
  '..', '.', '', 'shards\\..\\..\\x', 'shards/\u0000x', 'shards/part-00000.parquet/..', 'shards/./../shards/part-00001.parquet',
  '%2e%2e/outside/secret.parquet', 'shards/missing.parquet', '~/x',
];
const ODD_VALUES: unknown[] = [null, 0, -1, 1.5, 1e300, '', 'x', [], {}, true, '1', 2 ** 53, NaN];

function mutateJson(r: Rand, v: unknown, depth = 0): unknown {
  if (depth > 4 || r() < 0.15) return r() < 0.5 ? pick(r, ODD_VALUES) : v;
  if (Array.isArray(v)) {
    const out: unknown[] = v.map((x: unknown) => (r() < 0.3 ? mutateJson(r, x, depth + 1) : x));
    if (r() < 0.2) out.push(out.length > 0 ? pick(r, out) : pick(r, ODD_VALUES));
    if (r() < 0.1) out.splice(int(r, 0, out.length), 1);
    return out;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (r() < 0.08) continue;
      out[k] = k === 'path' && r() < 0.6 ? pick(r, PATHS) : r() < 0.3 ? mutateJson(r, x, depth + 1) : x;
    }
    if (r() < 0.05) out.__proto__extra = pick(r, ODD_VALUES);
    return out;
  }
  return v;
}

function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

/**
 * One manifest property case: a mutated manifest is either refused with a MetavecError('MANIFEST') or
 * accepted with every shard path (and qc_stats path) resolving, after symlinks, inside the run directory, each
 * listed once, with counts that are non-negative safe integers.
 */
export async function manifestCase(seed: number, runDir: string, base: { shards: unknown[] }): Promise<string> {
  const r = rng(seed);
  const m0 = {
    schema: PREP_SCHEMA,
    tool: { name: 'metavec', version: '0.1.0' },
    embedding: { method: 'kmer', k: 4, dim: 136 },
    shards: base.shards,
    qc_stats: { path: 'qc_stats.json', sha256: 'c'.repeat(64) },
  };
  const m = mutateJson(r, structuredClone(m0));
  const text = r() < 0.05 ? JSON.stringify(m).slice(0, int(r, 0, 200)) : JSON.stringify(m);
  writeFileSync(join(runDir, 'manifest.json'), text ?? '');
  try {
    const got = await readPrepManifest(runDir);
    const root = realpathSync(runDir);
    const seen = new Set<string>();
    for (const s of got.shards) {
      const full = resolveInRun(runDir, s.path, 'manifest.json');
      let real = full;
      try {
        real = realpathSync(full);
      } catch {
        // missing file: the lexical path must still be inside
      }
      if (!isInside(root, real)) throw new Error(`accepted a shard outside the run: ${JSON.stringify(s.path)} -> ${real}`);
      if (seen.has(full)) throw new Error(`accepted a duplicate shard ${s.path}`);
      seen.add(full);
      if (!Number.isSafeInteger(s.rows) || s.rows < 0) throw new Error(`accepted rows ${String(s.rows)}`);
      if (!/^[0-9a-f]{64}$/.test(s.sha256)) throw new Error('accepted a malformed sha256');
    }
    if (!Number.isInteger(got.embedding.dim) || got.embedding.dim <= 0) throw new Error('accepted a bad dim');
    return `accepted ${got.shards.length} shard(s)`;
  } catch (err) {
    if (err instanceof MetavecError && err.code === 'MANIFEST') {
      if (err.message.includes('\n')) throw new Error(`multi-line error: ${err.message.slice(0, 200)}`, { cause: err });
      return `refused: ${err.message.replace(/^manifest: \S+: /, '').slice(0, 80)}`;
    }
    throw err;
  }
}
