/**
 * The S3 layer (src/io/s3) against a real S3-compatible server (S3Proxy, scripts/s3-server.sh): ranged
 * streaming reads, gzip by magic, multipart uploads with sha256 metadata, listing, a server restarted in the
 * middle of a download, and the error messages for a missing bucket and wrong credentials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { configureS3, isSecretEnvName, s3, s3SettingsEnv, scrubSecrets } from '../../src/io/s3/client.js';
import { RANGE_BYTES, openS3Source } from '../../src/io/s3/source.js';
import { downloadToFile } from '../../src/io/s3/fetch.js';
import { openOutputStore } from '../../src/io/store.js';
import { openSource } from '../../src/io/source.js';
import { openRangeSource } from '../../src/io/rangeSource.js';
import { MetavecError } from '../../src/errors.js';
import { TempDir } from '../helpers/fixtures.js';
import { S3TestServer } from '../helpers/s3.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

test('s3 io against S3Proxy: store, ranged reads, gzip, multipart, restart mid-download, errors', async (t) => {
  const server = await S3TestServer.startFor(t);
  if (!server) return;
  const restore = server.useInProcess();
  configureS3({}); // a fresh client with this environment
  const tmp = new TempDir();
  try {
    await server.createBucket('io-test');

    await t.test('store: multipart upload with sha256 metadata, stat, list, get, remove', async () => {
      const store = await openOutputStore('s3://io-test/run1/');
      assert.equal(store.location, 's3://io-test/run1');
      const big = randomBytes(12 << 20); // > one 8 MiB part: a multipart upload
      const staged = await store.stagingPath('shards/part-00000.parquet');
      writeFileSync(staged, big);
      await store.putFile('shards/part-00000.parquet', staged, { sha256: sha(big) });
      await store.putBytes('manifest.json', '{"a":1}\n');
      const st = await store.stat('shards/part-00000.parquet');
      assert.deepEqual(st, { rel: 'shards/part-00000.parquet', bytes: big.length, sha256: sha(big) });
      const h = await s3();
      const head = await h.client.send(new h.sdk.HeadObjectCommand({ Bucket: 'io-test', Key: 'run1/shards/part-00000.parquet' }));
      assert.match(head.ETag ?? '', /-2"$/, 'uploaded in 2 parts');
      assert.deepEqual(readFileSync(server.objectPath('io-test', 'run1/shards/part-00000.parquet')), big, 'stored bytes on the server');
      assert.deepEqual((await store.list('shards/')).map((o) => [o.rel, o.bytes]), [['shards/part-00000.parquet', big.length]]);
      assert.equal(Buffer.from((await store.get('manifest.json'))!).toString(), '{"a":1}\n');
      assert.equal(await store.get('nothing.json'), undefined);
      assert.equal(await store.stat('nothing.json'), undefined);
      await store.remove('manifest.json');
      assert.equal(await store.stat('manifest.json'), undefined);
      await store.close();

      // download: streamed, ranged, verified
      const dest = tmp.join('down/part.parquet');
      const got = await downloadToFile('s3://io-test/run1/shards/part-00000.parquet', dest, sha(big));
      assert.equal(got.sha256, sha(big));
      assert.deepEqual(readFileSync(dest), big);
      await assert.rejects(downloadToFile('s3://io-test/run1/shards/part-00000.parquet', tmp.join('down/bad.parquet'), '0'.repeat(64)), /checksum mismatch/);
    });

    await t.test('source: plain object over several ranges and gzip detected by magic bytes', async () => {
      const store = await openOutputStore('s3://io-test/in');
      const plain = Buffer.from('@r1\nACGT\n+\nIIII\n'.repeat(Math.ceil((RANGE_BYTES * 2 + 12345) / 16)));
      const gz = gzipSync(plain);
      const p1 = await store.stagingPath('reads.fq');
      writeFileSync(p1, plain);
      await store.putFile('reads.fq', p1);
      const p2 = await store.stagingPath('reads.fq.data'); // no .gz suffix: detection is by content
      writeFileSync(p2, gz);
      await store.putFile('reads.fq.data', p2);
      await store.close();

      const a = await openSource('s3://io-test/in/reads.fq');
      assert.equal(a.compression, 'none');
      assert.equal(a.size, plain.length);
      assert.equal(a.label, 'reads.fq');
      const backA = await collect(a.chunks());
      assert.equal(sha(backA), sha(plain));
      assert.equal(a.rawBytesRead(), plain.length);

      const b = await openS3Source('s3://io-test/in/reads.fq.data');
      assert.equal(b.compression, 'gzip');
      assert.equal(sha(await collect(b.chunks())), sha(plain));
      assert.equal(b.rawBytesRead(), gz.length);
    });

    await t.test('a byte range of an object (a slice of a distributed plan) and of a gzip object', async () => {
      const whole = readFileSync(server.objectPath('io-test', 'in/reads.fq'));
      const start = RANGE_BYTES - 1000;
      const end = RANGE_BYTES + 5000;
      const plain = await openRangeSource({ uri: 's3://io-test/in/reads.fq', label: 'reads.fq', compression: 'none', start, end });
      assert.deepEqual(await collect(plain.chunks()), whole.subarray(start, end));
      assert.equal(plain.rawBytesRead(), end - start, 'only the range was transferred');
      const gz = await openRangeSource({ uri: 's3://io-test/in/reads.fq.data', label: 'reads.fq.data', compression: 'gzip', start, end });
      assert.deepEqual(await collect(gz.chunks()), whole.subarray(start, end));
    });

    await t.test('a download survives the server being stopped and restarted in the middle', async () => {
      const a = await openSource('s3://io-test/in/reads.fq');
      const it = a.chunks()[Symbol.asyncIterator]();
      const first = await it.next();
      assert.ok(!first.done);
      const parts = [Buffer.from(first.value)];
      server.stop(); // the open connections break; the rest of the object is read after the restart
      await server.start();
      for (let r = await it.next(); !r.done; r = await it.next()) parts.push(Buffer.from(r.value));
      assert.equal(sha(Buffer.concat(parts)), sha(readFileSync(server.objectPath('io-test', 'in/reads.fq'))));
    });

    await t.test('missing bucket, missing object: clear errors', async () => {
      await assert.rejects(openSource('s3://no-such-bucket-x/reads.fq'), (e: Error) => e instanceof MetavecError && /bucket 'no-such-bucket-x' does not exist/.test(e.message));
      await assert.rejects(openSource('s3://io-test/in/absent.fq'), /s3:\/\/io-test\/in\/absent\.fq: no such object/);
      await assert.rejects(openOutputStore('s3://no-such-bucket-x/out'), /bucket 'no-such-bucket-x' does not exist/);
    });

    await t.test('wrong credentials: clear errors without the secret', async () => {
      const secret = 'wrong-secret-' + randomBytes(6).toString('hex');
      process.env.AWS_SECRET_ACCESS_KEY = secret;
      configureS3({});
      try {
        const err = await openSource('s3://io-test/in/reads.fq').then(() => undefined, (e: Error) => e);
        assert.ok(err instanceof MetavecError, String(err));
        assert.match(err.message, /access denied|signature rejected/);
        assert.ok(!err.message.includes(secret));
        const err2 = await openOutputStore('s3://io-test/out').then(() => undefined, (e: Error) => e);
        assert.ok(err2 instanceof MetavecError);
        assert.match(err2.message, /access denied|signature rejected/);
        process.env.AWS_ACCESS_KEY_ID = 'unknown-key-id';
        configureS3({});
        const err3 = await readObjectError('s3://io-test/in/reads.fq');
        assert.match(err3, /does not know this access key id|access denied/);
        assert.ok(!err3.includes(secret));
      } finally {
        restore();
        server.useInProcess();
        configureS3({});
      }
    });
  } finally {
    restore();
    configureS3({});
    tmp.remove();
    server.dispose();
  }
});

async function readObjectError(uri: string): Promise<string> {
  const { readObject } = await import('../../src/io/s3/fetch.js');
  return readObject(uri).then(
    () => 'no error',
    (e: Error) => e.message,
  );
}

test('scrubSecrets removes signatures, key ids and the credential values themselves', () => {
  const saved = process.env.AWS_SECRET_ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = 'sEcReT/value+123';
  try {
    const text =
      'GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAABCDEFGHIJKLMNOP%2F20260101&X-Amz-Signature=deadbeef ' +
      'Authorization: AWS4-HMAC-SHA256 Credential=AKIAABCDEFGHIJKLMNOP/x, SignedHeaders=host, Signature=abc123 ' +
      'key AKIAABCDEFGHIJKLMNOP secret sEcReT/value+123 url http://user:pass@host:9000/';
    const out = scrubSecrets(text);
    for (const bad of ['AKIAABCDEFGHIJKLMNOP', 'deadbeef', 'abc123', 'sEcReT/value+123', 'user:pass']) assert.ok(!out.includes(bad), `${bad} in ${out}`);
  } finally {
    if (saved === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = saved;
  }
});

test('settings passed to remote workers (Ray runtime_env, Slurm scripts) are never credentials', () => {
  const keys = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  try {
    delete process.env.AWS_ENDPOINT_URL_S3;
    Object.assign(process.env, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'sEcReT' });
    const env = s3SettingsEnv();
    assert.deepEqual(Object.keys(env).sort(), ['AWS_ENDPOINT_URL_S3', 'AWS_MAX_ATTEMPTS', 'AWS_REGION', 'METAVEC_S3_PATH_STYLE']);
    assert.equal(env.AWS_ENDPOINT_URL_S3, 'http://127.0.0.1:9000');
    assert.equal(env.METAVEC_S3_PATH_STYLE, 'true');
    assert.ok(!JSON.stringify(env).includes('sEcReT') && !JSON.stringify(env).includes('AKIA'));
  } finally {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'GITHUB_TOKEN', 'DB_PASSWORD', 'MY_API_KEY', 'AWS_CREDENTIAL_EXPIRATION']) assert.ok(isSecretEnvName(n), n);
  for (const n of ['AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_REGION', 'METAVEC_NODE']) assert.ok(!isSecretEnvName(n), n);
});
