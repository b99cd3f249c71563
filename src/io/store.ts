import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { MetavecError } from '../errors.js';
import { commitTemp, makeDirectory, writeFileAtomic } from './atomic.js';
import { isS3Uri, resolveLocation } from './location.js';

/**
 * Where a command's outputs go: a local directory or an S3 prefix, behind one small interface so the
 * pipeline writes both the same way. Files are produced locally (DuckDB, h5wasm and gzip write files) at
 * stagingPath(rel) and published with putFile(rel); a directory publishes in place (the writers there
 * are already atomic), an S3 prefix uploads (multipart when large) and deletes the staged file. Objects
 * appear under their final name only when complete on both, so "shards first, manifest last" holds on
 * either: a prefix or directory is a finished run exactly when its manifest exists.
 */
export interface StoredObject {
  /** Path relative to the store's root, '/'-separated. */
  rel: string;
  bytes: number;
  /** sha256 recorded when the object was published (S3 object metadata); undefined for local files. */
  sha256?: string;
}

export interface OutputStore {
  /** The root as the user gave it (absolute directory or s3:// URI). */
  readonly location: string;
  readonly remote: boolean;
  /** A local path at which to produce `rel` before publishing it with putFile. */
  stagingPath(rel: string): Promise<string>;
  /** Publishes the file produced at `staged` as `rel` (its sha256 is kept with it when given). */
  putFile(rel: string, staged: string, info?: { sha256?: string }): Promise<void>;
  /** Writes a small object atomically (manifest, JSON summaries). */
  putBytes(rel: string, data: string | Uint8Array, info?: { sha256?: string }): Promise<void>;
  /** Reads a small object; undefined when absent. */
  get(rel: string): Promise<Uint8Array | undefined>;
  stat(rel: string): Promise<StoredObject | undefined>;
  /** Objects whose relative path starts with `prefix` (e.g. 'shards/'). */
  list(prefix: string): Promise<StoredObject[]>;
  remove(rel: string): Promise<void>;
  /** Removes the staging area (idempotent). */
  close(): Promise<void>;
  /**
   * Files putFile found already present with the same size and sha256 and did not rewrite (S3: left by an
   * interrupted run; a directory always rewrites and reports 0).
   */
  readonly reused: number;
}

function checkRel(rel: string): string {
  const parts = rel.split('/');
  if (rel.length === 0 || rel.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p === '')) {
    throw new MetavecError('INTERNAL', `store: invalid relative path '${rel}'`);
  }
  return rel;
}

/** A local output directory. */
export class LocalStore implements OutputStore {
  readonly remote = false;
  readonly reused = 0;
  constructor(readonly location: string) {}

  private full(rel: string): string {
    return join(this.location, ...checkRel(rel).split('/'));
  }

  async stagingPath(rel: string): Promise<string> {
    const p = this.full(rel);
    await mkdir(dirname(p), { recursive: true });
    return p;
  }

  async putFile(rel: string, staged: string): Promise<void> {
    const p = this.full(rel);
    if (staged !== p) await commitTemp(staged, p);
  }

  async putBytes(rel: string, data: string | Uint8Array): Promise<void> {
    await writeFileAtomic(this.full(rel), data);
  }

  async get(rel: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.full(rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async stat(rel: string): Promise<StoredObject | undefined> {
    try {
      const st = await stat(this.full(rel));
      return st.isFile() ? { rel, bytes: st.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) {
          const rel = relative(this.location, p).split(sep).join('/');
          if (rel.startsWith(prefix)) out.push({ rel, bytes: (await stat(p)).size });
        }
      }
    };
    // walk only the directory part of the prefix
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? join(this.location, ...dirPart.split('/')) : this.location);
    return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }

  async remove(rel: string): Promise<void> {
    await rm(this.full(rel), { force: true });
  }

  async close(): Promise<void> {
    // nothing staged outside the directory
  }
}

/**
 * Opens the output store for a location: a directory (created) or an s3:// prefix (the bucket is checked
 * now, so a wrong bucket or wrong credentials fail before any work is done). The S3 code and the AWS SDK
 * are loaded only here, and only for s3:// locations.
 */
export async function openOutputStore(location: string): Promise<OutputStore> {
  const loc = resolveLocation(location);
  if (isS3Uri(loc)) {
    const { S3Store } = await import('./s3/store.js');
    return S3Store.open(loc);
  }
  await makeDirectory(loc, ': --output names the directory the outputs go into (give a new or an existing directory)');
  return new LocalStore(loc);
}
