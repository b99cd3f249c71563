/**
 * `report.html`: one self-contained page from a run's outputs (docs/report.md). Reads outputs only.
 */
import { stat } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic.js';
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
  const data = await collectReportData(loc, { sampleSize: opts.sampleSize ?? DEFAULT_REPORT_SAMPLE });
  const charts = buildCharts(data);
  const html = await renderHtml(data, charts, new Date());
  await writeFileAtomic(output, html);
  const st = await stat(output);
  return {
    path: output,
    bytes: st.size,
    charts: charts.map((c) => c.id),
    fragments: data.rows,
    sampled: data.sample.length,
    seconds: (performance.now() - t0) / 1000,
  };
}
