/**
 * Vega-Lite specifications of the report's plots, with their (already aggregated or sampled) data inline.
 * Pure: ReportData in, JSON specs out.
 */
import type { TopLevelSpec } from 'vega-lite';
import { asArray, type QcSide, type ReportData } from './collect.js';

export interface Chart {
  id: string;
  title: string;
  /** One or two sentences shown under the title. */
  note?: string;
  section: 'qc' | 'embedding' | 'clusters' | 'evaluation';
  spec: TopLevelSpec;
  /** canvas for many points, svg otherwise. */
  renderer: 'svg' | 'canvas';
}

type Row = Record<string, string | number | null>;

const MATES: [string, string][] = [
  ['read1', 'R1'],
  ['read2', 'R2'],
];
const STAGES: [string, string][] = [
  ['before', 'before QC'],
  ['after', 'after QC'],
];
const STAGE_SCALE = { domain: ['before QC', 'after QC'], range: ['#9e9e9e', '#1f77b4'] };
const CLUSTER_SCHEME = 'tableau20';
const WIDTH = 340;

function qcSides(data: ReportData): { mate: string; stage: string; s: QcSide }[] {
  const out: { mate: string; stage: string; s: QcSide }[] = [];
  const qc = data.qc;
  if (!qc) return out;
  for (const [m, mate] of MATES) {
    for (const [st, stage] of STAGES) {
      const s = qc[`${m}_${st}`];
      if (s && typeof s === 'object') out.push({ mate, stage, s });
    }
  }
  return out;
}

/** Cycles with at least one base (the QC arrays are padded). */
function cyclesOf(s: QcSide): number {
  const counts = s.base_count_by_cycle;
  let n = 0;
  for (const arr of Object.values(counts ?? {})) {
    for (let i = arr.length - 1; i >= n; i--) {
      if ((arr[i] ?? 0) > 0) {
        n = i + 1;
        break;
      }
    }
  }
  return n || (s.mean_quality_by_cycle?.length ?? 0);
}

