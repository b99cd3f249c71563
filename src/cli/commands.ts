import { formatEvalReport } from '../evaluate/index.js';
import { catalogPath, registerRun } from '../report/catalog.js';
import { DEFAULT_REPORT_SAMPLE, writeReport } from '../report/index.js';
import { joinLocation, resolveLocation } from '../io/location.js';
import { openOutputStore } from '../io/store.js';
import { runPrep, startPrep } from '../pipeline/prepEngines.js';
import { CLUSTER_METHODS, DEFAULT_CLUSTER_METHOD, runCluster, runEval } from '../pipeline/phase2.js';
import { clusterBatchScript } from '../pipeline/phase2Slurm.js';
import { createProgress } from '../pipeline/progress.js';
import { usageError } from '../errors.js';
import { toJson } from '../io/jsonKeys.js';
import { intOption, parseCommand } from './args.js';
import { CLUSTER_HELP, CLUSTER_OPTIONS, clusterOptionsFrom } from './cluster.js';
import { PREP_HELP, PREP_OPTIONS, checkOutputDirName, prepOptionsFrom } from './prep.js';
import { S3_HELP, S3_OPTIONS, applyS3Options } from './s3Options.js';
import { SLURM_OPTIONS } from './slurmOptions.js';

/** Each command parses its argv, runs, prints; main.ts maps thrown errors to exit codes. */

export async function prepCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep', argv, PREP_OPTIONS);
  if (values.help) {
    process.stdout.write(PREP_HELP);
    return 0;
  }
  const progress = createProgress({ quiet: values.quiet ?? false });
  const opts = prepOptionsFrom('prep', values, progress);
  const summary = await startPrep(opts);
  if ('dryRun' in summary) {
    // Slurm plans the slices (OUTPUT/_prep_work/plan.json) to write the scripts; nothing is submitted
    process.stdout.write(summary.dryRun);
    return 0;
  }
  if (values.json) process.stdout.write(toJson(summary));
  else
    progress.log(
      `prep: ${summary.fragmentsIn} fragments in, ${summary.fragmentsOut} out (${summary.counts.filtered_total} filtered, ${summary.duplicates} duplicates) in ${summary.seconds.toFixed(1)} s -> ${summary.manifest}`,
    );
  return 0;
}

export async function clusterCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('cluster', argv, CLUSTER_OPTIONS);
  if (values.help) {
    process.stdout.write(CLUSTER_HELP);
    return 0;
  }
  const progress = createProgress({ quiet: values.quiet ?? false });
  const opts = clusterOptionsFrom('cluster', values, values.input, progress);
  if (opts.slurm?.dryRun) {
    process.stdout.write(clusterBatchScript(opts).text);
    return 0;
  }
  const s = await runCluster(opts);
  if (s.engine?.rank !== undefined && s.engine.rank !== 0) return 0; // one report per MPI job (rank 0's)
  if (values.json) process.stdout.write(toJson(s));
  else progress.log(`cluster: ${s.fragments} fragments -> K=${s.k} clusters in ${s.seconds.total.toFixed(1)} s -> ${joinLocation(resolveLocation(values.output!), 'summary.json')}`);
  return 0;
}

export const EVAL_HELP = `metavec eval: compare cluster labels with a truth table

usage: metavec eval --labels DIR/labels.parquet --truth truth.tsv[.gz] [--truth-column species] [--json]

Reports ARI, NMI, homogeneity, completeness, V-measure, purity (weighted and unweighted), Hungarian-matched F1,
the number of clusters, and the fraction of truth reads that received a label (reads dropped by QC or dedup
are counted: docs/evaluation.md). --labels and --truth may be s3:// URIs.
${S3_HELP}`;

const EVAL_OPTIONS = {
  labels: { type: 'string' },
  truth: { type: 'string' },
  'truth-column': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...S3_OPTIONS,
} as const;

export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('eval', argv, EVAL_OPTIONS);
  if (values.help) {
    process.stdout.write(EVAL_HELP);
    return 0;
  }
  if (!values.labels) throw usageError('eval: --labels is required');
  if (!values.truth) throw usageError('eval: --truth is required');
  applyS3Options('eval', values);
  const report = await runEval(resolveLocation(values.labels), resolveLocation(values.truth), values['truth-column'] ?? 'species');
  process.stdout.write(values.json ? toJson(report) : formatEvalReport(report) + '\n');
  return 0;
}

