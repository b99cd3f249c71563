/**
 * Phase 1 through Slurm (`metavec prep --engine slurm`): the distributed Phase 1 core (docs/distributed-prep.md)
 * as Slurm jobs. This process plans the run (record-aligned slices -> OUTPUT/_prep_work/plan.json), then submits
 *   [spectrum]       job array, one task per slice: prep-slice --op spectrum    (only with error correction)
 *   [spectrum-merge] one task: prep-spectrum (sketch max / counts sum -> pass-2 parameters)   afterok spectrum
 *   [prep]           job array, one task per slice: prep-slice --op prep        afterok spectrum-merge
 *   [merge]          one task: prep-merge (dedup in input order, shards, qc_stats, manifest.json last)   afterok prep
 * waits for them in order while streaming their logs, and reports. The output equals the local engine's: the
 * slices, the spectrum merge and the merge are the Ray engine's (tested against the local engine there and here).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetavecError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { PrepDryRun, PrepEngine, PrepOptions, PrepSummary } from '../../pipeline/prepOptions.js';
import { resumeMessage, reusableSlices, sliceRunKey } from '../slice/resume.js';
import { DEFAULT_SLICE_FRAGMENTS, workDir, writePlan } from '../../pipeline/slices.js';
import { batchScript, metavecCommand, s3TaskEnv, slurmRoot, type BatchScript, type SlurmJobOptions } from './script.js';
import { lastLines, sbatch, waitForJob } from './submit.js';

interface Stage {
  key: 'spectrum' | 'spectrum-merge' | 'prep' | 'merge';
  script: BatchScript;
}

/**
 * The batch scripts of a planned run with `slices` slices; `root`: the output directory or --work-dir. A resumed
 * run passes the slices that still need a result (`pending`; no prep array when empty) and `correct` false when the
 * merged spectrum is reused.
 */
export function prepBatchScripts(o: PrepOptions, job: SlurmJobOptions, planPath: string, slices: number, correct: boolean, root: string, pending?: number[]): Stage[] {
  const entry = job.entry ?? fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  const j: SlurmJobOptions = { ...job, entry };
  const parts = join(workDir(root), 'parts');
  const logDir = join(root, 'slurm');
  const env = s3TaskEnv([...o.inputs, ...o.inputs2, o.output]);
  const batch = (spec: Parameters<typeof batchScript>[1]) => batchScript(j, env ? { ...spec, env } : spec);
  const part = (op: string) => `"${parts}/${op}-$(printf %05d "$SLURM_ARRAY_TASK_ID").arrow"`;
  const sliceCmd = (op: 'spectrum' | 'prep') =>
    `${metavecCommand(j, ['prep-slice', '--plan', planPath, '--slice', 'SLICE', '--op', op, '--out', 'OUT'])}`
      .replace(' SLICE ', ' "$SLURM_ARRAY_TASK_ID" ').replace(/ OUT$/, ` ${part(op)}`);
  const stages: Stage[] = [];
  if (correct) {
    stages.push({
      key: 'spectrum',
      script: batch({
        what: `Phase 1 pass-1 spectrum, one array task per slice (${slices})`, name: `${job.jobName}-spectrum`, ntasks: 1, cpusPerTask: 1,
        array: slices, logDir, body: [`mkdir -p ${parts}`, sliceCmd('spectrum')],
      }),
    });
    stages.push({
      key: 'spectrum-merge',
      script: batch({
        what: 'Phase 1 spectrum merge (pass-2 correction parameters)', name: `${job.jobName}-spectrum-merge`, ntasks: 1, cpusPerTask: 1,
        logDir, body: [metavecCommand(j, ['prep-spectrum', '--plan', planPath, '--parts', parts])],
      }),
    });
  }
  if (!pending || pending.length > 0) {
    stages.push({
      key: 'prep',
      script: batch({
        what: `Phase 1 QC, correction and embedding, one array task per slice (${pending ? `${pending.length} of ${slices}: the others' results are reused` : slices})`,
        name: `${job.jobName}-slices`, ntasks: 1, cpusPerTask: 1,
        array: pending && pending.length < slices ? pending : slices, logDir, body: [`mkdir -p ${parts}`, sliceCmd('prep')],
      }),
    });
  }
  const threads = job.cpusPerTask ?? o.threads;
  stages.push({
    key: 'merge',
    script: batch({
      what: 'Phase 1 merge: dedup in input order, shards, qc_stats.json, manifest.json (last)', name: `${job.jobName}-merge`, ntasks: 1,
      cpusPerTask: threads, logDir,
      body: [metavecCommand(j, ['prep-merge', '--plan', planPath, '--parts', parts, '--threads', String(threads), '--json'])],
    }),
  });
  return stages;
}