function qcCharts(data: ReportData): Chart[] {
  const sides = qcSides(data);
  if (sides.length === 0) return [];
  const nMates = new Set(sides.map((x) => x.mate)).size;
  const w = nMates > 1 ? WIDTH : WIDTH * 1.6;
  const quality: Row[] = [];
  const bases: Row[] = [];
  const gc: Row[] = [];
  const length: Row[] = [];
  const meanq: Row[] = [];
  for (const { mate, stage, s } of sides) {
    const cycles = cyclesOf(s);
    for (let c = 0; c < cycles; c++) {
      const q = s.mean_quality_by_cycle[c];
      if (q !== undefined && q > 0) quality.push({ mate, stage, cycle: c + 1, quality: q });
      let tot = 0;
      for (const arr of Object.values(s.base_count_by_cycle)) tot += arr[c] ?? 0;
      if (tot > 0) {
        const row: Row = { mate, stage, cycle: c + 1 };
        for (const [b, arr] of Object.entries(s.base_count_by_cycle)) row[b] = (100 * (arr[c] ?? 0)) / tot;
        bases.push(row);
      }
    }
    const reads = Math.max(1, s.reads);
    s.gc_percent_histogram.forEach((v, i) => gc.push({ mate, stage, gc: i, percent: (100 * v) / reads }));
    s.length_histogram.forEach((v, i) => v > 0 && length.push({ mate, stage, length: i, reads: v }));
    s.mean_quality_histogram.forEach((v, i) => v > 0 && meanq.push({ mate, stage, quality: i, reads: v }));
  }
  const baseNames = Array.from(new Set(sides.flatMap(({ s }) => Object.keys(s.base_count_by_cycle ?? {}))));
  const stageColor = { field: 'stage', type: 'nominal', title: null, scale: STAGE_SCALE } as const;
  const stageDash = { field: 'stage', type: 'nominal', title: null, scale: { domain: STAGE_SCALE.domain, range: [[4, 3], [1, 0]] } } as const;
  const mateCol = { field: 'mate', type: 'nominal', title: null } as const;
  const charts: Chart[] = [
    {
      id: 'qc-quality',
      title: 'Mean quality per position',
      note: 'Mean Phred quality at each cycle (read position), before and after QC.',
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: quality },
        mark: { type: 'line', strokeWidth: 1.5 },
        width: w,
        height: 180,
        encoding: {
          x: { field: 'cycle', type: 'quantitative', title: 'cycle' },
          y: { field: 'quality', type: 'quantitative', title: 'mean Phred quality', scale: { zero: false } },
          color: stageColor,
          strokeDash: stageDash,
          column: mateCol,
          tooltip: [{ field: 'mate' }, { field: 'stage' }, { field: 'cycle' }, { field: 'quality', format: '.2f' }],
        },
      },
    },
    {
      id: 'qc-bases',
      title: 'Base content per position',
      note: 'Share of A, C, G, T and N at each cycle.',
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: bases },
        transform: [{ fold: baseNames, as: ['base', 'percent'] }],
        mark: { type: 'line', strokeWidth: 1.2 },
        width: w,
        height: 140,
        encoding: {
          x: { field: 'cycle', type: 'quantitative' },
          y: { field: 'percent', type: 'quantitative', title: '% of bases' },
          color: { field: 'base', type: 'nominal', scale: { domain: ['A', 'C', 'G', 'T', 'N'], range: ['#2ca02c', '#1f77b4', '#ff7f0e', '#d62728', '#7f7f7f'] } },
          column: mateCol,
          row: { field: 'stage', type: 'nominal', title: null, sort: ['before QC', 'after QC'] },
          tooltip: [{ field: 'mate' }, { field: 'stage' }, { field: 'cycle' }, { field: 'base' }, { field: 'percent', format: '.2f' }],
        },
      },
    },
    {
      id: 'qc-gc',
      title: 'GC content distribution',
      note: 'Reads by GC percent (of A/C/G/T bases).',
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: gc },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
        width: w,
        height: 160,
        encoding: {
          x: { field: 'gc', type: 'quantitative', title: 'GC %', scale: { domain: [0, 100] } },
          y: { field: 'percent', type: 'quantitative', title: '% of reads' },
          color: stageColor,
          strokeDash: stageDash,
          column: mateCol,
          tooltip: [{ field: 'mate' }, { field: 'stage' }, { field: 'gc', title: 'GC %' }, { field: 'percent', format: '.3f' }],
        },
      },
    },
    {
      id: 'qc-length',
      title: 'Read length distribution',
      note: 'Reads by length (symmetric-log scale: trimming leaves a long thin tail).',
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: length },
        mark: { type: 'line', interpolate: 'step-after', point: { size: 12 }, strokeWidth: 1.5 },
        width: w,
        height: 160,
        encoding: {
          x: { field: 'length', type: 'quantitative', title: 'length (bp)' },
          y: { field: 'reads', type: 'quantitative', title: 'reads', scale: { type: 'symlog' } },
          color: stageColor,
          strokeDash: stageDash,
          column: mateCol,
          tooltip: [{ field: 'mate' }, { field: 'stage' }, { field: 'length' }, { field: 'reads', format: ',' }],
        },
      },
    },
    {
      id: 'qc-meanq',
      title: 'Mean read quality distribution',
      note: 'Reads by their mean Phred quality.',
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: meanq },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
        width: w,
        height: 160,
        encoding: {
          x: { field: 'quality', type: 'quantitative', title: 'mean Phred quality', axis: { tickMinStep: 1 } },
          y: { field: 'reads', type: 'quantitative' },
          color: stageColor,
          strokeDash: stageDash,
          column: mateCol,
          tooltip: [{ field: 'mate' }, { field: 'stage' }, { field: 'quality' }, { field: 'reads', format: ',' }],
        },
      },
    },
  ];
  return charts;
}

