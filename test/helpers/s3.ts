import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { hasCommand, REPO_ROOT, requireTool } from './tools.js';

/**
 * A real S3-compatible server (S3Proxy, started by scripts/s3-server.sh) for integration tests. Each
 * instance has its own data directory and port; stop()/start() keep both, so a restarted server serves the
 * objects it had.
 */
export class S3TestServer {
  readonly state: string;
  endpoint = '';
  accessKey = '';
  secretKey = '';
  dataDir = '';
  private running = false;

  private constructor() {
    this.state = mkdtempSync(join(tmpdir(), 'metavec-s3-server-'));
  }

  static jarPath(): string {
    return spawnSync('bash', [join(REPO_ROOT, 'scripts/s3-server.sh'), 'jar'], { encoding: 'utf8' }).stdout.trim();
  }

  static available(): boolean {
    return hasCommand('java') && existsSync(S3TestServer.jarPath());
  }

  /** Starts a server, or skips the test locally (fails it in CI) when S3Proxy is not installed. */
  static async startFor(t: TestContext): Promise<S3TestServer | undefined> {
    if (!requireTool(t, S3TestServer.available(), "S3Proxy (java + 'bash scripts/s3-server.sh install')")) return undefined;
    const s = new S3TestServer();
    await s.start();
    return s;
  }

  start(): Promise<void> {
    const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/s3-server.sh'), 'start', this.state], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`s3-server.sh start failed: ${r.stderr}`);
    const env = Object.fromEntries(
      readFileSync(join(this.state, 'env'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    this.endpoint = env.METAVEC_TEST_S3_ENDPOINT!;
    this.accessKey = env.METAVEC_TEST_S3_ACCESS_KEY!;
    this.secretKey = env.METAVEC_TEST_S3_SECRET_KEY!;
    this.dataDir = env.METAVEC_TEST_S3_DATA!;
    this.running = true;
    return Promise.resolve();
  }

  stop(): void {
    if (!this.running) return;
    const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/s3-server.sh'), 'stop', this.state], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`s3-server.sh stop failed: ${r.stderr}`);
    this.running = false;
  }

  /** Environment for a metavec child process: the standard AWS variables only (credentials never on argv). */
  env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      AWS_ACCESS_KEY_ID: this.accessKey,
      AWS_SECRET_ACCESS_KEY: this.secretKey,
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_REGION: 'us-east-1',
      // never ask an instance-metadata endpoint for credentials from a test
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '3',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...overrides,
    };
  }

  /** Sets this process's AWS variables (for in-process tests of the io/s3 modules); returns a restore function. */
  useInProcess(): () => void {
    const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_EC2_METADATA_DISABLED', 'AWS_MAX_ATTEMPTS', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] as const;
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    const env = this.env();
    for (const k of keys) process.env[k] = env[k];
    return () => {
      for (const k of keys) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    };
  }

  /** An SDK client with this server's keys (for preparing buckets and objects as a user would with the AWS CLI). */
  private async client(): Promise<{ sdk: typeof import('@aws-sdk/client-s3'); client: import('@aws-sdk/client-s3').S3Client }> {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const client = new sdk.S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKey, secretAccessKey: this.secretKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return { sdk, client };
  }

  /** Creates a bucket through the S3 API (as a user would with `aws s3 mb`). */
  async createBucket(name: string): Promise<void> {
    const { sdk, client } = await this.client();
    try {
      await client.send(new sdk.CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  }

  /** Uploads local files with the AWS SDK (as `aws s3 cp` would). */
  async upload(bucket: string, files: Record<string, string>): Promise<void> {
    const { sdk, client } = await this.client();
    try {
      for (const [key, path] of Object.entries(files)) await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(path) }));
    } finally {
      client.destroy();
    }
  }

  /**
   * An AWS shared credentials file (mode 600) holding this server's keys under `profile`: what a cluster node
   * has in ~/.aws/credentials. Returns its path.
   */
  credentialsFile(profile: string, secret = this.secretKey): string {
    const path = join(this.state, `credentials-${profile}${secret === this.secretKey ? '' : '-wrong'}`);
    writeFileSync(path, `[${profile}]\naws_access_key_id = ${this.accessKey}\naws_secret_access_key = ${secret}\n`, { mode: 0o600 });
    return path;
  }

  /** Path of an object in the server's filesystem backend (to check what is stored without the S3 API). */
  objectPath(bucket: string, key: string): string {
    return join(this.dataDir, bucket, ...key.split('/'));
  }

  dispose(): void {
    this.stop();
    rmSync(this.state, { recursive: true, force: true });
  }
}
