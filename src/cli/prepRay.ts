import { isAbsolute, resolve } from 'node:path';
import { usageError } from '../errors.js';
import type { ProgressSink } from '../pipeline/progress.js';
import { runRayPrep } from '../pipeline/rayPrep.js';
import type { PrepSummary } from '../pipeline/phase1.js';
import { floatOption, intOption } from './args.js';

/** Options that stay on the client (the rest is handed to the job's `metavec prep-plan`). */
const CLIENT_ONLY = new Set(['engine', 'ray-address', 'ray-actors', 'num-gpus', 'slice-fragments', 'threads', 'json', 'quiet', 'help']);
const PATHS = new Set(['input', 'input2', 'output']);

/** `metavec prep --engine ray`: the values were validated by prepOptionsFrom already. */
export async function prepOnRay(values: Record<string, string | boolean | string[] | undefined>, progress: ProgressSink): Promise<PrepSummary> {
  const fromEnv = process.env.RAY_ADDRESS && /^https?:\/\//.test(process.env.RAY_ADDRESS) ? process.env.RAY_ADDRESS : undefined;
  const address = (values['ray-address'] as string | undefined) ?? fromEnv;
  if (!address) throw usageError('prep: --engine ray needs --ray-address http://HEAD:8265 (or RAY_ADDRESS set to that URL)');
  const args: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (CLIENT_ONLY.has(k) || v === undefined || v === false) continue;
    const abs = (x: string) => {
      if (PATHS.has(k) && /^s3:\/\//.test(x)) throw usageError(`prep: --engine ray reads and writes shared-filesystem paths; --${k} ${x} is s3:// (not wired into the Ray engine yet: docs/ray.md)`);
      return PATHS.has(k) && !isAbsolute(x) ? resolve(x) : x;
    };
    if (v === true) args.push(`--${k}`);
    else if (Array.isArray(v)) for (const x of v) args.push(`--${k}`, abs(x));
    else args.push(`--${k}`, abs(v));
  }
  const actors = values['ray-actors'] === undefined ? undefined : intOption('prep', 'ray-actors', values['ray-actors'] as string, 1, 1, 100_000);
  const sliceFragments = values['slice-fragments'] === undefined ? undefined : intOption('prep', 'slice-fragments', values['slice-fragments'] as string, 1, 1);
  return runRayPrep({
    address,
    prepArgs: args,
    output: resolve(values.output as string),
    ...(actors ? { actors } : {}),
    ...(sliceFragments ? { sliceFragments } : {}),
    numGpus: floatOption('prep', 'num-gpus', values['num-gpus'] as string | undefined, 0, 0, 64),
    progress,
    streamLogs: !(values.quiet ?? false),
  });
}
