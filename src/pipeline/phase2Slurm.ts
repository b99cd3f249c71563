/**
 * Phase 2 through Slurm: a batch script running `metavec cluster --engine mpi` as N ranks under
 * `srun --mpi=pmix`, submitted with sbatch; we wait, stream the job's log to stderr and report. The job's
 * rank 0 writes the outputs; its summary.json (written last) is what says the job produced a result.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mpiBatchScript, s3TaskEnv, slurmRoot, type BatchScript } from '../engines/slurm/script.js';
import { lastLines, sbatch, waitForJob } from '../engines/slurm/submit.js';
import { MetavecError, usageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { openPrepInput, readInput } from '../io/inputs.js';
import { joinLocation } from '../io/location.js';
import { openOutputStore } from '../io/store.js';
import type { ClusterOptions, ClusterSummary } from './phase2.js';

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
    ...(o.method !== 'kmeans' && o.pooled ? pooledArgv(o.pooled) : []),
    ...(o.lpa ? ['--lpa', o.lpa] : []),
  ];
}

/** The graph / LSH options of a cluster command line (every one, so the ranks run exactly this method). */
function pooledArgv(p: NonNullable<ClusterOptions['pooled']>): string[] {
  return [
    '--min-shared', String(p.graph.minShared), '--max-occurrence', String(p.graph.maxOccurrence), '--max-degree', String(p.graph.maxDegree),
    '--merge-tolerance', String(p.merge.tolerance), '--merge-floor', String(p.merge.floor),
    '--min-group', String(p.pooled.minGroup), '--coverage-weight', String(p.pooled.coverageWeight),
    '--elbow-gain', String(p.pooled.minGain), '--noise-factor', String(p.pooled.noiseFactor),
    '--lsh-bands', String(p.lsh.bands), '--lsh-bits', String(p.lsh.bits),
    ...(p.normalized ? ['--target-coverage', String(p.normalized.targetCoverage), '--coverage-sampling', String(p.normalized.sampling)] : []),
  ];
}

/** The batch script; its log goes to ROOT/slurm (ROOT: the output directory, or --work-dir for an S3 output). */
export function clusterBatchScript(o: ClusterOptions): BatchScript {
  if (!o.slurm) throw usageError('cluster: --engine slurm needs its job options');
  const entry = o.slurm.entry ?? fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return mpiBatchScript({ ...o.slurm, entry }, join(slurmRoot('cluster', o.output, o.slurm), 'slurm'), clusterRankArgv(o), s3TaskEnv([o.input, o.output]));
}

export async function runClusterSlurm(o: ClusterOptions): Promise<ClusterSummary> {
  // the batch script and its log go to a shared directory (the output, or --work-dir for an S3 output); rank 0
  // writes the results to the output (directory or S3 prefix)
  const root = slurmRoot('cluster', o.output, o.slurm!);
  await (await openPrepInput(o.input)).close(); // a missing or broken input fails here, not after waiting in the queue
  const script = clusterBatchScript(o);
  await mkdir(join(root, 'slurm'), { recursive: true });
  const out = await openOutputStore(o.output); // a wrong bucket or credentials fail here too
  try {
    await out.remove('summary.json');
  } finally {
    await out.close();
  }
  const scriptPath = join(root, 'slurm', 'cluster.sbatch');
  await writeFileAtomic(scriptPath, script.text);
  const jobId = sbatch(scriptPath);
  o.progress.log(`cluster: submitted slurm job ${jobId} (${o.slurm!.ntasks} rank(s)): ${scriptPath}`);
  const logPath = script.logPattern.replace('%j', jobId);
  const res = await waitForJob(jobId, () => [logPath], process.stderr);
  let summary: ClusterSummary | undefined;
  try {
    const bytes = await readInput(joinLocation(o.output, 'summary.json'));
    summary = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as ClusterSummary) : undefined;
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
