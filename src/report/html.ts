/**
 * The self-contained HTML page: Vega, Vega-Lite and vega-embed (minified UMD builds from node_modules) and
 * all data inlined; a Content-Security-Policy that forbids every network request and eval (Vega runs with
 * its AST interpreter), so the file works offline and cannot reach out.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetavecError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { asArray, qcSide, type QcSide, type ReportData } from './collect.js';
import { correctionState, qcRates, UNCORRECTABLE_NOTE, type Chart } from './specs.js';

/** The vendored libraries, in load order: package name, file next to the package's entry point. */
const LIBRARIES: [string, string][] = [
  ['vega', 'vega.min.js'],
  ['vega-lite', 'vega-lite.min.js'],
  ['vega-embed', 'vega-embed.min.js'],
];

export async function libraryScripts(): Promise<{ name: string; version: string; code: string }[]> {
  const out: { name: string; version: string; code: string }[] = [];
  for (const [name, file] of LIBRARIES) {
    let path: string;
    try {
      path = join(dirname(fileURLToPath(import.meta.resolve(name))), file);
    } catch (err) {
      throw new MetavecError('INTERNAL', `report: cannot find the ${name} package (npm install?): ${(err as Error).message}`, { cause: err });
    }
    const code = await readFile(path, 'utf8');
    const pkg = JSON.parse(await readFile(join(dirname(path), '..', 'package.json'), 'utf8').catch(() => '{}')) as { version?: string };
    out.push({ name, version: pkg.version ?? '?', code: code.replace(/<\/(script)/gi, '<\\/$1') });
  }
  return out;
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Plotted numbers keep 5 significant digits (the report's size is mostly numbers). */
const roundNumbers = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v) ? Number(v.toPrecision(5)) : v);

/** JSON safe inside <script>: no "</script", no "<!--", no U+2028/2029; numbers rounded to 5 significant digits. */
export function scriptJson(x: unknown): string {
  return JSON.stringify(x, roundNumbers)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const fmtInt = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const fmt = (n: unknown, digits = 4): string => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '–');

/** The tables' CSV exports, collected while the page is built (one per table that offers a download). */
export class CsvExports {
  readonly files: Record<string, string> = {};

