import { usageError } from '../errors.js';
import { DEFAULT_REPORT_SAMPLE, locateRun, writeReport, type RunLocation } from '../report/index.js';
import { inputExists } from '../io/inputs.js';
import { joinLocation, resolveLocation } from '../io/location.js';
import { intOption, parseCommand } from './args.js';
import { S3_HELP, S3_OPTIONS, applyS3Options } from './s3Options.js';

export const REPORT_HELP = `metavec report: a self-contained HTML report of a run (works offline)

usage: metavec report --run DIR [--output DIR/report.html] [--sample ${DEFAULT_REPORT_SAMPLE}] [--json]
       metavec report --prep PREP_DIR --cluster CLUSTER_DIR [--eval eval.json] --output report.html

  --run DIR        a 'metavec run --output DIR' directory (DIR/prep, DIR/cluster, DIR/eval.json if present)
  --prep DIR       a 'metavec prep' output (instead of --run)
  --cluster DIR    a 'metavec cluster' output (instead of --run)
  --eval FILE      'metavec eval --json' output, for the metrics and the confusion matrix
  --output FILE    default DIR/report.html with --run
  --sample N       embeddings projected in the PCA plot (default ${DEFAULT_REPORT_SAMPLE})
  --json           print a JSON summary (path, size, charts) on stdout

QC before/after, stage counts, a PCA projection of a sample of embeddings coloured by cluster, cluster sizes
and composition, and with an evaluation the metrics and a confusion-matrix heatmap (docs/report.md).
Reads the run's outputs only. Every location may be an s3:// URI.
${S3_HELP}`;

export const REPORT_OPTIONS = {
  run: { type: 'string' },
  prep: { type: 'string' },
  cluster: { type: 'string' },
  eval: { type: 'string' },
  output: { type: 'string', short: 'o' },
  sample: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  ...S3_OPTIONS,
} as const;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('report', argv, REPORT_OPTIONS);
  if (values.help) {
    process.stdout.write(REPORT_HELP);
    return 0;
  }
  applyS3Options('report', values);
  const sampleSize = intOption('report', 'sample', values.sample, DEFAULT_REPORT_SAMPLE, 0, 1_000_000);
  let loc: RunLocation;
  let output: string;
  if (values.run) {
    if (values.prep || values.cluster) throw usageError('report: give either --run or --prep and --cluster, not both');
    const dir = resolveLocation(values.run);
    loc = await locateRun(dir);
    if (values.eval) loc.evalPath = resolveLocation(values.eval);
    output = resolveLocation(values.output ?? joinLocation(dir, 'report.html'));
  } else {
    if (!values.prep || !values.cluster) throw usageError("report: --run DIR, or both --prep and --cluster, are required (see 'metavec report --help')");
    if (!values.output) throw usageError('report: --output is required with --prep/--cluster');
    loc = { prepDir: resolveLocation(values.prep), clusterDir: resolveLocation(values.cluster) };
    if (values.eval) loc.evalPath = resolveLocation(values.eval);
    output = resolveLocation(values.output);
  }
  if (loc.evalPath && !(await inputExists(loc.evalPath))) throw usageError(`report: --eval ${loc.evalPath} not found`);
  const r = await writeReport(loc, output, { sampleSize });
  if (values.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else if (!values.quiet) process.stderr.write(`report: ${r.charts.length} plots, ${(r.bytes / 1e6).toFixed(2)} MB in ${r.seconds.toFixed(1)} s -> ${r.path}\n`);
  return 0;
}
