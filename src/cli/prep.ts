import { usageError } from '../errors.js';
import { DEFAULT_SKETCH, MAX_SKETCH_K, MIN_SKETCH_K } from '../sketch/minimizers.js';
import type { PrepOptions } from '../pipeline/prepOptions.js';
import type { ProgressSink } from '../pipeline/progress.js';
import { resolveLocation } from '../io/location.js';
import { S3_HELP, S3_OPTIONS, applyS3Options } from './s3Options.js';
import { EMBED_HELP, EMBED_OPTIONS, embedChoiceFrom } from './embedOptions.js';
import { choiceOption, defaultThreads, floatOption, intOption, parseCommand, sizeOption } from './args.js';
import { SLURM_OPTIONS, slurmJobFrom } from './slurmOptions.js';
import { rayJobFrom } from './prepRay.js';
import { OUT2_HINT } from './suggest.js';

export const PREP_HELP = `metavec prep: quality control, dedup and embedding of reads into Parquet shards (Phase 1)

usage: metavec prep -i R1.fq.gz [-I R2.fq.gz | --interleaved] -o DIR [options]

input/output
  -i, --input FILE      FASTQ/FASTA, plain or gzip, a path, a pipe (<(zcat r1.fq.gz), copied to $TMPDIR
                        first: prep reads its input more than once) or s3:// URI (repeat for several inputs)
  -I, --input2 FILE     mate file for paired-end (one per --input; not the --input file itself)
  --interleaved         --input holds mates alternately
  -o, --output DIR      run directory or s3:// prefix: shards/, manifest.json (written last), qc_stats.json
                        (one directory: fastp's -O has no counterpart; see --write-fastq)
  --write-fastq         also write the cleaned reads into the output directory as clean_R1/_R2.fastq.gz
  --phred auto|33|64|solexa   quality encoding (default auto: Phred+64 and Solexa+64 are detected and
                        converted to Phred+33; docs/qc.md)
engine
  --engine local        (default) worker threads on this machine
  --engine ray          a job on a Ray cluster through its Jobs API (docs/ray.md):
    --ray-address URL   the dashboard, e.g. http://HEAD:8265 (default $RAY_ADDRESS when it is a URL)
    --ray-actors N      actor pool size (default: the cluster's CPUs)
    --num-gpus N        GPUs reserved per prep actor (for the ONNX embedder; default 0)
    --slice-fragments N fragments per slice (default 262144)
    --ray-env NAME      pass this variable's value to the job (repeatable; not secrets: Ray shows them;
                        s3:// settings are passed, credentials come from the nodes: docs/s3.md)
  --engine slurm        Slurm job arrays over input slices + a merge job (docs/hpc.md); options as for
                        'metavec cluster --engine slurm' (--time --partition --module --sbatch --job-name
                        --cpus-per-task for the merge, --node, --dry-run) and --slice-fragments N (262144),
                        --max-parallel N (array tasks at once), --work-dir DIR (shared directory for
                        scripts, logs, plan and slice results; needed with an s3:// --output)
  -w, --threads N       worker threads (default: all cores)
  --batch-size N        fragments per batch (default 8192)
  --rows-per-shard N    rows per Parquet shard (default 100000)
QC (fastp-compatible semantics, docs/qc.md)
  --no-adapter-trim     disable adapter clipping
  --adapter-r1 SEQ / --adapter-r2 SEQ   adapter sequences (default: detected from the first reads)
  --no-detect-adapter   do not detect adapters (pairs still clipped by mate overlap)
  --overlap-len N (30) --overlap-diff N (5) --overlap-diff-percent P (20)
  --no-cut-front / --no-cut-tail   sliding-window quality trimming (default on)
  --cut-window N (4) --cut-mean-quality Q (20)
  --median-quality Q    also cut every read at the first cycle whose median quality is < Q
  --trim-poly-g         trim poly-G tails; --poly-g-min-len N (10)
  --min-length N (30) --max-n-frac F (0.05) --qualified-quality Q (15) --unqualified-percent P (40)
  --complexity-threshold P (30; 0 disables the low-complexity filter)
dedup
  --no-dedup            keep exact duplicate pairs
  --dedup-mem SIZE      memory of the duplicate filter (default 64M)
error correction (k-mer spectrum, Lighter-style; docs/correction.md)
  --correct             run error correction (off by default: on simulated communities it cost 3-5x the prep
                        CPU and improved clustering on one of them only; docs/correction.md); --no-correct: the default
  --correct-k K         k-mer size, 17..31 (default 21)
  --correct-mem SIZE    memory of the k-mer sketch (default 256M)
  --max-corrections N   most bases changed within any 20 bp (default 4, as Lighter -maxcor)
  --genome-size SIZE    total genome size of the community (e.g. 30M); estimated from the data otherwise
${EMBED_HELP}minimizer sketch (for 'metavec cluster --method graph'; docs/graph.md)
  --sketch-k K          k-mer size of the minimizers, 17..31 (default 21)
  --sketch-w W          window: one minimizer per W consecutive k-mers (default 12)
  --no-sketch           do not store minimizers (smaller shards; the graph method then cannot run)
output
  --quiet               no progress on stderr
  --json                print a JSON summary on stdout
  -h, --help
fastp users: -i/-I/-o/-w work as in fastp; an unknown fastp option (--in1, --cut_mean_quality, -l, ...) is
answered with the metavec option that does the same
${S3_HELP}`;