/** Option names as `--a --b ...`, wrapped at 110 columns with an indent. */
function optionList(names: string[], indent: string): string {
  const lines: string[] = [];
  let line = indent;
  for (const n of names) {
    const w = `--${n}`;
    if (line.length + w.length + 1 > 110 && line.trim() !== '') {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${w} `;
  }
  if (line.trim() !== '') lines.push(line.trimEnd());
  return lines.join('\n');
}

const RUN_OWN = ['input', 'output', 'truth', 'truth-column', 'cluster-batch-size', 'catalog', 'no-catalog', 'no-report', 'report-sample', 'help', 'quiet', 'json'];
const S3_NAMES = Object.keys(S3_OPTIONS);
// run is local only: the engine options of prep and cluster are not listed
const ENGINE_ONLY = new Set([...Object.keys(SLURM_OPTIONS), 'engine', 'ray-address', 'ray-actors', 'ray-env', 'slice-fragments', 'lpa']);
const RUN_PREP_NAMES = Object.keys(PREP_OPTIONS).filter((n) => !RUN_OWN.includes(n) && !S3_NAMES.includes(n) && !ENGINE_ONLY.has(n));
const RUN_CLUSTER_NAMES = Object.keys(CLUSTER_OPTIONS).filter((n) => !RUN_OWN.includes(n) && !S3_NAMES.includes(n) && !ENGINE_ONLY.has(n) && !RUN_PREP_NAMES.includes(n) && n !== 'batch-size');

export const RUN_HELP = `metavec run: prep + cluster (+ eval with --truth) in one command

usage: metavec run -i R1.fq.gz [-I R2.fq.gz] -o DIR [--truth truth.tsv] [options]

Writes DIR/prep (shards + manifest), DIR/cluster (labels.parquet, clusters.nc, summary.json), with
--truth DIR/eval.json, then DIR/report.html (self-contained, works offline) and registers the run in the
catalog that 'metavec query' reads. Runs on this machine (--engine local).

Clustering: --method ${DEFAULT_CLUSTER_METHOD} with K auto unless --method / --k say otherwise (methods: ${CLUSTER_METHODS.join(', ')};
'metavec help cluster' describes them and how K is chosen).

  -i, --input FILE      reads (FASTQ/FASTA, plain or gzip); -I, --input2 FILE  their mates
  -o, --output DIR      the run directory
  --truth FILE          truth table (TSV, plain or gzip, a pipe works: <(zcat truth.tsv.gz)): DIR/eval.json
  --truth-column NAME   column of the truth table scored (default species)
  --catalog PATH        catalog database (default $METAVEC_CATALOG, else ~/.metavec/catalog.duckdb)
  --no-catalog          do not register the run
  --no-report           do not write report.html
  --report-sample N     embeddings plotted in the report's PCA projection (default ${DEFAULT_REPORT_SAMPLE})
  -w, --threads N       worker threads of both phases (default: all cores)
  --batch-size N        prep's fragments per batch; --cluster-batch-size N: cluster's mini-batch size
  --quiet / --json      -h, --help

options of 'metavec prep' accepted here (see 'metavec help prep'):
${optionList(RUN_PREP_NAMES.filter((n) => !['threads', 'batch-size', 'input2'].includes(n)), '  ')}
options of 'metavec cluster' accepted here (see 'metavec help cluster'):
${optionList(RUN_CLUSTER_NAMES.filter((n) => n !== 'threads'), '  ')}

DIR and --truth may be s3:// locations (the catalog registers the run's metadata; its shards and labels
views read local files only).
${S3_HELP}`;

export const RUN_OPTIONS = (() => {
  const o: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { ...PREP_OPTIONS, ...CLUSTER_OPTIONS };
  o.input = { type: 'string', multiple: true, short: 'i' };
  o['batch-size'] = { type: 'string' };
  o.truth = { type: 'string' };
  o['truth-column'] = { type: 'string' };
  o['cluster-batch-size'] = { type: 'string' };
  o.catalog = { type: 'string' };
  o['no-catalog'] = { type: 'boolean' };
  o['no-report'] = { type: 'boolean' };
  o['report-sample'] = { type: 'string' };
  return o;
})();

export async function runCommand(argv: string[]): Promise<number> {
  const { values: raw } = parseCommand('run', argv, RUN_OPTIONS);
  const values = raw as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  if (!values.output) throw usageError('run: --output is required');
  checkOutputDirName('run', values.output as string);
  const out = resolveLocation(values.output as string);
  const progress = createProgress({ quiet: (values.quiet as boolean | undefined) ?? false });
  const prepValues = { ...values, output: joinLocation(out, 'prep') } as Parameters<typeof prepOptionsFrom>[1];
  const prepOpts = prepOptionsFrom('run', prepValues, progress);
  const clusterValues = { ...values, output: joinLocation(out, 'cluster'), 'batch-size': values['cluster-batch-size'] } as Parameters<typeof clusterOptionsFrom>[1];
  // DIR/cluster belongs to this run: a cluster made from an earlier prep of DIR is replaced, not refused
  const clusterOpts = { ...clusterOptionsFrom('run', clusterValues, joinLocation(out, 'prep'), progress), overwrite: true };
  const truth = values.truth as string | undefined;
  const reportSample = intOption('run', 'report-sample', values['report-sample'] as string | undefined, DEFAULT_REPORT_SAMPLE, 0, 1_000_000);
  const catalog = values['no-catalog'] ? undefined : catalogPath(values.catalog as string | undefined);
  // the run directory or S3 prefix: eval.json, report.html and run.json (last) go here
  const store = await openOutputStore(out);
  const prep = await runPrep(prepOpts);
  progress.log(`prep: ${prep.fragmentsIn} fragments in, ${prep.fragmentsOut} out (${prep.counts.filtered_total} filtered, ${prep.duplicates} duplicates) in ${prep.seconds.toFixed(1)} s`);
  const cluster = await runCluster(clusterOpts);
  progress.log(`cluster: K=${cluster.k} (${cluster.k_selection.method}) in ${cluster.seconds.total.toFixed(1)} s`);
  let evaluation;
  if (truth) {
    evaluation = await runEval(joinLocation(out, 'cluster', 'labels.parquet'), resolveLocation(truth), (values['truth-column'] as string | undefined) ?? 'species');
    await store.putBytes('eval.json', toJson(evaluation));
  }
  const loc = {
    runDir: out,
    prepDir: joinLocation(out, 'prep'),
    clusterDir: joinLocation(out, 'cluster'),
    ...(evaluation ? { evalPath: joinLocation(out, 'eval.json') } : {}),
  };
  let report;
  if (!values['no-report']) {
    report = await writeReport(loc, joinLocation(out, 'report.html'), { sampleSize: reportSample });
    progress.log(`report: ${report.charts.length} plots, ${(report.bytes / 1e6).toFixed(2)} MB in ${report.seconds.toFixed(1)} s`);
  }
  let registered: { catalog: string; run_id?: string; error?: string } | undefined;
  if (catalog) {
    // The run's outputs are complete at this point: a catalog that cannot be written is reported, not fatal.
    try {
      const reg = await registerRun(catalog, loc, report ? { reportPath: report.path } : {});
      registered = { catalog, run_id: reg.runId };
      progress.log(`catalog: run '${reg.runId}' ${reg.replaced ? 're-registered' : 'registered'} in ${catalog}`);
    } catch (err) {
      registered = { catalog, error: (err as Error).message };
      process.stderr.write(`metavec: warning: ${(err as Error).message} (register later with 'metavec query --register ${out}')\n`);
    }
  }
  const summary = {
    output: out,
    prep,
    cluster,
    ...(evaluation ? { eval: evaluation } : {}),
    ...(report ? { report: { path: report.path, bytes: report.bytes, charts: report.charts } } : {}),
    ...(registered ? { catalog: registered } : {}),
  };
  await store.putBytes('run.json', toJson(summary));
  await store.close();
  if (values.json) process.stdout.write(toJson(summary));
  else {
    if (evaluation) process.stdout.write(formatEvalReport(evaluation) + '\n');
    process.stdout.write(
      [
        `results in ${out}`,
        `  prep/manifest.json        Phase 1 manifest (counts, parameters, shard list)`,
        `  prep/shards/*.parquet     embeddings + per-mate QC attributes`,
        `  prep/qc_stats.json        QC statistics before/after`,
        `  cluster/labels.parquet    read_id, cluster, distance`,
        `  cluster/bins.binning      the labels in the CAMI binning format (AMBER)`,
        `  cluster/clusters.nc       centroids(cluster, dim), cluster_size, objective (NetCDF-4)`,
        `  cluster/summary.json      K, method, timings`,
        ...(evaluation ? [`  eval.json                 metrics against ${truth}`] : []),
        ...(report ? [`  report.html               self-contained report (open in a browser; works offline)`] : []),
        ...(registered?.run_id ? [`catalog: run '${registered.run_id}' in ${registered.catalog} (metavec query "SELECT * FROM runs")`] : []),
        '',
      ].join('\n'),
    );
  }
  return 0;
}
