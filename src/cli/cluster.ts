import { resolve } from 'node:path';
import { usageError } from '../errors.js';
import type { ClusterOptions } from '../pipeline/phase2.js';
import type { ProgressSink } from '../pipeline/progress.js';
import { SLURM_OPTIONS, slurmJobFrom } from './slurmOptions.js';
import { choiceOption, defaultThreads, floatOption, intOption, parseCommand } from './args.js';

export const CLUSTER_HELP = `metavec cluster: group the fragments of a prep run into clusters (Phase 2)

usage: metavec cluster --input PREP_DIR --output DIR [options]

  --input DIR           a completed 'metavec prep' output (manifest.json; shard checksums are verified)
  --output DIR          labels.parquet, clusters.nc (NetCDF-4), summary.json (written last)
  --method kmeans       clustering method (default kmeans)
  --k N|auto            number of clusters (default auto: chosen by silhouette, docs/kmeans.md)
  --k-min N (2) --k-max N (12)   range searched by --k auto
  --seed S (0)          same seed, same labels, whatever the thread count
  --n-init N (3)        restarts; the lowest objective wins
  --max-iter N (300) --tol T (1e-4)
  --init auto|k-means++|k-means||        (auto: k-means|| for large n)
  --algorithm auto|lloyd|minibatch       (auto: mini-batch for very large n)
  --batch-size N        mini-batch size
  --engine local        (default) worker threads on this machine
  --threads N           worker threads (default: all cores)
  --engine mpi          this process is one rank of an MPI job: mpirun -n N metavec cluster --engine mpi ...
                        (or srun --mpi=pmix); needs the optional MPI binding (docs/hpc.md)
  --engine slurm        write a batch script running the mpi engine under srun, sbatch it, wait, stream its log:
    --ranks N (2)         MPI ranks (--ntasks)          --nodes N       --time T (01:00:00)
    --partition P         --gpus N (--gres=gpu:N)       --cpus-per-task N
    --module M            'module load M' (repeatable)  --sbatch --opt=val  extra #SBATCH line (repeatable)
    --job-name NAME (metavec-cluster)   --overcommit (more ranks than CPUs)   --node PATH (node on the compute nodes)
    --dry-run             print the batch script and exit
  --quiet / --json
`;

export const CLUSTER_OPTIONS = {
  input: { type: 'string' },
  output: { type: 'string' },
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
  threads: { type: 'string' },
  ...SLURM_OPTIONS,
  quiet: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type ClusterValues = ReturnType<typeof parseCommand<typeof CLUSTER_OPTIONS>>['values'];

export function clusterOptionsFrom(cmd: string, v: Partial<ClusterValues>, input: string | undefined, progress: ProgressSink): ClusterOptions {
  if (!input) throw usageError(`${cmd}: --input is required`);
  if (!v.output) throw usageError(`${cmd}: --output is required`);
  const engine = cmd === 'cluster'
    ? choiceOption(cmd, 'engine', v.engine, 'local', ['local', 'mpi', 'slurm'] as const)
    : choiceOption(cmd, 'engine', v.engine, 'local', ['local'] as const);
  const slurm = engine === 'slurm' ? slurmJobFrom(cmd, v, { jobName: 'metavec-cluster', ntasks: 2 }) : undefined;
  const method = choiceOption(cmd, 'method', v.method, 'kmeans', ['kmeans'] as const);
  const k = v.k === undefined || v.k === 'auto' ? 'auto' : intOption(cmd, 'k', v.k, 2, 1, 1_000_000);
  const batchSize = v['batch-size'] !== undefined ? intOption(cmd, 'batch-size', v['batch-size'], 4096, 1, 10_000_000) : undefined;
  return {
    input: resolve(input),
    output: resolve(v.output),
    method,
    k,
    kMin: intOption(cmd, 'k-min', v['k-min'], 2, 1, 10_000),
    kMax: intOption(cmd, 'k-max', v['k-max'], 12, 1, 10_000),
    seed: intOption(cmd, 'seed', v.seed, 0, 0, 2 ** 31 - 1),
    nInit: intOption(cmd, 'n-init', v['n-init'], 3, 1, 1000),
    maxIter: intOption(cmd, 'max-iter', v['max-iter'], 300, 1, 1_000_000),
    tol: floatOption(cmd, 'tol', v.tol, 1e-4, 0, 1),
    init: choiceOption(cmd, 'init', v.init, 'auto', ['auto', 'k-means++', 'k-means||'] as const),
    algorithm: choiceOption(cmd, 'algorithm', v.algorithm, 'auto', ['auto', 'lloyd', 'minibatch'] as const),
    ...(batchSize !== undefined ? { batchSize } : {}),
    threads: intOption(cmd, 'threads', v.threads, defaultThreads(), 1, 256),
    progress,
    engine,
    ...(slurm ? { slurm } : {}),
  };
}
