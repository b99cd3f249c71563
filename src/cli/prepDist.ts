import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MetavecError, usageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { isS3Uri, resolveLocation, splitLocation } from '../io/location.js';
import { partName, readPlan } from '../prep/plan.js';
import { encodeSliceBytes } from '../engines/slice/codec.js';
import { readFrames, writeFrame } from '../engines/slice/frame.js';
import { inlineSlices } from '../engines/slice/inlineSlices.js';
import { handleRequest, serveStdio } from '../engines/slice/stdioWorker.js';
import { mergePrep, mergeSpectrum } from '../engines/slice/merge.js';
import { resumeMessage, reusableSlices, sliceRunKey } from '../engines/slice/resume.js';
import { createProgress } from '../pipeline/progress.js';
import { DEFAULT_SLICE_FRAGMENTS, isWorkDir, removeWorkDir, writePlan } from '../pipeline/slices.js';
import { defaultThreads, intOption, parseCommand } from './args.js';
import { PREP_OPTIONS, prepOptionsFrom } from './prep.js';

/**
 * Internal commands of the distributed Phase 1 engines (docs/distributed-prep.md). A driver (the Ray job,
 * a Slurm array) runs: prep-plan once; the spectrum stage (correction on) and the prep stage on every slice,
 * through `prep-worker --stdio` (a long-lived process fed framed Arrow IPC) or `prep-slice` (one slice to a
 * file); prep-spectrum after the spectrum stage; prep-merge last, which writes the shards and the manifest.
 */

export const PREP_DIST_HELP = `metavec internal commands of the distributed Phase 1 engines (docs/distributed-prep.md)

  metavec prep-plan <prep options> [--slice-fragments N] [--resume] [--json]
      resolve parameters, cut the inputs into record-aligned slices -> OUTPUT/_prep_work/plan.json;
      --resume: keep what an interrupted run of the same plan left in _prep_work (slice results in parts/,
      the merged spectrum) and report it (docs/reliability.md); outputs in s3:// are not resumed this way
  metavec prep-cut --plan PLAN
      decompress each gzip input once and write every slice's bytes as frames on stdout (Ray ships them inline)
  metavec prep-worker --stdio
      serve framed Arrow IPC slice requests on stdin/stdout until stdin closes (logs on stderr)
  metavec prep-slice --plan PLAN --slice I --op spectrum|prep --out FILE
      run one slice, write its Arrow IPC result to FILE (atomically)
  metavec prep-spectrum --plan PLAN (--parts DIR | --stdin)
      merge the slices' spectrum partials -> spectrum.json + sketch.bin next to the plan
  metavec prep-merge --plan PLAN (--parts DIR | --stdin [--parts DIR --reused I,J,...]) [--threads N] [--json] [--keep-work]
      merge the slices' prep results in slice order -> shards, qc_stats.json, manifest.json (last);
      with --stdin and --parts, slices in --reused are read from DIR and every other one comes on stdin
      and is kept in DIR (atomically) before it is merged, so a re-run can reuse it
`;

export async function prepPlanCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep-plan', argv, { ...PREP_OPTIONS, resume: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(PREP_DIST_HELP);
    return 0;
  }
  const progress = createProgress({ quiet: values.quiet ?? false });
  const opts = prepOptionsFrom('prep-plan', { ...values, engine: 'local' }, progress);
  const sliceFragments = intOption('prep-plan', 'slice-fragments', values['slice-fragments'], DEFAULT_SLICE_FRAGMENTS, 1);
  const { path, plan } = await writePlan(opts, sliceFragments);
  const work = splitLocation(path).parent;
  const parts = join(work, 'parts');
  // resume (the Ray driver): what an interrupted run of this plan left; S3 work locations are not resumed
  const reuse = values.resume && !isS3Uri(work) ? await reusableSlices(work, parts, plan, await sliceRunKey(plan, plan.inputs.map((i) => i.uri))) : undefined;
  const resumed = reuse && resumeMessage(reuse, plan.slices.length);
  const summary = {
    plan: path,
    slices: plan.slices.length,
    fragments: plan.fragments,
    correct: plan.options.correct,
    // Slices of gzip inputs have no random access: a driver that can should ship their bytes inline.
    gzip: plan.slices.some((s) => s.r1.compression === 'gzip' || s.r2?.compression === 'gzip'),
    ...(reuse ? { resume: { parts, reused: [...reuse.prep].sort((a, b) => a - b), fragments: reuse.fragments, spectrum: reuse.spectrum, ...(resumed ? { message: resumed } : {}) } } : {}),
  };
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else progress.log(`prep-plan: ${plan.fragments} fragments in ${plan.slices.length} slices -> ${path}`);
  if (resumed) progress.log(`prep: ${resumed}`);
  return 0;
}

export async function prepCutCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep-cut', argv, { plan: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(PREP_DIST_HELP);
    return 0;
  }
  if (!values.plan) throw usageError('prep-cut: --plan is required');
  const plan = await readPlan(resolveLocation(values.plan));
  for await (const s of inlineSlices(plan)) await writeFrame(process.stdout, encodeSliceBytes(s.slice, s.mate, s.bytes));
  return 0;
}

export async function prepWorkerCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep-worker', argv, { stdio: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(PREP_DIST_HELP);
    return 0;
  }
  if (!values.stdio) throw usageError('prep-worker: --stdio is required (requests on stdin, results on stdout)');
  // stdout carries only frames: anything else must go to stderr.
  const log = (m: string) => process.stderr.write(m + '\n');
  log(`prep-worker[${process.pid}]: ready`);
  const served = await serveStdio(process.stdin, process.stdout, log);
  log(`prep-worker[${process.pid}]: stdin closed after ${served} requests; exiting`);
  return 0;
}

