/**
 * Vega-Lite specifications of the report's plots, with their (already aggregated or sampled) data inline.
 * Pure: ReportData in, JSON specs out.
 */
import type { TopLevelSpec } from 'vega-lite';
import { asArray, qcSide, type ClusterSummaryJson, type QcSide, type ReportData } from './collect.js';

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
  for (const [m, mate] of MATES) {
    for (const [st, stage] of STAGES) {
      const s = qcSide(data.qc, `${m}_${st}`);
      if (s) out.push({ mate, stage, s });
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
      if (q !== undefined && q !== null && q > 0) quality.push({ mate, stage, cycle: c + 1, quality: q });
      let tot = 0;
      for (const arr of Object.values(s.base_count_by_cycle)) tot += arr[c] ?? 0;
      if (tot > 0) {
        const row: Row = { mate, stage, cycle: c + 1 };
        for (const [b, arr] of Object.entries(s.base_count_by_cycle)) row[b] = (100 * (arr[c] ?? 0)) / tot;
        bases.push(row);
      }
    }
    const reads = Math.max(1, s.reads);
    if (s.gc_histogram) {
      // 1% bins [i, i + 1)%, each covering the same width of possible GC values (docs/report.md)
      s.gc_histogram.forEach((v, i) => gc.push({ mate, stage, gc: i, gc_end: i + 1, percent: (100 * v) / reads }));
    } else if (s.gc_percent_histogram) {
      // qc_stats.json before the comb fix: reads by rounded GC percent
      s.gc_percent_histogram.forEach((v, i) => gc.push({ mate, stage, gc: i, gc_end: i + 1, percent: (100 * v) / reads }));
    }
    s.length_histogram.forEach((v, i) => v > 0 && length.push({ mate, stage, length: i, length_end: i + 1, reads: v }));
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
      note: 'Reads by GC percent (of A/C/G/T bases), 1% bins. A 150 bp read can only have GC 0, 1/150, 2/150, …: each of those values is spread evenly over its own 1/151-wide cell, so every bin covers the same width of possible values (no comb of alternating bars).',
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
          tooltip: [{ field: 'mate' }, { field: 'stage' }, { field: 'gc', title: 'GC % from' }, { field: 'gc_end', title: 'to' }, { field: 'percent', format: '.3f', title: '% of reads' }],
        },
      },
    },
    {
      id: 'qc-length',
      title: 'Read length distribution',
      note: 'Reads by length (bars; log scale, so the few reads shortened by trimming stay visible next to the full-length peak).',
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: length },
        mark: { type: 'bar', opacity: 0.75 },
        width: w,
        height: 160,
        encoding: {
          x: { field: 'length', type: 'quantitative', title: 'length (bp)', scale: { zero: false } },
          x2: { field: 'length_end' },
          y: { field: 'reads', type: 'quantitative', title: 'reads (log scale)', scale: { type: 'log', domainMin: 0.5 }, axis: { format: '~s', values: [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9] } },
          // a log scale has no zero: bars start below one read
          y2: { datum: 0.5 },
          color: stageColor,
          row: { field: 'stage', type: 'nominal', title: null, sort: ['before QC', 'after QC'] },
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
  charts.push(...insertAndDuplicationCharts(data));
  return charts;
}

