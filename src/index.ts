/**
 * metavec as a library: the calls a notebook or another tool makes, with the command line's defaults.
 *
 * ```ts
 * import { prep, cluster, evaluate, readPrep, readLabelsParquet } from 'metavec';
 * const p = await prep({ inputs: ['R1.fastq.gz'], inputs2: ['R2.fastq.gz'], output: 'out/prep' });
 * const c = await cluster({ input: 'out/prep', output: 'out/cluster', method: 'kmeans', k: 7 });
 * const e = await evaluate('out/cluster/labels.parquet', 'truth.tsv.gz');
 * ```
 *
 * Everything here returns results and throws {@link MetavecError} (with a `code`); nothing prints or exits.
 * Output formats: docs/formats.md. Names not exported here are internal and may change.
 */
import { clusterOptionsFrom } from './cli/cluster.js';
import { prepOptionsFrom } from './cli/prep.js';
import { createEmbedder } from './embed/index.js';
import type { EmbedSpec, FragmentSeqs } from './embed/types.js';
import type { EvalReport } from './evaluate/index.js';
import { toJson } from './io/jsonKeys.js';
import { joinLocation, resolveLocation } from './io/location.js';
import { readPrepManifest, verifyShards, type PrepManifest } from './io/manifest.js';
import { readShards, type ShardMatrix } from './io/shards.js';
import { openOutputStore } from './io/store.js';
import { runPrep } from './pipeline/prepEngines.js';
import type { PrepOptions, PrepSummary } from './pipeline/prepOptions.js';
import { runCluster, runEval, type ClusterOptions, type ClusterSummary } from './pipeline/phase2.js';
import { silentProgress } from './pipeline/progress.js';
import { MetavecError } from './errors.js';
import { DEFAULT_REPORT_SAMPLE, writeReport, type ReportResult } from './report/index.js';

// ---- Phase 1, Phase 2, eval, report -------------------------------------------------------------------------

export type { PrepOptions, PrepSummary } from './pipeline/prepOptions.js';
export type { ClusterOptions, ClusterSummary, ClusterMethod } from './pipeline/phase2.js';
export { CLUSTER_METHODS, DEFAULT_CLUSTER_METHOD } from './pipeline/phase2.js';
export { createProgress, silentProgress, type ProgressSink } from './pipeline/progress.js';

/** What {@link prep} needs: inputs and output; every other PrepOptions field defaults as on the command line. */
export type PrepRequest = Partial<Omit<PrepOptions, 'inputs' | 'output' | 'qc'>> & {
  /** FASTQ/FASTA files (plain or .gz), local paths or s3:// URIs; mate 1 for paired input */
  inputs: string[];
  /** mate 2 files, in the order of `inputs` (absent: single-end or interleaved) */
  inputs2?: string[];
  /** the prep directory (shards/, manifest.json, qc_stats.json) */
  output: string;
  /** QC parameters to change; the others keep their defaults */
  qc?: Partial<PrepOptions['qc']>;
};

/**
 * The complete options `metavec prep` would use for this request: the command line's defaults (threads =
 * available cores, k-mer profile k=4, correction, dedup, minimizer sketch...) overridden by the request's
 * fields. Setting `kmer` or `normalisation` without `embed` changes the k-mer profile embedding.
 */
export function prepOptions(req: PrepRequest): PrepOptions {
  const { inputs, inputs2, output, qc, ...rest } = req;
  const base = prepOptionsFrom('prep', { input: inputs, input2: inputs2 ?? [], output, ...(rest.threads !== undefined ? { threads: String(rest.threads) } : {}) }, silentProgress);
  const opts: PrepOptions = { ...base, ...rest, qc: { ...base.qc, ...qc } };
  if (req.embed === undefined && (req.kmer !== undefined || req.normalisation !== undefined)) {
    opts.embed = { method: 'kmer', k: opts.kmer, normalisation: opts.normalisation };
  }
  return opts;
}

/** Phase 1 (`metavec prep`): reads -> QC -> correction -> dedup -> embedding -> Parquet shards + manifest.json. */
export function prep(req: PrepRequest): Promise<PrepSummary> {
  return runPrep(prepOptions(req));
}

