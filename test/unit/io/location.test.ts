import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { MetavecError } from '../../../src/errors.js';
import { baseName, formatS3Uri, isS3Uri, joinLocation, parseS3Uri, resolveLocation, splitLocation } from '../../../src/io/location.js';

const usage = (re: RegExp) => (e: unknown): boolean => e instanceof MetavecError && e.code === 'USAGE' && re.test(e.message);

void test('s3 URIs: parsed, normalised (no trailing slash), formatted back; scheme case-insensitive', () => {
  assert.equal(isS3Uri('s3://b/k'), true);
  assert.equal(isS3Uri('S3://b/k'), true);
  assert.equal(isS3Uri('/data/s3://x'), false);
  assert.deepEqual(parseS3Uri('s3://my-bucket/a/b//'), { bucket: 'my-bucket', key: 'a/b' });
  assert.deepEqual(parseS3Uri('s3://my-bucket'), { bucket: 'my-bucket', key: '' });
  assert.equal(formatS3Uri({ bucket: 'my-bucket', key: '' }), 's3://my-bucket');
  assert.equal(resolveLocation('s3://my-bucket/runs/a/'), 's3://my-bucket/runs/a');
  assert.equal(resolveLocation('rel/dir'), resolve('rel/dir'));
});

void test('s3 URIs: bad buckets and dot segments are usage errors naming the URI', () => {
  assert.throws(() => parseS3Uri('s3://Bad_Bucket/k'), usage(/s3: 's3:\/\/Bad_Bucket\/k': bucket name 'Bad_Bucket' is not valid/));
  assert.throws(() => parseS3Uri('s3://ab/k'), usage(/bucket name 'ab'/));
  assert.throws(() => parseS3Uri('s3://bucket/a/../b'), usage(/'\.' and '\.\.' are not allowed/));
  assert.throws(() => parseS3Uri('s3://bucket/./b'), usage(/not allowed/));
});

void test('joinLocation joins inside a bucket and refuses to leave it; local paths resolve', () => {
  assert.equal(joinLocation('s3://bucket/run', 'prep', 'manifest.json'), 's3://bucket/run/prep/manifest.json');
  assert.equal(joinLocation('s3://bucket', 'x/'), 's3://bucket/x');
  assert.equal(joinLocation('s3://bucket/run', 'a/../b'), 's3://bucket/run/b');
  assert.throws(() => joinLocation('s3://bucket/run', '../..'), usage(/path \.\.\/\.\. leaves the bucket/));
  assert.equal(joinLocation('/tmp/x', 'prep'), '/tmp/x/prep');
});

void test('splitLocation and baseName', () => {
  assert.deepEqual(splitLocation('s3://bucket/a/b/labels.parquet'), { parent: 's3://bucket/a/b', name: 'labels.parquet' });
  assert.deepEqual(splitLocation('s3://bucket/top.txt'), { parent: 's3://bucket', name: 'top.txt' });
  assert.deepEqual(splitLocation('/d/e/f.txt'), { parent: '/d/e', name: 'f.txt' });
  assert.throws(() => splitLocation('s3://bucket'), usage(/needs a key after the bucket/));
  assert.equal(baseName('s3://bucket/a/b/'), 'b');
  assert.equal(baseName('/x/r1.fq.gz'), 'r1.fq.gz');
});
