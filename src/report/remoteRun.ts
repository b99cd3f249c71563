/**
 * A run whose outputs are (partly) in S3, as local files the report reads with DuckDB and h5wasm: the
 * objects are streamed into a temporary mirror of the run's layout, shards and QC statistics verified
 * against the manifest's sha256. Local parts of a run are used in place.
 */
import { join } from 'node:path';
import { MetavecError } from '../errors.js';
import { inputExists, localFileFor, readInput, type DownloadDir } from '../io/inputs.js';
import { isS3Uri, joinLocation } from '../io/location.js';
import { parsePrepManifest, resolveInRun } from '../io/manifest.js';
import type { RunLocation } from './collect.js';

export function isRemoteRun(loc: RunLocation): boolean {
  return [loc.prepDir, loc.clusterDir, loc.evalPath ?? ''].some(isS3Uri);
}

/** The run's files as local paths (downloading what is in S3 into `dir`). */
export async function localRunCopy(loc: RunLocation, dir: DownloadDir): Promise<RunLocation> {
  if (!isRemoteRun(loc)) return loc;
  const root = await dir.path();
  let prepDir = loc.prepDir;
  if (isS3Uri(loc.prepDir)) {
    prepDir = join(root, 'prep');
    const manifestUri = joinLocation(loc.prepDir, 'manifest.json');
    const bytes = await readInput(manifestUri);
    if (!bytes) throw new MetavecError('INPUT', `report: ${manifestUri} not found (did 'metavec prep' finish? manifest.json is written last)`);
    const text = Buffer.from(bytes).toString('utf8');
    const manifest = parsePrepManifest(text, manifestUri, prepDir);
    await localFileFor(manifestUri, dir, 'prep/manifest.json');
    for (const s of manifest.shards) {
      resolveInRun(prepDir, s.path, manifestUri);
      await localFileFor(joinLocation(loc.prepDir, s.path), dir, `prep/${s.path}`, s.sha256);
    }
    if (manifest.qc_stats?.path && (await inputExists(joinLocation(loc.prepDir, manifest.qc_stats.path)))) {
      resolveInRun(prepDir, manifest.qc_stats.path, manifestUri);
      await localFileFor(joinLocation(loc.prepDir, manifest.qc_stats.path), dir, `prep/${manifest.qc_stats.path}`, manifest.qc_stats.sha256);
    }
  }
  let clusterDir = loc.clusterDir;
  if (isS3Uri(loc.clusterDir)) {
    clusterDir = join(root, 'cluster');
    for (const name of ['summary.json', 'labels.parquet', 'clusters.nc']) {
      const uri = joinLocation(loc.clusterDir, name);
      // missing files are reported by the report itself, with the same messages as for a local run
      if (await inputExists(uri)) await localFileFor(uri, dir, `cluster/${name}`);
    }
  }
  const evalPath = loc.evalPath && isS3Uri(loc.evalPath) ? await localFileFor(loc.evalPath, dir, 'eval.json') : loc.evalPath;
  return { ...(loc.runDir ? { runDir: loc.runDir } : {}), prepDir, clusterDir, ...(evalPath ? { evalPath } : {}) };
}
