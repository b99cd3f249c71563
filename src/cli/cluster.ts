import { resolve } from 'node:path';
import { usageError } from '../errors.js';
import { CHOOSE_K_SAMPLE, GAP_REFERENCES } from '../cluster/chooseK.js';
import { DEFAULT_GRAPH } from '../cluster/graph.js';
import { DEFAULT_LSH } from '../cluster/lsh.js';
import { DEFAULT_MERGE } from '../cluster/mergeGroups.js';
import { DEFAULT_POOLED } from '../cluster/pooled.js';
import { DEFAULT_NORMALIZED, NORMALIZED_K_MAX, NORMALIZED_MIN_GROUP } from '../cluster/normalizedGraph.js';
import { CLUSTER_METHODS, DEFAULT_CLUSTER_METHOD, type ClusterMethod, type ClusterOptions } from '../pipeline/phase2.js';
import type { ProgressSink } from '../pipeline/progress.js';
import { SLURM_OPTIONS, slurmJobFrom } from './slurmOptions.js';
import { resolveLocation } from '../io/location.js';
import { S3_HELP, S3_OPTIONS, applyS3Options } from './s3Options.js';
import { choiceOption, defaultThreads, floatOption, intOption, parseCommand } from './args.js';

const METHOD_LINES: Record<ClusterMethod, string> = {
  kmeans: 'kmeans: k-means on the per-fragment embeddings (docs/kmeans.md)',
  graph: `graph:  read-overlap graph (shared minimizers) -> read groups -> pooled composition +
                                coverage, clustered with weighted k-means (docs/graph.md)`,
  lsh: 'lsh:    random-hyperplane LSH buckets of the embeddings -> pooled clustering (docs/graph.md)',
};

export const CLUSTER_HELP = `metavec cluster: group the fragments of a prep run into clusters (Phase 2)

usage: metavec cluster -i PREP_DIR -o DIR [options]

  -i, --input DIR       a completed 'metavec prep' output, directory or s3:// prefix (shard checksums are verified)
  -o, --output DIR      directory or s3:// prefix: labels.parquet, clusters.nc (NetCDF-4), summary.json (written last)
  --method ${CLUSTER_METHODS.join('|')}   clustering method (default ${DEFAULT_CLUSTER_METHOD})
${CLUSTER_METHODS.map((m) => `                        ${METHOD_LINES[m]}${m === DEFAULT_CLUSTER_METHOD ? ' (default)' : ''}\n`).join('')}  --k N|auto            number of clusters, N >= 1 (default auto). How auto chooses K:
                        kmeans: the gap statistic (Tibshirani et al. 2001): k-means of a ${CHOOSE_K_SAMPLE.toLocaleString('en-US')}-row sample for
                                every K in [k-min, k-max] against ${GAP_REFERENCES} uniform reference sets in the sample's
                                principal-component box; the smallest K with gap(K) >= gap(K+1) - s(K+1)
                        graph, lsh: weighted k-means of the pooled read groups for K = k-min, k-min+1, ...;
                                stops at the first K where one more cluster lowers the weighted inertia by less
                                than --elbow-gain, or earlier once the inertia is within --noise-factor x what
                                sampling noise alone explains (k-mer frequency embeddings); the inertia elbow
                        each K tried is reported on stderr; summary.json k_selection lists the scores
  --k-min N (2) --k-max N   range searched by --k auto (k-max: ${NORMALIZED_K_MAX} for the graph method with a target
                        coverage, where it bounds the over-splitting; 12 otherwise)
  --seed S (0)          same seed, same labels, whatever the thread count
  --n-init N (3)        restarts; the lowest objective wins
  --max-iter N (300) --tol T (1e-4)
  --init auto|k-means++|k-means||        (auto: k-means|| for large n)
  --algorithm auto|lloyd|minibatch       (auto: mini-batch for very large n)
  --batch-size N        mini-batch size
  --references FA ...   name clusters after the nearest reference genome (FASTA, plain or gzip; repeatable)
graph method (docs/graph.md)
  --target-coverage C (${DEFAULT_NORMALIZED.targetCoverage})  the graph is built on a coverage-normalised subset (each genome kept at about
                        C-fold); every other fragment joins the cluster of the subset reads it shares minimizers
                        with. Memory follows the community's content, not the reads. 0: every fragment in the graph
  --coverage-sampling S (${DEFAULT_NORMALIZED.sampling})  1 in S minimizers counted for coverage and indexed (power of 2)
  --min-shared N (${DEFAULT_GRAPH.minShared})      minimizers two fragments must share for an edge
  --max-occurrence N (${DEFAULT_GRAPH.maxOccurrence})  minimizers in more fragments make no edges (repeats)
  --max-degree N (${DEFAULT_GRAPH.maxDegree})      heaviest edges kept per fragment
  --merge-tolerance T (${DEFAULT_MERGE.tolerance}) --merge-floor F (${DEFAULT_MERGE.floor})   composition check when joining groups
  --min-group N         groups of N+ fragments define the clusters; smaller ones join the nearest cluster
                        (default ${NORMALIZED_MIN_GROUP} with a target coverage, ${DEFAULT_POOLED.minGroup} with --target-coverage 0: every group, singletons too)
  --coverage-weight W (${DEFAULT_POOLED.coverageWeight})  weight of the abundance feature relative to composition (0: off)
  --elbow-gain G (${DEFAULT_POOLED.minGain})    K auto: stop when one more cluster lowers the inertia by less than G
  --noise-factor F (${DEFAULT_POOLED.noiseFactor})   K auto: or when the inertia is within F x what sampling noise explains
lsh method
  --lsh-bands N (${DEFAULT_LSH.bands}) --lsh-bits N (${DEFAULT_LSH.bits})
  --engine local        (default) worker threads on this machine
  -w, --threads N       worker threads (default: all cores)
  --engine mpi          this process is one rank of an MPI job: mpirun -n N metavec cluster --engine mpi ...
                        (or srun --mpi=pmix); needs the optional MPI binding (docs/hpc.md)
    --lpa rank0|distributed   graph method with --target-coverage 0: label propagation on rank 0 over the gathered
                        graph (default: the local engine's labels) or over the ranks (no graph on rank 0; labels
                        differ, docs/scaling.md). The default method clusters its subset on rank 0 (docs/hpc.md)
  --engine slurm        write a batch script running the mpi engine under srun, sbatch it, wait, stream its log:
    --ranks N (2)         MPI ranks (--ntasks)          --nodes N       --time T (01:00:00)
    --partition P         --gpus N (--gres=gpu:N)       --cpus-per-task N
    --module M            'module load M' (repeatable)  --sbatch --opt=val  extra #SBATCH line (repeatable)
    --job-name NAME (metavec-cluster)   --overcommit (more ranks than CPUs)   --node PATH (node on the compute nodes)
    --dry-run             print the batch script and exit
    --work-dir DIR        shared directory for the script and log (needed with an s3:// --output)
  --binning-reads       bins.binning (CAMI format, for AMBER) with one row per read, read_id/1 and read_id/2,
                        instead of one per read pair (paired runs)
  --overwrite           replace a finished result in --output made from another prep (refused otherwise;
                        a result of the same prep and options is reused, not recomputed)
  --quiet / --json
  -h, --help
${S3_HELP}`;

