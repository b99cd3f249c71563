import { realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { MetavecError } from '../errors.js';
import { sha256File } from './checksum.js';
import type { DuplicationSample } from '../dedup/levels.js';
import { shardKeyValueMetadata } from '../embed/describe.js';
import { kmerTable, type Normalisation } from '../embed/kmerProfile.js';
import type { EmbeddingInfo } from '../embed/types.js';
import type { PrepBatch } from '../prep/params.js';
import type { QcParams } from '../qc/params.js';
import { statsToJson } from '../qc/stats.js';
import { SKETCH_HASH, type SketchParams } from '../sketch/minimizers.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export const PREP_SCHEMA = 'metavec.prep/1';

export interface ManifestShard {
  path: string; // relative to the run directory
  rows: number;
  bytes: number;
  sha256: string;
}

export interface PrepManifest {
  schema: string;
  tool: { name: string; version: string };
  created: string;
  parameters: Record<string, unknown>;
  inputs: { uri: string; bytes: number; format: string; compression: string; mate: number; records: number }[];
  layout: 'se' | 'pe' | 'interleaved';
  quality_encoding: string;
  adapters: Record<string, unknown>;
  counts: Record<string, number>;
  /** method-specific fields beyond these (lsh, onnx): docs/formats.md */
  embedding: { method: string; k?: number; dim: number; normalisation?: string; columns?: string[]; [key: string]: unknown };
  shard_schema: Record<string, string>;
  /** minimizer sketch stored in the shards (column `minimizers`), when present */
  sketch?: { method: 'minimizer'; k: number; w: number; canonical: boolean; hash: string; column: string };
  shards: ManifestShard[];
  qc_stats: { path: string; sha256: string };
  /** local engine: the run's identity (inputs, options, tool version); a re-run with the same key reuses the result */
  run_key?: string;
}

function fail(path: string, msg: string): never {
  throw new MetavecError('MANIFEST', `manifest: ${path}: ${msg}`);
}

/** Largest embedding dimension a manifest may declare (k=6 profiles have 2,080; transformers up to a few thousand). */
export const MAX_EMBEDDING_DIM = 65_536;

function inside(root: string, full: string): boolean {
  const r = relative(root, full);
  return r === '' || !(r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r));
}

/**
 * Resolves a manifest-relative path, refusing anything outside the run directory: absolute paths, `..`,
 * control characters, backslashes (a Windows-style `..\`), and symbolic links (of the file or of a directory
 * on the way) whose target lies outside the run directory. Links that stay inside are followed.
 */
export function resolveInRun(runDir: string, rel: string, manifestPath: string): string {
  if (typeof rel !== 'string' || rel.length === 0 || isAbsolute(rel)) fail(manifestPath, `path ${JSON.stringify(rel)} must be relative`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(rel)) fail(manifestPath, `path ${JSON.stringify(rel)} contains a control character or a backslash`);
  const root = resolve(runDir);
  const full = resolve(root, normalize(rel));
  if (!inside(root, full)) fail(manifestPath, `path ${JSON.stringify(rel)} points outside the run directory`);
  let real: string;
  try {
    real = realpathSync.native(full);
  } catch {
    return full; // missing: reported by whoever opens it
  }
  let realRoot: string;
  try {
    realRoot = realpathSync.native(root);
  } catch {
    realRoot = root;
  }
  if (!inside(realRoot, real)) {
    fail(manifestPath, `path ${JSON.stringify(rel)} is a symbolic link to ${real}, outside the run directory`);
  }
  return full;
}

const SHA256 = /^[0-9a-f]{64}$/;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Reads and validates a Phase 1 manifest (schema version, fields, shard paths inside the run). */
export async function readPrepManifest(runDir: string): Promise<PrepManifest> {
  const path = join(runDir, 'manifest.json');
  let text: string;
  try {
    resolveInRun(runDir, 'manifest.json', path);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new MetavecError(
      'MANIFEST',
      code === 'ENOENT'
        ? `manifest: ${path}: not found (is ${runDir} a completed 'metavec prep' output? A run without a manifest did not finish)`
        : `manifest: ${path}: cannot read (${(err as Error).message})`,
    );
  }
  return parsePrepManifest(text, path, runDir);
}

