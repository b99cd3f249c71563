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
import { asArray, type ReportData } from './collect.js';
import { qcRates, type Chart } from './specs.js';

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

function table(head: string[], rows: (string | number)[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'number' ? esc(fmtInt(c)) : esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
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

function countsSection(data: ReportData): string {
  const counts = data.manifest.counts ?? {};
  const rows = Object.entries(counts).map(([k, v]) => [COUNT_LABELS[k] ?? k.replaceAll('_', ' '), k, v]);
  const corr = ['reads_corrected', 'bases_corrected', 'reads_uncorrectable'].filter((k) => k in counts);
  const rates = qcRates(counts);
  return `
<div class="grid2">
  <div><h3>Stage counts</h3>${table(['count', 'manifest key', 'value'], rows, 'num3')}
  ${corr.length ? `<p class="note">Error correction: ${corr.map((k) => `${esc(COUNT_LABELS[k])} ${esc(fmtInt(counts[k]))}`).join(', ')}.</p>` : '<p class="note">No error-correction counts in the manifest (error correction not run).</p>'}</div>
  <div><h3>Rates</h3>${table(['rate', 'count', 'of', '%'], rates.map((r) => [r.rate, r.count, `${fmtInt(r.of)} ${r.unit}`, r.percent.toFixed(3)]), 'num')}</div>
</div>`;
}

function clusterTable(data: ReportData): string {
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
  const head = ['cluster', ...(data.clusterNames ? ['name'] : []), 'fragments', '%', 'mean GC', 'median length', 'mean distance', ...(ev ? ['majority class', 'class share'] : [])];
  const rows = data.clusters.map((c) => [
    c.cluster,
    ...(data.clusterNames ? [data.clusterNames.get(c.cluster) ?? ''] : []),
    c.size,
    ((100 * c.size) / total).toFixed(2),
    fmt(c.gc_mean, 3),
    fmt(c.len_q[2], 0),
    fmt(c.distance_mean, 4),
    ...(ev ? [major.get(c.cluster)?.cls ?? '', major.has(c.cluster) ? `${(100 * major.get(c.cluster)!.share).toFixed(1)}%` : ''] : []),
  ]);
  return table(head, rows.map((r) => r.map((x) => (typeof x === 'number' && !Number.isInteger(x) ? String(x) : x))), 'num');
}

function namesSection(data: ReportData): string {
  if (!data.clusterNames) return '';
  return `<h3>Cluster names</h3>${table(
    ['cluster', 'name'],
    [...data.clusterNames.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => [String(c), n]),
  )}`;
}

function metricsSection(data: ReportData): string {
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
  <div>${table(['metric', 'assigned reads', 'all truth reads*'], rows, 'num')}
  <p class="note">* reads without a label form one extra “unassigned” cluster (not matched in F1). docs/evaluation.md defines every metric.</p></div>
  <div>${table(
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
  )}</div>
</div>`;
}

function runSection(data: ReportData): string {
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
<h3>Inputs</h3>${table(['file', 'mate', 'format', 'compression', 'records', 'bytes'], inputs, 'num')}
<details><summary>Parameters (manifest.json and summary.json)</summary><pre>${esc(JSON.stringify({ prep: m.parameters, adapters: m.adapters, cluster: { k: s.k, k_selection: s.k_selection, seed: s.seed, n_init: s.n_init, algorithm: s.algorithm, init: s.init } }, null, 2))}</pre></details>`;
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
figcaption p { margin: 0 0 6px; color: #555; font-size: .86em; max-width: 760px; }
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
})();
`;

export async function renderHtml(data: ReportData, charts: Chart[], generated: Date): Promise<string> {
  const libs = await libraryScripts();
  const title = `metavec report: ${data.location.runDir ?? data.location.clusterDir}`;
  const ev = data.evaluation;
  const sections: [string, string, string][] = [
    ['run', 'Run', runSection(data)],
    ['qc', 'QC', `${countsSection(data)}\n${data.qc ? '' : '<p class="note">qc_stats.json not found: no per-position plots.</p>'}\n${chartDivs(charts, 'qc')}`],
    ['embedding', 'Embedding', chartDivs(charts, 'embedding') || '<p class="note">No fragments to plot.</p>'],
    ['clusters', 'Clusters', `${chartDivs(charts, 'clusters')}\n${namesSection(data)}<h3>Clusters</h3>${clusterTable(data)}`],
  ];
  if (ev) sections.push(['evaluation', 'Evaluation', `${metricsSection(data)}\n${chartDivs(charts, 'evaluation')}`]);
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
${libs.map((l) => `<script data-library="${esc(l.name)}">${l.code}</script>`).join('\n')}
<script>${BOOT}</script>
</body>
</html>
`;
}