export const PREP_OPTIONS = {
  input: { type: 'string', multiple: true, short: 'i' },
  input2: { type: 'string', multiple: true, short: 'I' },
  interleaved: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  'write-fastq': { type: 'boolean' },
  phred: { type: 'string' },
  engine: { type: 'string' },
  ...SLURM_OPTIONS,
  'ray-address': { type: 'string' },
  'ray-actors': { type: 'string' },
  'ray-env': { type: 'string', multiple: true },
  'slice-fragments': { type: 'string' },
  threads: { type: 'string', short: 'w' },
  'batch-size': { type: 'string' },
  'rows-per-shard': { type: 'string' },
  'no-adapter-trim': { type: 'boolean' },
  'adapter-r1': { type: 'string' },
  'adapter-r2': { type: 'string' },
  'no-detect-adapter': { type: 'boolean' },
  'overlap-len': { type: 'string' },
  'overlap-diff': { type: 'string' },
  'overlap-diff-percent': { type: 'string' },
  'no-cut-front': { type: 'boolean' },
  'no-cut-tail': { type: 'boolean' },
  'cut-window': { type: 'string' },
  'cut-mean-quality': { type: 'string' },
  'median-quality': { type: 'string' },
  'trim-poly-g': { type: 'boolean' },
  'poly-g-min-len': { type: 'string' },
  'min-length': { type: 'string' },
  'max-n-frac': { type: 'string' },
  'qualified-quality': { type: 'string' },
  'unqualified-percent': { type: 'string' },
  'complexity-threshold': { type: 'string' },
  'no-dedup': { type: 'boolean' },
  'dedup-mem': { type: 'string' },
  correct: { type: 'boolean' },
  'no-correct': { type: 'boolean' },
  'correct-k': { type: 'string' },
  'correct-mem': { type: 'string' },
  'max-corrections': { type: 'string' },
  'genome-size': { type: 'string' },
  ...EMBED_OPTIONS,
  'sketch-k': { type: 'string' },
  'sketch-w': { type: 'string' },
  'no-sketch': { type: 'boolean' },
  quiet: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...S3_OPTIONS,
} as const;

/**
 * Whether prep corrects errors when neither --correct nor --no-correct is given: off, because on the depth-series
 * communities it did not improve clustering (ARI/NMI) consistently and cost 3-5x the prep CPU (docs/correction.md,
 * bench/correction-value.mjs, issue 20).
 */
