import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { inputError } from '../errors.js';

// What every byte source is (io/source.ts: local files and pipes, io/s3/source.ts: S3 objects, loaded lazily by
// source.ts) and the gzip decoding they share; neither side imports the other.

/** A readable input: decompressed byte chunks plus how many raw bytes were consumed (for progress). */
export interface ByteSource {
  readonly uri: string;
  /** Short name used in error messages. */
  readonly label: string;
  readonly size: number;
  readonly compression: 'gzip' | 'none';
  /** A pipe copied to a temporary file (spoolPipe): its content cannot be identified again by a later run. */
  readonly pipe?: boolean;
  rawBytesRead(): number;
  chunks(): AsyncIterable<Uint8Array>;
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