/** What {@link cluster} needs: the prep directory and the output; every other field defaults as on the command line. */
export type ClusterRequest = Partial<Omit<ClusterOptions, 'input' | 'output' | 'pooled'>> & {
  /** a prep directory (its manifest.json), local or s3:// */
  input: string;
  /** the cluster directory (labels.parquet, clusters.nc, summary.json, bins.binning) */
  output: string;
  /** graph / lsh parameters to change, per group (graph, normalized, merge, lsh, pooled); the others keep their defaults */
  pooled?: { [G in keyof NonNullable<ClusterOptions['pooled']>]?: Partial<NonNullable<ClusterOptions['pooled']>[G]> };
};

/** The complete options `metavec cluster` would use for this request (defaults of the command line). */
export function clusterOptions(req: ClusterRequest): ClusterOptions {
  const { input, output, pooled, ...rest } = req;
  const base = clusterOptionsFrom(
    'cluster',
    {
      output,
      ...(rest.method !== undefined ? { method: rest.method } : {}),
      ...(rest.engine !== undefined ? { engine: rest.engine } : {}),
      ...(rest.threads !== undefined ? { threads: String(rest.threads) } : {}),
      // the method-dependent defaults (K range, group size) follow the coverage target as on the command line
      ...(pooled?.normalized?.targetCoverage !== undefined ? { 'target-coverage': String(pooled.normalized.targetCoverage) } : {}),
    },
    input,
    silentProgress,
  );
  if (!base.pooled) throw new MetavecError('INTERNAL', 'clusterOptions: the command line gave no graph/lsh defaults');
  const merged: NonNullable<ClusterOptions['pooled']> = { ...base.pooled };
  for (const [group, values] of Object.entries(pooled ?? {}) as [keyof typeof merged, object | undefined][]) {
    if (values) Object.assign(merged, { [group]: { ...base.pooled[group], ...values } });
  }
  return { ...base, ...rest, pooled: merged };
}

/** Phase 2 (`metavec cluster`): shards -> labels.parquet, clusters.nc, summary.json. */
export function cluster(req: ClusterRequest): Promise<ClusterSummary> {
  return runCluster(clusterOptions(req));
}

/**
 * `metavec eval`: a labels.parquet file against a truth table (TSV, optionally gzipped, `read_id` + the
 * column): ARI, NMI, purity, completeness, Hungarian F1, over assigned reads and over all reads.
 */
export function evaluate(labels: string, truth: string, column = 'species'): Promise<EvalReport & { labels: { path: string; sha256: string } }> {
  return runEval(labels, truth, column);
}

/** What {@link run} needs: the run directory, the reads, and optionally a truth table and option overrides. */
export interface RunRequest {
  inputs: string[];
  inputs2?: string[];
  /** the run directory: prep/, cluster/, eval.json (with a truth table), report.html, run.json */
  output: string;
  truth?: string;
  truthColumn?: string;
  prep?: Omit<PrepRequest, 'inputs' | 'inputs2' | 'output'>;
  cluster?: Omit<ClusterRequest, 'input' | 'output'>;
  /** write report.html (default true); `reportSample` embeddings in its PCA plot */
  report?: boolean;
  reportSample?: number;
}

export interface RunResult {
  output: string;
  prep: PrepSummary;
  cluster: ClusterSummary;
  eval?: EvalReport;
  report?: ReportResult;
}

/**
 * `metavec run` without the catalog: prep into DIR/prep, cluster into DIR/cluster, eval.json against the
 * truth table when given, report.html, and run.json (written last).
 */
export async function run(req: RunRequest): Promise<RunResult> {
  const out = resolveLocation(req.output);
  const store = await openOutputStore(out);
  try {
    const prepSummary = await prep({ ...req.prep, inputs: req.inputs, ...(req.inputs2 ? { inputs2: req.inputs2 } : {}), output: joinLocation(out, 'prep') });
    // DIR/cluster belongs to this run: a cluster made from an earlier prep of DIR is replaced, as `metavec run` does
    const clusterSummary = await cluster({ overwrite: true, ...req.cluster, input: joinLocation(out, 'prep'), output: joinLocation(out, 'cluster') });
    let evaluation;
    if (req.truth !== undefined) {
      evaluation = await evaluate(joinLocation(out, 'cluster', 'labels.parquet'), req.truth, req.truthColumn ?? 'species');
      await store.putBytes('eval.json', toJson(evaluation));
    }
    let report;
    if (req.report ?? true) {
      const loc = {
        runDir: out,
        prepDir: joinLocation(out, 'prep'),
        clusterDir: joinLocation(out, 'cluster'),
        ...(evaluation ? { evalPath: joinLocation(out, 'eval.json') } : {}),
      };
      report = await writeReport(loc, joinLocation(out, 'report.html'), { sampleSize: req.reportSample ?? DEFAULT_REPORT_SAMPLE });
    }
    const result: RunResult = { output: out, prep: prepSummary, cluster: clusterSummary, ...(evaluation ? { eval: evaluation } : {}), ...(report ? { report } : {}) };
    await store.putBytes(
      'run.json',
      toJson({ ...result, ...(report ? { report: { path: report.path, bytes: report.bytes, charts: report.charts } } : {}) }),
    );
    return result;
  } finally {
    await store.close();
  }
}

