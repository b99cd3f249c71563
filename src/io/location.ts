import { basename, dirname, posix, resolve } from 'node:path';
import { usageError } from '../errors.js';

/**
 * Inputs and outputs are local paths or `s3://bucket/key` URIs. A location is kept as a string everywhere
 * (manifests, summaries, messages); these helpers tell the two apart and join paths inside them.
 */

export interface S3Location {
  bucket: string;
  /** Key or key prefix without a leading slash and without a trailing slash ('' for the bucket root). */
  key: string;
}

export function isS3Uri(location: string): boolean {
  return /^s3:\/\//i.test(location);
}

/** Bucket names as S3 accepts them (3-63 characters of lower-case letters, digits, dots and hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(uri);
  if (!m) throw usageError(`s3: '${uri}' is not an s3://bucket/key URI`);
  const bucket = m[1]!;
  if (!BUCKET.test(bucket)) {
    throw usageError(`s3: '${uri}': bucket name '${bucket}' is not valid (3-63 lower-case letters, digits, dots or hyphens)`);
  }
  const key = m[2]!.replace(/\/+$/, '');
  if (key.split('/').some((part) => part === '..' || part === '.')) throw usageError(`s3: '${uri}': '.' and '..' are not allowed in keys`);
  return { bucket, key };
}

export function formatS3Uri(loc: S3Location): string {
  return loc.key ? `s3://${loc.bucket}/${loc.key}` : `s3://${loc.bucket}`;
}

/** Absolute local path, or the S3 URI unchanged (normalised: no trailing slash). */
export function resolveLocation(location: string): string {
  return isS3Uri(location) ? formatS3Uri(parseS3Uri(location)) : resolve(location);
}

/** `base` joined with relative parts: a local path or an S3 URI. */
export function joinLocation(base: string, ...parts: string[]): string {
  if (!isS3Uri(base)) return resolve(base, ...parts);
  const loc = parseS3Uri(base);
  const key = posix.join(loc.key, ...parts).replace(/^\/+/, '').replace(/\/+$/, '');
  if (key === '..' || key.startsWith('../')) throw usageError(`s3: ${base}: path ${parts.join('/')} leaves the bucket`);
  return formatS3Uri({ bucket: loc.bucket, key });
}

/** The last path element (for short labels in messages). */
export function baseName(location: string): string {
  const parts = location.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || location;
}

/** The containing directory/prefix and the last element of a file location. */
export function splitLocation(location: string): { parent: string; name: string } {
  if (!isS3Uri(location)) return { parent: dirname(location), name: basename(location) };
  const loc = parseS3Uri(location);
  const i = loc.key.lastIndexOf('/');
  if (!loc.key) throw usageError(`s3: ${location}: a file location needs a key after the bucket`);
  return { parent: formatS3Uri({ bucket: loc.bucket, key: i < 0 ? '' : loc.key.slice(0, i) }), name: loc.key.slice(i + 1) };
}
