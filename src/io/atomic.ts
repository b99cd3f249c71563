import { randomBytes } from 'node:crypto';
import { MetavecError } from '../errors.js';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/**
 * Outputs appear under their final name only when complete: write to a hidden temporary name in the same
 * directory, fsync, then rename (atomic on POSIX filesystems).
 */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.tmp`);
}

const FS_PROBLEMS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this filesystem or limit',
  EROFS: 'read-only filesystem',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a parent is not a directory',
  EISDIR: 'is a directory',
  EIO: 'I/O error',
};

/**
 * A failure to write an output as one clear line (`output: PATH: no space left on device (ENOSPC) ...`);
 * errors from DuckDB/HDF5 carry the OS message in their text instead of an errno code.
 */
export function outputError(path: string, err: unknown): MetavecError {
  if (err instanceof MetavecError) return err;
  const e = err as NodeJS.ErrnoException;
  let code = e.code && FS_PROBLEMS[e.code] ? e.code : undefined;
  if (!code) {
    const msg = String(e.message ?? err);
    if (/no space left on device/i.test(msg)) code = 'ENOSPC';
    else if (/disk quota exceeded/i.test(msg)) code = 'EDQUOT';
    else if (/file too large/i.test(msg)) code = 'EFBIG';
    else if (/read-only file ?system/i.test(msg)) code = 'EROFS';
    else if (/permission denied/i.test(msg)) code = 'EACCES';
  }
  const what = code ? `${FS_PROBLEMS[code]} (${code})` : String(e.message ?? err).split('\n')[0]!;
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? '; outputs under their final names are complete, the rest was removed: free space and re-run (prep resumes)' : '';
  return new MetavecError('OUTPUT', `output: ${path}: ${what}${hint}`, { cause: err });
}

/**
 * mkdir -p for an output. A file where the directory (or one of its parents) must be is a usage error that
 * names the path (`--output` given an existing file), not an EEXIST stack trace.
 */
export async function makeDirectory(dir: string, hint = ''): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      const st = await stat(dir).catch(() => undefined);
      const what = st && !st.isDirectory() ? `${dir} is a file, not a directory` : `a part of ${dir} is a file, not a directory`;
      throw new MetavecError('USAGE', `output: ${what}${hint}`);
    }
    throw outputError(dir, err);
  }
}

export async function commitTemp(tempPath: string, finalPath: string): Promise<void> {
  try {
    const fh = await open(tempPath, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tempPath, finalPath);
  } catch (err) {
    throw outputError(finalPath, err);
  }
}

/** Write a whole file atomically. */
export async function writeFileAtomic(finalPath: string, data: string | Uint8Array): Promise<void> {
  await makeDirectory(dirname(finalPath));
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
    throw outputError(finalPath, err);
  }
}

/**
 * Run `produce(tmpPath)` which writes a file at tmpPath by any means (DuckDB COPY, h5wasm, ...), then
 * commit it under finalPath. On failure the temporary file is removed and the error rethrown.
 */
export async function produceAtomic<T>(finalPath: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  await makeDirectory(dirname(finalPath));
  const tmp = tempPathFor(finalPath);
  try {
    const out = await produce(tmp);
    await commitTemp(tmp, finalPath);
    return out;
  } catch (err) {
    await rm(tmp, { force: true });
    throw outputError(finalPath, err);
  }
}
