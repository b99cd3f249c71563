/**
 * The S3 client (AWS SDK for JavaScript v3), loaded only when an s3:// location is used: local runs never
 * import the SDK. Settings come from the command line (--s3-endpoint, --s3-region, --s3-path-style) or the
 * environment (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION, AWS_MAX_ATTEMPTS,
 * METAVEC_S3_PATH_STYLE). Credentials always come from the SDK's standard provider chain; metavec never reads,
 * prints or stores them, and errors are scrubbed of anything that looks like a key or a signature.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { MetavecError } from '../../errors.js';

export type S3Sdk = typeof import('@aws-sdk/client-s3');
export type S3Storage = typeof import('@aws-sdk/lib-storage');

export interface S3Settings {
  /** Custom endpoint (an S3-compatible server), e.g. http://127.0.0.1:9000. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (http://host/bucket/key); default: on when a custom endpoint is set. */
  pathStyle?: boolean;
  /** Attempts per request (the SDK's standard retry mode: exponential backoff with jitter). */
  maxAttempts?: number;
}

let settings: S3Settings = {};
let cached: Promise<S3Handle> | undefined;

/** Sets this process's S3 settings (from the command line); later calls override earlier ones. */
export function configureS3(s: S3Settings): void {
  const next = { ...settings };
  for (const [k, v] of Object.entries(s) as [keyof S3Settings, unknown][]) if (v !== undefined) (next as Record<string, unknown>)[k] = v;
  settings = next;
  if (cached) {
    const old = cached;
    cached = undefined;
    void old.then((h) => h.client.destroy(), () => undefined);
  }
}

export interface ResolvedS3Settings {
  endpoint?: string;
  region?: string;
  pathStyle: boolean;
  maxAttempts: number;
}

function envFlag(name: string): boolean | undefined {
  const v = process.env[name]?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new MetavecError('USAGE', `s3: ${name} must be true or false, got '${process.env[name]}'`);
}

export function resolveS3Settings(): ResolvedS3Settings {
  const endpoint = settings.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined);
  if (endpoint !== undefined) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw new MetavecError('USAGE', `s3: endpoint '${scrubSecrets(endpoint)}' is not a URL (e.g. http://127.0.0.1:9000)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MetavecError('USAGE', `s3: endpoint '${displayEndpoint(endpoint)}' must be http:// or https://`);
    if (u.username || u.password) throw new MetavecError('USAGE', `s3: endpoint ${displayEndpoint(endpoint)} must not carry credentials (use the standard AWS credential chain)`);
  }
  const region = settings.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined));
  const envAttempts = process.env.AWS_MAX_ATTEMPTS ? Number(process.env.AWS_MAX_ATTEMPTS) : undefined;
  if (envAttempts !== undefined && !(Number.isInteger(envAttempts) && envAttempts >= 1 && envAttempts <= 50)) {
    throw new MetavecError('USAGE', `s3: AWS_MAX_ATTEMPTS must be an integer in [1, 50], got '${process.env.AWS_MAX_ATTEMPTS}'`);
  }
  return {
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    pathStyle: settings.pathStyle ?? envFlag('METAVEC_S3_PATH_STYLE') ?? endpoint !== undefined,
    maxAttempts: settings.maxAttempts ?? envAttempts ?? 5,
  };
}

/**
 * The resolved, non-secret S3 settings as environment variables, for the processes of another host that run
 * part of this command (Ray actors, Slurm array tasks): endpoint, region, path style, attempts. Credentials
 * are never included: those processes take them from their own node's standard AWS chain (docs/s3.md).
 */
export function s3SettingsEnv(): Record<string, string> {
  const s = resolveS3Settings();
  return {
    ...(s.endpoint !== undefined ? { AWS_ENDPOINT_URL_S3: s.endpoint } : {}),
    ...(s.region !== undefined ? { AWS_REGION: s.region } : {}),
    METAVEC_S3_PATH_STYLE: String(s.pathStyle),
    AWS_MAX_ATTEMPTS: String(s.maxAttempts),
  };
}

/** Environment variables that hold credentials (or look like they do): never forwarded to a job's description. */
export function isSecretEnvName(name: string): boolean {
  return ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN'].includes(name) || /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL(?!S_FILE)|PRIVATE|_KEY$/i.test(name);
}

export interface S3Handle {
  sdk: S3Sdk;
  client: S3Client;
  settings: ResolvedS3Settings;
  storage(): Promise<S3Storage>;
}

const MISSING_SDK =
  "s3: s3:// locations need the AWS SDK, an optional dependency that is not installed (run 'npm install @aws-sdk/client-s3 @aws-sdk/lib-storage' in metavec's directory)";

async function loadSdk(): Promise<S3Sdk> {
  // The SDK warns on every Node < 22 process that future releases will need Node 22; metavec pins a release
  // that supports Node 20 (package.json engines), so the warning would only be noise on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    return await import('@aws-sdk/client-s3');
  } catch (err) {
    throw new MetavecError('USAGE', MISSING_SDK, { cause: err });
  }
}

