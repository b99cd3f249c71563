import { MetavecError } from '../errors.js';
import { sha256File } from '../io/checksum.js';
import { isS3Uri } from '../io/location.js';
import { readPrepManifest, resolveInRun, verifyShards, type PrepManifest } from '../io/manifest.js';
import { join } from 'node:path';
import type { PrepSummary } from './prepOptions.js';

/**
 * A finished prep is reused instead of recomputed when a re-run has the same run key (inputs' path, size and
 * mtime, every option that changes the output, the tool version: prepResume.ts runKey, stored in the manifest
 * as `run_key`) and its files verify: every shard's and qc_stats.json's sha256 against the manifest
 * (docs/reliability.md). A local output directory only; not with --write-fastq (its FASTQ files carry no
 * checksum).
 */
export async function reusablePrep(output: string, runKey: () => Promise<string>, log: (msg: string) => void): Promise<PrepManifest | undefined> {
  if (isS3Uri(output)) return undefined;
  let m: PrepManifest;
  try {
    m = await readPrepManifest(output);
  } catch {
    return undefined; // no finished result (or an unreadable one): prepared again, as before
  }
  let key: string;
  try {
    key = await runKey();
  } catch {
    return undefined; // an input that cannot be read: reported when the run opens it
  }
  if (m.run_key !== key) {
    log(`prep: ${output} holds a finished result with other inputs or parameters; preparing again`);
    return undefined;
  }
  try {
    await verifyShards(output, m);
    const qc = resolveInRun(output, m.qc_stats.path, join(output, 'manifest.json'));
    if ((await sha256File(qc).catch(() => 'missing')) !== m.qc_stats.sha256) {
      throw new MetavecError('MANIFEST', `${qc}: missing or changed (sha256 differs from the manifest)`);
    }
  } catch (err) {
    log(`prep: cannot reuse the finished result in ${output} (${(err as Error).message}); preparing again`);
    return undefined;
  }
  return m;
}

/** The summary of a reused prep, from its manifest. */
export function reusedPrepSummary(output: string, m: PrepManifest, seconds: number): PrepSummary {
  const c = m.counts;
  return {
    output,
    manifest: join(output, 'manifest.json'),
    fragmentsIn: c.fragments_in ?? 0,
    fragmentsOut: c.fragments_out ?? 0,
    duplicates: c.duplicates_removed ?? 0,
    shards: m.shards.length,
    seconds,
    counts: c,
    resumed: false,
    reusedShards: 0,
    reused: true,
  };
}