  add(name: string, head: string[], rows: (string | number)[][]): string {
    let file = name;
    for (let i = 2; file in this.files; i++) file = `${name}-${i}`;
    this.files[file] = [head, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
    return file;
  }
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break; numbers unformatted. */
export function csvField(v: string | number): string {
  const t = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
}

function table(head: string[], rows: (string | number)[][], cls = '', csv?: { exports: CsvExports; name: string; title?: string }): string {
  const button = csv
    ? `<button type="button" class="csv" data-csv="${esc(csv.exports.add(csv.name, head.map((h) => h || 'field'), rows))}" title="download this table as CSV">CSV</button>`
    : '';
  return `<div class="table">${button}<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'number' ? esc(fmtInt(c)) : esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

function chartDivs(charts: Chart[], section: Chart['section']): string {
  return charts
    .filter((c) => c.section === section)
    .map(
      (c) =>
        `<figure class="chart"><figcaption><h3>${esc(c.title)}</h3>${c.note ? `<p>${esc(c.note)}</p>` : ''}</figcaption><div class="vega" id="chart-${esc(c.id)}" data-chart="${esc(c.id)}"></div></figure>`,
    )
    .join('\n');
}

const COUNT_LABELS: Record<string, string> = {
  fragments_in: 'fragments in',
  reads_in: 'reads in',
  bases_in: 'bases in',
  fragments_passed_qc: 'fragments passing QC',
  duplicates_removed: 'duplicates removed',
  fragments_out: 'fragments out (clustered)',
  filtered_total: 'fragments filtered by QC',
  reads_corrected: 'reads error-corrected',
  bases_corrected: 'bases error-corrected',
  reads_uncorrectable: 'reads uncorrectable',
};

function countsSection(data: ReportData, csv: CsvExports): string {
  const counts = data.manifest.counts ?? {};
  const rows = Object.entries(counts).map(([k, v]) => [COUNT_LABELS[k] ?? k.replaceAll('_', ' '), k, v]);
  const state = correctionState(data.manifest);
  const corr = state === 'on' ? ['reads_corrected', 'bases_corrected', 'reads_uncorrectable'].filter((k) => k in counts) : [];
  const rates = qcRates(counts, state === 'on');
  const correctionNote =
    state === 'off'
      ? "Error correction off (the default: on the simulated communities it did not improve clustering consistently, docs/correction.md); 'metavec prep --correct' turns it on."
      : typeof state === 'object'
        ? `Error correction on but skipped: ${state.skipped}.`
        : corr.length
          ? `Error correction: ${corr.map((k) => `${COUNT_LABELS[k]!} ${fmtInt(counts[k])}`).join(', ')}.`
          : 'No error-correction counts in the manifest.';
  return `
<div class="grid2">
  <div><h3>Stage counts</h3>${table(['count', 'manifest key', 'value'], rows, 'num3', { exports: csv, name: 'stage-counts' })}
  <p class="note">${esc(correctionNote)}</p></div>
  <div><h3>Rates</h3>${table(['group', 'rate', 'count', 'of', '%'], rates.map((r) => [r.kind, r.rate, r.count, `${fmtInt(r.of)} ${r.unit}`, r.percent.toFixed(3)]), 'num2', { exports: csv, name: 'rates' })}
  ${corr.includes('reads_uncorrectable') ? `<p class="note narrow">${esc(UNCORRECTABLE_NOTE)}</p>` : ''}</div>
</div>`;
}

export type Flag = 'pass' | 'warn' | 'fail' | 'info';

export interface GeneralStat {
  metric: string;
  value: string;
  /** the number the flag was decided on (CSV export) */
  raw: number | null;
  flag: Flag;
  rule: string;
}

/** Thresholds of the general-statistics flags (docs/report.md explains each). */
export const THRESHOLDS = {
  fragmentsWarn: 10_000,
  fragmentsFail: 1_000,
  passingWarn: 90,
  passingFail: 70,
  duplicatesWarn: 20,
  duplicatesFail: 50,
  adaptersWarn: 5,
  adaptersFail: 10,
  qualityWarn: 27,
  qualityFail: 20,
  gcMateDiffWarn: 2,
} as const;

/** Mean quality over all bases of one mate and phase (per-cycle means weighted by the bases at each cycle). */
function meanQuality(s: QcSide): number {
  let q = 0;
  let n = 0;
  const counts = Object.values(s.base_count_by_cycle ?? {});
  s.mean_quality_by_cycle.forEach((m, c) => {
    if (m === null || m === undefined) return;
    let w = 0;
    for (const arr of counts) w += arr[c] ?? 0;
    q += m * w;
    n += w;
  });
  return n > 0 ? q / n : Number.NaN;
}

/** GC % of one mate and phase from its base counts (of A/C/G/T). */
function gcPercent(s: QcSide): number {
  const sum = (b: string): number => (s.base_count_by_cycle?.[b] ?? []).reduce((a, x) => a + x, 0);
  const acgt = sum('A') + sum('C') + sum('G') + sum('T');
  return acgt > 0 ? (100 * (sum('C') + sum('G'))) / acgt : Number.NaN;
}

/** MultiQC-like general statistics with pass / warn / fail flags (thresholds in THRESHOLDS). */
export function generalStats(data: ReportData): GeneralStat[] {
  const T = THRESHOLDS;
  const counts = data.manifest.counts ?? {};
  const out: GeneralStat[] = [];
  const pct = (x: number): string => `${x.toFixed(2)}%`;
  const lower = (x: number, warn: number, fail: number): Flag => (x >= fail ? 'fail' : x >= warn ? 'warn' : 'pass');
  const higher = (x: number, warn: number, fail: number): Flag => (x < fail ? 'fail' : x < warn ? 'warn' : 'pass');
  const fin = counts.fragments_in;
  if (fin !== undefined) {
    out.push({ metric: data.manifest.layout === 'se' ? 'reads in' : 'read pairs in', value: fmtInt(fin), raw: fin, flag: higher(fin, T.fragmentsWarn, T.fragmentsFail), rule: `warn below ${fmtInt(T.fragmentsWarn)}, fail below ${fmtInt(T.fragmentsFail)}` });
  }
  if (fin && counts.fragments_passed_qc !== undefined) {
    const p = (100 * counts.fragments_passed_qc) / fin;
    out.push({ metric: '% passing QC', value: pct(p), raw: p, flag: higher(p, T.passingWarn, T.passingFail), rule: `warn below ${T.passingWarn}%, fail below ${T.passingFail}%` });
  }
  const dupFraction = data.qc?.duplication_levels?.duplicate_fraction;
  const passed = counts.fragments_passed_qc;
  const dup = dupFraction !== undefined ? 100 * dupFraction : passed ? (100 * (counts.duplicates_removed ?? 0)) / passed : undefined;
  if (dup !== undefined) {
    out.push({ metric: '% duplicates (of QC-passed)', value: pct(dup), raw: dup, flag: lower(dup, T.duplicatesWarn, T.duplicatesFail), rule: `warn from ${T.duplicatesWarn}%, fail from ${T.duplicatesFail}% (FastQC)` });
  }
  if (fin) {
    const a = (100 * ((counts.adapter_fragments_overlap ?? 0) + (counts.adapter_fragments_sequence ?? 0))) / fin;
    out.push({ metric: '% fragments with adapter', value: pct(a), raw: a, flag: lower(a, T.adaptersWarn, T.adaptersFail), rule: `warn from ${T.adaptersWarn}%, fail from ${T.adaptersFail}% (FastQC); adapters are trimmed, a flag means many short inserts` });
  }
  const mates = [['read1', 'R1'], ['read2', 'R2']] as const;
  const qs = mates.map(([m, name]) => ({ name, s: qcSide(data.qc, `${m}_before`) })).filter((x) => x.s !== undefined);
  const quals = qs.map(({ name, s }) => ({ name, q: meanQuality(s!) })).filter((x) => Number.isFinite(x.q));
  if (quals.length > 0) {
    const worst = Math.min(...quals.map((x) => x.q));
    out.push({ metric: 'mean base quality (before QC)', value: quals.map((x) => `${x.name} ${x.q.toFixed(1)}`).join(', '), raw: worst, flag: higher(worst, T.qualityWarn, T.qualityFail), rule: `the lower mate: warn below Q${T.qualityWarn}, fail below Q${T.qualityFail} (FastQC)` });
  }
  const gcs = mates.map(([m, name]) => ({ name, s: qcSide(data.qc, `${m}_after`) })).filter((x) => x.s !== undefined).map(({ name, s }) => ({ name, gc: gcPercent(s!) })).filter((x) => Number.isFinite(x.gc));
  if (gcs.length > 0) {
    const diff = gcs.length > 1 ? Math.abs(gcs[0]!.gc - gcs[1]!.gc) : 0;
    out.push({
      metric: 'GC % (after QC)',
      value: gcs.map((x) => `${x.name} ${x.gc.toFixed(1)}`).join(', '),
      raw: gcs.reduce((a, x) => a + x.gc, 0) / gcs.length,
      flag: gcs.length > 1 ? (diff > T.gcMateDiffWarn ? 'warn' : 'pass') : 'info',
      rule: gcs.length > 1 ? `warn when the mates differ by more than ${T.gcMateDiffWarn} points (the GC level itself is not flagged: a metagenome mixes genomes)` : 'not flagged: a metagenome mixes genomes of different GC',
    });
  }
  return out;
}

function generalStatsSection(data: ReportData, csv: CsvExports): string {
  const stats = generalStats(data);
  if (stats.length === 0) return '';
  const name = csv.add('general-statistics', ['metric', 'value', 'flag', 'rule'], stats.map((x) => [x.metric, x.raw ?? '', x.flag, x.rule]));
  return `<h3>General statistics</h3><div class="table"><button type="button" class="csv" data-csv="${esc(name)}" title="download this table as CSV">CSV</button><table class="general"><thead><tr><th>metric</th><th>value</th><th>flag</th><th>rule</th></tr></thead><tbody>${stats
    .map((x) => `<tr><td>${esc(x.metric)}</td><td class="v">${esc(x.value)}</td><td class="flag ${x.flag}">${esc(x.flag)}</td><td class="rule">${esc(x.rule)}</td></tr>`)
    .join('')}</tbody></table></div>`;
}

/** The adapters prep used or detected (manifest.json adapters), per mate. */
function adaptersSection(data: ReportData, csv: CsvExports): string {
  const a = data.manifest.adapters;
  if (!a || typeof a !== 'object') return '';
  const rows: (string | number)[][] = [];
  for (const [key, mate] of [['read1', 'R1'], ['read2', 'R2']] as const) {
    const x = a[key] as { name?: string; sequence?: string; source?: string; sample_fraction?: number } | null | undefined;
    if (x === undefined) continue;
    if (x === null || typeof x !== 'object') {
      rows.push([mate, 'none detected', '', '', '']);
      continue;
    }
    rows.push([mate, x.name ?? '(unnamed)', x.sequence ?? '', x.source ?? '', typeof x.sample_fraction === 'number' ? `${(100 * x.sample_fraction).toFixed(2)}%` : '']);
  }
  if (rows.length === 0) return '';
  const overlap = a.pair_overlap === true ? ' Pairs are also clipped where their mates overlap past the insert end (fastp’s overlap analysis), whatever the adapter.' : '';
  return `<h3>Adapters</h3>${table(['mate', 'adapter', 'sequence', 'source', 'in sampled reads'], rows, 'adapters', { exports: csv, name: 'adapters' })}<p class="note">“detected”: found in a sample of the first reads (docs/qc.md); “given”: from the command line.${overlap}</p>`;
}

function clusterTable(data: ReportData, csv: CsvExports): string {
  const total = data.clusters.reduce((a, c) => a + c.size, 0) || 1;
  const ev = data.evaluation;
  // per cluster: majority truth class among its assigned reads
  const major = new Map<number, { cls: string; share: number }>();
  if (ev) {
    const ids = asArray(ev.confusion.clusterIds);
    const rows = asArray(ev.confusion.rows);
    const cols = asArray(ev.confusion.cols);
    const counts = asArray(ev.confusion.counts);
    const tot = new Map<number, number>();
    const best = new Map<number, { j: number; n: number }>();
    for (let i = 0; i < counts.length; i++) {
      const c = ids[rows[i]!]!;
      tot.set(c, (tot.get(c) ?? 0) + counts[i]!);
      if ((best.get(c)?.n ?? -1) < counts[i]!) best.set(c, { j: cols[i]!, n: counts[i]! });
    }
    for (const [c, b] of best) major.set(c, { cls: ev.confusion.classNames[b.j] ?? String(b.j), share: b.n / (tot.get(c) ?? 1) });
  }
  const cov = data.clusters.some((c) => c.coverage !== undefined);
  const head = ['cluster', ...(data.clusterNames ? ['name'] : []), 'fragments', '%', 'mean GC %', ...(cov ? ['mean coverage'] : []), 'median length', 'mean distance', ...(ev ? ['majority class', 'class share'] : [])];
  const rows = data.clusters.map((c) => [
    c.cluster,
    ...(data.clusterNames ? [data.clusterNames.get(c.cluster) ?? ''] : []),
    c.size,
    ((100 * c.size) / total).toFixed(2),
    fmt(100 * c.gc_mean, 1),
    ...(cov ? [fmt(c.coverage, 2)] : []),
    fmt(c.len_q[2], 0),
    fmt(c.distance_mean, 4),
    ...(ev ? [major.get(c.cluster)?.cls ?? '', major.has(c.cluster) ? `${(100 * major.get(c.cluster)!.share).toFixed(1)}%` : ''] : []),
  ]);
  return table(head, rows.map((r) => r.map((x) => (typeof x === 'number' && !Number.isInteger(x) ? String(x) : x))), 'num', { exports: csv, name: 'clusters' });
}

function namesSection(data: ReportData, csv: CsvExports): string {
  if (!data.clusterNames) return '';
  return `<h3>Cluster names</h3>${table(
    ['cluster', 'name'],
    [...data.clusterNames.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => [String(c), n]),
    '',
    { exports: csv, name: 'cluster-names' },
  )}`;
}

function metricsSection(data: ReportData, csv: CsvExports): string {
  const ev = data.evaluation;
  if (!ev) return '';
  const m = (x: Record<string, unknown>, k: string): unknown => (k.startsWith('f1.') ? (x.f1 as Record<string, unknown> | undefined)?.[k.slice(3)] : x[k]);
  const metrics: [string, string][] = [
    ['ARI', 'ari'],
    ['NMI (arithmetic)', 'nmi'],
    ['homogeneity', 'homogeneity'],
    ['completeness', 'completeness'],
    ['V-measure', 'vMeasure'],
    ['purity (weighted)', 'purity'],
    ['purity (unweighted)', 'purityUnweighted'],
    ['inverse purity', 'inversePurity'],
    ['F1 macro (Hungarian)', 'f1.macro'],
    ['F1 weighted (Hungarian)', 'f1.weighted'],
    ['clusters', 'clusters'],
    ['classes', 'classes'],
  ];
  const rows = metrics.map(([label, key]) => {
    const a = m(ev.assigned, key);
    const b = m(ev.allReads, key);
    const f = (v: unknown): string => (key === 'clusters' || key === 'classes' ? fmtInt(Number(v)) : fmt(v));
    return [label, f(a), f(b)];
  });
  return `
<div class="grid2">
  <div><h3>Metrics</h3>${table(['metric', 'assigned reads', 'all truth reads*'], rows, 'num', { exports: csv, name: 'metrics' })}
  <p class="note">* reads without a label form one extra “unassigned” cluster (not matched in F1). docs/evaluation.md defines every metric.</p></div>
  <div><h3>Reads</h3>${table(
    ['reads', 'count'],
    [
      ['truth reads', ev.truthReads],
      ['labelled reads', ev.labelledReads],
      ['assigned reads', ev.assignedReads],
      ['assigned fraction', `${(100 * ev.assignedFraction).toFixed(2)}%`],
      ['unassigned reads (in truth, no label)', ev.unassignedReads],
      ['unknown reads (labelled, not in truth)', ev.unknownReads],
    ],
    'num',
    { exports: csv, name: 'evaluated-reads' },
  )}</div>
</div>`;
}

function runSection(data: ReportData, csv: CsvExports): string {
  const m = data.manifest;
  const s = data.summary;
  const loc = data.location;
  const inputs = (m.inputs ?? []).map((i) => [i.uri, `mate ${i.mate}`, i.format, i.compression, i.records, i.bytes]);
  const kv: [string, string][] = [
    ['run directory', loc.runDir ?? '–'],
    ['prep output', loc.prepDir],
    ['cluster output', loc.clusterDir],
    ['prep created', m.created],
    ['cluster created', String(s.created ?? '–')],
    ['tool', `${m.tool?.name ?? 'metavec'} ${m.tool?.version ?? ''}`],
    ['layout', m.layout],
    ['quality encoding', m.quality_encoding],
    ['embedding', `${m.embedding.method}${m.embedding.k ? ` k=${m.embedding.k}` : ''}, dim ${m.embedding.dim}${m.embedding.normalisation ? `, ${m.embedding.normalisation}` : ''}`],
    ['clustering', `${s.method ?? 'kmeans'} K=${s.k} (${s.k_selection?.method ?? '?'}), ${s.algorithm ?? ''} ${s.init ?? ''}, n-init ${s.n_init ?? '?'}, seed ${s.seed ?? '?'}, ${s.iterations ?? '?'} iterations`],
    ['fragments clustered', fmtInt(data.rows)],
  ];
  return `
${table(['', ''], kv, 'kv')}
<h3>Inputs</h3>${table(['file', 'mate', 'format', 'compression', 'records', 'bytes'], inputs, 'num', { exports: csv, name: 'inputs' })}
<details><summary>Parameters (manifest.json and summary.json)</summary><pre>${esc(JSON.stringify({ prep: m.parameters, adapters: m.adapters, cluster: { method: s.method, k: s.k, k_selection: s.k_selection, seed: s.seed, n_init: s.n_init, algorithm: s.algorithm, init: s.init, ...(s.method_details ? { method_details: s.method_details } : {}) } }, null, 2))}</pre></details>`;
}

const CSS = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
body { margin: 0; background: #fafafa; }
header { background: #1f3b57; color: white; padding: 14px 28px; }
header h1 { margin: 0; font-size: 1.4em; }
header p { margin: 4px 0 0; opacity: .85; font-size: .9em; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: 6px 28px; z-index: 10; }
nav a { margin-right: 18px; color: #1f3b57; text-decoration: none; font-weight: 600; }
main { padding: 8px 28px 40px; max-width: 1500px; }
section { margin-top: 18px; }
h2 { border-bottom: 2px solid #1f3b57; padding-bottom: 4px; }
h3 { margin: 14px 0 6px; font-size: 1.02em; }
figure.chart { display: inline-block; vertical-align: top; margin: 8px 22px 14px 0; background: white; border: 1px solid #e3e3e3; border-radius: 4px; padding: 8px 12px; }
figure.chart { min-width: 420px; }
/* the caption wraps at the plot's width instead of widening the figure */
figcaption { width: 0; min-width: 100%; }
figcaption p { margin: 0 0 6px; color: #555; font-size: .86em; }
table { border-collapse: collapse; font-size: .86em; background: white; margin: 4px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f0f3f6; }
table.num td:not(:first-child), table.num3 td:nth-child(3) { text-align: right; font-variant-numeric: tabular-nums; }
table.kv td:first-child { font-weight: 600; }
table.kv thead { display: none; }
.grid2 { display: flex; flex-wrap: wrap; gap: 28px; }
.note { color: #666; font-size: .85em; }
pre { background: #fff; border: 1px solid #ddd; padding: 8px; max-height: 420px; overflow: auto; font-size: .8em; }
.error { color: #b00020; font-weight: 600; }
div.table { position: relative; display: inline-block; }
button.csv { position: absolute; right: 0; top: -22px; font-size: .72em; padding: 1px 6px; border: 1px solid #bbb; border-radius: 3px; background: #fff; color: #1f3b57; cursor: pointer; }
button.csv:hover { background: #eef3f8; }
table.num2 td:nth-child(n+3) { text-align: right; font-variant-numeric: tabular-nums; }
table.general td.v { text-align: right; font-variant-numeric: tabular-nums; }
table.general td.rule { color: #555; font-size: .92em; }
td.flag { font-weight: 700; text-align: center; text-transform: uppercase; font-size: .8em; }
td.flag.pass { background: #d9f2d9; color: #1b5e20; }
td.flag.warn { background: #fff3cd; color: #7a5b00; }
td.flag.fail { background: #f8d7da; color: #8b1a1a; }
td.flag.info { background: #eef3f8; color: #1f3b57; }
table.adapters td:nth-child(3) { font-family: ui-monospace, monospace; font-size: .9em; }
.note.narrow { max-width: 520px; }
`;

/** The browser side: embeds every chart and records what was drawn in window.metavecReport. */
const BOOT = `
(function () {
  var data = JSON.parse(document.getElementById('metavec-charts').textContent);
  var state = { charts: {}, errors: [], done: false };
  window.metavecReport = state;
  function countMarks(node) {
    var n = 0;
    (function walk(item) {
      if (!item) return;
      if (item.marktype !== undefined) {
        if (item.role === 'mark' && item.marktype !== 'group') n += (item.items || []).length;
        (item.items || []).forEach(walk);
      } else if (item.items) {
        item.items.forEach(walk);
      }
    })(node);
    return n;
  }
  var jobs = data.map(function (c) {
    var el = document.getElementById('chart-' + c.id);
    return vegaEmbed(el, c.spec, {
      renderer: c.renderer,
      ast: true,
      actions: { export: true, source: false, compiled: false, editor: false },
      downloadFileName: c.id
    }).then(function (res) {
      state.charts[c.id] = { marks: countMarks(res.view.scenegraph().root), renderer: c.renderer };
    }, function (err) {
      state.errors.push(c.id + ': ' + (err && err.message || err));
      state.charts[c.id] = { marks: 0, error: String(err && err.message || err) };
      el.innerHTML = '<p class="error">This plot failed to render: ' + String(err && err.message || err).replace(/</g, '&lt;') + '</p>';
      console.error('metavec report: chart ' + c.id + ' failed', err);
    });
  });
  Promise.all(jobs).then(function () { state.done = true; document.body.setAttribute('data-rendered', 'true'); });
  // CSV downloads: the files are in the page (metavec-csv); a blob link is clicked, nothing leaves the page
  var csv = JSON.parse(document.getElementById('metavec-csv').textContent);
  Array.prototype.forEach.call(document.querySelectorAll('button[data-csv]'), function (b) {
    b.addEventListener('click', function () {
      var name = b.getAttribute('data-csv');
      var url = URL.createObjectURL(new Blob([csv[name]], { type: 'text/csv;charset=utf-8' }));
      var a = document.createElement('a');
      a.href = url;
      a.download = name + '.csv';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    });
  });
})();
`;

export async function renderHtml(data: ReportData, charts: Chart[], generated: Date): Promise<string> {
  const libs = await libraryScripts();
  const title = `metavec report: ${data.location.runDir ?? data.location.clusterDir}`;
  const ev = data.evaluation;
  const csv = new CsvExports();
  const sections: [string, string, string][] = [
    ['run', 'Run', runSection(data, csv)],
    [
      'qc',
      'QC',
      `<div class="grid2"><div>${generalStatsSection(data, csv)}</div><div>${adaptersSection(data, csv)}</div></div>\n${countsSection(data, csv)}\n${data.qc ? '' : '<p class="note">qc_stats.json not found: no per-position plots.</p>'}\n${chartDivs(charts, 'qc')}`,
    ],
    ['embedding', 'Embedding', chartDivs(charts, 'embedding') || '<p class="note">No fragments to plot.</p>'],
    ['clusters', 'Clusters', `${chartDivs(charts, 'clusters')}\n${namesSection(data, csv)}<h3>Clusters</h3>${clusterTable(data, csv)}`],
  ];
  if (ev) sections.push(['evaluation', 'Evaluation', `${metricsSection(data, csv)}\n${chartDivs(charts, 'evaluation')}`]);
  const chartData = charts.map((c) => ({ id: c.id, renderer: c.renderer, spec: { ...c.spec, config: { view: { stroke: null } } } }));
  const subtitle = `generated ${generated.toISOString()} by metavec ${TOOL_VERSION} · ${fmtInt(data.rows)} fragments, K=${data.summary.k}${
    ev ? ` · ARI ${fmt((ev.assigned as { ari?: number }).ari)} (assigned reads)` : ''
  } · plots by ${libs.map((l) => `${l.name} ${l.version}`).join(', ')}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="metavec ${esc(TOOL_VERSION)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p>${esc(subtitle)}</p></header>
<nav>${sections.map(([id, name]) => `<a href="#${id}">${esc(name)}</a>`).join('')}</nav>
<main>
${sections.map(([id, name, body]) => `<section id="${id}"><h2>${esc(name)}</h2>\n${body}\n</section>`).join('\n')}
</main>
<script type="application/json" id="metavec-charts">${scriptJson(chartData)}</script>
<script type="application/json" id="metavec-csv">${JSON.stringify(csv.files).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}</script>
${libs.map((l) => `<script data-library="${esc(l.name)}">${l.code}</script>`).join('\n')}
<script>${BOOT}</script>
</body>
</html>
`;
}
