import type { EvalReport } from './report.js';

const MAX_CLASS_ROWS = 50;

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function fix(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}

/** Aligned text table; `align` holds one 'l' or 'r' per column. */
function table(header: string[] | null, rows: string[][], align: string): string {
  const all = header ? [header, ...rows] : rows;
  const widths = Array.from(align, (_, j) => Math.max(0, ...all.map((r) => (r[j] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, j) => (align[j] === 'l' ? cell.padEnd(widths[j] ?? 0) : cell.padStart(widths[j] ?? 0)))
      .join('  ')
      .trimEnd();
  return all.map(line).join('\n');
}

/** Human-readable multi-line summary of an evaluation report, for the terminal. */
export function formatEvalReport(report: EvalReport): string {
  const out: string[] = [];
  out.push(`Evaluation against truth (${report.classNames.length} classes)`);
  out.push(
    table(
      null,
      [
        ['truth reads', int(report.truthReads)],
        ['labelled reads', int(report.labelledReads)],
        ['assigned reads', `${int(report.assignedReads)} (${pct(report.assignedFraction)} of truth)`],
        ['unassigned reads', `${int(report.unassignedReads)} (in truth without a label, e.g. dropped by QC/dedup)`],
        [
          'unknown reads',
          `${int(report.unknownReads)} (labelled but not in truth${
            report.unknownExamples.length > 0 ? `, e.g. ${report.unknownExamples.join(', ')}` : ''
          })`,
        ],
      ],
      'll',
    )
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  out.push('');

  const a = report.assigned;
  const all = report.allReads;
  const metricRows: [string, (m: typeof a) => string][] = [
    ['ARI', (m) => fix(m.ari)],
    ['NMI (arithmetic)', (m) => fix(m.nmi)],
    ['homogeneity', (m) => fix(m.homogeneity)],
    ['completeness', (m) => fix(m.completeness)],
    ['V-measure', (m) => fix(m.vMeasure)],
    ['purity (weighted)', (m) => fix(m.purity)],
    ['purity (unweighted)', (m) => fix(m.purityUnweighted)],
    ['inverse purity', (m) => fix(m.inversePurity)],
    ['F1 macro (Hungarian)', (m) => fix(m.f1.macro)],
    ['F1 weighted (Hungarian)', (m) => fix(m.f1.weighted)],
    ['reads', (m) => int(m.n)],
    ['clusters', (m) => int(m.clusters)],
    ['classes', (m) => int(m.classes)],
  ];
  out.push(
    table(
      ['metric', 'assigned reads', 'all truth reads*'],
      metricRows.map(([name, f]) => [name, f(a), f(all)]),
      'lrr',
    ),
  );
  out.push('* reads without a label form one extra "unassigned" cluster (not matched in F1)');
  out.push('');

  // Per-class view over the assigned reads.
  const c = report.confusion;
  const ct = a.contingency;
  const perClassCells = new Map<number, { cluster: number; reads: number }[]>();
  for (let i = 0; i < c.counts.length; i++) {
    const cls = c.cols[i] as number;
    const list = perClassCells.get(cls) ?? [];
    list.push({ cluster: c.clusterIds[c.rows[i] as number] as number, reads: c.counts[i] as number });
    perClassCells.set(cls, list);
  }
  const matchByClassCode = new Map<number, number>();
  for (let j = 0; j < ct.classLabels.length; j++) matchByClassCode.set(ct.classLabels[j] as number, j);

  const order = c.classNames.map((_, j) => j).sort((x, y) => (c.classTotals[y] as number) - (c.classTotals[x] as number) || x - y);
  const rows: string[][] = [];
  for (const j of order.slice(0, MAX_CLASS_ROWS)) {
    const col = matchByClassCode.get(j);
    let cluster = '-';
    let precision = '-';
    let recall = '-';
    let f1 = '0.0000';
    if (col !== undefined) {
      const r = a.f1.classToCluster[col] as number;
      if (r >= 0) {
        cluster = String(ct.clusterLabels[r]);
        precision = fix(a.f1.precision[col] as number);
        recall = fix(a.f1.recall[col] as number);
        f1 = fix(a.f1.f1[col] as number);
      }
    }
    const top = (perClassCells.get(j) ?? [])
      .sort((x, y) => y.reads - x.reads || x.cluster - y.cluster)
      .slice(0, 3)
      .map((e) => `${e.cluster}:${int(e.reads)}`)
      .join(' ');
    rows.push([
      c.classNames[j] as string,
      int(c.classTotals[j] as number),
      int(c.unassigned[j] as number),
      cluster,
      precision,
      recall,
      f1,
      top,
    ]);
  }
  out.push('Per class (assigned reads; cluster = Hungarian match):');
  out.push(table(['class', 'truth', 'unassigned', 'cluster', 'precision', 'recall', 'F1', 'top clusters (id:reads)'], rows, 'lrrrrrrl'));
  if (order.length > MAX_CLASS_ROWS) out.push(`... ${order.length - MAX_CLASS_ROWS} more classes`);
  return out.join('\n') + '\n';
}