export const DEFAULT_CORRECT = false;

function correctionFrom(cmd: string, v: Partial<PrepValues>): boolean {
  if (v.correct === true && v['no-correct'] === true) throw usageError(`${cmd}: --correct and --no-correct contradict each other: give one`);
  if (v.correct === true) return true;
  if (v['no-correct'] === true) return false;
  return DEFAULT_CORRECT;
}

type PrepValues = ReturnType<typeof parseCommand<typeof PREP_OPTIONS>>['values'];

/** Builds PrepOptions from parsed values (shared by `prep` and `run`). */
export function prepOptionsFrom(cmd: string, v: Partial<PrepValues>, progress: ProgressSink): PrepOptions {
  if (!v.input || v.input.length === 0) throw usageError(`${cmd}: --input is required`);
  if (!v.output) throw usageError(`${cmd}: --output is required`);
  checkOutputDirName(cmd, v.output);
  applyS3Options(cmd, v);
  const engine = v.engine ?? 'local';
  if (engine !== 'local' && !((engine === 'slurm' || engine === 'ray') && cmd === 'prep')) {
    throw usageError(`${cmd}: --engine ${engine} is not available${engine === 'ray' || engine === 'slurm' ? ` for ${cmd} (use metavec prep --engine ${engine})` : ''} (engines: local${cmd === 'prep' ? ', ray, slurm' : ''})`);
  }
  const slurm = engine === 'slurm' ? prepSlurmFrom(cmd, v) : undefined;
  const threads = intOption(cmd, 'threads', v.threads, defaultThreads(), 1, 256);
  const embed = embedChoiceFrom(cmd, v, threads);
  return {
    inputs: v.input.map((p) => resolveLocation(p)),
    inputs2: (v.input2 ?? []).map((p) => resolveLocation(p)),
    interleaved: v.interleaved ?? false,
    output: resolveLocation(v.output),
    threads,
    // a transformer embeds ~10-1000 fragments/s: smaller batches keep progress and memory steady
    batchSize: intOption(cmd, 'batch-size', v['batch-size'], embed.method === 'onnx' ? 1024 : 8192, 1, 1 << 20),
    rowsPerShard: intOption(cmd, 'rows-per-shard', v['rows-per-shard'], 100_000, 1, 10_000_000),
    kmer: embed.method === 'kmer' ? embed.k : 4,
    normalisation: embed.method === 'kmer' ? embed.normalisation : 'freq',
    embed,
    dedup: !(v['no-dedup'] ?? false),
    dedupMemBytes: sizeOption(cmd, 'dedup-mem', v['dedup-mem'], 64 << 20),
    writeFastq: v['write-fastq'] ?? false,
    phred: choiceOption(cmd, 'phred', v.phred, 'auto', ['auto', '33', '64', 'solexa'] as const),
    detectAdapters: !(v['no-detect-adapter'] ?? false),
    correct: correctionFrom(cmd, v),
    correctK: intOption(cmd, 'correct-k', v['correct-k'], 21, 17, 31),
    correctMemBytes: sizeOption(cmd, 'correct-mem', v['correct-mem'], 256 << 20),
    maxCorrections: intOption(cmd, 'max-corrections', v['max-corrections'], 4, 1, 1000),
    ...(v['no-sketch']
      ? {}
      : { minimizers: { k: intOption(cmd, 'sketch-k', v['sketch-k'], DEFAULT_SKETCH.k, MIN_SKETCH_K, MAX_SKETCH_K), w: intOption(cmd, 'sketch-w', v['sketch-w'], DEFAULT_SKETCH.w, 1, 256) } }),
    ...(v['genome-size'] !== undefined ? { genomeSize: baseCount(cmd, v['genome-size']) } : {}),
    ...(v['adapter-r1'] ? { adapterR1: checkAdapter(cmd, 'adapter-r1', v['adapter-r1']) } : {}),
    ...(v['adapter-r2'] ? { adapterR2: checkAdapter(cmd, 'adapter-r2', v['adapter-r2']) } : {}),
    ...(v['median-quality'] !== undefined ? { medianQuality: intOption(cmd, 'median-quality', v['median-quality'], 20, 0, 93) } : {}),
    qc: {
      adapterTrim: !(v['no-adapter-trim'] ?? false),
      overlapMinLen: intOption(cmd, 'overlap-len', v['overlap-len'], 30, 1, 1000),
      overlapDiffLimit: intOption(cmd, 'overlap-diff', v['overlap-diff'], 5, 0, 1000),
      overlapDiffPercent: floatOption(cmd, 'overlap-diff-percent', v['overlap-diff-percent'], 20, 0, 100) / 100,
      cutFront: !(v['no-cut-front'] ?? false),
      cutTail: !(v['no-cut-tail'] ?? false),
      cutWindow: intOption(cmd, 'cut-window', v['cut-window'], 4, 1, 1000),
      cutMeanQuality: intOption(cmd, 'cut-mean-quality', v['cut-mean-quality'], 20, 1, 60),
      polyG: v['trim-poly-g'] ?? false,
      polyGMinLen: intOption(cmd, 'poly-g-min-len', v['poly-g-min-len'], 10, 1, 1000),
      minLength: intOption(cmd, 'min-length', v['min-length'], 30, 1, 1_000_000),
      maxNFraction: floatOption(cmd, 'max-n-frac', v['max-n-frac'], 0.05, 0, 1),
      qualifiedQuality: intOption(cmd, 'qualified-quality', v['qualified-quality'], 15, 0, 93),
      unqualifiedFraction: floatOption(cmd, 'unqualified-percent', v['unqualified-percent'], 40, 0, 100) / 100,
      minComplexity: floatOption(cmd, 'complexity-threshold', v['complexity-threshold'], 30, 0, 100) / 100,
    },
    progress,
    // the one place the engine is chosen (pipeline/prepEngines.ts runs it)
    engine: slurm ? { name: 'slurm', slurm } : engine === 'ray' ? { name: 'ray', ray: rayJobFrom(v) } : { name: 'local' },
  };
}

