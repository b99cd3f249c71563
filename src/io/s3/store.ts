import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { MetavecError } from '../../errors.js';
import { sha256File } from '../checksum.js';
import { formatS3Uri, parseS3Uri } from '../location.js';
import type { OutputStore, StoredObject } from '../outputStore.js';
import { explainNotFound, isNotFound, s3, s3Error, type S3Handle } from './client.js';

/**
 * Multipart part size for uploads. 8 MiB parts keep memory at partSize x UPLOAD_QUEUE per upload and stay
 * well under S3's 10,000-part limit for shards (a 100,000-row shard is ~12 MB).
 */
export const UPLOAD_PART_BYTES = 8 << 20;
const UPLOAD_QUEUE = 4;

/** Object metadata key holding the object's sha256 (x-amz-meta-sha256). */
export const SHA256_METADATA = 'sha256';

/** Staging directories still open: removed at exit if a failure skipped close(). */
const stagingDirs = new Set<string>();
process.once('exit', () => {
  for (const d of stagingDirs) rmSync(d, { recursive: true, force: true });
});

/** An s3://bucket/prefix as an OutputStore. Files are staged in a private temporary directory. */
export class S3Store implements OutputStore {
  readonly remote = true;
  private staging: string | undefined;
  private readonly bucket: string;
  private readonly prefix: string;

  private constructor(
    readonly location: string,
    private readonly h: S3Handle,
  ) {
    const loc = parseS3Uri(location);
    this.bucket = loc.bucket;
    this.prefix = loc.key;
  }

  /** Opens the prefix after checking that the bucket exists and the credentials may use it. */
  static async open(location: string): Promise<S3Store> {
    const h = await s3();
    const { bucket } = parseS3Uri(location);
    try {
      await h.client.send(new h.sdk.HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (isNotFound(err)) throw new MetavecError('OUTPUT', `s3: ${location}: bucket '${bucket}' does not exist`);
      throw s3Error('write', location, err, 'OUTPUT');
    }
    return new S3Store(location, h);
  }

  private key(rel: string): string {
    if (rel.length === 0 || rel.startsWith('/') || rel.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new MetavecError('INTERNAL', `store: invalid relative path '${rel}'`);
    }
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  uri(rel: string): string {
    return formatS3Uri({ bucket: this.bucket, key: this.key(rel) });
  }

  async stagingPath(rel: string): Promise<string> {
    if (!this.staging) {
      this.staging = await mkdtemp(join(tmpdir(), 'metavec-s3-stage-'));
      stagingDirs.add(this.staging);
    }
    const p = join(this.staging, ...this.key(rel).split('/'));
    await mkdir(dirname(p), { recursive: true });
    return p;
  }

  /** Objects that putFile did not upload because an identical one (same size and sha256) was already there. */
  reused = 0;

  async putFile(rel: string, staged: string, info: { sha256?: string } = {}): Promise<void> {
    const sha256 = info.sha256 ?? (await sha256File(staged));
    // Resume: an object left by an interrupted earlier run is kept when its recorded sha256 and size match
    // (the metadata was set from the bytes uploaded; objects appear only when completely uploaded).
    const present = await this.stat(rel);
    if (present?.sha256 === sha256 && present.bytes === (await stat(staged)).size) {
      this.reused++;
      await rm(staged, { force: true });
      return;
    }
    const { Upload } = await this.h.storage();
    const body = createReadStream(staged, { highWaterMark: 1 << 20 });
    const upload = new Upload({
      client: this.h.client,
      params: { Bucket: this.bucket, Key: this.key(rel), Body: body, Metadata: { [SHA256_METADATA]: sha256 } },
      partSize: UPLOAD_PART_BYTES,
      queueSize: UPLOAD_QUEUE,
      leavePartsOnError: false, // a failed multipart upload is aborted: no orphaned parts are billed
    });
    try {
      await upload.done();
    } catch (err) {
      throw s3Error('upload', this.uri(rel), err, 'OUTPUT');
    } finally {
      body.destroy();
    }
    await rm(staged, { force: true });
  }

  async putBytes(rel: string, data: string | Uint8Array, info: { sha256?: string } = {}): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const sha256 = info.sha256 ?? createHash('sha256').update(bytes).digest('hex');
    try {
      await this.h.client.send(
        new this.h.sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(rel), Body: bytes, ContentLength: bytes.length, Metadata: { [SHA256_METADATA]: sha256 } }),
      );
    } catch (err) {
      throw s3Error('upload', this.uri(rel), err, 'OUTPUT');
    }
  }

  async get(rel: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.h.client.send(new this.h.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(rel) }));
      const parts: Buffer[] = [];
      for await (const c of r.Body as Readable) parts.push(c as Buffer);
      return Buffer.concat(parts);
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchBucket') throw await explainNotFound(this.h, this.bucket, this.uri(rel));
      if (isNotFound(err)) return undefined;
      throw s3Error('read', this.uri(rel), err);
    }
  }

  async stat(rel: string): Promise<StoredObject | undefined> {
    try {
      const r = await this.h.client.send(new this.h.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(rel) }));
      const sha256 = r.Metadata?.[SHA256_METADATA];
      return { rel, bytes: r.ContentLength ?? 0, ...(sha256 ? { sha256 } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw s3Error('read', this.uri(rel), err);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const base = this.prefix ? `${this.prefix}/` : '';
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.h.client.send(new this.h.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ...(token ? { ContinuationToken: token } : {}) }));
      } catch (err) {
        throw s3Error('list', formatS3Uri({ bucket: this.bucket, key: base + prefix }), err);
      }
      for (const o of r.Contents ?? []) if (o.Key) out.push({ rel: o.Key.slice(base.length), bytes: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }

  async remove(rel: string): Promise<void> {
    try {
      await this.h.client.send(new this.h.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(rel) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw s3Error('delete', this.uri(rel), err, 'OUTPUT');
    }
  }

  async close(): Promise<void> {
    if (this.staging) {
      await rm(this.staging, { recursive: true, force: true });
      stagingDirs.delete(this.staging);
    }
    this.staging = undefined;
  }
}
