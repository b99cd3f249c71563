// The interface only: io/store.ts (a directory) and io/s3/store.ts (an S3 prefix) implement it, and store.ts
// loads the S3 side lazily, so the two never import each other.

/**
 * Where a command's outputs go: a local directory or an S3 prefix, behind one small interface so the
 * pipeline writes both the same way. Files are produced locally (DuckDB, h5wasm and gzip write files) at
 * stagingPath(rel) and published with putFile(rel); a directory publishes in place (the writers there
 * are already atomic), an S3 prefix uploads (multipart when large) and deletes the staged file. Objects
 * appear under their final name only when complete on both, so "shards first, manifest last" holds on
 * either: a prefix or directory is a finished run exactly when its manifest exists.
 */
export interface StoredObject {
  /** Path relative to the store's root, '/'-separated. */
  rel: string;
  bytes: number;
  /** sha256 recorded when the object was published (S3 object metadata); undefined for local files. */
  sha256?: string;
}

export interface OutputStore {
  /** The root as the user gave it (absolute directory or s3:// URI). */
  readonly location: string;
  readonly remote: boolean;
  /** A local path at which to produce `rel` before publishing it with putFile. */
  stagingPath(rel: string): Promise<string>;
  /** Publishes the file produced at `staged` as `rel` (its sha256 is kept with it when given). */
  putFile(rel: string, staged: string, info?: { sha256?: string }): Promise<void>;
  /** Writes a small object atomically (manifest, JSON summaries). */
  putBytes(rel: string, data: string | Uint8Array, info?: { sha256?: string }): Promise<void>;
  /** Reads a small object; undefined when absent. */
  get(rel: string): Promise<Uint8Array | undefined>;
  stat(rel: string): Promise<StoredObject | undefined>;
  /** Objects whose relative path starts with `prefix` (e.g. 'shards/'). */
  list(prefix: string): Promise<StoredObject[]>;
  remove(rel: string): Promise<void>;
  /** Removes the staging area (idempotent). */
  close(): Promise<void>;
  /**
   * Files putFile found already present with the same size and sha256 and did not rewrite (S3: left by an
   * interrupted run; a directory always rewrites and reports 0).
   */
  readonly reused: number;
}
