import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePairs, runCli, TempDir } from '../helpers/fixtures.js';

/**
 * The parts of a run belong together, and finished parts are reused (docs/reliability.md): a cluster result
 * names its prep (manifest sha256); cluster refuses to overwrite another prep's result without --overwrite;
 * report refuses parts that do not belong together; a second identical prep/run reuses the verified results.
 */
const tmp = new TempDir('metavec-parts-');
after(() => tmp.remove());
const a = makePairs(700, 21, { genomes: 3 });
const b = makePairs(500, 22, { genomes: 3 });
const prepA = tmp.join('prepA');
const prepB = tmp.join('prepB');
const files: Record<string, string> = {};

before(() => {
  files.a1 = tmp.file('a1.fq', a.r1);
  files.a2 = tmp.file('a2.fq', a.r2);
  files.b1 = tmp.file('b1.fq', b.r1);
  files.b2 = tmp.file('b2.fq', b.r2);
  files.truthA = tmp.file('truthA.tsv', 'read_id\tspecies\n' + a.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n') + '\n');
  for (const [x1, x2, out] of [[files.a1, files.a2, prepA], [files.b1, files.b2, prepB]] as const) {
    const r = runCli(['prep', '--input', x1, '--input2', x2, '--output', out, '--no-correct', '--rows-per-shard', '300', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
  }
});

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const mtimes = (dir: string): Record<string, number> => {
  const out: Record<string, number> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = statSync(join(d, e.name)).mtimeMs;
    }
  };
  walk(dir, '');
  return out;
};

test('cluster names its prep, refuses to overwrite another prep result, replaces it with --overwrite', () => {
  const out = tmp.join('c');
  assert.equal(runCli(['cluster', '--input', prepA, '--output', out, '--k', '3', '--quiet']).status, 0);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { prep: { manifest: string; sha256: string } };
  assert.deepEqual(s.prep, { manifest: join(prepA, 'manifest.json'), sha256: sha(join(prepA, 'manifest.json')) });
  const before = mtimes(out);
  const r = runCli(['cluster', '--input', prepB, '--output', out, '--k', '3', '--quiet']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /summary\.json: the output holds a finished result made from another prep, .*prepA\/manifest\.json \(sha256 [0-9a-f]{12}\.\.\.\); this run reads .*prepB\/manifest\.json .*add --overwrite/);
  assert.deepEqual(mtimes(out), before, 'nothing written');
  const o = runCli(['cluster', '--input', prepB, '--output', out, '--k', '3', '--overwrite', '--quiet']);
  assert.equal(o.status, 0, o.stderr);
  assert.equal((JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { prep: { sha256: string } }).prep.sha256, sha(join(prepB, 'manifest.json')));
});

test('report refuses a cluster made from another prep, and an eval of other labels', () => {
  const c = tmp.join('cA');
  assert.equal(runCli(['cluster', '--input', prepA, '--output', c, '--k', '3', '--quiet']).status, 0);
  const mixed = runCli(['report', '--prep', prepB, '--cluster', c, '--output', tmp.join('mixed.html'), '--quiet']);
  assert.equal(mixed.status, 1, mixed.stderr);
  assert.match(mixed.stderr, /report: .*cA was clustered from another prep: its summary\.json names .*prepA\/manifest\.json with sha256 [0-9a-f]{12}\.\.\., but .*prepB\/manifest\.json has sha256/);
  // eval.json names the labels it scored; clustering again (another K) makes it stale
  const e = runCli(['eval', '--labels', join(c, 'labels.parquet'), '--truth', files.truthA!, '--json']);
  assert.equal(e.status, 0, e.stderr);
  const evalPath = tmp.file('evalA.json', e.stdout);
  assert.equal((JSON.parse(e.stdout) as { labels: { sha256: string } }).labels.sha256, sha(join(c, 'labels.parquet')));
  assert.equal(runCli(['report', '--prep', prepA, '--cluster', c, '--eval', evalPath, '--output', tmp.join('ok.html'), '--quiet']).status, 0);
  assert.equal(runCli(['cluster', '--input', prepA, '--output', c, '--k', '2', '--quiet']).status, 0);
  const stale = runCli(['report', '--prep', prepA, '--cluster', c, '--eval', evalPath, '--output', tmp.join('stale.html'), '--quiet']);
  assert.equal(stale.status, 1, stale.stderr);
  assert.match(stale.stderr, /evalA\.json scored other labels .* than .*cA\/labels\.parquet/);
});

test('a second identical run reuses prep and cluster; a cluster option redoes only the cluster', () => {
  const dir = tmp.join('run');
  const args = ['run', '--input', files.a1!, '--input2', files.a2!, '--output', dir, '--k', '3', '--no-correct', '--no-report', '--no-catalog', '--quiet'];
  const first = runCli(args);
  assert.equal(first.status, 0, first.stderr);
  const prepTimes = mtimes(join(dir, 'prep'));
  const clusterTimes = mtimes(join(dir, 'cluster'));
  const second = runCli(args.filter((x) => x !== '--quiet'));
  assert.equal(second.status, 0, second.stderr);
  assert.ok(second.stderr.includes(`prep: reusing the finished result in ${join(dir, 'prep')} (manifest verified, same inputs and parameters)`), second.stderr);
  assert.ok(second.stderr.includes(`cluster: reusing the finished result in ${join(dir, 'cluster')} (outputs verified, same prep and parameters)`), second.stderr);
  assert.deepEqual(mtimes(join(dir, 'prep')), prepTimes, 'prep outputs untouched');
  assert.deepEqual(mtimes(join(dir, 'cluster')), clusterTimes, 'cluster outputs untouched');
  // another K: prep reused, cluster redone
  const third = runCli([...args.filter((x) => x !== '--quiet' && x !== '3' && x !== '--k'), '--k', '2']);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stderr, /prep: reusing the finished result/);
  assert.doesNotMatch(third.stderr, /cluster: reusing/);
  assert.deepEqual(mtimes(join(dir, 'prep')), prepTimes, 'prep outputs untouched');
  assert.equal((JSON.parse(readFileSync(join(dir, 'cluster', 'summary.json'), 'utf8')) as { k: number }).k, 2);
});

