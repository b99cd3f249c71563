/**
 * Submitting a batch script with sbatch, waiting for it (scontrol, then sacct once the controller has
 * forgotten the job), and streaming its log to our stderr while it runs. Slurm commands find their
 * configuration through SLURM_CONF when it is not in /etc (scripts/slurm.sh exports it).
 */
import { spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetavecError } from '../../errors.js';

export interface SlurmJobResult {
  jobId: string;
  state: string;
  exitCode: string;
  logPath: string;
  seconds: number;
}

function slurmCmd(cmd: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string; missing: boolean } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  const err: NodeJS.ErrnoException | undefined = r.error;
  const missing = err?.code === 'ENOENT';
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', missing };
}

/**
 * sbatch the script file; returns the job id. `afterOk`: jobs that must complete successfully first (a failed
 * one makes Slurm cancel this job instead of leaving it pending forever).
 */
export function sbatch(scriptPath: string, afterOk: string[] = []): string {
  const dep = afterOk.length > 0 ? [`--dependency=afterok:${afterOk.join(':')}`, '--kill-on-invalid-dep=yes'] : [];
  const r = slurmCmd('sbatch', ['--parsable', ...dep, scriptPath]);
  if (r.missing) throw new MetavecError('USAGE', `slurm: sbatch not found: install the Slurm client (Debian: slurm-client) or run on a login node (--dry-run prints the script)`);
  if (r.status !== 0) throw new MetavecError('INPUT', `slurm: sbatch ${scriptPath} failed: ${r.stderr.trim().split('\n')[0] ?? ''}`);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (!/^\d+(_\d+)?$/.test(id)) throw new MetavecError('INTERNAL', `slurm: sbatch printed no job id (${JSON.stringify(r.stdout.trim())})`);
  return id;
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT']);

/** State and exit code of a job (or of every task of an array job: the worst one wins), or null when unknown. */
export function jobState(jobId: string): { state: string; exitCode: string } | null {
  const sc = slurmCmd('scontrol', ['show', 'job', '-o', jobId]);
  if (sc.status === 0 && sc.stdout.includes('JobState=')) {
    let worst: { state: string; exitCode: string } | null = null;
    for (const line of sc.stdout.trim().split('\n')) {
      const state = /JobState=(\S+)/.exec(line)?.[1] ?? 'UNKNOWN';
      const exitCode = /ExitCode=(\S+)/.exec(line)?.[1] ?? '';
      if (!worst || rankState(state) > rankState(worst.state)) worst = { state, exitCode };
    }
    return worst;
  }
  // The controller forgets finished jobs after MinJobAge; accounting (if configured) still knows them.
  const sa = slurmCmd('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'State,ExitCode']);
  if (sa.status === 0 && sa.stdout.trim()) {
    let worst: { state: string; exitCode: string } | null = null;
    for (const line of sa.stdout.trim().split('\n')) {
      const [state = 'UNKNOWN', exitCode = ''] = line.split('|');
      const s = state.split(' ')[0]!;
      if (!worst || rankState(s) > rankState(worst.state)) worst = { state: s, exitCode };
    }
    return worst;
  }
  return null;
}

/** Order for combining array tasks: any still running > any failure > completed. */
function rankState(s: string): number {
  if (!TERMINAL.has(s)) return 2;
  return s === 'COMPLETED' ? 0 : 1;
}

/** Appends new bytes of a growing file to a stream. */
class LogTail {
  private offset = 0;
  constructor(private readonly path: string, private readonly out: NodeJS.WritableStream) {}
  async pump(): Promise<void> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.out.write(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  }
}

/**
 * Waits until the job ends, streaming `logPaths` (may be several: array tasks) to `out`. Resolves with the
 * final state; the caller decides what a failure means. Ctrl-C cancels the job (scancel) and rejects with an
 * INTERRUPTED error.
 */
export async function waitForJob(
  jobId: string, logPaths: () => string[], out: NodeJS.WritableStream | null, pollMs = 1000, refresh?: () => Promise<void>,
): Promise<SlurmJobResult> {
  const t0 = performance.now();
  const tails = new Map<string, LogTail>();
  // Ctrl-C cancels the job and ends the wait with an INTERRUPTED error (the CLI exits 130)
  const interrupt = new AbortController();
  const onSigint = (): void => {
    slurmCmd('scancel', jobId.split(','));
    interrupt.abort();
  };
  process.once('SIGINT', onSigint);
  let unknown = 0;
  try {
    for (;;) {
      if (interrupt.signal.aborted) throw new MetavecError('INTERRUPTED', `slurm: cancelled job ${jobId} (interrupted)`);
      const st = jobState(jobId);
      if (refresh) await refresh();
      if (out) {
        for (const p of logPaths()) {
          let t = tails.get(p);
          if (!t) { t = new LogTail(p, out); tails.set(p, t); }
          await t.pump();
        }
      }
      if (st === null) {
        if (++unknown >= 10) throw new MetavecError('INTERNAL', `slurm: job ${jobId} is unknown to scontrol and sacct`);
      } else if (TERMINAL.has(st.state)) {
        if (refresh) await refresh();
        if (out) {
          for (const p of logPaths()) {
            let t = tails.get(p);
            if (!t) { t = new LogTail(p, out); tails.set(p, t); }
            await t.pump();
          }
        }
        return { jobId, state: st.state, exitCode: st.exitCode, logPath: logPaths()[0] ?? '', seconds: (performance.now() - t0) / 1000 };
      }
      await sleep(pollMs, undefined, { signal: interrupt.signal }).catch(() => undefined);
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** The last `n` lines of a file ('' when unreadable). */
export async function lastLines(path: string, n: number): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const text = (await fh.readFile('utf8')).trimEnd();
      return text.split('\n').slice(-n).join('\n');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}
