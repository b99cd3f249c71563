/**
 * Gathers what the report shows from a run's outputs (manifest.json, qc_stats.json, shards, labels.parquet,
 * clusters.nc, summary.json, eval.json). Reads only; it never reruns a stage. Everything that grows with the
 * number of reads is aggregated in DuckDB or sampled, so the report's size does not depend on the run's size.
 */
import bindings from '@duckdb/node-bindings';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MetavecError } from '../errors.js';
import { openDuckDB, sqlString } from '../io/duckdb.js';
import { inputExists } from '../io/inputs.js';
import { joinLocation } from '../io/location.js';
import { camelKeys } from '../io/jsonKeys.js';
import { readPrepManifest, resolveInRun, type PrepManifest } from '../io/manifest.js';
import { readClustersNetcdf } from '../io/netcdf.js';
import { pca, project } from './pca.js';

/** Where a run's outputs are. `metavec run --output DIR` gives DIR/prep, DIR/cluster, DIR/eval.json. */
export interface RunLocation {
  /** The run directory (`metavec run --output`), when there is one. */
  runDir?: string;
  prepDir: string;
  clusterDir: string;
  /** eval.json, when the run was evaluated against a truth table. */
  evalPath?: string;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The standard layout of `metavec run --output DIR`. */
export async function locateRun(runDir: string): Promise<RunLocation> {
  // a local directory or an s3:// prefix
  const loc: RunLocation = { runDir, prepDir: joinLocation(runDir, 'prep'), clusterDir: joinLocation(runDir, 'cluster') };
  if (!(await inputExists(joinLocation(loc.prepDir, 'manifest.json')))) {
    throw new MetavecError(
      'INPUT',
      `report: ${runDir} is not a completed 'metavec run' output (no prep/manifest.json; use --prep and --cluster for separate directories)`,
    );
  }
  if (await inputExists(joinLocation(runDir, 'eval.json'))) loc.evalPath = joinLocation(runDir, 'eval.json');
  return loc;
}

export interface QcSide {
  reads: number;
  bases: number;
  mean_quality_by_cycle: (number | null)[];
  base_count_by_cycle: Record<string, number[]>;
  /** reads per 1% GC bin, fractional (src/qc/stats.ts addGc) */
  gc_histogram?: number[];
  /** before the comb fix: reads per rounded GC percent 0..100 */
  gc_percent_histogram?: number[];
  length_histogram: number[];
  mean_quality_histogram: number[];
}
export interface InsertSizeStats {
  histogram: number[];
  overlapping_pairs: number;
  not_overlapping_pairs: number;
  peak: number | null;
  max: number;
}
export interface DuplicationLevelsStats {
  shift: number;
  sampled_distinct: number;
  levels: { level: string; distinct: number; fragments: number }[];
  duplicate_fraction: number;
}
/** qc_stats.json: `read1_before`, `read1_after`, `read2_*` (QcSide), and run-wide statistics. */
export interface QcStats {
  layout?: string;
  insert_size?: InsertSizeStats;
  duplication_levels?: DuplicationLevelsStats;
  [side: string]: unknown;
}

/** One mate and phase of qc_stats.json (`read1_before`, ...), when present. */
export function qcSide(qc: QcStats | undefined, key: string): QcSide | undefined {
  const s = qc?.[key];
  return s && typeof s === 'object' && 'reads' in s ? (s as QcSide) : undefined;
}

export interface SamplePoint {
  read_id: string;
  cluster: number;
  gc: number;
  length: number;
  pc1: number;
  pc2: number;
  pc3: number;
}

export interface ClusterStats {
  cluster: number;
  size: number;
  gc_mean: number;
  /** quantiles 0.05, 0.25, 0.5, 0.75, 0.95 */
  gc_q: number[];
  len_mean: number;
  len_q: number[];
  distance_mean: number;
  /** quantiles 0.05, 0.25, 0.5, 0.75, 0.95 of the distance to the cluster centre */
  dist_q: number[];
  /** mean minimizer occurrence of the cluster's fragments (pooled methods: summary.json method_details) */
  coverage?: number;
}

export interface EvalJson {
  truthReads: number;
  labelledReads: number;
  assignedReads: number;
  assignedFraction: number;
  unassignedReads: number;
  unknownReads: number;
  classNames: string[];
  assigned: Record<string, unknown>;
  allReads: Record<string, unknown>;
  confusion: {
    classNames: string[];
    clusterIds: unknown;
    rows: unknown;
    cols: unknown;
    counts: unknown;
    classTotals: unknown;
    unassigned: unknown;
  };
}

export interface ClusterSummaryJson {
  k: number;
  method?: string;
  fragments?: number;
  k_selection?: { method: string; reason?: string; scores?: { k: number; score: number; inertia: number; gain?: number }[] };
  cluster_sizes?: number[];
  cluster_names?: string[] | Record<string, string>;
  iterations?: number;
  inertia?: number;
  seed?: number;
  algorithm?: string;
  init?: string;
  n_init?: number;
  created?: string;
  /** graph/lsh and later methods: what the method did (fragments_by_group_size, pooled, k_selection, ...) */
  method_details?: MethodDetails;
  [key: string]: unknown;
}

export interface MethodDetails {
  fragments_by_group_size?: Record<string, number>;
  pooled?: { cluster_mean_coverage?: number[]; [key: string]: unknown };
  k_selection?: ClusterSummaryJson['k_selection'];
  [key: string]: unknown;
}

export interface ReportData {
  location: RunLocation;
  manifest: PrepManifest;
  qc?: QcStats;
  summary: ClusterSummaryJson;
  clusterNames?: Map<number, string>;
  objective: number[];
  evaluation?: EvalJson;
  /** Rows in the shards and the number of them plotted. */
  rows: number;
  /** Shards the PCA sample was drawn from, and the number of shards. */
  sampleShards: number;
  shards: number;
  sample: SamplePoint[];
  pcaExplained: number[];
  centroids: { cluster: number; pc1: number; pc2: number; pc3: number }[];
  clusters: ClusterStats[];
  /** Fragments per (cluster, GC percent bin of width 2). */
  gcByCluster: { cluster: number; gc: number; reads: number }[];
  timings: Record<string, number>;
}

/** JSON of typed arrays comes back as {"0": x, "1": y}; accept both that and arrays. */
export function asArray(x: unknown): number[] {
  if (Array.isArray(x)) return x as number[];
  if (x && typeof x === 'object') {
    const o = x as Record<string, number>;
    const n = Object.keys(o).length;
    return Array.from({ length: n }, (_, i) => o[String(i)] ?? 0);
  }
  return [];
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MetavecError('INPUT', `report: cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new MetavecError('INPUT', `report: ${what} ${path} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

function clusterNamesOf(summary: ClusterSummaryJson): Map<number, string> | undefined {
  const names = summary.cluster_names;
  if (!names || typeof names !== 'object') return undefined;
  const m = new Map<number, string>();
  if (Array.isArray(names)) names.forEach((n, i) => typeof n === 'string' && n && m.set(i, n));
  else for (const [k, v] of Object.entries(names)) if (typeof v === 'string' && v && Number.isInteger(Number(k))) m.set(Number(k), v);
  return m.size > 0 ? m : undefined;
}

/** Rows whose embeddings are decoded to draw the PCA sample from (about 1 s per million on this machine). */
export const SAMPLE_SCAN_ROWS = 1_000_000;

/** Evenly spaced shards holding at least SAMPLE_SCAN_ROWS rows (all shards for a smaller run). */
export function pickSampleShards(shards: { path: string; rows: number }[]): string[] {
  const total = shards.reduce((a, s) => a + s.rows, 0);
  if (total <= SAMPLE_SCAN_ROWS) return shards.map((s) => s.path);
  const avg = total / Math.max(1, shards.length);
  const want = Math.min(shards.length, Math.ceil(SAMPLE_SCAN_ROWS / Math.max(1, avg)));
  const picked = new Set<number>();
  for (let i = 0; i < want; i++) picked.add(Math.floor(((i + 0.5) * shards.length) / want));
  return [...picked].sort((a, b) => a - b).map((i) => shards[i]!.path);
}

const num = (x: unknown): number => (x === null || x === undefined ? Number.NaN : Number(x));

/** Reads everything the report shows. `sampleSize` embeddings are projected (PCA) and plotted. */
export async function collectReportData(loc: RunLocation, opts: { sampleSize: number; seed?: number }): Promise<ReportData> {
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = (now - t) / 1000;
    t = now;
  };
  const manifest = await readPrepManifest(loc.prepDir);
  const manifestPath = join(loc.prepDir, 'manifest.json');
  const qcPath = manifest.qc_stats?.path ? resolveInRun(loc.prepDir, manifest.qc_stats.path, manifestPath) : undefined;
  const qc = qcPath && (await exists(qcPath)) ? await readJson<QcStats>(qcPath, 'QC statistics') : undefined;
  const summaryPath = join(loc.clusterDir, 'summary.json');
  if (!(await exists(summaryPath))) {
    throw new MetavecError('INPUT', `report: ${summaryPath} not found (did 'metavec cluster' finish? summary.json is written last)`);
  }
  const summary = await readJson<ClusterSummaryJson>(summaryPath, 'cluster summary');
  // eval.json has snake_case keys (older files camelCase): read into EvalJson's fields either way
  const evaluation = loc.evalPath ? camelKeys<EvalJson>(await readJson<unknown>(loc.evalPath, 'evaluation')) : undefined;
  const labelsPath = join(loc.clusterDir, 'labels.parquet');
  if (!(await exists(labelsPath))) throw new MetavecError('INPUT', `report: ${labelsPath} not found`);
  const shardPaths = manifest.shards.map((s) => resolveInRun(loc.prepDir, s.path, manifestPath));
  for (const p of shardPaths) if (!(await exists(p))) throw new MetavecError('MANIFEST', `report: shard ${p} listed in ${manifestPath} is missing`);
  const ncPath = join(loc.clusterDir, 'clusters.nc');
  const nc = (await exists(ncPath)) ? await readClustersNetcdf(ncPath) : undefined;
  lap('read_metadata');

  const dim = manifest.embedding.dim;
  const db = await openDuckDB();
  try {
    const { conn } = db;
    const shardList = `[${shardPaths.map(sqlString).join(', ')}]`;
    await conn.run(
      `CREATE TEMP VIEW frag AS SELECT read_id, embedding, filename,
         (coalesce(gc_r1 * len_r1, 0) + coalesce(gc_r2 * len_r2, 0)) / nullif(len_r1 + coalesce(len_r2, 0), 0) AS gc,
         len_r1 + coalesce(len_r2, 0) AS length
       FROM read_parquet(${shardList}, filename = true)`,
    );
    await conn.run(`CREATE TEMP VIEW lab AS SELECT read_id, cluster, distance FROM read_parquet(${sqlString(labelsPath)})`);
    const rows = shardPaths.length === 0 ? 0 : Number((await conn.runAndReadAll('SELECT count(*) FROM frag')).getRows()[0]![0]);

    // Deterministic sample: the rows with the smallest hash(read_id, seed), joined to their cluster. Decoding
    // embeddings dominates, so a large run is sampled from evenly spaced shards holding ~SAMPLE_SCAN_ROWS rows.
    const seed = opts.seed ?? 0;
    const sampleShards = pickSampleShards(manifest.shards.map((s, i) => ({ path: shardPaths[i]!, rows: s.rows })));
    const sampleFrom = sampleShards.length === shardPaths.length ? 'frag' : `(SELECT * FROM frag WHERE filename IN (${sampleShards.map(sqlString).join(', ')}))`;
    const sampleRes = await conn.stream(
      `WITH s AS (SELECT read_id, gc, length, embedding::FLOAT[${dim}] AS e FROM ${sampleFrom}
                  ORDER BY hash(read_id, ${seed}), read_id LIMIT ${Math.max(0, Math.floor(opts.sampleSize))})
       SELECT s.read_id, l.cluster, s.gc, s.length, s.e FROM s JOIN lab l USING (read_id) ORDER BY s.read_id`,
    );
    const ids: string[] = [];
    const cl: number[] = [];
    const gcs: number[] = [];
    const lens: number[] = [];
    const parts: Float32Array[] = [];
    for (;;) {
      const chunk = await sampleRes.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const m = chunk.rowCount;
      const cols = [0, 1, 2, 3].map((c) => chunk.getColumnVector(c));
      for (let i = 0; i < m; i++) {
        ids.push(String(cols[0]!.getItem(i)));
        cl.push(num(cols[1]!.getItem(i)));
        gcs.push(num(cols[2]!.getItem(i)));
        lens.push(num(cols[3]!.getItem(i)));
      }
      const child = bindings.array_vector_get_child(bindings.data_chunk_get_vector(chunk.chunk, 4));
      const view = bindings.vector_get_data(child, m * dim * 4);
      parts.push(Float32Array.from(new Float32Array(view.buffer, view.byteOffset, m * dim)));
    }
    const n = ids.length;
    const x = new Float32Array(n * dim);
    let off = 0;
    for (const p of parts) {
      x.set(p, off);
      off += p.length;
    }
    lap('sample');
    const p = pca(x, n, dim, 3);
    const proj = project(p, x, n);
    const pc = (r: number, c: number): number => (c < p.components ? proj[r * p.components + c]! : 0);
    const sample: SamplePoint[] = ids.map((id, r) => ({
      read_id: id,
      cluster: cl[r]!,
      gc: gcs[r]!,
      length: lens[r]!,
      pc1: pc(r, 0),
      pc2: pc(r, 1),
      pc3: pc(r, 2),
    }));
    const centroids: ReportData['centroids'] = [];
    if (nc && nc.d === dim && n > 0) {
      const cp = project(p, nc.centroids, nc.k);
      for (let c = 0; c < nc.k; c++) {
        const g = (j: number): number => (j < p.components ? cp[c * p.components + j]! : 0);
        centroids.push({ cluster: c, pc1: g(0), pc2: g(1), pc3: g(2) });
      }
    }
    lap('pca');

    // One join of labels and shard attributes (no embeddings), aggregated twice.
    await conn.run(`CREATE TEMP TABLE joined AS SELECT l.cluster, f.gc, f.length, l.distance FROM lab l LEFT JOIN frag f USING (read_id)`);
    const comp = await conn.runAndReadAll(
      `SELECT cluster, count(*)::BIGINT AS size, avg(gc), quantile_cont(gc, [0.05, 0.25, 0.5, 0.75, 0.95]),
              avg(length), quantile_cont(length, [0.05, 0.25, 0.5, 0.75, 0.95]), avg(distance),
              quantile_cont(distance, [0.05, 0.25, 0.5, 0.75, 0.95])
       FROM joined GROUP BY cluster ORDER BY cluster`,
    );
    const qs = (v: unknown): number[] => {
      const items = (v as { items?: unknown[] } | null)?.items ?? [];
      return items.map(num);
    };
    const coverage = summary.method_details?.pooled?.cluster_mean_coverage;
    const clusters: ClusterStats[] = comp.getRows().map((r) => {
      const c = num(r[0]);
      const cov = Array.isArray(coverage) ? coverage[c] : undefined;
      return {
        cluster: c,
        size: num(r[1]),
        gc_mean: num(r[2]),
        gc_q: qs(r[3]),
        len_mean: num(r[4]),
        len_q: qs(r[5]),
        distance_mean: num(r[6]),
        dist_q: qs(r[7]),
        ...(typeof cov === 'number' && Number.isFinite(cov) ? { coverage: cov } : {}),
      };
    });
    const hist = await conn.runAndReadAll(
      `SELECT cluster, (least(floor(gc * 50), 49) * 2)::INTEGER AS bin, count(*)::BIGINT
       FROM joined WHERE gc IS NOT NULL GROUP BY ALL ORDER BY 1, 2`,
    );
    const gcByCluster = hist.getRows().map((r) => ({ cluster: num(r[0]), gc: num(r[1]), reads: num(r[2]) }));
    lap('composition');
    return {
      location: loc,
      manifest,
      ...(qc ? { qc } : {}),
      summary,
      ...(clusterNamesOf(summary) ? { clusterNames: clusterNamesOf(summary)! } : {}),
      objective: nc ? Array.from(nc.objective) : [],
      ...(evaluation ? { evaluation } : {}),
      rows,
      sampleShards: sampleShards.length,
      shards: shardPaths.length,
      sample,
      pcaExplained: p.explained,
      centroids,
      clusters,
      gcByCluster,
      timings,
    };
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('INPUT', `report: cannot read the run's Parquet files: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  } finally {
    db.close();
  }
}