/** Adapter, duplication, filtering and trimming rates from the manifest counts. */
export function qcRates(counts: Record<string, number>): { rate: string; percent: number; count: number; of: number; unit: string }[] {
  const c = (k: string): number => counts[k] ?? 0;
  const rows: { rate: string; percent: number; count: number; of: number; unit: string }[] = [];
  const add = (rate: string, count: number, of: number, unit: string): void => {
    if (of > 0) rows.push({ rate, percent: (100 * count) / of, count, of, unit });
  };
  add('adapter found (fragments)', c('adapter_fragments_overlap') + c('adapter_fragments_sequence'), c('fragments_in'), 'fragments');
  add('adapter bases trimmed', c('adapter_bases_trimmed'), c('bases_in'), 'bases');
  add('quality bases trimmed', c('quality_bases_trimmed') + c('median_rule_bases_trimmed') + c('polyg_bases_trimmed'), c('bases_in'), 'bases');
  add('filtered by QC', c('filtered_total'), c('fragments_in'), 'fragments');
  add('duplicates (of QC-passed)', c('duplicates_removed'), c('fragments_passed_qc'), 'fragments');
  if ('reads_corrected' in counts) add('reads error-corrected', c('reads_corrected'), c('reads_in'), 'reads');
  if ('bases_corrected' in counts) add('bases error-corrected', c('bases_corrected'), c('bases_in'), 'bases');
  if ('reads_uncorrectable' in counts) add('reads uncorrectable', c('reads_uncorrectable'), c('reads_in'), 'reads');
  return rows;
}

function countCharts(data: ReportData): Chart[] {
  const counts = data.manifest.counts ?? {};
  const rates = qcRates(counts);
  const funnel: Row[] = [];
  const c = (k: string): number | undefined => counts[k];
  const step = (stage: string, k: string, order: number): void => {
    const v = c(k);
    if (v !== undefined) funnel.push({ stage, fragments: v, order });
  };
  step('input', 'fragments_in', 0);
  step('passed QC', 'fragments_passed_qc', 1);
  step('after dedup (clustered)', 'fragments_out', 2);
  const filters = Object.entries(counts)
    .filter(([k]) => k.startsWith('filtered_') && k !== 'filtered_total')
    .map(([k, v]) => ({ reason: k.replace('filtered_', '').replaceAll('_', ' '), fragments: v }));
  const charts: Chart[] = [];
  if (rates.length > 0) {
    charts.push({
      id: 'qc-rates',
      title: 'Adapter, trimming, filtering and duplication rates',
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: rates },
        width: WIDTH * 1.6,
        layer: [
          { mark: { type: 'bar', color: '#4c78a8' } },
          { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'percent', format: '.2f' } } },
        ],
        encoding: {
          y: { field: 'rate', type: 'nominal', sort: null, title: null },
          x: { field: 'percent', type: 'quantitative', title: '%' },
          tooltip: [{ field: 'rate' }, { field: 'count', format: ',' }, { field: 'of', format: ',' }, { field: 'unit' }, { field: 'percent', format: '.3f' }],
        },
      },
    });
  }
  if (funnel.length > 0) {
    charts.push({
      id: 'qc-funnel',
      title: 'Fragments through the stages',
      note: filters.some((f) => f.fragments > 0) ? undefined : 'No fragment was removed by a QC filter.',
      section: 'qc',
      renderer: 'svg',
      spec: {
        hconcat: [
          {
            data: { values: funnel },
            width: WIDTH,
            layer: [
              { mark: { type: 'bar', color: '#4c78a8' } },
              { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'fragments', format: ',' } } },
            ],
            encoding: {
              y: { field: 'stage', type: 'nominal', sort: funnel.map((f) => String(f.stage)), title: null },
              x: { field: 'fragments', type: 'quantitative' },
            },
          },
          {
            data: { values: filters },
            width: WIDTH * 0.8,
            title: 'QC filter reasons',
            layer: [
              { mark: { type: 'bar', color: '#e45756' } },
              { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'fragments', format: ',' } } },
            ],
            encoding: {
              y: { field: 'reason', type: 'nominal', title: null },
              x: { field: 'fragments', type: 'quantitative', scale: { domain: [0, Math.max(1, ...filters.map((f) => f.fragments))], nice: true }, axis: { format: ',d', tickMinStep: 1 } },
            },
          },
        ],
      },
    });
  }
  return charts;
}

