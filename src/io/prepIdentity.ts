import { createHash } from 'node:crypto';
import { MetavecError } from '../errors.js';
import { readInput } from './inputs.js';
import { joinLocation, resolveLocation } from './location.js';

/**
 * Which prep a cluster result was made from: its manifest's location and the sha256 of its bytes. Recorded in
 * the cluster's summary.json (`prep`), so that a report, a re-run or a user can tell whether the parts of a run
 * belong together (docs/reliability.md). The manifest is written once, last, by a finished prep, and names
 * every shard's sha256: its hash identifies the shards too.
 */
export interface PrepIdentity {
  /** manifest.json of the prep (absolute path or s3:// URI) */
  manifest: string;
  sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The identity of the finished prep in `prepDir` (a directory or an S3 prefix); undefined when it has no manifest. */
export async function prepIdentity(prepDir: string): Promise<PrepIdentity | undefined> {
  const manifest = joinLocation(resolveLocation(prepDir), 'manifest.json');
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readInput(manifest);
  } catch (err) {
    // the same words as reading the manifest itself (readManifest): the domain first
    throw new MetavecError('MANIFEST', `manifest: ${(err as Error).message}`, { cause: err });
  }
  return bytes ? { manifest, sha256: sha256Hex(bytes) } : undefined;
}

/** Like prepIdentity, for a prep that must exist. */
export async function requirePrepIdentity(prepDir: string): Promise<PrepIdentity> {
  const id = await prepIdentity(prepDir);
  if (!id) throw new MetavecError('MANIFEST', `manifest: ${joinLocation(resolveLocation(prepDir), 'manifest.json')}: not found`);
  return id;
}
