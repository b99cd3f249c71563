import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/**
 * Outputs appear under their final name only when complete: write to a hidden temporary name in the same
 * directory, fsync, then rename (atomic on POSIX filesystems).
 */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function commitTemp(tempPath: string, finalPath: string): Promise<void> {
  const fh = await open(tempPath, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tempPath, finalPath);
}

/** Write a whole file atomically. */
export async function writeFileAtomic(finalPath: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(finalPath), { recursive: true });
  const tmp = tempPathFor(finalPath);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, finalPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Run `produce(tmpPath)` which writes a file at tmpPath by any means (DuckDB COPY, h5wasm, ...), then
 * commit it under finalPath. On failure the temporary file is removed and the error rethrown.
 */
export async function produceAtomic<T>(finalPath: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(finalPath), { recursive: true });
  const tmp = tempPathFor(finalPath);
  try {
    const out = await produce(tmp);
    await commitTemp(tmp, finalPath);
    return out;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