/** --output is a directory: a FASTQ file name there is fastp's -o habit, explained instead of creating 'x.fq.gz/'. */
export function checkOutputDirName(cmd: string, output: string): void {
  if (/\.(fastq|fq)(\.gz)?$/i.test(output)) throw usageError(`${cmd}: --output '${output}' looks like a FASTQ file name: ${OUT2_HINT}`);
}

function prepSlurmFrom(cmd: string, v: Partial<PrepValues>): Extract<PrepOptions['engine'], { name: 'slurm' }>['slurm'] {
  const job = slurmJobFrom(cmd, v, { jobName: 'metavec-prep', ntasks: 1 });
  const sliceFragments = v['slice-fragments'] !== undefined ? intOption(cmd, 'slice-fragments', v['slice-fragments'], 262_144, 1) : undefined;
  return { ...job, ...(sliceFragments !== undefined ? { sliceFragments } : {}) };
}

function checkAdapter(cmd: string, name: string, seq: string): string {
  if (!/^[ACGTacgt]{6,}$/.test(seq)) throw usageError(`${cmd}: --${name} must be at least 6 bases of A/C/G/T, got '${seq}'`);
  return seq.toUpperCase();
}

/** Genome sizes like 4.6M, 30m, 2G, 500k or plain numbers (bases). */
function baseCount(cmd: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v);
  if (!m) throw usageError(`${cmd}: --genome-size must be a number of bases like 5000000 or 5M, got '${v}'`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase()] ?? 1;
  const n = Math.round(Number(m[1]) * mult);
  if (n < 1000) throw usageError(`${cmd}: --genome-size ${v} is implausibly small`);
  return n;
}
