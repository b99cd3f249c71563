import type { SlurmJobOptions } from '../engines/slurm/script.js';
import { validateSlurmJob } from '../engines/slurm/script.js';
import { resolve } from 'node:path';
import { usageError } from '../errors.js';
import { isS3Uri } from '../io/location.js';
import { intOption } from './args.js';

/** Options of `--engine slurm` (cluster and prep). */
export const SLURM_OPTIONS = {
  ranks: { type: 'string' },
  nodes: { type: 'string' },
  time: { type: 'string' },
  partition: { type: 'string' },
  gpus: { type: 'string' },
  'cpus-per-task': { type: 'string' },
  module: { type: 'string', multiple: true },
  sbatch: { type: 'string', multiple: true },
  'job-name': { type: 'string' },
  overcommit: { type: 'boolean' },
  node: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'max-parallel': { type: 'string' },
  'work-dir': { type: 'string' },
} as const;

export interface SlurmValues {
  ranks?: string;
  nodes?: string;
  time?: string;
  partition?: string;
  gpus?: string;
  'cpus-per-task'?: string;
  module?: string[];
  sbatch?: string[];
  'job-name'?: string;
  overcommit?: boolean;
  node?: string;
  'dry-run'?: boolean;
  'max-parallel'?: string;
  'work-dir'?: string;
}

export function slurmJobFrom(cmd: string, v: SlurmValues, defaults: { jobName: string; ntasks: number }): SlurmJobOptions {
  const nodes = v.nodes !== undefined ? intOption(cmd, 'nodes', v.nodes, 1, 1, 100_000) : undefined;
  const gpus = v.gpus !== undefined ? intOption(cmd, 'gpus', v.gpus, 0, 1, 64) : undefined;
  const cpus = v['cpus-per-task'] !== undefined ? intOption(cmd, 'cpus-per-task', v['cpus-per-task'], 1, 1, 1024) : undefined;
  const maxParallel = v['max-parallel'] !== undefined ? intOption(cmd, 'max-parallel', v['max-parallel'], 0, 1, 1_000_000) : undefined;
  const workDir = v['work-dir'];
  if (workDir !== undefined && isS3Uri(workDir)) throw usageError(`${cmd}: --work-dir must be a directory on the shared filesystem (batch scripts and logs go there), not ${workDir}`);
  const job: SlurmJobOptions = {
    jobName: v['job-name'] ?? defaults.jobName,
    ntasks: intOption(cmd, 'ranks', v.ranks, defaults.ntasks, 1, 1_000_000),
    time: v.time ?? '01:00:00',
    modules: v.module ?? [],
    extra: v.sbatch ?? [],
    overcommit: v.overcommit ?? false,
    dryRun: v['dry-run'] ?? false,
    ...(nodes !== undefined ? { nodes } : {}),
    ...(gpus !== undefined ? { gpus } : {}),
    ...(cpus !== undefined ? { cpusPerTask: cpus } : {}),
    ...(maxParallel !== undefined ? { maxParallel } : {}),
    ...(v.partition !== undefined ? { partition: v.partition } : {}),
    ...(v.node !== undefined ? { node: v.node } : {}),
    ...(workDir !== undefined ? { workDir: resolve(workDir) } : {}),
  };
  validateSlurmJob(job);
  return job;
}
