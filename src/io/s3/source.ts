import { Readable } from 'node:stream';
import { inputError } from '../../errors.js';
import { baseName, parseS3Uri } from '../location.js';
import { gunzipChunks, type ByteSource } from '../byteSource.js';
import { explainNotFound, isNotFound, s3, s3Error, type S3Handle } from './client.js';

/**
 * Bytes per ranged GET. Each range is streamed as it arrives (never buffered whole) and the next range is
 * requested while the current one is being read, so one connection's round trip is hidden behind the data.
 */
export const RANGE_BYTES = 16 << 20;

interface Head {
  size: number;
  etag?: string;
}

export async function headObject(h: S3Handle, uri: string): Promise<Head & { metadata: Record<string, string> }> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const r = await h.client.send(new h.sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: r.ContentLength ?? 0, ...(r.ETag ? { etag: r.ETag } : {}), metadata: r.Metadata ?? {} };
  } catch (err) {
    if (isNotFound(err)) throw await explainNotFound(h, bucket, uri);
    throw s3Error('read', uri, err);
  }
}

/**
 * Streams bytes [start, end) of an object with ranged GETs of RANGE_BYTES. A range whose body breaks off is
 * requested again from the first byte not yet delivered (up to the client's attempt count), and If-Match
 * pins the object's ETag so a concurrent overwrite is an error, not a silent mix of two versions.
 */
export async function* rangeChunks(h: S3Handle, uri: string, head: Head, start = 0, end = head.size, onBytes?: (n: number) => void): AsyncGenerator<Uint8Array> {
  const { bucket, key } = parseS3Uri(uri);
  const request = (from: number, to: number) => {
    const p = h.client.send(
      new h.sdk.GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${from}-${to - 1}`, ...(head.etag ? { IfMatch: head.etag } : {}) }),
    );
    p.catch(() => undefined); // awaited below
    return p;
  };
  let pending = start < end ? request(start, Math.min(end, start + RANGE_BYTES)) : undefined;
  try {
    for (let pos = start; pos < end; ) {
      const to = Math.min(end, pos + RANGE_BYTES);
      let current = pending!;
      pending = undefined;
      for (let attempt = 1; ; attempt++) {
        // The SDK retries a request that fails before its response arrives; this loop retries a body that
        // breaks off after it started, from the first byte not yet delivered.
        let started = false;
        try {
          const res = await current;
          started = true;
          if (pending === undefined && to < end) pending = request(to, Math.min(end, to + RANGE_BYTES));
          const body = res.Body as Readable | undefined;
          if (!body) throw Object.assign(new Error('empty response body'), { name: 'EmptyBody' });
          for await (const chunk of body) {
            const c = chunk as Uint8Array;
            pos += c.length;
            onBytes?.(c.length);
            yield c;
          }
          if (pos !== to) throw Object.assign(new Error(`range ended at byte ${pos}, expected ${to}`), { name: 'ShortRead', code: 'ECONNRESET' });
          break;
        } catch (err) {
          if (!started || attempt >= h.settings.maxAttempts) {
            if (isNotFound(err)) throw await explainNotFound(h, bucket, uri);
            throw s3Error('read', uri, err);
          }
          await new Promise((r) => setTimeout(r, Math.min(20_000, 100 * 2 ** attempt * Math.random())));
          current = request(pos, to);
        }
      }
    }
  } finally {
    // a prefetched range that will not be read: release its connection
    if (pending) void pending.then((r) => (r.Body as Readable | undefined)?.destroy(), () => undefined);
  }
}

/** Opens an s3:// object as a ByteSource: gzip is recognised by its magic bytes (a 2-byte ranged GET). */
export async function openS3Source(uri: string): Promise<ByteSource> {
  const h = await s3();
  const head = await headObject(h, uri);
  const label = baseName(uri);
  let gz = false;
  if (head.size >= 2) {
    const magic: Uint8Array[] = [];
    for await (const c of rangeChunks(h, uri, head, 0, 2)) magic.push(c);
    const m = Buffer.concat(magic);
    gz = m[0] === 0x1f && m[1] === 0x8b;
  }
  let raw = 0;
  return {
    uri,
    label,
    size: head.size,
    compression: gz ? 'gzip' : 'none',
    rawBytesRead: () => raw,
    chunks: async function* () {
      const bytes = rangeChunks(h, uri, head, 0, head.size, (n) => (raw += n));
      if (!gz) {
        yield* bytes;
        return;
      }
      yield* gunzipChunks(Readable.from(bytes, { objectMode: false }), label, () => raw, 1 << 20, (err) => err);
    },
  };
}

/** Bytes [start, end) of an uncompressed object as a ByteSource (a record-aligned slice of a distributed plan). */
export async function openS3RangeSource(uri: string, label: string, start: number, end: number): Promise<ByteSource> {
  const h = await s3();
  const head = await headObject(h, uri);
  if (end > head.size) throw inputError(`${label}: expected bytes up to ${end}, the object has ${head.size} (changed since planning?)`);
  let raw = 0;
  return {
    uri,
    label,
    size: end - start,
    compression: 'none',
    rawBytesRead: () => raw,
    chunks: () => rangeChunks(h, uri, head, start, end, (n) => (raw += n)),
  };
}