function clusterLabel(data: ReportData, id: number): string {
  const name = data.clusterNames?.get(id);
  return name ? `${id}: ${name}` : String(id);
}

function embeddingCharts(data: ReportData): Chart[] {
  if (data.sample.length === 0) return [];
  const ex = data.pcaExplained.map((e) => `${(100 * e).toFixed(1)}%`);
  const points = data.sample.map((p) => ({ ...p, cluster: clusterLabel(data, p.cluster) }));
  const cents = data.centroids.map((c) => ({ ...c, cluster: clusterLabel(data, c.cluster) }));
  const domain = Array.from(new Set([...data.clusters.map((c) => clusterLabel(data, c.cluster)), ...points.map((p) => p.cluster)]));
  const color = { field: 'cluster', type: 'nominal', scale: { scheme: CLUSTER_SCHEME, domain }, legend: { columns: domain.length > 20 ? 2 : 1 } } as const;
  const panel = (y: 'pc2' | 'pc3', yi: number) => ({
    width: WIDTH,
    height: WIDTH,
    layer: [
      {
        data: { name: 'points' },
        mark: { type: 'circle' as const, size: 9, opacity: 0.6 },
        params: yi === 1 ? [{ name: 'pick', select: { type: 'point' as const, fields: ['cluster'] }, bind: 'legend' as const }] : [],
        encoding: {
          x: { field: 'pc1', type: 'quantitative' as const, title: `PC1 (${ex[0] ?? '?'})` },
          y: { field: y, type: 'quantitative' as const, title: `PC${yi + 1} (${ex[yi] ?? '?'})` },
          color,
          opacity: { condition: { param: 'pick', value: 0.7 }, value: 0.04 },
          tooltip: [{ field: 'read_id' }, { field: 'cluster' }, { field: 'gc', format: '.3f', title: 'GC' }, { field: 'length' }],
        },
      },
      ...(cents.length > 0
        ? [
            {
              data: { name: 'centroids' },
              mark: { type: 'point' as const, shape: 'cross', size: 140, filled: true, stroke: 'black', strokeWidth: 0.8 },
              encoding: {
                x: { field: 'pc1', type: 'quantitative' as const },
                y: { field: y, type: 'quantitative' as const },
                color,
                tooltip: [{ field: 'cluster', title: 'centroid of cluster' }],
              },
            },
          ]
        : []),
    ],
  });
  return [
    {
      id: 'pca',
      title: 'Embeddings projected on their principal components',
      note: `${data.sample.length.toLocaleString('en-US')} of ${data.rows.toLocaleString('en-US')} fragments (a deterministic sample by hash of read_id${data.sampleShards < data.shards ? ` from ${data.sampleShards} evenly spaced of the ${data.shards} shards` : ''}), coloured by cluster; crosses are the k-means centroids. Click a legend entry to highlight a cluster.`,
      section: 'embedding',
      renderer: 'canvas',
      spec: { datasets: { points, centroids: cents }, hconcat: [panel('pc2', 1), panel('pc3', 2)], resolve: { scale: { color: 'shared' } } },
    },
  ];
}

