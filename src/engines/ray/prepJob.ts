import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MetavecError } from '../../errors.js';
import type { PrepEngine, PrepOptions, PrepSummary } from '../../pipeline/prepOptions.js';
import type { RayJobOptions } from './jobOptions.js';
import { RayJobsClient, type JobInfo } from './jobs.js';
import { buildRayPackage } from './package.js';

/**
 * `metavec prep --engine ray`: packages this installation (content-addressed zip), uploads it through the Jobs
 * API package endpoint unless the cluster has it, submits ray/prep_driver.py as a job, streams its logs, polls
 * its status, and turns a failed job into a MetavecError with the job's own error line (docs/ray.md).
 */

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SUMMARY = 'METAVEC_SUMMARY ';
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-.,/:=@+]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The Ray engine of Phase 1 (pipeline/prepEngines.ts). */
export const rayPrepEngine: PrepEngine = {
  name: 'ray',
  run: (opts) => {
    if (opts.engine.name !== 'ray') throw new MetavecError('INTERNAL', `prep: the ray engine was given --engine ${opts.engine.name}`);
    return runRayPrep(opts, opts.engine.ray);
  },
};

async function runRayPrep(opts: PrepOptions, o: RayJobOptions): Promise<PrepSummary & { jobId: string }> {
  const t0 = performance.now();
  const progress = opts.progress;
  const client = new RayJobsClient(o.address);
  const v = await client.version();
  progress.log(`ray: Jobs API at ${client.base} (Ray ${v.ray_version})`);
  const pkg = await buildRayPackage(ROOT);
  if (await client.packageExists(pkg.uri)) {
    progress.log(`ray: working directory ${pkg.uri} already on the cluster (${pkg.files} files)`);
  } else {
    const zip = pkg.zip();
    progress.log(`ray: uploading the working directory ${pkg.uri} (${pkg.files} files, ${(zip.length / 2 ** 20).toFixed(1)} MiB zipped)`);
    await client.uploadPackage(pkg.uri, zip);
  }
  const python = process.env.METAVEC_RAY_PYTHON ?? 'python3';
  const driverArgs = ['ray/prep_driver.py', '--num-gpus', String(o.numGpus)];
  if (o.actors) driverArgs.push('--actors', String(o.actors));
  if (o.sliceFragments) driverArgs.push('--slice-fragments', String(o.sliceFragments));
  const entrypoint = [python, ...driverArgs, '--', ...o.prepArgs].map(shellQuote).join(' ');
  const id = `metavec-prep-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
  await client.submit({
    entrypoint,
    submission_id: id,
    runtime_env: { working_dir: pkg.uri, ...(o.env && Object.keys(o.env).length > 0 ? { env_vars: o.env } : {}) },
    metadata: { tool: 'metavec', command: 'prep', output: opts.output },
  });
  progress.log(`ray: submitted job ${id}`);
  // Ctrl-C stops the job and ends the wait with an INTERRUPTED error (the CLI exits 130)
  const interrupt = new AbortController();
  const stop = () => interrupt.abort();
  process.once('SIGINT', stop);
  let shown = 0;
  let info: JobInfo;
  let logs: string;
  try {
    for (;;) {
      if (interrupt.signal.aborted) {
        await client.stop(id).catch(() => undefined);
        throw new MetavecError('INTERRUPTED', `ray: stopped job ${id} (interrupted)`);
      }
      info = await client.status(id);
      logs = await client.logs(id);
      if (o.streamLogs && logs.length > shown) process.stderr.write(logs.slice(shown).split('\n').filter((l) => !l.startsWith(SUMMARY)).join('\n'));
      shown = logs.length;
      if (TERMINAL.has(info.status)) break;
      await sleep(o.pollMs ?? 1000, undefined, { signal: interrupt.signal }).catch(() => undefined);
    }
  } finally {
    process.removeListener('SIGINT', stop);
  }
  // The job's status alone is not trusted: with the raylet subreaper on (RAY_kill_child_processes_on_worker_exit_
  // with_raylet_subreaper, which stops leaked workers) Ray 2.60 reported every job SUCCEEDED with driver exit
  // code 0, even `false` (docs/ray.md). Success = the driver's summary line and no error line.
  // the first error line is the cause (the driver adds 'prep-plan failed ...; see its message above' after it)
  const errLine = logs.split('\n').find((l) => l.startsWith('metavec: error: '));
  if (errLine) throw new MetavecError('INPUT', `${errLine.slice('metavec: error: '.length)} (ray job ${id})`);
  if (info.status !== 'SUCCEEDED') {
    throw new MetavecError('INTERNAL', `ray: job ${id} ${info.status}: ${(info.message ?? '').split('\n')[0]} (logs: ${client.base}/api/jobs/${id}/logs)`);
  }
  const line = logs.split('\n').find((l) => l.startsWith(SUMMARY));
  if (!line) throw new MetavecError('INTERNAL', `ray: job ${id} ended without the driver's summary line: it did not complete (logs: ${client.base}/api/jobs/${id}/logs)`);
  const summary = JSON.parse(line.slice(SUMMARY.length)) as PrepSummary;
  return { ...summary, seconds: (performance.now() - t0) / 1000, jobId: id };
}
