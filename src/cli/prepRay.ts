import { usageError } from '../errors.js';
import { isS3Uri, resolveLocation } from '../io/location.js';
import { isSecretEnvName, s3SettingsEnv } from '../io/s3/client.js';
import type { RayJobOptions } from '../engines/ray/jobOptions.js';
import { floatOption, intOption } from './args.js';

/** Options that stay on the client (the rest is handed to the job's `metavec prep-plan`). */
// The S3 settings reach every process of the job as environment variables (runtime_env), not as options.
const CLIENT_ONLY = new Set(['engine', 'ray-address', 'ray-actors', 'ray-env', 'num-gpus', 'slice-fragments', 'threads', 'json', 'quiet', 'help', 's3-endpoint', 's3-region', 's3-path-style']);
const PATHS = new Set(['input', 'input2', 'output']);

/** The Ray engine's settings for `metavec prep --engine ray` (the other prep options are validated by prepOptionsFrom). */
export function rayJobFrom(values: Record<string, string | boolean | string[] | undefined>): RayJobOptions {
  const fromEnv = process.env.RAY_ADDRESS && /^https?:\/\//.test(process.env.RAY_ADDRESS) ? process.env.RAY_ADDRESS : undefined;
  const address = (values['ray-address'] as string | undefined) ?? fromEnv;
  if (!address) throw usageError('prep: --engine ray needs --ray-address http://HEAD:8265 (or RAY_ADDRESS set to that URL)');
  const args: string[] = [];
  let s3 = false;
  for (const [k, v] of Object.entries(values)) {
    if (CLIENT_ONLY.has(k) || v === undefined || v === false) continue;
    const abs = (x: string) => {
      if (!PATHS.has(k)) return x;
      s3 ||= isS3Uri(x);
      return resolveLocation(x); // absolute paths (the job runs in the unpacked package) or normalised s3:// URIs
    };
    if (v === true) args.push(`--${k}`);
    else if (Array.isArray(v)) for (const x of v) args.push(`--${k}`, abs(x));
    else args.push(`--${k}`, abs(v));
  }
  const actors = values['ray-actors'] === undefined ? undefined : intOption('prep', 'ray-actors', values['ray-actors'] as string, 1, 1, 100_000);
  const sliceFragments = values['slice-fragments'] === undefined ? undefined : intOption('prep', 'slice-fragments', values['slice-fragments'] as string, 1, 1);
  const env = { ...(s3 ? s3SettingsEnv() : {}), ...forwardedEnv((values['ray-env'] as string[] | undefined) ?? []) };
  return {
    address,
    prepArgs: args,
    env,
    ...(actors ? { actors } : {}),
    ...(sliceFragments ? { sliceFragments } : {}),
    numGpus: floatOption('prep', 'num-gpus', values['num-gpus'] as string | undefined, 0, 0, 64),
    streamLogs: !(values.quiet ?? false),
  };
}

/**
 * `--ray-env NAME`: the client's value of NAME goes into the job's runtime_env env_vars (e.g. AWS_PROFILE and
 * AWS_SHARED_CREDENTIALS_FILE naming credentials the nodes hold). Ray shows runtime_env on its dashboard and
 * in its logs, so variables that hold secrets are refused: credentials stay on the nodes (docs/s3.md).
 */
function forwardedEnv(names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw usageError(`prep: --ray-env takes an environment variable name, got '${n}'`);
    if (isSecretEnvName(n)) {
      throw usageError(`prep: --ray-env ${n}: Ray shows a job's runtime_env on its dashboard and in its logs, so secrets are not sent with the job; give the Ray nodes credentials (an instance role, or a profile in their ~/.aws) instead (docs/s3.md)`);
    }
    const v = process.env[n];
    if (v === undefined) throw usageError(`prep: --ray-env ${n}: not set in this environment`);
    out[n] = v;
  }
  return out;
}
