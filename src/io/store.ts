import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { MetavecError } from '../errors.js';
import { commitTemp, makeDirectory, writeFileAtomic } from './atomic.js';
import { isS3Uri, resolveLocation } from './location.js';
import type { OutputStore, StoredObject } from './outputStore.js';

export type { OutputStore, StoredObject } from './outputStore.js';

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
