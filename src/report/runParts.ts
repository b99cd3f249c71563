import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MetavecError } from '../errors.js';
import { sha256File } from '../io/checksum.js';
import { sha256Hex } from '../io/prepIdentity.js';
import { exists, type RunLocation } from './collect.js';

/**
 * The parts of a run belong together (docs/reliability.md): the cluster result was made from this prep (its
 * summary.json names the prep manifest's sha256), and the evaluation scored these labels (eval.json names the
 * labels' sha256). Otherwise a report would combine one run's counts with another's clusters, silently.
 * `local` holds the files (a downloaded copy for S3), `shown` the locations the user gave, for messages.
 */
export async function checkRunParts(local: RunLocation, shown: RunLocation): Promise<void> {
  const summaryPath = join(local.clusterDir, 'summary.json');
  const manifestPath = join(local.prepDir, 'manifest.json');
  if (!(await exists(summaryPath)) || !(await exists(manifestPath))) return; // reported by the report with its own messages
  let summary: { prep?: { manifest?: string; sha256?: string }; fragments?: number };
  try {
    summary = JSON.parse(await readFile(summaryPath, 'utf8')) as typeof summary;
  } catch {
    return; // reported by the report
  }
  const manifestBytes = await readFile(manifestPath);
  const fix = `report the matching directories, or cluster this prep again: metavec cluster --input ${shown.prepDir} --output ${shown.clusterDir} --overwrite`;
  if (summary.prep?.sha256) {
    const sha = sha256Hex(manifestBytes);
    if (sha !== summary.prep.sha256) {
      throw new MetavecError(
        'INPUT',
        `report: ${shown.clusterDir} was clustered from another prep: its summary.json names ${summary.prep.manifest ?? 'a manifest'} with sha256 ${summary.prep.sha256.slice(0, 12)}..., ` +
          `but ${shown.prepDir}/manifest.json has sha256 ${sha.slice(0, 12)}...; ${fix}`,
      );
    }
  } else {
    // a summary from before summaries named their prep: the fragment counts must at least agree
    const m = JSON.parse(manifestBytes.toString('utf8')) as { counts?: { fragments_out?: number } };
    const out = m.counts?.fragments_out;
    if (typeof summary.fragments === 'number' && typeof out === 'number' && summary.fragments !== out) {
      throw new MetavecError('INPUT', `report: ${shown.clusterDir} has ${summary.fragments} fragments but ${shown.prepDir} wrote ${out}: the cluster was made from another prep; ${fix}`);
    }
  }
  if (local.evalPath && (await exists(local.evalPath))) {
    let ev: { labels?: { path?: string; sha256?: string } };
    try {
      ev = JSON.parse(await readFile(local.evalPath, 'utf8')) as typeof ev;
    } catch {
      return; // reported by the report
    }
    const labels = join(local.clusterDir, 'labels.parquet');
    if (ev.labels?.sha256 && (await exists(labels))) {
      const sha = await sha256File(labels);
      if (sha !== ev.labels.sha256) {
        throw new MetavecError(
          'INPUT',
          `report: ${shown.evalPath ?? 'eval.json'} scored other labels (${ev.labels.path ?? '?'}, sha256 ${ev.labels.sha256.slice(0, 12)}...) than ${shown.clusterDir}/labels.parquet (sha256 ${sha.slice(0, 12)}...); ` +
            `evaluate again: metavec eval --labels ${shown.clusterDir}/labels.parquet --truth TRUTH --json > eval.json`,
        );
      }
    }
  }
}