/**
 * Parses and validates a Phase 1 manifest's text (schema version, fields, shard paths inside the run).
 * `path` names the manifest in messages; shard paths are checked against `runDir` (for a manifest read from
 * object storage any directory works: only the relative paths are checked).
 */
export function parsePrepManifest(text: string, path: string, runDir: string): PrepManifest {
  let m: PrepManifest;
  try {
    m = JSON.parse(text) as PrepManifest;
  } catch (err) {
    fail(path, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(path, 'not a JSON object');
  if (m.schema !== PREP_SCHEMA) {
    fail(path, `unknown schema version ${JSON.stringify(m.schema)} (this metavec reads ${PREP_SCHEMA})`);
  }
  if (!m.embedding || typeof m.embedding !== 'object' || !Number.isInteger(m.embedding.dim) || m.embedding.dim <= 0 || m.embedding.dim > MAX_EMBEDDING_DIM) {
    fail(path, `embedding.dim missing or invalid (an integer 1..${MAX_EMBEDDING_DIM})`);
  }
  if (!Array.isArray(m.shards)) fail(path, 'shards list missing');
  const seen = new Set<string>();
  for (const [i, s] of m.shards.entries()) {
    if (!s || typeof s !== 'object' || typeof s.path !== 'string' || !Number.isInteger(s.rows) || typeof s.sha256 !== 'string') {
      fail(path, `shard ${i} is incomplete (needs path, rows, bytes, sha256)`);
    }
    const full = resolveInRun(runDir, s.path, path);
    if (!isCount(s.rows)) fail(path, `shard ${i} (${s.path}): rows ${JSON.stringify(s.rows)} is not a count`);
    if (s.bytes !== undefined && !isCount(s.bytes)) fail(path, `shard ${i} (${s.path}): bytes ${JSON.stringify(s.bytes)} is not a count`);
    if (!SHA256.test(s.sha256)) fail(path, `shard ${i} (${s.path}): sha256 ${JSON.stringify(s.sha256.slice(0, 80))} is not 64 lower-case hex digits`);
    if (seen.has(full)) fail(path, `shard ${i} (${s.path}) is listed twice`);
    seen.add(full);
  }
  if (m.qc_stats !== undefined && (typeof m.qc_stats !== 'object' || m.qc_stats === null || typeof m.qc_stats.path !== 'string')) {
    fail(path, 'qc_stats must be an object with a path');
  }
  if (m.qc_stats) resolveInRun(runDir, m.qc_stats.path, path);
  return m;
}

/** Verifies every shard's checksum; returns absolute paths in manifest order. */
export async function verifyShards(runDir: string, m: PrepManifest): Promise<string[]> {
  const manifestPath = join(runDir, 'manifest.json');
  const out: string[] = [];
  for (const s of m.shards) {
    const full = resolveInRun(runDir, s.path, manifestPath);
    let sum: string;
    try {
      const st = await stat(full);
      if (!st.isFile()) throw new MetavecError('MANIFEST', `shard: ${full}: not a regular file`);
      sum = await sha256File(full);
    } catch (err) {
      if (err instanceof MetavecError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new MetavecError('MANIFEST', `shard: ${full}: ${code === 'ENOENT' ? 'missing (listed in the manifest)' : (err as Error).message}`);
    }
    if (sum !== s.sha256) {
      throw new MetavecError('MANIFEST', `shard: ${full}: checksum mismatch (manifest sha256 ${s.sha256.slice(0, 12)}..., file ${sum.slice(0, 12)}...): the shard is corrupt or was changed`);
    }
    out.push(full);
  }
  return out;
}

// ---- assembly of a Phase 1 manifest (every engine: the local run and the distributed merge, pipeline/prepSink.ts)

export interface ManifestInfo {
  output: string;
  layout: PrepBatch['layout'];
  batchSize: number;
  rowsPerShard: number;
  dedup: boolean;
  phred: string;
  medianQuality: number | undefined;
  correction: Record<string, unknown>;
  qc: QcParams;
  inputs: PrepManifest['inputs'];
  encoding: string;
  adapterInfo: Record<string, unknown>;
  kmer: number;
  normalisation: Normalisation;
  minimizers?: SketchParams;
  /** The manifest's embedding description (src/embed resolveEmbedding); default: the k-mer profile. */
  embedding?: EmbeddingInfo;
  /** the run key (prepResume.ts runKey) a re-run compares before reusing the result */
  runKey?: string;
}

/** What the run produced, for the manifest. */
export interface PrepTotals {
  counts: Record<string, number>;
  shards: ManifestShard[];
  dedupMemoryBytes: number;
  /** the optional outputs (clean FASTQ) by name */
  outputs: Record<string, string>;
  qcStats: { path: string; sha256: string };
}

/** The manifest's embedding description: the one given, else the k-mer profile's. */
function embeddingOf(m: Pick<ManifestInfo, 'kmer' | 'normalisation' | 'embedding'>): EmbeddingInfo {
  return m.embedding ?? (() => {
    const table = kmerTable(m.kmer);
    return { method: 'kmer', k: m.kmer, dim: table.dim, normalisation: m.normalisation, columns: table.names };
  })();
}

function sketchOf(minimizers: SketchParams): NonNullable<PrepManifest['sketch']> {
  return { method: 'minimizer' as const, k: minimizers.k, w: minimizers.w, canonical: true, hash: SKETCH_HASH, column: 'minimizers' };
}

/** The shards' Parquet key-value metadata (the same under every engine: it is part of the shards' bytes). */
export function shardMetadataFor(m: Pick<ManifestInfo, 'kmer' | 'normalisation' | 'embedding' | 'minimizers'>): Record<string, string> {
  return shardKeyValueMetadata(embeddingOf(m), m.minimizers ? { ...sketchOf(m.minimizers) } : undefined);
}

/** qc_stats.json: the QC statistics before/after and the duplication levels. */
export function qcStatsOf(layout: PrepBatch['layout'], stats: Float64Array, levels: DuplicationSample): string {
  return JSON.stringify({ layout, ...statsToJson(stats, layout !== 'se'), duplication_levels: levels.levels() }) + '\n';
}

/** The manifest of a finished run (its field order is part of manifest.json's bytes). */
export function prepManifestOf(m: ManifestInfo, t: PrepTotals): PrepManifest {
  const embedding = embeddingOf(m);
  const dim = embedding.dim;
  return {
    schema: PREP_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    created: new Date().toISOString(),
    parameters: {
      layout: m.layout,
      batch_size: m.batchSize,
      rows_per_shard: m.rowsPerShard,
      dedup: m.dedup,
      dedup_memory_bytes: t.dedupMemoryBytes,
      phred: m.phred,
      median_quality: m.medianQuality ?? null,
      correction: m.correction,
      qc: m.qc,
      ...(Object.keys(t.outputs).length > 0 ? { outputs: t.outputs } : {}),
    },
    inputs: m.inputs,
    layout: m.layout,
    quality_encoding: m.encoding,
    adapters: m.adapterInfo,
    counts: t.counts,
    embedding,
    shard_schema: {
      fragment: 'BIGINT',
      read_id: 'VARCHAR',
      len_r1: 'INTEGER',
      len_r2: 'INTEGER',
      gc_r1: 'FLOAT',
      gc_r2: 'FLOAT',
      meanq_r1: 'FLOAT',
      meanq_r2: 'FLOAT',
      embedding: `FLOAT[${dim}]`,
      ...(m.minimizers ? { minimizers: 'UBIGINT[]' } : {}),
    },
    ...(m.minimizers ? { sketch: sketchOf(m.minimizers) } : {}),
    shards: t.shards,
    qc_stats: t.qcStats,
    ...(m.runKey ? { run_key: m.runKey } : {}),
  };
}
