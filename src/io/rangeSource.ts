import { createReadStream } from 'node:fs';
import { inputError } from '../errors.js';
import { isS3Uri } from './location.js';
import { openSource, type ByteSource } from './source.js';

/** A record-aligned part of an input: offsets in the decompressed stream, [start, end). */
export interface ByteRange {
  uri: string;
  label: string;
  compression: 'gzip' | 'none';
  start: number;
  end: number;
}

const READ_CHUNK = 1 << 20;

/**
 * Reads one range of an input. Plain files are read from `start` directly. gzip has no random access (no
 * BGZF index is assumed): the stream is decompressed from the beginning and the bytes before `start` are
 * discarded, so a slice at offset x costs decompressing x bytes (docs/distributed-prep.md: engines that can
 * stream bytes, like Ray, ship gzip slices inline instead).
 */
export async function openRangeSource(r: ByteRange): Promise<ByteSource> {
  if (r.compression === 'none' && isS3Uri(r.uri)) {
    // an S3 object's range: ranged GETs of just these bytes
    const { openS3RangeSource } = await import('./s3/source.js');
    return openS3RangeSource(r.uri, r.label, r.start, r.end);
  }
  if (r.compression === 'none') {
    let raw = 0;
    return {
      uri: r.uri,
      label: r.label,
      size: r.end - r.start,
      compression: 'none',
      rawBytesRead: () => raw,
      chunks: async function* () {
        if (r.end <= r.start) return;
        const file = createReadStream(r.uri, { start: r.start, end: r.end - 1, highWaterMark: READ_CHUNK });
        try {
          for await (const c of file) {
            raw += (c as Uint8Array).length;
            yield c as Uint8Array;
          }
        } catch (err) {
          throw inputError(`${r.label}: cannot read bytes ${r.start}-${r.end} (${(err as Error).message})`);
        }
        if (raw !== r.end - r.start) throw inputError(`${r.label}: expected ${r.end - r.start} bytes at offset ${r.start}, the file has ${raw} (changed since planning?)`);
      },
    };
  }
  const whole = await openSource(r.uri);
  let pos = 0;
  return {
    uri: r.uri,
    label: r.label,
    size: whole.size,
    compression: 'gzip',
    rawBytesRead: () => whole.rawBytesRead(),
    chunks: async function* () {
      for await (const c of whole.chunks()) {
        const s = pos;
        pos += c.length;
        if (pos <= r.start) continue;
        const from = Math.max(0, r.start - s);
        const to = Math.min(c.length, r.end - s);
        if (to > from) yield c.subarray(from, to);
        if (pos >= r.end) return;
      }
      if (pos < r.end) throw inputError(`${r.label}: decompressed stream ends at byte ${pos}, expected at least ${r.end} (changed since planning?)`);
    },
  };
}

/** Bytes already in memory (a slice the driver shipped inline) as a source. */
export function bytesSource(r: Pick<ByteRange, 'uri' | 'label'>, bytes: Uint8Array): ByteSource {
  return {
    uri: r.uri,
    label: r.label,
    size: bytes.length,
    compression: 'none',
    rawBytesRead: () => bytes.length,
    chunks: async function* () {
      if (bytes.length > 0) yield await Promise.resolve(bytes);
    },
  };
}
