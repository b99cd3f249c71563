import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { MetavecError } from '../../errors.js';
import { tempPathFor } from '../atomic.js';
import { parseS3Uri } from '../location.js';
import { explainNotFound, isNotFound, s3, s3Error } from './client.js';
import { headObject, rangeChunks } from './source.js';

/**
 * Streams an object to a local file with ranged GETs (never held in memory whole), hashing on the way;
 * the file appears under `dest` only when complete and, if `expectSha256` is given, verified.
 */
export async function downloadToFile(uri: string, dest: string, expectSha256?: string, errorCode: 'INPUT' | 'MANIFEST' = 'INPUT'): Promise<{ bytes: number; sha256: string }> {
  const h = await s3();
  const head = await headObject(h, uri).catch((err: unknown) => {
    if (err instanceof MetavecError) throw new MetavecError(errorCode, err.message);
    throw err;
  });
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const file = createWriteStream(tmp);
    await once(file, 'open');
    await pipeline(
      Readable.from(
        (async function* () {
          for await (const c of rangeChunks(h, uri, head)) {
            hash.update(c);
            bytes += c.length;
            yield c;
          }
        })(),
      ),
      file,
    );
    const sha256 = hash.digest('hex');
    if (expectSha256 !== undefined && sha256 !== expectSha256) {
      throw new MetavecError(
        'MANIFEST',
        `shard: ${uri}: checksum mismatch (manifest sha256 ${expectSha256.slice(0, 12)}..., object ${sha256.slice(0, 12)}...): the shard is corrupt or was changed`,
      );
    }
    await rename(tmp, dest);
    return { bytes, sha256 };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Reads a small object whole (manifests, JSON summaries); undefined when the object does not exist. */
export async function readObject(uri: string): Promise<Uint8Array | undefined> {
  const h = await s3();
  const { bucket, key } = parseS3Uri(uri);
  try {
    const r = await h.client.send(new h.sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    const parts: Buffer[] = [];
    for await (const c of r.Body as Readable) parts.push(c as Buffer);
    return Buffer.concat(parts);
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchBucket') throw await explainNotFound(h, bucket, uri);
    if (isNotFound(err)) return undefined;
    throw s3Error('read', uri, err);
  }
}

/** True when the object exists (a missing bucket is an error, not "absent"). */
export async function objectExists(uri: string): Promise<boolean> {
  const h = await s3();
  const { bucket, key } = parseS3Uri(uri);
  try {
    await h.client.send(new h.sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (!isNotFound(err)) throw s3Error('read', uri, err);
    const why = await explainNotFound(h, bucket, uri);
    if (why.message.includes('does not exist')) throw why;
    return false;
  }
}

/** Size and ETag of an object (what identifies an S3 input of a resumable run, as size and mtime do a file). */
export async function objectStamp(uri: string): Promise<{ size: number; etag: string }> {
  const h = await s3();
  const head = await headObject(h, uri);
  return { size: head.size, etag: head.etag ?? '' };
}