export { writeReport, locateRun, DEFAULT_REPORT_SAMPLE, type ReportResult, type RunLocation } from './report/index.js';

// ---- reading and writing the outputs ------------------------------------------------------------------------

export { readPrepManifest, verifyShards, PREP_SCHEMA, type PrepManifest, type ManifestShard } from './io/manifest.js';
export { readShards, scanShards, type ShardMatrix, type ShardBatch } from './io/shards.js';
export { readLabelsParquet, writeLabelsParquet, LABELS_COLUMNS, type LabelsTable } from './io/labels.js';
export { readClustersNetcdf, type ClustersNetcdfContent } from './io/netcdf.js';
export { sha256File } from './io/checksum.js';

/** A prep directory read back: its manifest and every fragment's embedding (shards verified against their sha256). */
export async function readPrep(dir: string): Promise<{ manifest: PrepManifest } & ShardMatrix> {
  const manifest = await readPrepManifest(dir);
  const paths = await verifyShards(dir, manifest);
  return { manifest, ...(await readShards(paths, manifest.embedding.dim)) };
}

// ---- evaluation ---------------------------------------------------------------------------------------------

export {
  loadTruth,
  evaluateClustering,
  evaluateLabels,
  formatEvalReport,
  contingencyTable,
  linearSumAssignment,
  type ClusteringMetrics,
  type EvaluateOptions,
  type EvalReport,
  type ClusterLabels,
  type Contingency,
  type Assignment,
} from './evaluate/index.js';

// ---- embeddings and k-means on in-memory data ---------------------------------------------------------------

export {
  createEmbedder,
  resolveEmbedding,
  parseEmbedMethod,
  describeEmbedding,
  NORMALISATIONS,
  type Embedder,
  type EmbedSpec,
  type EmbeddingInfo,
  type KmerSpec,
  type LshSpec,
  type OnnxSpec,
  type FragmentSeqs,
  type Normalisation,
} from './embed/index.js';

/**
 * Embeds reads given as strings (A/C/G/T/N), one row per fragment: `[r1]` or `[r1, r2]` for a pair, with the
 * embedder `spec` describes (as in a prep run: a pair's two mates make one row). Returns n x dim, row-major.
 */
export async function embedReads(spec: EmbedSpec, fragments: readonly (readonly [string] | readonly [string, string])[]): Promise<Float32Array> {
  const enc = new TextEncoder();
  const n = fragments.length;
  const frags: FragmentSeqs = {
    n,
    bytes1: enc.encode(fragments.map((f) => f[0]).join('')),
    start1: new Int32Array(n),
    len1: new Int32Array(n),
    bytes2: enc.encode(fragments.map((f) => f[1] ?? '').join('')),
    start2: new Int32Array(n),
    len2: new Int32Array(n),
  };
  let o1 = 0;
  let o2 = 0;
  fragments.forEach((f, i) => {
    frags.start1[i] = o1;
    frags.len1[i] = f[0].length;
    o1 += f[0].length;
    frags.start2[i] = o2;
    frags.len2[i] = f[1]?.length ?? 0;
    o2 += f[1]?.length ?? 0;
  });
  const embedder = await createEmbedder(spec);
  try {
    const out = new Float32Array(n * embedder.dim);
    await embedder.embed(frags, out);
    return out;
  } finally {
    await embedder.close?.();
  }
}

export {
  kmeans,
  chooseK,
  createInProcessExecutor,
  type KMeansOptions,
  type KMeansResult,
  type KMeansExecutor,
  type ChooseKOptions,
  type ChooseKResult,
} from './cluster/index.js';

// ---- errors and version -------------------------------------------------------------------------------------

export { MetavecError, exitCodeFor, type ErrorCode } from './errors.js';
export { TOOL_NAME, TOOL_VERSION } from './version.js';
