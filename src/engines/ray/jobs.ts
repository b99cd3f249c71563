import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { MetavecError } from '../../errors.js';

/**
 * A client of the Ray Jobs REST API (the dashboard, port 8265): version, package upload, submit, status,
 * logs, stop. No Python or Ray installation on the client. Plain node:http rather than fetch: undici's fetch
 * always sends `Sec-Fetch-Mode`, and the dashboard refuses PUT/POST from anything that looks like a browser
 * (ray/dashboard/optional_utils.py is_browser_request).
 */

interface Reply {
  status: number;
  ok: boolean;
  body: Buffer;
}

function send(url: URL, method: string, body: Uint8Array | string | undefined, contentType: string | undefined): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method,
      headers: {
        'user-agent': 'metavec',
        ...(contentType ? { 'content-type': contentType } : {}),
        ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, body: Buffer.concat(chunks) });
      });
    });
    req.end(body);
  });
}

export type JobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

export interface JobInfo {
  status: JobStatus;
  message?: string;
  submission_id?: string;
}

export interface SubmitRequest {
  entrypoint: string;
  submission_id: string;
  runtime_env: Record<string, unknown>;
  metadata?: Record<string, string>;
  entrypoint_num_cpus?: number;
  entrypoint_num_gpus?: number;
}

export class RayJobsClient {
  readonly base: string;

  constructor(address: string) {
    let u: URL;
    try {
      u = new URL(address);
    } catch {
      throw new MetavecError('USAGE', `ray: --ray-address must be the dashboard URL like http://HEAD:8265, got '${address}'`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MetavecError('USAGE', `ray: --ray-address must be an http(s) URL of the dashboard (Jobs API), got '${address}'`);
    this.base = u.href.replace(/\/+$/, '');
  }

  private async call(method: string, path: string, body?: Uint8Array | string, contentType?: string): Promise<Reply> {
    try {
      return await send(new URL(`${this.base}${path}`), method, body, contentType);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new MetavecError('INPUT', `ray: cannot reach the Jobs API at ${this.base} (${e.code ?? e.message}); is the head running ('ray start --head' / scripts/ray-head.sh start)?`);
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.call(method, path, body === undefined ? undefined : JSON.stringify(body), 'application/json');
    const text = r.body.toString('utf8');
    if (!r.ok) throw new MetavecError('INPUT', `ray: ${method} ${path}: HTTP ${r.status}: ${text.slice(0, 500)}`);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new MetavecError('INPUT', `ray: ${method} ${path}: not JSON: ${text.slice(0, 200)}`);
    }
  }

  async version(): Promise<{ ray_version: string; version: string }> {
    return this.json('GET', '/api/version');
  }

  /** gcs://_ray_pkg_<hex>.zip -> /api/packages/gcs/_ray_pkg_<hex>.zip */
  private static packagePath(uri: string): string {
    const m = /^gcs:\/\/(_ray_pkg_[0-9a-f]+\.zip)$/.exec(uri);
    if (!m) throw new MetavecError('INTERNAL', `ray: bad package uri ${uri}`);
    return `/api/packages/gcs/${m[1]!}`;
  }

  async packageExists(uri: string): Promise<boolean> {
    const r = await this.call('GET', RayJobsClient.packagePath(uri));
    if (r.status === 404) return false;
    if (!r.ok) throw new MetavecError('INPUT', `ray: GET ${RayJobsClient.packagePath(uri)}: HTTP ${r.status}`);
    return true;
  }

  async uploadPackage(uri: string, zip: Uint8Array): Promise<void> {
    const r = await this.call('PUT', RayJobsClient.packagePath(uri), zip, 'application/octet-stream');
    const text = r.body.toString('utf8');
    if (!r.ok) throw new MetavecError('INPUT', `ray: uploading the working directory (${zip.length} bytes) failed: HTTP ${r.status}: ${text.slice(0, 500)}`);
  }

  async submit(req: SubmitRequest): Promise<string> {
    const r = await this.json<{ submission_id?: string; job_id?: string }>('POST', '/api/jobs/', req);
    return r.submission_id ?? req.submission_id;
  }

  async status(id: string): Promise<JobInfo> {
    return this.json('GET', `/api/jobs/${encodeURIComponent(id)}`);
  }

  async logs(id: string): Promise<string> {
    return (await this.json<{ logs: string }>('GET', `/api/jobs/${encodeURIComponent(id)}/logs`)).logs;
  }

  async stop(id: string): Promise<void> {
    await this.json('POST', `/api/jobs/${encodeURIComponent(id)}/stop`);
  }
}
