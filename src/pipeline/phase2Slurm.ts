/**
 * Phase 2 through Slurm: a batch script running `metavec cluster --engine mpi` as N ranks under
 * `srun --mpi=pmix`, submitted with sbatch; we wait, stream the job's log to stderr and report. The job's
 * rank 0 writes the outputs; its summary.json (written last) is what says the job produced a result.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mpiBatchScript, type BatchScript } from '../engines/slurm/script.js';
import { lastLines, sbatch, waitForJob } from '../engines/slurm/submit.js';
import { MetavecError, usageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { openPrepInput } from '../io/inputs.js';
import { isS3Uri } from '../io/location.js';
import type { ClusterOptions, ClusterSummary } from './phase2.js';
import { checkMpiMethod } from './phase2Mpi.js';

/** The command line of one rank (the same options, engine mpi). */
export function clusterRankArgv(o: ClusterOptions): string[] {
  return [
    'cluster', '--engine', 'mpi',
    '--input', o.input, '--output', o.output,
    '--method', o.method,
    '--k', String(o.k), '--k-min', String(o.kMin), '--k-max', String(o.kMax),
    '--seed', String(o.seed), '--n-init', String(o.nInit), '--max-iter', String(o.maxIter), '--tol', String(o.tol),
    '--init', o.init, '--algorithm', o.algorithm,
    ...(o.batchSize !== undefined ? ['--batch-size', String(o.batchSize)] : []),
    ...(o.references ?? []).flatMap((r) => ['--references', r]),
  ];
}

export function clusterBatchScript(o: ClusterOptions): BatchScript {
  if (!o.slurm) throw usageError('cluster: --engine slurm needs its job options');
  const entry = o.slurm.entry ?? fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return mpiBatchScript({ ...o.slurm, entry }, join(o.output, 'slurm'), clusterRankArgv(o));
}

export async function runClusterSlurm(o: ClusterOptions): Promise<ClusterSummary> {
  checkMpiMethod(o);
  // the batch script, its log and the results go to a (shared) directory; the input may be an S3 prefix
  if (isS3Uri(o.output)) throw usageError(`cluster: --engine slurm writes its batch script and log into --output: give a directory on the shared filesystem, not ${o.output}`);
  await (await openPrepInput(o.input)).close(); // a missing or broken input fails here, not after waiting in the queue
  const script = clusterBatchScript(o);
  await mkdir(join(o.output, 'slurm'), { recursive: true });
  await rm(join(o.output, 'summary.json'), { force: true });
  const scriptPath = join(o.output, 'slurm', 'cluster.sbatch');
  await writeFileAtomic(scriptPath, script.text);
  const jobId = sbatch(scriptPath);
  o.progress.log(`cluster: submitted slurm job ${jobId} (${o.slurm!.ntasks} rank(s)): ${scriptPath}`);
  const logPath = script.logPattern.replace('%j', jobId);
  const res = await waitForJob(jobId, () => [logPath], process.stderr);
  let summary: ClusterSummary | undefined;
  try {
    summary = JSON.parse(await readFile(join(o.output, 'summary.json'), 'utf8')) as ClusterSummary;
  } catch {
    summary = undefined;
  }
  if (res.state !== 'COMPLETED' || !summary) {
    const tail = await lastLines(logPath, 5);
    throw new MetavecError(
      'INPUT',
      `slurm: job ${jobId} ended ${res.state} (exit ${res.exitCode})${summary ? '' : ' without summary.json'}; log ${logPath}${tail ? `; last lines:\n${tail}` : ''}`,
    );
  }
  o.progress.log(`cluster: slurm job ${jobId} COMPLETED in ${res.seconds.toFixed(1)} s`);
  return { ...summary, engine: { ...summary.engine, name: 'slurm+mpi', job_id: jobId } };
}
