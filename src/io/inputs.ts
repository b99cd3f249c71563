import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetavecError } from '../errors.js';
import { baseName, isS3Uri, joinLocation } from './location.js';
import { parsePrepManifest, readPrepManifest, verifyShards, type PrepManifest } from './manifest.js';

/**
 * Reading a command's inputs from a local path or an s3:// URI. Objects that a library must open as a file
 * (Parquet through DuckDB, NetCDF through h5wasm) are streamed to a private temporary directory first: this
 * build cannot load DuckDB's httpfs extension (extensions are never downloaded), and a local copy is read at
 * disk speed by every later pass.
 */

async function s3(): Promise<typeof import('./s3/fetch.js')> {
  return import('./s3/fetch.js');
}

/** A temporary directory for downloaded inputs, removed by dispose(). */
export class DownloadDir {
  private dir: string | undefined;
  async path(): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'metavec-s3-in-'));
    return this.dir;
  }
  async dispose(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** Whole content of a small input (JSON), or undefined when it does not exist. */
export async function readInput(location: string): Promise<Uint8Array | undefined> {
  if (isS3Uri(location)) return (await s3()).readObject(location);
  try {
    return await readFile(location);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MetavecError('INPUT', `${location}: cannot read (${(err as Error).message})`);
  }
}

/** What identifies an input's content for a resumable run: size and mtime of a file, size and ETag of an object. */
export async function inputStamp(location: string): Promise<{ size: number; mtime?: number; etag?: string }> {
  if (isS3Uri(location)) return (await s3()).objectStamp(location);
  const st = await stat(location);
  return { size: st.size, mtime: st.mtimeMs };
}

export async function inputExists(location: string): Promise<boolean> {
  if (isS3Uri(location)) return (await s3()).objectExists(location);
  try {
    await access(location);
    return true;
  } catch {
    return false;
  }
}

/** A local file with the input's bytes: the path itself, or a download into `dir` (verified when sha256 is given). */
export async function localFileFor(location: string, dir: DownloadDir, rel = baseName(location), sha256?: string): Promise<string> {
  if (!isS3Uri(location)) return location;
  const dest = join(await dir.path(), ...rel.split('/'));
  await (await s3()).downloadToFile(location, dest, sha256);
  return dest;
}

/** A completed Phase 1 output (local directory or S3 prefix): its manifest and, on demand, its shards as local files. */
export interface PrepInput {
  readonly location: string;
  readonly manifest: PrepManifest;
  /** Where the manifest was read from (for messages and provenance). */
  readonly manifestLocation: string;
  /**
   * Checksum-verified local files of the shards at `indices` (default: all), in that order. A rank of a
   * distributed engine passes its share and downloads only that.
   */
  shardFiles(indices?: readonly number[]): Promise<string[]>;
  /** Removes downloaded copies. */
  close(): Promise<void>;
}

/** Parallel downloads per process: enough to hide per-request latency, few enough for 2 cores. */
const DOWNLOAD_CONCURRENCY = 4;

export async function openPrepInput(location: string): Promise<PrepInput> {
  const manifestLocation = joinLocation(location, 'manifest.json');
  if (!isS3Uri(location)) {
    const manifest = await readPrepManifest(location);
    return {
      location,
      manifest,
      manifestLocation,
      shardFiles: (indices) => verifyShards(location, indices ? { ...manifest, shards: indices.map((i) => shardAt(manifest, i)) } : manifest),
      close: () => Promise.resolve(),
    };
  }
  const fetch = await s3();
  const bytes = await fetch.readObject(manifestLocation).catch((err: unknown) => {
    throw err instanceof MetavecError ? new MetavecError('MANIFEST', err.message) : err;
  });
  if (!bytes) {
    throw new MetavecError(
      'MANIFEST',
      `manifest: ${manifestLocation}: not found (is ${location} a completed 'metavec prep' output? A run without a manifest did not finish)`,
    );
  }
  // shard paths are checked for escaping the run against a stand-in root; they are then joined to the prefix
  const manifest = parsePrepManifest(Buffer.from(bytes).toString('utf8'), manifestLocation, '/run');
  const dir = new DownloadDir();
  return {
    location,
    manifest,
    manifestLocation,
    shardFiles: async (indices) => {
      const want = (indices ?? manifest.shards.map((_, i) => i)).map((i) => shardAt(manifest, i));
      const root = await dir.path();
      const out: string[] = new Array<string>(want.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < want.length) {
          const i = next++;
          const s = want[i]!;
          const dest = join(root, ...s.path.split('/'));
          await fetch.downloadToFile(joinLocation(location, s.path), dest, s.sha256, 'MANIFEST');
          out[i] = dest;
        }
      };
      await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, want.length) }, worker));
      return out;
    },
    close: () => dir.dispose(),
  };
}

function shardAt(m: PrepManifest, i: number): PrepManifest['shards'][number] {
  const s = m.shards[i];
  if (!s) throw new MetavecError('INTERNAL', `shard index ${i} outside the manifest's ${m.shards.length} shards`);
  return s;
}
