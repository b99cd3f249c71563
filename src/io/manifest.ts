import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { MetavecError } from '../errors.js';
import { sha256File } from './checksum.js';

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
}

function fail(path: string, msg: string): never {
  throw new MetavecError('MANIFEST', `manifest: ${path}: ${msg}`);
}

/** Resolves a manifest-relative path, refusing anything outside the run directory. */
export function resolveInRun(runDir: string, rel: string, manifestPath: string): string {
  if (typeof rel !== 'string' || rel.length === 0 || isAbsolute(rel)) fail(manifestPath, `shard path ${JSON.stringify(rel)} must be relative`);
  const full = resolve(runDir, normalize(rel));
  const r = relative(resolve(runDir), full);
  if (r.startsWith('..') || r.startsWith(sep) || isAbsolute(r)) fail(manifestPath, `shard path ${JSON.stringify(rel)} points outside the run directory`);
  return full;
}

/** Reads and validates a Phase 1 manifest (schema version, fields, shard paths inside the run). */
export async function readPrepManifest(runDir: string): Promise<PrepManifest> {
  const path = join(runDir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
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
  if (typeof m !== 'object' || m === null) fail(path, 'not a JSON object');
  if (m.schema !== PREP_SCHEMA) {
    fail(path, `unknown schema version ${JSON.stringify(m.schema)} (this metavec reads ${PREP_SCHEMA})`);
  }
  if (!m.embedding || !Number.isInteger(m.embedding.dim) || m.embedding.dim <= 0) fail(path, 'embedding.dim missing or invalid');
  if (!Array.isArray(m.shards)) fail(path, 'shards list missing');
  for (const [i, s] of m.shards.entries()) {
    if (!s || typeof s.path !== 'string' || !Number.isInteger(s.rows) || typeof s.sha256 !== 'string') {
      fail(path, `shard ${i} is incomplete (needs path, rows, bytes, sha256)`);
    }
    resolveInRun(runDir, s.path, path);
  }
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
      sum = await sha256File(full);
    } catch (err) {
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