/** Insert sizes from the mate overlap and duplication levels (qc_stats.json), when present. */
function insertAndDuplicationCharts(data: ReportData): Chart[] {
  const charts: Chart[] = [];
  const ins = data.qc?.insert_size;
  if (ins && ins.overlapping_pairs > 0) {
    const hist = asArray(ins.histogram);
    const rows = hist.map((v, i) => ({ insert: i, insert_end: i + 1, pairs: v, percent: (100 * v) / ins.overlapping_pairs })).filter((r) => r.pairs > 0);
    const compared = ins.overlapping_pairs + ins.not_overlapping_pairs;
    // the longest measurable insert: both reads (before QC) minus the minimum overlap
    const readLen = (k: string): number => Math.max(0, (qcSide(data.qc, k)?.length_histogram.length ?? 1) - 1);
    const minOverlap = Number((data.manifest.parameters as { qc?: { overlapMinLen?: number } } | undefined)?.qc?.overlapMinLen);
    const limit = Number.isFinite(minOverlap) ? readLen('read1_before') + readLen('read2_before') - minOverlap : undefined;
    const limitNote = limit && limit > 0 ? ` Only inserts up to R1 + R2 − the minimum overlap (${limit} bp here) can be measured: bars rising toward that limit are the edge of what the overlap sees, not the library’s peak.` : '';
    charts.push({
      id: 'qc-insert',
      title: 'Insert size (from the mate overlap)',
      note: `${ins.overlapping_pairs.toLocaleString('en-US')} of ${compared.toLocaleString('en-US')} compared pairs (${((100 * ins.overlapping_pairs) / Math.max(1, compared)).toFixed(1)}%) overlap; their insert size is R1 + R2 − overlap (the overlap alone when the insert is shorter than a read), as fastp reports it. The other pairs have longer inserts and are not plotted.${ins.peak !== null ? ` Peak: ${ins.peak} bp.` : ''}${limitNote}${hist.length > ins.max ? ` Inserts of ${ins.max} bp or more are in the last bin.` : ''}`,
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: rows },
        mark: { type: 'bar', color: '#4c78a8' },
        width: WIDTH * 1.6,
        height: 160,
        encoding: {
          x: { field: 'insert', type: 'quantitative', title: 'insert size (bp)', scale: { zero: false } },
          x2: { field: 'insert_end' },
          y: { field: 'percent', type: 'quantitative', title: '% of overlapping pairs' },
          y2: { datum: 0 },
          tooltip: [{ field: 'insert', title: 'insert (bp)' }, { field: 'pairs', format: ',' }, { field: 'percent', format: '.3f', title: '% of overlapping pairs' }],
        },
      },
    });
  }
  const dup = data.qc?.duplication_levels;
  if (dup && dup.levels.length > 0) {
    const frags = dup.levels.reduce((a, l) => a + l.fragments, 0);
    const distinct = dup.levels.reduce((a, l) => a + l.distinct, 0);
    const rows = dup.levels.flatMap((l) => [
      { level: l.level, measure: '% of fragments', percent: (100 * l.fragments) / Math.max(1, frags), count: l.fragments },
      { level: l.level, measure: '% of distinct sequences', percent: (100 * l.distinct) / Math.max(1, distinct), count: l.distinct },
    ]);
    charts.push({
      id: 'qc-duplication',
      title: 'Duplication levels',
      note: `QC-passed fragments by how many times their sequence (both mates) occurs: ${(100 * dup.duplicate_fraction).toFixed(2)}% are second or later copies. ${
        dup.shift > 0
          ? `Estimated from the ${dup.sampled_distinct.toLocaleString('en-US')} distinct fragments whose fingerprint falls in a 1/${2 ** dup.shift} sample (every copy of a sampled fragment is counted).`
          : 'Exact (every distinct fragment counted).'
      }`,
      section: 'qc',
      renderer: 'svg',
      spec: {
        data: { values: rows },
        mark: { type: 'bar' },
        width: WIDTH * 1.2,
        height: 160,
        encoding: {
          x: { field: 'level', type: 'nominal', sort: dup.levels.map((l) => l.level), title: 'copies of the sequence', axis: { labelAngle: 0 } },
          xOffset: { field: 'measure', type: 'nominal' },
          y: { field: 'percent', type: 'quantitative', title: '%' },
          color: { field: 'measure', type: 'nominal', title: null, scale: { range: ['#4c78a8', '#9ecae9'] } },
          tooltip: [{ field: 'level', title: 'copies' }, { field: 'measure' }, { field: 'percent', format: '.2f' }, { field: 'count', format: ',.0f', title: 'estimated count' }],
        },
      },
    });
  }
  return charts;
}

