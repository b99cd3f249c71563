import { createHash } from 'node:crypto';
import { usageError } from '../errors.js';
import { sha256File } from '../io/checksum.js';
import { inputStamp } from '../io/inputs.js';
import { joinLocation } from '../io/location.js';
import type { PrepIdentity } from '../io/prepIdentity.js';
import { openOutputStore } from '../io/store.js';
import { TOOL_VERSION } from '../version.js';
import type { ClusterOptions, ClusterSummary } from './phase2.js';

/**
 * What a cluster output directory already holds, before a run writes into it (docs/reliability.md):
 * - a finished result made from another prep is not overwritten without --overwrite (outputs of different runs
 *   must not mix: a report would combine this prep with labels of another);
 * - a finished result made from the same prep with the same parameters, whose files verify (sha256), is reused.
 */

/** The files of a cluster result whose sha256 summary.json records (for reuse). */
export const CLUSTER_FILES = ['labels.parquet', 'clusters.nc', 'bins.binning'] as const;

/** Identity of a cluster run: the prep it reads, every option that changes its outputs, the tool version. */
export async function clusterRunKey(opts: ClusterOptions, prep: PrepIdentity): Promise<string> {
  const references = [];
  for (const p of opts.references ?? []) references.push({ p, ...(await inputStamp(p)) });
  const { k, kMin, kMax, seed, nInit, maxIter, tol, init, algorithm, batchSize, method, pooled, lpa, binningReads } = opts;
  const params = { method, k, kMin, kMax, seed, nInit, maxIter, tol, init, algorithm, batchSize, pooled, lpa, binningReads, engine: opts.engine ?? 'local', references };
  return createHash('sha256').update(JSON.stringify({ v: TOOL_VERSION, prep: prep.sha256, params })).digest('hex');
}

export type ExistingCluster = { state: 'none' | 'replace' } | { state: 'reuse'; summary: ClusterSummary };

function short(sha: string | undefined): string {
  return sha ? `${sha.slice(0, 12)}...` : 'not recorded';
}

/** Decides what to do with what `opts.output` holds (see above); throws when it belongs to another prep. */
export async function existingCluster(opts: ClusterOptions, prep: PrepIdentity, key: string): Promise<ExistingCluster> {
  const store = await openOutputStore(opts.output);
  try {
    const bytes = await store.get('summary.json');
    if (!bytes) return { state: 'none' };
    let old: Partial<ClusterSummary> & { reuse?: { key: string; sha256: Record<string, string> } };
    try {
      old = JSON.parse(new TextDecoder().decode(bytes)) as typeof old;
    } catch {
      old = {};
    }
    // a result from before summaries named their prep: the same --input counts as the same prep (not reusable)
    const samePrep = old.prep ? old.prep.sha256 === prep.sha256 : old.input === opts.input;
    if (!samePrep) {
      if (opts.overwrite) return { state: 'replace' };
      const from = old.prep ? `${old.prep.manifest} (sha256 ${short(old.prep.sha256)})` : `${old.input ?? 'an unknown prep'} (its manifest's sha256 not recorded)`;
      throw usageError(
        `cluster: ${joinLocation(opts.output, 'summary.json')}: the output holds a finished result made from another prep, ${from}; ` +
          `this run reads ${prep.manifest} (sha256 ${short(prep.sha256)}). Choose another --output, or add --overwrite to replace it`,
      );
    }
    if (store.remote || !old.reuse || old.reuse.key !== key) return { state: 'replace' };
    for (const name of CLUSTER_FILES) {
      const want = old.reuse.sha256[name];
      const got = await sha256File(joinLocation(opts.output, name)).catch(() => undefined);
      if (!want || got !== want) {
        opts.progress.log(`cluster: ${joinLocation(opts.output, name)} ${got === undefined ? 'is missing' : 'changed since it was written'}; clustering again`);
        return { state: 'replace' };
      }
    }
    return { state: 'reuse', summary: old as ClusterSummary };
  } finally {
    await store.close();
  }
}