/** The Slurm engine of Phase 1 (pipeline/prepEngines.ts); `--dry-run` returns the scripts instead of submitting them. */
export const slurmPrepEngine: PrepEngine = {
  name: 'slurm',
  run: (opts) => {
    if (opts.engine.name !== 'slurm') throw new MetavecError('INTERNAL', `prep: the slurm engine was given --engine ${opts.engine.name}`);
    return runPrepSlurm(opts, opts.engine.slurm, opts.engine.slurm.sliceFragments);
  },
};

async function runPrepSlurm(o: PrepOptions, job: SlurmJobOptions, sliceFragments = DEFAULT_SLICE_FRAGMENTS): Promise<PrepSummary | PrepDryRun> {
  // the plan, the slices' results, the job scripts and their logs live in a shared directory: the output
  // directory, or --work-dir when the output is an S3 prefix (the merge uploads the shards, manifest last)
  const root = slurmRoot('prep', o.output, job);
  const t0 = performance.now();
  o.progress.phase('plan');
  const { path: planPath, plan } = await writePlan(o, sliceFragments, workDir(root));
  o.progress.log(`prep: ${plan.fragments} fragments in ${plan.slices.length} slice(s) -> ${planPath}`);
  if (job.dryRun) return { dryRun: prepBatchScripts(o, job, planPath, plan.slices.length, plan.options.correct, root).map((s) => `# ---- ${s.key}.sbatch\n${s.script.text}`).join('\n') };
  // resume: the results an interrupted run of the same plan left are kept (docs/reliability.md)
  const work = workDir(root);
  const reuse = await reusableSlices(work, join(work, 'parts'), plan, await sliceRunKey(plan, [...o.inputs, ...o.inputs2]));
  const pending = plan.slices.map((s) => s.index).filter((i) => !reuse.prep.has(i));
  const correct = plan.options.correct && !reuse.spectrum; // the merge reads the spectrum's info, so it is remade when missing
  const resumeLine = resumeMessage(reuse, plan.slices.length);
  if (resumeLine) o.progress.log(`prep: ${resumeLine}`);
  const stages = prepBatchScripts(o, job, planPath, plan.slices.length, correct, root, pending);
  const logDir = join(root, 'slurm');
  await mkdir(logDir, { recursive: true });
  const ids: string[] = [];
  for (const s of stages) {
    const file = join(logDir, `prep-${s.key}.sbatch`);
    await writeFileAtomic(file, s.script.text);
    const id = sbatch(file, ids.length > 0 ? [ids[ids.length - 1]!] : []);
    ids.push(id);
    o.progress.log(`prep: submitted ${s.key} as slurm job ${id}: ${file}`);
  }
  o.progress.phase('slurm');
  for (const [i, s] of stages.entries()) {
    const id = ids[i]!;
    const prefix = s.script.logPattern.split('/').pop()!.replace(/-%[jA].*$/, '-');
    const logs = async (): Promise<string[]> => {
      try {
        return (await readdir(logDir)).filter((f) => f.startsWith(`${prefix}${id}`)).sort().map((f) => join(logDir, f));
      } catch {
        return [];
      }
    };
    let known: string[] = await logs();
    const res = await waitForJob(id, () => known, process.stderr, 1000, async () => { known = await logs(); });
    if (res.state !== 'COMPLETED') {
      const later = ids.slice(i + 1);
      const tails = (await Promise.all(known.map(async (f) => ({ f, t: await lastLines(f, 3) })))).filter((x) => /error/i.test(x.t));
      throw new MetavecError('INPUT',
        `slurm: prep ${s.key} job ${id} ended ${res.state} (exit ${res.exitCode}); no manifest written${later.length ? ` (dependent jobs ${later.join(', ')} are cancelled by Slurm)` : ''}; logs in ${logDir}` +
        (tails[0] ? `; ${tails[0].f}:\n${tails[0].t}` : ''));
    }
  }
  const mergeLog = (await readdir(logDir)).find((f) => f.startsWith(`${job.jobName}-merge-${ids[ids.length - 1]!}`));
  const text = mergeLog ? await readFile(join(logDir, mergeLog), 'utf8') : '';
  // prep-merge --json prints the summary (pretty JSON: a line '{' ... a line '}') after its progress lines
  const lines = text.split('\n');
  const from = lines.indexOf('{');
  const to = lines.lastIndexOf('}');
  let summary: PrepSummary;
  try {
    summary = JSON.parse(lines.slice(from, to + 1).join('\n')) as PrepSummary;
    if (from < 0 || to < from) throw new Error('no JSON');
  } catch {
    throw new MetavecError('INTERNAL', `slurm: the merge job ${ids[ids.length - 1]!} completed but its log has no summary (${mergeLog ?? 'no log'})`);
  }
  const resumed = resumeLine !== undefined;
  return {
    ...summary,
    seconds: (performance.now() - t0) / 1000,
    ...(resumed ? { resumed, resumedFrom: { fragments: reuse.fragments, shards: 0, spectrum: reuse.spectrum } } : {}),
  };
}