/** What "reads uncorrectable" means (docs/correction.md), shown with the rate. */
export const UNCORRECTABLE_NOTE =
  'Reads uncorrectable: reads the k-mer-spectrum corrector left with positions it cannot trust (their k-mers are too rare in the sample to tell a sequencing error from low coverage, common for the rare species of a metagenome). They are kept unchanged: this is not a QC failure.';

export interface Rate {
  kind: string;
  rate: string;
  percent: number;
  count: number;
  of: number;
  unit: string;
  /** what the rate means, for the tooltip */
  meaning: string;
}

/**
 * Whether prep corrected errors, from the manifest's parameters.correction: 'on', 'off' (the default since issue 20,
 * docs/correction.md), or the reason pass 2 was skipped. A manifest without the field (older) counts as 'on' when it
 * has correction counts.
 */
export function correctionState(manifest: { parameters?: Record<string, unknown>; counts?: Record<string, number> }): 'on' | 'off' | { skipped: string } {
  const c = manifest.parameters?.correction as { enabled?: unknown; skipped?: unknown } | undefined;
  if (c === undefined || typeof c !== 'object' || c === null) return 'reads_corrected' in (manifest.counts ?? {}) ? 'on' : 'off';
  if (c.enabled === false) return 'off';
  if (typeof c.skipped === 'string') return { skipped: c.skipped };
  return 'on';
}

/** Adapter, duplication, filtering and trimming rates from the manifest counts; correction rates when it ran. */
export function qcRates(counts: Record<string, number>, corrected = true): Rate[] {
  const c = (k: string): number => counts[k] ?? 0;
  const rows: Rate[] = [];
  const add = (kind: string, rate: string, count: number, of: number, unit: string, meaning = ''): void => {
    if (of > 0) rows.push({ kind, rate, percent: (100 * count) / of, count, of, unit, meaning });
  };
  const FRAG = 'fragments (of fragments in)';
  const BASES = 'bases (of bases in)';
  const READS = 'error correction (of reads in)';
  add(FRAG, 'adapter found', c('adapter_fragments_overlap') + c('adapter_fragments_sequence'), c('fragments_in'), 'fragments');
  add(FRAG, 'filtered by QC', c('filtered_total'), c('fragments_in'), 'fragments');
  add('duplicates (of QC-passed fragments)', 'duplicates removed', c('duplicates_removed'), c('fragments_passed_qc'), 'fragments');
  add(BASES, 'adapter bases trimmed', c('adapter_bases_trimmed'), c('bases_in'), 'bases');
  add(BASES, 'quality bases trimmed', c('quality_bases_trimmed') + c('median_rule_bases_trimmed') + c('polyg_bases_trimmed'), c('bases_in'), 'bases');
  if (!corrected) return rows;
  if ('bases_corrected' in counts) add(BASES, 'bases error-corrected', c('bases_corrected'), c('bases_in'), 'bases');
  if ('reads_corrected' in counts) add(READS, 'reads error-corrected', c('reads_corrected'), c('reads_in'), 'reads');
  if ('reads_uncorrectable' in counts) add(READS, 'reads uncorrectable', c('reads_uncorrectable'), c('reads_in'), 'reads', UNCORRECTABLE_NOTE);
  return rows;
}