export const CLUSTER_OPTIONS = {
  input: { type: 'string', short: 'i' },
  output: { type: 'string', short: 'o' },
  method: { type: 'string' },
  k: { type: 'string' },
  'k-min': { type: 'string' },
  'k-max': { type: 'string' },
  seed: { type: 'string' },
  'n-init': { type: 'string' },
  'max-iter': { type: 'string' },
  tol: { type: 'string' },
  init: { type: 'string' },
  algorithm: { type: 'string' },
  'batch-size': { type: 'string' },
  engine: { type: 'string' },
  threads: { type: 'string', short: 'w' },
  ...SLURM_OPTIONS,
  references: { type: 'string', multiple: true },
  'target-coverage': { type: 'string' },
  'coverage-sampling': { type: 'string' },
  'min-shared': { type: 'string' },
  'max-occurrence': { type: 'string' },
  'max-degree': { type: 'string' },
  'merge-tolerance': { type: 'string' },
  'merge-floor': { type: 'string' },
  'min-group': { type: 'string' },
  'coverage-weight': { type: 'string' },
  'elbow-gain': { type: 'string' },
  'noise-factor': { type: 'string' },
  'lsh-bands': { type: 'string' },
  'lsh-bits': { type: 'string' },
  lpa: { type: 'string' },
  overwrite: { type: 'boolean' },
  'binning-reads': { type: 'boolean' },
  quiet: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...S3_OPTIONS,
} as const;

function powerOfTwoOption(cmd: string, name: string, value: string | undefined, def: number): number {
  const x = intOption(cmd, name, value, def, 1, 1 << 16);
  if ((x & (x - 1)) !== 0) throw usageError(`${cmd}: --${name} must be a power of two (1, 2, 4, 8, ...), got ${x}`);
  return x;
}

type ClusterValues = ReturnType<typeof parseCommand<typeof CLUSTER_OPTIONS>>['values'];