async function create(): Promise<S3Handle> {
  const sdk = await loadSdk();
  const s = resolveS3Settings();
  const client = new sdk.S3Client({
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.region ? { region: s.region } : {}),
    forcePathStyle: s.pathStyle,
    maxAttempts: s.maxAttempts,
    retryMode: 'standard',
    // S3-compatible servers implement the newer flexible checksums unevenly (s3proxy answers 501 to the
    // default CRC32 headers); integrity is checked end to end with sha256 anyway (manifest, object metadata).
    ...(s.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
  let storage: Promise<S3Storage> | undefined;
  return {
    sdk,
    client,
    settings: s,
    storage: () =>
      (storage ??= import('@aws-sdk/lib-storage').catch((err: unknown) => {
        throw new MetavecError('USAGE', MISSING_SDK, { cause: err });
      })),
  };
}

/** The process's S3 client (created on first use). */
export function s3(): Promise<S3Handle> {
  if (!cached) {
    cached = create();
    cached.catch(() => (cached = undefined));
  }
  return cached;
}

/** Closes the client's sockets (so a CLI process exits promptly). */
export async function closeS3(): Promise<void> {
  const c = cached;
  cached = undefined;
  if (c) (await c.catch(() => undefined))?.client.destroy();
}

/** The endpoint as shown in messages: scheme, host and port only. */
export function displayEndpoint(endpoint: string | undefined): string {
  if (!endpoint) return 'AWS S3';
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid endpoint)';
  }
}

/**
 * Removes anything credential-like from a text: query-string signatures and credentials of presigned URLs,
 * Authorization header values, AWS access key ids, URL user info, and the values of the credential
 * environment variables themselves.
 */
export function scrubSecrets(text: string): string {
  let out = text
    .replace(/(X-Amz-(?:Credential|Signature|Security-Token)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/((?:Credential|Signature|SignedHeaders)=)[^,\s"']+/g, '$1[redacted]')
    .replace(/\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b/g, '[redacted-key-id]')
    .replace(/(\/\/)[^/@\s:]+:[^/@\s]+@/g, '$1[redacted]@');
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN']) {
    const v = process.env[name];
    if (v && v.length >= 4) out = out.split(v).join('[redacted]');
  }
  return out;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  cause?: unknown;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

function networkCode(e: SdkErrorShape): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as SdkErrorShape).cause, depth++) {
    const c = (cur as SdkErrorShape).code;
    if (c && NETWORK_CODES.has(c)) return c;
    const errors = (cur as { errors?: unknown[] }).errors; // AggregateError from happy-eyeballs connects
    if (Array.isArray(errors)) for (const x of errors) if ((x as SdkErrorShape).code && NETWORK_CODES.has((x as SdkErrorShape).code!)) return (x as SdkErrorShape).code;
  }
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout') return 'timeout';
  return undefined;
}

const CHAIN = 'credentials come from the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, or an instance/task role';

/**
 * Turns an SDK error into a one-line MetavecError that names the object and the problem, never a credential.
 * `what` is the S3 URI (or bucket) the request was about, `action` a verb for the message.
 */
export function s3Error(action: string, what: string, err: unknown, code: 'INPUT' | 'OUTPUT' | 'MANIFEST' = 'INPUT'): MetavecError {
  if (err instanceof MetavecError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts;
  const name = e.name ?? e.Code ?? 'Error';
  const bucket = /^s3:\/\/([^/]+)/.exec(what)?.[1] ?? what;
  const s = settings.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined);
  let msg: string;
  const net = networkCode(e);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
    msg = `s3: ${what}: no AWS credentials found (${CHAIN})`;
  } else if (/Region is missing/i.test(e.message ?? '')) {
    msg = `s3: ${what}: no region configured (set AWS_REGION or --s3-region)`;
  } else if (name === 'NoSuchBucket') {
    msg = `s3: ${what}: bucket '${bucket}' does not exist`;
  } else if (name === 'NoSuchKey') {
    msg = `s3: ${what}: no such object`;
  } else if (name === 'InvalidAccessKeyId') {
    msg = `s3: ${what}: the server does not know this access key id (wrong credentials? ${CHAIN})`;
  } else if (name === 'SignatureDoesNotMatch') {
    msg = `s3: ${what}: request signature rejected: the secret access key does not match the access key id (${CHAIN})`;
  } else if (name === 'AccessDenied' || status === 403) {
    msg = `s3: ${what}: access denied (HTTP 403: wrong credentials, or no permission to ${action})`;
  } else if (name === 'PreconditionFailed' || status === 412) {
    msg = `s3: ${what}: the object changed while it was being read (ETag no longer matches)`;
  } else if (net) {
    msg = `s3: ${what}: cannot ${action}: endpoint ${displayEndpoint(s)} unreachable (${net}${attempts ? `, ${attempts} attempts` : ''})`;
  } else {
    const detail = (e.message ?? '').split('\n')[0]!.slice(0, 200);
    msg = `s3: ${what}: cannot ${action}: ${name}${status ? ` (HTTP ${status}${attempts && attempts > 1 ? `, ${attempts} attempts` : ''})` : ''}${detail && detail !== name && detail !== 'UnknownError' ? `: ${detail}` : ''}`;
  }
  return new MetavecError(code, scrubSecrets(msg));
}

/** 404 on a HEAD has no body: tells a missing bucket from a missing object with a HeadBucket request. */
export async function explainNotFound(h: S3Handle, bucket: string, uri: string, code: 'INPUT' | 'MANIFEST' = 'INPUT'): Promise<MetavecError> {
  try {
    await h.client.send(new h.sdk.HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const status = (err as SdkErrorShape).$metadata?.httpStatusCode;
    if (status === 404 || (err as SdkErrorShape).name === 'NotFound' || (err as SdkErrorShape).name === 'NoSuchBucket') {
      return new MetavecError(code, `s3: ${uri}: bucket '${bucket}' does not exist`);
    }
    return s3Error('read', uri, err, code);
  }
  return new MetavecError(code, `s3: ${uri}: no such object`);
}

export function isNotFound(err: unknown): boolean {
  const e = err as SdkErrorShape;
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchKey';
}
