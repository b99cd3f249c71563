import type { Readable, Writable } from 'node:stream';
import { kmerTable } from '../../embed/kmerProfile.js';
import { MetavecError } from '../../errors.js';
import { resolveLocation, splitLocation } from '../../io/location.js';
import { readPlan, type PrepPlan } from '../../prep/plan.js';
import { decodeRequest, encodeError, encodePrepResult, encodeSpectrum, type SliceRequest } from './codec.js';
import { readFrames, writeFrame } from './frame.js';
import { sliceParams, slicePrep, sliceSpectrum } from './sliceWork.js';

/**
 * A long-lived slice worker on stdin/stdout (the Node process a Ray actor owns): reads framed Arrow IPC
 * requests, answers each with a framed Arrow IPC result or error, logs on stderr, and exits when stdin
 * closes. One request at a time; the plan and the merged sketch are loaded once and cached.
 */

let cachedPlan: { path: string; plan: PrepPlan } | undefined;

async function planFor(path: string): Promise<PrepPlan> {
  const full = resolveLocation(path);
  if (cachedPlan?.path !== full) cachedPlan = { path: full, plan: await readPlan(full) };
  return cachedPlan.plan;
}

/** Runs one request; returns the encoded reply (a result or an error message). */
export async function handleRequest(q: SliceRequest): Promise<Uint8Array> {
  const plan = await planFor(q.plan);
  const slice = plan.slices[q.slice];
  if (!slice) throw new MetavecError('USAGE', `prep-worker: slice ${q.slice} is not in the plan (${plan.slices.length} slices)`);
  const inline = { ...(q.r1 ? { r1: q.r1 } : {}), ...(q.r2 ? { r2: q.r2 } : {}) };
  if (q.op === 'spectrum') return encodeSpectrum(await sliceSpectrum(plan, slice, inline));
  const dim = plan.options.embedding?.dim ?? kmerTable(plan.options.kmer).dim;
  const params = await sliceParams(plan, splitLocation(resolveLocation(q.plan)).parent);
  return encodePrepResult(await slicePrep(plan, slice, params, dim, inline), dim, slice.index);
}

export function errorReply(err: unknown): Uint8Array {
  if (err instanceof MetavecError) return encodeError(err.code, err.message);
  const e = err as Error;
  return encodeError('INTERNAL', `prep-worker: ${e.stack ?? e.message}`);
}

export async function serveStdio(input: Readable, output: Writable, log: (msg: string) => void): Promise<number> {
  let served = 0;
  for await (const frame of readFrames(input, 'prep-worker stdin')) {
    let reply: Uint8Array;
    const t0 = performance.now();
    let what = 'request';
    try {
      const q = decodeRequest(frame);
      what = `${q.op} slice ${q.slice}`;
      reply = await handleRequest(q);
    } catch (err) {
      reply = errorReply(err);
    }
    await writeFrame(output, reply);
    served++;
    log(`prep-worker[${process.pid}]: ${what} in ${((performance.now() - t0) / 1000).toFixed(2)} s (${reply.length} bytes)`);
  }
  return served;
}
