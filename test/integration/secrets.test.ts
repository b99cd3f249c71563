/**
 * Credentials and signed URLs never appear in logs or outputs: a whole `metavec run` (prep, cluster, report,
 * catalog) and a failing run execute with AWS credentials in the environment; every output file (binary ones
 * read as bytes) and stdout/stderr are scanned for credential patterns and the planted values.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, makePairs, TempDir } from '../helpers/fixtures.js';
import { findSecrets } from '../helpers/secrets.js';
import { redactUri } from '../../src/io/redact.js';

const tmp = new TempDir('metavec-secrets-');
after(() => tmp.remove());
const planted = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEXAMPLEsessiontokenVALUE0123456789',
  METAVEC_S3_SECRET_TEST: 'Bearer eyJhbGciOiJIUzI1NiJ9.EXAMPLEtokenpayload.sig',
};
const env = { ...process.env, ...planted, METAVEC_CATALOG: tmp.join('catalog.duckdb') };

function allText(dir: string): string {
  let out = '';
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    out += statSync(p).isDirectory() ? allText(p) : `\n${p}\n` + readFileSync(p).toString('latin1');
  }
  return out;
}

test('no credential or planted secret in any output or log of a run', () => {
  const fx = makePairs(1500, 17);
  const r1 = tmp.file('r1.fq.gz', fx.r1, true);
  const r2 = tmp.file('r2.fq.gz', fx.r2, true);
  const out = tmp.join('run');
  const r = spawnSync(process.execPath, [CLI, 'run', '--input', r1, '--input2', r2, '--output', out, '--k', '3', '--json'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const text = allText(out) + r.stdout + r.stderr + allText(tmp.path);
  assert.ok(text.includes('manifest.json') && text.length > 100_000, 'the scan covers the outputs');
  assert.deepEqual(findSecrets(text, Object.values(planted)), []);
  const bad = spawnSync(process.execPath, [CLI, 'prep', '--input', tmp.file('bad.fq', '@r\nACGT\n+\nII\n'), '--output', tmp.join('bad')], { encoding: 'utf8', env });
  assert.equal(bad.status, 1);
  assert.deepEqual(findSecrets(bad.stdout + bad.stderr, Object.values(planted)), []);
});

test('the scanner finds what it must (so a clean scan means something)', () => {
  for (const s of [
    'key AKIAIOSFODNN7EXAMPLE',
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abcdef0123',
    'https://acct.blob.core.windows.net/c/b?sv=2020-08-04&sig=AbCdEf0123456789%2B',
    'https://user:hunter2@example.org/r1.fq.gz',
  ]) {
    assert.notDeepEqual(findSecrets(s), [], s);
  }
});

test('URIs are recorded without credentials or signatures', () => {
  const signed = redactUri('https://b.s3.amazonaws.com/r1.fq.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122&X-Amz-Signature=0123abcd');
  assert.deepEqual(findSecrets(signed, ['AKIAIOSFODNN7EXAMPLE', '0123abcd']), []);
  assert.match(signed, /^https:\/\/b\.s3\.amazonaws\.com\/r1\.fq\.gz\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\*\*\*&X-Amz-Signature=\*\*\*$/);
  assert.equal(redactUri('https://user:hunter2@example.org/r1.fq.gz'), 'https://***@example.org/r1.fq.gz');
  assert.equal(redactUri('s3://bucket/prefix/r1.fq.gz'), 's3://bucket/prefix/r1.fq.gz');
  assert.equal(redactUri('/data/r1.fq.gz'), '/data/r1.fq.gz');
});
