import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { inputError } from '../errors.js';

/** A readable input: decompressed byte chunks plus how many raw bytes were consumed (for progress). */
export interface ByteSource {
  readonly uri: string;
  /** Short name used in error messages. */
  readonly label: string;
  readonly size: number;
  readonly compression: 'gzip' | 'none';
  rawBytesRead(): number;
  chunks(): AsyncIterable<Uint8Array>;
}

const READ_CHUNK = 1 << 20;

async function sniff(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function describeFsError(label: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return `${label}: no such file`;
    case 'EACCES':
      return `${label}: permission denied`;
    case 'EISDIR':
      return `${label}: is a directory, not a file`;
    default:
      return `${label}: cannot read (${e.message})`;
  }
}

/**
 * Opens a local file. gzip is recognised by its magic bytes, not the file name; multi-member gzip (incl.
 * BGZF) is decompressed as one stream (Node's gunzip continues across members).
 */
export async function openLocalSource(path: string): Promise<ByteSource> {
  const label = basename(path) || path;
  let size: number;
  let magic: Uint8Array;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    size = st.size;
    magic = await sniff(path);
  } catch (err) {
    throw inputError(describeFsError(path, err));
  }
  const gz = magic[0] === 0x1f && magic[1] === 0x8b;
  let raw = 0;
  return {
    uri: path,
    label,
    size,
    compression: gz ? 'gzip' : 'none',
    rawBytesRead: () => raw,
    chunks: async function* () {
      const file = createReadStream(path, { highWaterMark: READ_CHUNK });
      file.on('data', (c) => {
        raw += c.length;
      });
      if (!gz) {
        try {
          for await (const c of file) yield c as Uint8Array;
        } catch (err) {
          throw inputError(describeFsError(path, err));
        }
        return;
      }
      yield* gunzipChunks(file, label, () => raw, READ_CHUNK, (err) => inputError(describeFsError(path, err)));
    },
  };
}

/**
 * The decompressed chunks of a gzip byte stream, every member (BGZF included). Corrupt or truncated data becomes
 * one input error naming the file and the compressed offset (`rawBytesRead`); a failure of the stream itself
 * (I/O, network) goes through `otherError`. The compressed stream is destroyed when the consumer stops.
 */
export async function* gunzipChunks(compressed: Readable, label: string, rawBytesRead: () => number, chunkSize: number, otherError: (err: unknown) => unknown): AsyncGenerator<Uint8Array> {
  const gunzip = createGunzip({ chunkSize });
  compressed.on('error', (err) => gunzip.destroy(err));
  compressed.pipe(gunzip);
  try {
    for await (const c of gunzip) yield c as Uint8Array;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code && e.code.startsWith('Z_')) {
      throw inputError(`gzip: ${label}: corrupt or truncated gzip data near compressed byte ${rawBytesRead()} (${e.message})`);
    }
    throw otherError(err);
  } finally {
    compressed.destroy();
  }
}

/** Opens a local path or an s3:// URI (the S3 code and the AWS SDK load only for s3://). */
export async function openSource(location: string): Promise<ByteSource> {
  if (/^s3:\/\//i.test(location)) {
    const { openS3Source } = await import('./s3/source.js');
    return openS3Source(location);
  }
  return openLocalSource(location);
}