export async function prepSliceCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep-slice', argv, {
    plan: { type: 'string' }, slice: { type: 'string' }, op: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(PREP_DIST_HELP);
    return 0;
  }
  if (!values.plan) throw usageError('prep-slice: --plan is required');
  if (!values.out) throw usageError('prep-slice: --out is required');
  const op = values.op;
  if (op !== 'spectrum' && op !== 'prep') throw usageError(`prep-slice: --op must be spectrum or prep, got '${op ?? ''}'`);
  const slice = intOption('prep-slice', 'slice', values.slice, -1, 0);
  if (slice < 0) throw usageError('prep-slice: --slice is required');
  const reply = await handleRequest({ op, plan: resolveLocation(values.plan), slice });
  await writeFileAtomic(resolve(values.out), reply);
  return 0;
}

/**
 * Payloads in slice order: from a parts directory (OP-NNNNN.arrow per slice), framed on stdin, or both (a
 * resumed run): the slices in `reused` from `parts`, every other one from stdin, kept in `parts` (atomically)
 * before it is handed on.
 */
async function* payloads(op: 'spectrum' | 'prep', slices: number, parts: string | undefined, stdin: boolean, cmd: string, reused?: Set<number>): AsyncGenerator<Uint8Array> {
  if (!stdin && parts === undefined) throw usageError(`${cmd}: give --parts DIR, --stdin, or both`);
  if (reused && !(stdin && parts !== undefined)) throw usageError(`${cmd}: --reused needs both --stdin and --parts`);
  const fromPart = async (i: number): Promise<Uint8Array> => {
    const p = join(parts!, partName(op, i));
    try {
      return new Uint8Array(await readFile(p));
    } catch (err) {
      throw new MetavecError('INPUT', `${cmd}: ${p}: missing result of slice ${i} (${(err as Error).message})`);
    }
  };
  if (!stdin) {
    for (let i = 0; i < slices; i++) yield await fromPart(i);
    return;
  }
  if (parts === undefined) {
    yield* readFrames(process.stdin, `${cmd} stdin`);
    return;
  }
  const frames = readFrames(process.stdin, `${cmd} stdin`)[Symbol.asyncIterator]();
  for (let i = 0; i < slices; i++) {
    if (reused?.has(i)) {
      yield await fromPart(i);
      continue;
    }
    const next = await frames.next();
    if (next.done) throw new MetavecError('INPUT', `${cmd} stdin: ended before the result of slice ${i}`);
    await writeFileAtomic(join(parts, partName(op, i)), next.value);
    yield next.value;
  }
  if (!(await frames.next()).done) throw new MetavecError('INPUT', `${cmd} stdin: more results than the plan's ${slices} slices`);
}

/** `--reused 0,3,5` -> the slice indices, each below `slices`. */
function reusedList(text: string | undefined, slices: number, cmd: string): Set<number> | undefined {
  if (text === undefined) return undefined;
  const out = new Set<number>();
  for (const t of text.split(',').filter(Boolean)) {
    const i = Number(t);
    if (!Number.isInteger(i) || i < 0 || i >= slices) throw usageError(`${cmd}: --reused: '${t}' is not a slice index below ${slices}`);
    out.add(i);
  }
  return out;
}

const MERGE_OPTIONS = {
  plan: { type: 'string' },
  parts: { type: 'string' },
  stdin: { type: 'boolean' },
  reused: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  'keep-work': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function prepSpectrumCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep-spectrum', argv, MERGE_OPTIONS);
  if (values.help) {
    process.stdout.write(PREP_DIST_HELP);
    return 0;
  }
  if (!values.plan) throw usageError('prep-spectrum: --plan is required');
  const planPath = resolveLocation(values.plan);
  const plan = await readPlan(planPath);
  const file = await mergeSpectrum(plan, payloads('spectrum', plan.slices.length, values.parts, values.stdin ?? false, 'prep-spectrum'), splitLocation(planPath).parent);
  if (values.json) process.stdout.write(JSON.stringify(file.info) + '\n');
  else if (!values.quiet) process.stderr.write(`prep-spectrum: ${file.params ? `correction level ${String(file.info.level)}` : String(file.info.skipped)}\n`);
  return 0;
}

export async function prepMergeCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand('prep-merge', argv, MERGE_OPTIONS);
  if (values.help) {
    process.stdout.write(PREP_DIST_HELP);
    return 0;
  }
  if (!values.plan) throw usageError('prep-merge: --plan is required');
  const planPath = resolveLocation(values.plan);
  const plan = await readPlan(planPath);
  const progress = createProgress({ quiet: values.quiet ?? false });
  const work = splitLocation(planPath).parent;
  const reused = reusedList(values.reused, plan.slices.length, 'prep-merge');
  const summary = await mergePrep(plan, payloads('prep', plan.slices.length, values.parts, values.stdin ?? false, 'prep-merge', reused), work, {
    threads: intOption('prep-merge', 'threads', values.threads, defaultThreads(), 1, 256),
    progress,
  });
  // The work location (plan, sketch, parts: OUTPUT/_prep_work, or a Slurm --work-dir's) is not part of the output.
  if (!values['keep-work'] && isWorkDir(work)) await removeWorkDir(work);
  if (values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else progress.log(`prep-merge: ${summary.fragmentsIn} fragments in, ${summary.fragmentsOut} out in ${summary.shards} shards -> ${summary.manifest}`);
  return 0;
}