test('prep: reused only when the inputs, the options and every file verify', () => {
  const out = tmp.join('p');
  const args = ['prep', '--input', files.b1!, '--input2', files.b2!, '--output', out, '--no-correct', '--rows-per-shard', '300'];
  assert.equal(runCli(args).status, 0);
  const again = runCli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /prep: reusing the finished result in .*\/p \(manifest verified, same inputs and parameters\)/);
  // a damaged shard: prepared again (and the result verifies again afterwards)
  const shard = join(out, 'shards', 'part-00000.parquet');
  const good = readFileSync(shard);
  writeFileSync(shard, Buffer.concat([good.subarray(0, 100), Buffer.from('x'), good.subarray(101)]));
  const damaged = runCli(args);
  assert.equal(damaged.status, 0, damaged.stderr);
  assert.match(damaged.stderr, /prep: cannot reuse the finished result in .*checksum mismatch.*; preparing again/);
  assert.deepEqual(readFileSync(shard), good, 'the same shard again');
  // another option: prepared again
  const other = runCli([...args, '--rows-per-shard', '200']);
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stderr, /holds a finished result with other inputs or parameters; preparing again/);
  // an input that changed (size and mtime): prepared again
  appendFileSync(files.b1!, '');
  writeFileSync(files.b2!, readFileSync(files.b2!));
  const touched = runCli([...args, '--rows-per-shard', '200']);
  assert.equal(touched.status, 0, touched.stderr);
  assert.doesNotMatch(touched.stderr, /reusing/);
});