export function clusterOptionsFrom(cmd: string, v: Partial<ClusterValues>, input: string | undefined, progress: ProgressSink): ClusterOptions {
  if (!input) throw usageError(`${cmd}: --input is required`);
  if (!v.output) throw usageError(`${cmd}: --output is required`);
  applyS3Options(cmd, v);
  const engine = cmd === 'cluster'
    ? choiceOption(cmd, 'engine', v.engine, 'local', ['local', 'mpi', 'slurm'] as const)
    : choiceOption(cmd, 'engine', v.engine, 'local', ['local'] as const);
  const slurm = engine === 'slurm' ? slurmJobFrom(cmd, v, { jobName: 'metavec-cluster', ntasks: 2 }) : undefined;
  const method = choiceOption(cmd, 'method', v.method, DEFAULT_CLUSTER_METHOD, CLUSTER_METHODS);
  const lpa = choiceOption(cmd, 'lpa', v.lpa, 'rank0', ['rank0', 'distributed'] as const);
  if (lpa === 'distributed' && (engine === 'local' || method !== 'graph')) {
    throw usageError(`${cmd}: --lpa distributed applies to --method graph on --engine mpi or slurm`);
  }
  const k = kOption(cmd, v.k);
  const targetCoverage = floatOption(cmd, 'target-coverage', v['target-coverage'], DEFAULT_NORMALIZED.targetCoverage, 0, 1e9);
  if (lpa === 'distributed' && targetCoverage > 0) {
    throw usageError(
      `${cmd}: --lpa distributed applies to the graph of every fragment (--target-coverage 0); the coverage-normalised graph (--target-coverage ${targetCoverage}, the default) clusters its subset on rank 0`,
    );
  }
  const batchSize = v['batch-size'] !== undefined ? intOption(cmd, 'batch-size', v['batch-size'], 4096, 1, 10_000_000) : undefined;
  return {
    input: resolveLocation(input),
    output: resolveLocation(v.output),
    method,
    k,
    kMin: intOption(cmd, 'k-min', v['k-min'], 2, 1, 10_000),
    kMax: intOption(cmd, 'k-max', v['k-max'], targetCoverage > 0 && method === 'graph' ? NORMALIZED_K_MAX : 12, 1, 10_000),
    seed: intOption(cmd, 'seed', v.seed, 0, 0, 2 ** 31 - 1),
    nInit: intOption(cmd, 'n-init', v['n-init'], 3, 1, 1000),
    maxIter: intOption(cmd, 'max-iter', v['max-iter'], 300, 1, 1_000_000),
    tol: floatOption(cmd, 'tol', v.tol, 1e-4, 0, 1),
    init: choiceOption(cmd, 'init', v.init, 'auto', ['auto', 'k-means++', 'k-means||'] as const),
    algorithm: choiceOption(cmd, 'algorithm', v.algorithm, 'auto', ['auto', 'lloyd', 'minibatch'] as const),
    ...(batchSize !== undefined ? { batchSize } : {}),
    threads: intOption(cmd, 'threads', v.threads, defaultThreads(), 1, 256),
    ...(v.references && v.references.length > 0 ? { references: v.references.map((p) => resolve(p)) } : {}),
    pooled: {
      graph: {
        minShared: intOption(cmd, 'min-shared', v['min-shared'], DEFAULT_GRAPH.minShared, 1, 10_000),
        maxOccurrence: intOption(cmd, 'max-occurrence', v['max-occurrence'], DEFAULT_GRAPH.maxOccurrence, 2, 1_000_000),
        maxDegree: intOption(cmd, 'max-degree', v['max-degree'], DEFAULT_GRAPH.maxDegree, 1, 100_000),
        maxIterations: DEFAULT_GRAPH.maxIterations,
      },
      normalized: {
        targetCoverage,
        sampling: powerOfTwoOption(cmd, 'coverage-sampling', v['coverage-sampling'], DEFAULT_NORMALIZED.sampling),
      },
      merge: {
        tolerance: floatOption(cmd, 'merge-tolerance', v['merge-tolerance'], DEFAULT_MERGE.tolerance, 0, 1e9),
        floor: floatOption(cmd, 'merge-floor', v['merge-floor'], DEFAULT_MERGE.floor, 0, 1e9),
      },
      lsh: { bands: intOption(cmd, 'lsh-bands', v['lsh-bands'], DEFAULT_LSH.bands, 1, 64), bits: intOption(cmd, 'lsh-bits', v['lsh-bits'], DEFAULT_LSH.bits, 1, 30) },
      pooled: {
        minGroup: intOption(cmd, 'min-group', v['min-group'], targetCoverage > 0 && method === 'graph' ? NORMALIZED_MIN_GROUP : DEFAULT_POOLED.minGroup, 1, 1_000_000),
        coverageWeight: floatOption(cmd, 'coverage-weight', v['coverage-weight'], DEFAULT_POOLED.coverageWeight, 0, 1000),
        minGain: floatOption(cmd, 'elbow-gain', v['elbow-gain'], DEFAULT_POOLED.minGain, 0, 1),
        noiseFactor: floatOption(cmd, 'noise-factor', v['noise-factor'], DEFAULT_POOLED.noiseFactor, 0, 1e6),
      },
    },
    progress,
    engine,
    ...(slurm ? { slurm } : {}),
    ...(lpa === 'distributed' ? { lpa } : {}),
    ...(v.overwrite ? { overwrite: true } : {}),
    ...(v['binning-reads'] ? { binningReads: true } : {}),
  };
}

/** --k N|auto: N a positive integer; the message names both forms. */
function kOption(cmd: string, v: string | undefined): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw usageError(`${cmd}: --k must be 'auto' or an integer in [1, 1000000], got '${v}'`);
  return n;
}
