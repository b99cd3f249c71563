/**
 * `report.html`: one self-contained page from a run's outputs (docs/report.md). Reads outputs only.
 */
import { stat } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic.js';
import { DownloadDir } from '../io/inputs.js';
import { isS3Uri, splitLocation } from '../io/location.js';
import { openOutputStore } from '../io/store.js';
import { localRunCopy } from './remoteRun.js';
import { checkRunParts } from './runParts.js';
import { collectReportData, type RunLocation } from './collect.js';
import { renderHtml } from './html.js';
import { buildCharts } from './specs.js';

export { locateRun, type RunLocation } from './collect.js';

/** Embeddings plotted in the PCA projection by default. */
export const DEFAULT_REPORT_SAMPLE = 5000;

export interface ReportResult {
  path: string;
  bytes: number;
  charts: string[];
  fragments: number;
  sampled: number;
  seconds: number;
}

export async function writeReport(loc: RunLocation, output: string, opts: { sampleSize?: number } = {}): Promise<ReportResult> {
  const t0 = performance.now();
  // A run in S3 is read from a verified local copy (remoteRun.ts); the report names the S3 locations.
  const dir = new DownloadDir();
  let data;
  try {
    const local = await localRunCopy(loc, dir);
    await checkRunParts(local, loc);
    data = await collectReportData(local, { sampleSize: opts.sampleSize ?? DEFAULT_REPORT_SAMPLE });
  } finally {
    await dir.dispose();
  }
  data.location = loc;
  const charts = buildCharts(data);
  const html = await renderHtml(data, charts, new Date());
  let bytes: number;
  if (isS3Uri(output)) {
    const { parent, name } = splitLocation(output);
    const store = await openOutputStore(parent);
    await store.putBytes(name, html);
    bytes = Buffer.byteLength(html);
  } else {
    await writeFileAtomic(output, html);
    bytes = (await stat(output)).size;
  }
  return {
    path: output,
    bytes,
    charts: charts.map((c) => c.id),
    fragments: data.rows,
    sampled: data.sample.length,
    seconds: (performance.now() - t0) / 1000,
  };
}
