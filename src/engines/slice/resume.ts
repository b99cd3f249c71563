import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { isS3Uri } from '../../io/location.js';
import { decodePrepResult } from './codec.js';
import type { SpectrumFile } from './sliceWork.js';
import { partName, type PrepPlan } from '../../prep/plan.js';
import { TOOL_VERSION } from '../../version.js';

/**
 * Resume of a distributed Phase 1 run whose slice results are files in OUTPUT/_prep_work (the Slurm engine's
 * job arrays; docs/reliability.md). Every slice result is written atomically by `prep-slice` (temp + rename),
 * so a file under its final name is complete; the merged spectrum (spectrum.json + sketch.bin) likewise.
 * A re-run with the same plan (same inputs: size, mtime of local files, record boundaries; same options;
 * same tool version) keeps them and submits array tasks only for the slices that have no result; anything
 * else (another plan, a result that does not decode or names another slice) is removed and recomputed.
 */

export const RESUME_KEY_FILE = 'resume-key';

export interface SliceReuse {
  /** the merged pass-1 spectrum of an earlier run (spectrum.json, and sketch.bin when correction is on) */
  spectrum: boolean;
  /** slices whose prep result is present and verified */
  prep: Set<number>;
  /** fragments covered by the reused prep results */
  fragments: number;
}

/** The key of a planned run: the plan itself (options, inputs, slice boundaries) plus the local inputs' mtimes. */
export async function sliceRunKey(plan: PrepPlan, inputs: string[]): Promise<string> {
  const files = [];
  for (const p of inputs) files.push(isS3Uri(p) ? { p } : { p, mtime: (await stat(p)).mtimeMs });
  return createHash('sha256').update(JSON.stringify({ v: TOOL_VERSION, plan, files })).digest('hex');
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function spectrumPresent(work: string, plan: PrepPlan): Promise<boolean> {
  const text = await readText(join(work, 'spectrum.json'));
  if (text === undefined) return false;
  try {
    const file = JSON.parse(text) as SpectrumFile;
    if (!file.params) return true;
    return (await stat(join(work, 'sketch.bin'))).size === plan.sketchBytes;
  } catch {
    return false;
  }
}

/**
 * What an earlier run of the same plan left in `work` (parts in `parts`): keeps what verifies, removes the rest,
 * and records `key` for the run that follows. A different key means a fresh start (all results removed).
 */
export async function reusableSlices(work: string, parts: string, plan: PrepPlan, key: string): Promise<SliceReuse> {
  const none: SliceReuse = { spectrum: false, prep: new Set(), fragments: 0 };
  const previous = (await readText(join(work, RESUME_KEY_FILE)))?.trim();
  if (previous !== key) {
    await rm(parts, { recursive: true, force: true });
    await rm(join(work, 'spectrum.json'), { force: true });
    await rm(join(work, 'sketch.bin'), { force: true });
    await writeFileAtomic(join(work, RESUME_KEY_FILE), key + '\n');
    return none;
  }
  const reuse = none;
  reuse.spectrum = plan.options.correct && (await spectrumPresent(work, plan));
  for (const s of plan.slices) {
    const p = join(parts, partName('prep', s.index));
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(p));
    } catch {
      continue; // not there: computed by this run
    }
    let ok: boolean;
    try {
      const d = decodePrepResult(bytes);
      ok = d.slice === s.index && d.result.index === s.index;
    } catch {
      ok = false;
    }
    if (ok) {
      reuse.prep.add(s.index);
      reuse.fragments += s.fragments;
    } else {
      await rm(p, { force: true });
    }
  }
  return reuse;
}

/** The progress line of a resumed run, or undefined when nothing was reused (one wording for every engine). */
export function resumeMessage(reuse: SliceReuse, slices: number): string | undefined {
  if (reuse.prep.size === 0 && !reuse.spectrum) return undefined;
  return `resume: ${reuse.prep.size} of ${slices} slice result(s) reused${reuse.spectrum ? '; correction spectrum reused' : ''}`;
}