function countCharts(data: ReportData): Chart[] {
  const counts = data.manifest.counts ?? {};
  const corrected = correctionState(data.manifest) === 'on';
  const rates = qcRates(counts, corrected);
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
    const kinds = Array.from(new Set(rates.map((r) => r.kind)));
    charts.push({
      id: 'qc-rates',
      title: 'Adapter, trimming, filtering, duplication and correction rates',
      note: `Each group has its own scale and denominator. ${corrected && 'reads_uncorrectable' in counts ? UNCORRECTABLE_NOTE : ''}`,
      section: 'qc',
      renderer: 'svg',
      // one panel per group (vconcat: a faceted layer with independent scales makes Vega-Lite warn)
      spec: {
        data: { values: rates },
        vconcat: kinds.map((kind) => ({
          title: { text: kind, anchor: 'start' as const, fontSize: 11 },
          transform: [{ filter: { field: 'kind', equal: kind } }],
          width: WIDTH * 1.3,
          height: { step: 18 },
          layer: [
            { mark: { type: 'bar' as const, color: '#4c78a8' } },
            { mark: { type: 'text' as const, align: 'left' as const, dx: 3 }, encoding: { text: { field: 'percent', type: 'quantitative' as const, format: '.2f' } } },
          ],
          encoding: {
            y: { field: 'rate', type: 'nominal' as const, sort: null, title: null, axis: { labelLimit: 200, minExtent: 150 } },
            x: { field: 'percent', type: 'quantitative' as const, title: '%', scale: { domainMin: 0, nice: true } },
            tooltip: [{ field: 'rate' }, { field: 'count', format: ',' }, { field: 'of', format: ',' }, { field: 'unit' }, { field: 'percent', format: '.3f' }, { field: 'meaning' }],
          },
        })),
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
      note: `${data.sample.length.toLocaleString('en-US')} of ${data.rows.toLocaleString('en-US')} fragments (a deterministic sample by hash of read_id${data.sampleShards < data.shards ? ` from ${data.sampleShards} evenly spaced of the ${data.shards} shards` : ''}), coloured by cluster; crosses are the ${data.summary.method_details ? 'cluster centres (the pooled profile of each cluster’s fragments)' : 'k-means centroids'}. Click a legend entry to highlight a cluster.`,
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
  charts.push(...clusterSpreadCharts(data, domain, many));
  charts.push(...methodCharts(data, domain));
  return charts;
}

/** The quantile chart of one per-cluster quantity (5–95% rule, quartile bar, median tick). */
function quantileChart(id: string, title: string, note: string, axisTitle: string, rows: Row[], domain: string[], many: boolean): Chart {
  return {
    id,
    title,
    note,
    section: 'clusters',
    renderer: 'svg',
    spec: {
      data: { values: rows },
      width: WIDTH * 1.4,
      height: many ? { step: 6 } : { step: 16 },
      encoding: {
        y: { field: 'cluster', type: 'nominal', sort: domain, title: 'cluster' },
        tooltip: [{ field: 'cluster' }, { field: 'mean', format: '.4g' }, { field: 'q05', format: '.4g' }, { field: 'q25', format: '.4g' }, { field: 'median', format: '.4g' }, { field: 'q75', format: '.4g' }, { field: 'q95', format: '.4g' }],
      },
      layer: [
        { mark: { type: 'rule', color: '#888' }, encoding: { x: { field: 'q05', type: 'quantitative', title: axisTitle, scale: { zero: false } }, x2: { field: 'q95' } } },
        { mark: { type: 'bar', size: 10, color: '#9ecae1' }, encoding: { x: { field: 'q25', type: 'quantitative' }, x2: { field: 'q75' } } },
        { mark: { type: 'tick', color: '#08519c', thickness: 2, size: 12 }, encoding: { x: { field: 'median', type: 'quantitative' } } },
      ],
    },
  };
}

/**
 * How tight each cluster is (distance to its centre), and fragment length only when it varies: with
 * fixed-length reads nearly every fragment is full length (2 x 150 bp), so every quartile is the same value and
 * a length chart shows nothing.
 */
function clusterSpreadCharts(data: ReportData, domain: string[], many: boolean): Chart[] {
  const charts: Chart[] = [];
  const q = (c: { cluster: number }, mean: number, v: number[]): Row => ({
    cluster: clusterLabel(data, c.cluster), mean, q05: v[0] ?? null, q25: v[1] ?? null, median: v[2] ?? null, q75: v[3] ?? null, q95: v[4] ?? null,
  });
  const pooled = data.summary.method_details !== undefined;
  const dist = data.clusters.filter((c) => c.dist_q.length === 5 && c.dist_q.every(Number.isFinite));
  if (dist.length > 0 && dist.some((c) => c.dist_q[4]! > c.dist_q[0]!)) {
    charts.push(
      quantileChart(
        'cluster-distance',
        'Distance to the cluster centre',
        pooled
          ? 'labels.parquet distance: each fragment carries its read group’s distance to the cluster centre in the pooled features (square-root composition, plus coverage). 5–95% range (line), quartiles (bar), median (tick); a wide bar is a loose cluster.'
          : 'labels.parquet distance: Euclidean distance of each fragment’s embedding to its cluster’s centroid. 5–95% range (line), quartiles (bar), median (tick); a wide bar is a loose cluster.',
        'distance to the centre',
        dist.map((c) => q(c, c.distance_mean, c.dist_q)),
        domain,
        many,
      ),
    );
  }
  const lens = data.clusters.filter((c) => c.len_q.length === 5);
  if (lens.some((c) => c.len_q[3]! > c.len_q[1]!)) {
    charts.push(
      quantileChart('cluster-length', 'Fragment length by cluster', 'Total length of both mates after QC: 5–95% range (line), quartiles (bar), median (tick).', 'fragment length (bp)', lens.map((c) => q(c, c.len_mean, c.len_q)), domain, many),
    );
  }
  return charts;
}

/** 1-2-5 ticks of a log axis around the values (Vega's default draws every minor line). */
export function logTicks(values: number[]): number[] {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return [1];
  const lo = Math.floor(Math.log10(Math.min(...pos) / 2));
  const hi = Math.ceil(Math.log10(Math.max(...pos) * 2));
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of [1, 2, 5]) out.push(+(m * 10 ** e).toPrecision(3));
  return out;
}

/** The K search, from method_details.k_selection (newer methods) or summary.json k_selection. */
function kSelectionOf(data: ReportData): ClusterSummaryJson['k_selection'] {
  return data.summary.method_details?.k_selection ?? data.summary.k_selection;
}

/**
 * What the clustering method did: for k-means the objective per iteration; for methods that describe
 * themselves in summary.json method_details (graph, lsh, ...) the read-group sizes and coverage vs GC of the
 * clusters; for both the K search when K was chosen automatically.
 */
function methodCharts(data: ReportData, domain: string[]): Chart[] {
  const charts: Chart[] = [];
  const details = data.summary.method_details;
  if (!details && data.objective.length > 1) {
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
          x: { field: 'iteration', type: 'quantitative', axis: { tickMinStep: 1 } },
          y: { field: 'objective', type: 'quantitative', scale: { zero: false } },
          tooltip: [{ field: 'iteration' }, { field: 'objective', format: '.6g' }],
        },
      },
    });
  }
  const groups = details?.fragments_by_group_size;
  if (groups && typeof groups === 'object') {
    const entries = Object.entries(groups).filter(([, v]) => typeof v === 'number');
    const total = entries.reduce((a, [, v]) => a + v, 0);
    if (total > 0) {
      charts.push({
        id: 'group-sizes',
        title: 'Fragments by read-group size',
        note: 'The method first joins fragments into read groups (overlapping reads, or LSH buckets), then clusters the pooled groups: fragments by the size of the group they ended in. Singletons were clustered on their own composition; large groups mean long assembled-like stretches of one genome.',
        section: 'clusters',
        renderer: 'svg',
        spec: {
          data: { values: entries.map(([size, v]) => ({ size, fragments: v, percent: (100 * v) / total })) },
          width: WIDTH,
          height: 160,
          layer: [
            { mark: { type: 'bar', color: '#4c78a8' } },
            { mark: { type: 'text', dy: -6 }, encoding: { text: { field: 'percent', format: '.1f' } } },
          ],
          encoding: {
            x: { field: 'size', type: 'nominal', sort: entries.map(([k]) => k), title: 'fragments in the read group', axis: { labelAngle: 0 } },
            y: { field: 'fragments', type: 'quantitative' },
            tooltip: [{ field: 'size', title: 'group size' }, { field: 'fragments', format: ',' }, { field: 'percent', format: '.2f', title: '% of fragments' }],
          },
        },
      });
    }
  }
  const withCov = data.clusters.filter((c) => c.coverage !== undefined && Number.isFinite(c.gc_mean));
  if (withCov.length > 0) {
    charts.push({
      id: 'cluster-coverage-gc',
      title: 'Coverage vs GC of the clusters',
      note: 'One disc per cluster (area: fragments): mean GC of its fragments and their mean minimizer occurrence, the coverage the method clustered on. Genomes usually separate by GC, coverage or both; two clusters close on both axes may be one genome split.',
      section: 'clusters',
      renderer: 'svg',
      spec: {
        data: { values: withCov.map((c) => ({ cluster: clusterLabel(data, c.cluster), gc: 100 * c.gc_mean, coverage: c.coverage!, fragments: c.size })) },
        width: WIDTH,
        height: WIDTH * 0.75,
        layer: [
          {
            mark: { type: 'circle', opacity: 0.75, stroke: 'black', strokeWidth: 0.5 },
            encoding: { size: { field: 'fragments', type: 'quantitative', scale: { range: [40, 1200] }, legend: null } },
          },
          { mark: { type: 'text', dy: -16, fontSize: 11 }, encoding: { text: { field: 'cluster' }, color: { value: 'black' } } },
        ],
        encoding: {
          x: { field: 'gc', type: 'quantitative', title: 'mean GC %', scale: { zero: false, padding: 24 } },
          y: { field: 'coverage', type: 'quantitative', title: 'mean minimizer occurrence (log)', scale: { type: 'log', padding: 24 }, axis: { values: logTicks(withCov.map((c) => c.coverage!)), format: '~g' } },
          color: { field: 'cluster', type: 'nominal', scale: { scheme: CLUSTER_SCHEME, domain }, legend: null },
          tooltip: [{ field: 'cluster' }, { field: 'fragments', format: ',' }, { field: 'gc', format: '.2f', title: 'mean GC %' }, { field: 'coverage', format: '.3g' }],
        },
      },
    });
  }
  const sel = kSelectionOf(data);
  const scores = sel?.scores ?? [];
  if (scores.length > 0) {
    const chosen = data.summary.k;
    const splitMerge = sel?.method === 'split-merge';
    // both pooled K searches record the weighted inertia per K tried
    const elbow = sel?.method === 'elbow' || splitMerge;
    charts.push({
      id: 'k-selection',
      title: splitMerge
        ? 'Choosing K: weighted inertia while over-splitting, then merging what noise cannot tell apart'
        : elbow ? 'Choosing K: weighted inertia per K (elbow)' : `Choosing K (${sel?.method ?? ''})`,
      note: [
        splitMerge
          ? 'The groups are over-split while one more cluster still lowers the inertia; clusters closer than their sampling noise plus a floor are then merged, which gives the K reported (docs/graph.md "Depth").'
          : elbow ? 'Each K is fitted in turn; the search stops when one more cluster lowers the inertia by less than the elbow gain, or when the inertia is within what sampling noise explains.' : '',
        sel?.reason ?? '',
      ].filter(Boolean).join(' '),
      section: 'clusters',
      renderer: 'svg',
      spec: {
        data: { values: scores.map((x) => ({ ...x, chosen: x.k === chosen ? 'chosen' : 'candidate' })) },
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
          x: { field: 'k', type: 'quantitative', title: 'K', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: elbow ? 'inertia' : 'score', type: 'quantitative', title: elbow ? 'weighted inertia' : 'score', scale: { zero: false } },
          tooltip: [{ field: 'k' }, { field: 'score', format: '.4f' }, { field: 'inertia', format: '.4g' }, ...(elbow ? [{ field: 'gain', format: '.2%', title: 'inertia lowered by' }] : [])],
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