function clusterCharts(data: ReportData): Chart[] {
  const charts: Chart[] = [];
  const total = data.clusters.reduce((a, c) => a + c.size, 0) || 1;
  const sizes = data.clusters.map((c) => ({ cluster: clusterLabel(data, c.cluster), size: c.size, percent: (100 * c.size) / total }));
  const domain = sizes.map((s) => s.cluster);
  const color = { field: 'cluster', type: 'nominal', scale: { scheme: CLUSTER_SCHEME, domain }, legend: null } as const;
  const many = sizes.length > 40;
  charts.push({
    id: 'cluster-sizes',
    title: 'Cluster sizes',
    section: 'clusters',
    renderer: 'svg',
    spec: {
      data: { values: sizes },
      width: many ? { step: 8 } : Math.max(WIDTH, sizes.length * 28),
      height: 180,
      layer: [
        { mark: { type: 'bar' } },
        ...(many ? [] : [{ mark: { type: 'text' as const, dy: -6 }, encoding: { text: { field: 'size', format: ',' } } }]),
      ],
      encoding: {
        x: { field: 'cluster', type: 'nominal', sort: null, title: 'cluster' },
        y: { field: 'size', type: 'quantitative', title: 'fragments' },
        color,
        tooltip: [{ field: 'cluster' }, { field: 'size', format: ',' }, { field: 'percent', format: '.2f', title: '% of fragments' }],
      },
    },
  });
  const gcRows = data.gcByCluster.map((r) => {
    const size = data.clusters.find((c) => c.cluster === r.cluster)?.size ?? 1;
    return { cluster: clusterLabel(data, r.cluster), gc: r.gc, gc_end: r.gc + 2, reads: r.reads, percent: (100 * r.reads) / size };
  });
  charts.push({
    id: 'cluster-gc',
    title: 'GC content by cluster',
    note: 'Share of each cluster’s fragments per 2% GC bin (all fragments, not a sample).',
    section: 'clusters',
    renderer: 'svg',
    spec: {
      data: { values: gcRows },
      mark: { type: 'rect' },
      width: WIDTH * 1.4,
      height: many ? { step: 6 } : { step: 16 },
      encoding: {
        x: { field: 'gc', type: 'quantitative', bin: { binned: true, step: 2 }, title: 'fragment GC %', scale: { domain: [0, 100] } },
        x2: { field: 'gc_end' },
        y: { field: 'cluster', type: 'nominal', sort: domain, title: 'cluster' },
        color: { field: 'percent', type: 'quantitative', title: '% of cluster', scale: { scheme: 'blues' } },
        tooltip: [{ field: 'cluster' }, { field: 'gc', title: 'GC % (bin start)' }, { field: 'reads', format: ',' }, { field: 'percent', format: '.2f' }],
      },
    },
  });
  const lens = data.clusters.map((c) => ({
    cluster: clusterLabel(data, c.cluster),
    mean: c.len_mean,
    q05: c.len_q[0],
    q25: c.len_q[1],
    median: c.len_q[2],
    q75: c.len_q[3],
    q95: c.len_q[4],
  }));
  charts.push({
    id: 'cluster-length',
    title: 'Fragment length by cluster',
    note: 'Total length of both mates after QC: 5–95% range (line), quartiles (bar), median (tick).',
    section: 'clusters',
    renderer: 'svg',
    spec: {
      data: { values: lens },
      width: WIDTH * 1.4,
      height: many ? { step: 6 } : { step: 16 },
      encoding: {
        y: { field: 'cluster', type: 'nominal', sort: domain, title: 'cluster' },
        tooltip: [{ field: 'cluster' }, { field: 'mean', format: '.1f' }, { field: 'q05' }, { field: 'q25' }, { field: 'median' }, { field: 'q75' }, { field: 'q95' }],
      },
      layer: [
        { mark: { type: 'rule', color: '#888' }, encoding: { x: { field: 'q05', type: 'quantitative', title: 'fragment length (bp)', scale: { zero: false } }, x2: { field: 'q95' } } },
        { mark: { type: 'bar', size: 10, color: '#9ecae1' }, encoding: { x: { field: 'q25', type: 'quantitative' }, x2: { field: 'q75' } } },
        { mark: { type: 'tick', color: '#08519c', thickness: 2, size: 12 }, encoding: { x: { field: 'median', type: 'quantitative' } } },
      ],
    },
  });
  if (data.objective.length > 0) {
    const obj = data.objective.map((v, i) => ({ iteration: i + 1, objective: v }));
    charts.push({
      id: 'kmeans-objective',
      title: 'k-means objective per iteration',
      note: 'The run kept by the restarts (clusters.nc variable objective).',
      section: 'clusters',
      renderer: 'svg',
      spec: {
        data: { values: obj },
        width: WIDTH,
        height: 160,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'iteration', type: 'quantitative' },
          y: { field: 'objective', type: 'quantitative', scale: { zero: false } },
          tooltip: [{ field: 'iteration' }, { field: 'objective', format: '.6g' }],
        },
      },
    });
  }
  const scores = data.summary.k_selection?.scores ?? [];
  if (scores.length > 0) {
    const chosen = data.summary.k;
    charts.push({
      id: 'k-selection',
      title: `Choosing K (${data.summary.k_selection?.method ?? ''})`,
      note: data.summary.k_selection?.reason,
      section: 'clusters',
      renderer: 'svg',
      spec: {
        data: { values: scores.map((s) => ({ ...s, chosen: s.k === chosen ? 'chosen' : 'candidate' })) },
        width: WIDTH,
        height: 160,
        layer: [
          { mark: { type: 'line', color: '#4c78a8' } },
          {
            mark: { type: 'point', filled: true, size: 60 },
            encoding: { color: { field: 'chosen', type: 'nominal', title: null, scale: { domain: ['candidate', 'chosen'], range: ['#4c78a8', '#e45756'] } } },
          },
        ],
        encoding: {
          x: { field: 'k', type: 'quantitative', title: 'K', axis: { tickMinStep: 1 } },
          y: { field: 'score', type: 'quantitative', scale: { zero: false } },
          tooltip: [{ field: 'k' }, { field: 'score', format: '.4f' }, { field: 'inertia', format: '.4g' }],
        },
      },
    });
  }
  return charts;
}

/** The largest clusters and classes shown in the confusion heatmap. */
const MAX_HEATMAP_CLUSTERS = 60;
const MAX_HEATMAP_CLASSES = 40;

function evaluationCharts(data: ReportData): Chart[] {
  const ev = data.evaluation;
  if (!ev) return [];
  const conf = ev.confusion;
  const classNames = conf.classNames ?? ev.classNames ?? [];
  const clusterIds = asArray(conf.clusterIds);
  const rows = asArray(conf.rows);
  const cols = asArray(conf.cols);
  const counts = asArray(conf.counts);
  const classTotals = asArray(conf.classTotals);
  const unassigned = asArray(conf.unassigned);
  const clusterSize = new Map<number, number>();
  for (let i = 0; i < counts.length; i++) {
    const cid = clusterIds[rows[i]!]!;
    clusterSize.set(cid, (clusterSize.get(cid) ?? 0) + counts[i]!);
  }
  const keptClusters = new Set([...clusterSize.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_HEATMAP_CLUSTERS).map(([c]) => c));
  const classOrder = classNames.map((n, j) => ({ n, j, t: classTotals[j] ?? 0 })).sort((a, b) => b.t - a.t);
  const keptClasses = new Set(classOrder.slice(0, MAX_HEATMAP_CLASSES).map((c) => c.j));
  const cells: Row[] = [];
  for (let i = 0; i < counts.length; i++) {
    const cid = clusterIds[rows[i]!]!;
    const j = cols[i]!;
    if (!keptClusters.has(cid) || !keptClasses.has(j)) continue;
    const size = clusterSize.get(cid) ?? 1;
    cells.push({ cluster: clusterLabel(data, cid), class: classNames[j] ?? String(j), reads: counts[i]!, percent: (100 * counts[i]!) / size });
  }
  const unassignedTotal = unassigned.reduce((a, b) => a + b, 0);
  if (unassignedTotal > 0) {
    for (const j of keptClasses) {
      const u = unassigned[j] ?? 0;
      if (u > 0) cells.push({ cluster: 'unassigned', class: classNames[j] ?? String(j), reads: u, percent: (100 * u) / unassignedTotal });
    }
  }
  const clusterSort = [...clusterSize.keys()].filter((c) => keptClusters.has(c)).sort((a, b) => a - b).map((c) => clusterLabel(data, c));
  if (unassignedTotal > 0) clusterSort.push('unassigned');
  const classSort = classOrder.filter((c) => keptClasses.has(c.j)).map((c) => c.n);
  const truncated = clusterSize.size > MAX_HEATMAP_CLUSTERS || classNames.length > MAX_HEATMAP_CLASSES;
  const charts: Chart[] = [
    {
      id: 'confusion',
      title: 'Confusion matrix: clusters × truth classes',
      note:
        'Colour: share of the cluster’s reads in each class (rows sum to 100%); numbers are reads. The “unassigned” row holds truth reads without a label (dropped by QC or dedup).' +
        (truncated ? ` Showing the ${MAX_HEATMAP_CLUSTERS} largest clusters and ${MAX_HEATMAP_CLASSES} largest classes.` : ''),
      section: 'evaluation',
      renderer: 'svg',
      spec: {
        data: { values: cells },
        width: { step: classSort.length > 20 ? 22 : 64 },
        height: { step: clusterSort.length > 30 ? 12 : 22 },
        encoding: {
          x: { field: 'class', type: 'nominal', sort: classSort, title: 'truth class', axis: { labelAngle: -35, labelLimit: 160 } },
          y: { field: 'cluster', type: 'nominal', sort: clusterSort, title: 'cluster' },
        },
        layer: [
          {
            mark: { type: 'rect' },
            encoding: {
              color: { field: 'percent', type: 'quantitative', title: '% of cluster', scale: { scheme: 'viridis', domain: [0, 100] } },
              tooltip: [{ field: 'cluster' }, { field: 'class' }, { field: 'reads', format: ',' }, { field: 'percent', format: '.1f', title: '% of cluster' }],
            },
          },
          ...(classSort.length <= 20 && clusterSort.length <= 30
            ? [
                {
                  mark: { type: 'text' as const, fontSize: 9 },
                  encoding: {
                    text: { field: 'reads', type: 'quantitative' as const, format: ',' },
                    color: { condition: { test: 'datum.percent > 55', value: 'black' }, value: 'white' },
                  },
                },
              ]
            : []),
        ],
      },
    },
  ];
  const f1 = (ev.assigned as { f1?: { f1?: unknown; precision?: unknown; recall?: unknown } }).f1;
  const f1s = asArray(f1?.f1);
  if (f1s.length === classNames.length && f1s.length > 0) {
    const prec = asArray(f1?.precision);
    const rec = asArray(f1?.recall);
    charts.push({
      id: 'f1-per-class',
      title: 'Per-class F1 (Hungarian-matched cluster, assigned reads)',
      section: 'evaluation',
      renderer: 'svg',
      spec: {
        data: { values: classNames.map((n, j) => ({ class: n, F1: f1s[j] ?? 0, precision: prec[j] ?? null, recall: rec[j] ?? null, reads: classTotals[j] ?? 0 })) },
        width: WIDTH,
        height: { step: classNames.length > 40 ? 8 : 16 },
        mark: { type: 'bar', color: '#54a24b' },
        encoding: {
          y: { field: 'class', type: 'nominal', sort: '-x', title: null },
          x: { field: 'F1', type: 'quantitative', scale: { domain: [0, 1] } },
          tooltip: [{ field: 'class' }, { field: 'F1', format: '.4f' }, { field: 'precision', format: '.4f' }, { field: 'recall', format: '.4f' }, { field: 'reads', format: ',' }],
        },
      },
    });
  }
  return charts;
}

export function buildCharts(data: ReportData): Chart[] {
  return [...qcCharts(data), ...countCharts(data), ...embeddingCharts(data), ...clusterCharts(data), ...evaluationCharts(data)];
}
