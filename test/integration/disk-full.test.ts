/**
 * Disk full: prep and cluster writing to a small tmpfs fail with one clear `output: ... no space left on device
 * (ENOSPC)` line, leave every file under a final name complete (no manifest, no partial shard, no temporary
 * file), and once there is room a re-run finishes (prep resumes) with outputs identical to an unconstrained run.
 * Needs root to mount the tmpfs (CI runs as root); skipped locally otherwise.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makePairs, runCli, TempDir } from '../helpers/fixtures.js';
import { requireTool } from '../helpers/tools.js';

const tmp = new TempDir('metavec-diskfull-');
const mnt = tmp.join('small');
let mounted = false;
const canMount = (): boolean => {
  if (process.getuid?.() !== 0) return false;
  mkdirSync(mnt, { recursive: true });
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
  return mounted;
};
/** room for a few shards and checkpoints, not for the whole output (~0.5 MB) */
const SMALL = '300k';
const resize = (size: string) => assert.equal(spawnSync('mount', ['-o', `remount,size=${size}`, mnt]).status, 0);
before(() => canMount());
after(() => {
  if (mounted) spawnSync('umount', [mnt]);
  tmp.remove();
});

const fx = makePairs(6000, 21);
const r1 = tmp.file('r1.fq.gz', fx.r1, true);
const r2 = tmp.file('r2.fq.gz', fx.r2, true);
// small batches: a resume checkpoint after every shard
const args = (out: string, extra: string[] = []) => ['prep', '--input', r1, '--input2', r2, '--output', out, '--rows-per-shard', '400', '--batch-size', '200', '--no-correct', '--quiet', '--json', ...extra];
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const files = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)).map((x) => join(f, x)) : [f])) : [];

test('prep on a full disk: one clear error, nothing partial under a final name, a re-run with room resumes to identical outputs', (t) => {
  if (!requireTool(t, mounted, 'root privileges to mount a 256 KiB tmpfs (disk-full test)')) return;
  const ref = tmp.join('ref');
  assert.equal(runCli(args(ref)).status, 0);
  const m0 = JSON.parse(readFileSync(join(ref, 'manifest.json'), 'utf8')) as { shards: { path: string; sha256: string }[] };
  const refSha = new Map(m0.shards.map((s) => [s.path, s.sha256]));
  spawnSync('rm', ['-rf', join(mnt, 'prep')]);
  resize(SMALL);
  const out = join(mnt, 'prep');
  const res = runCli(args(out));
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /^metavec: error: output: \S+: no space left on device \(ENOSPC\); outputs under their final names are complete/);
  assert.equal(res.stderr.trim().split('\n').length, 1);
  assert.ok(!existsSync(join(out, 'manifest.json')), 'no manifest');
  const left = files(out);
  assert.ok(!left.some((f) => f.endsWith('.tmp')), `no temporary files left: ${left.join(', ')}`);
  const shards = left.filter((f) => f.startsWith('shards/') && f.endsWith('.parquet'));
  assert.ok(shards.length > 0, 'the disk filled up after some shards (else the test tests less)');
  for (const f of shards) assert.equal(sha(join(out, f)), refSha.get(f), `${f} is complete`);
  resize('64m');
  const again = runCli(args(out));
  assert.equal(again.status, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { resumed: boolean }).resumed, true, 'resumed from the journal');
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { shards: { sha256: string }[] };
  assert.deepEqual(m.shards.map((s) => s.sha256), m0.shards.map((s) => s.sha256));
  spawnSync('rm', ['-rf', out]);
});

test('prep --write-fastq and cluster on a full disk fail cleanly too', (t) => {
  if (!requireTool(t, mounted, 'root privileges to mount a 256 KiB tmpfs (disk-full test)')) return;
  spawnSync('rm', ['-rf', join(mnt, 'prep')]);
  resize(SMALL);
  const fq = runCli(args(join(mnt, 'fq'), ['--write-fastq']));
  assert.equal(fq.status, 1, fq.stderr);
  assert.match(fq.stderr, /^metavec: error: output: \S+: no space left on device \(ENOSPC\)/);
  assert.equal(fq.stderr.trim().split('\n').length, 1);
  assert.ok(!existsSync(join(mnt, 'fq', 'manifest.json')));
  assert.ok(!files(join(mnt, 'fq')).some((f) => f.endsWith('.tmp') || f.endsWith('.fastq.gz')), 'no partial FASTQ');
  spawnSync('rm', ['-rf', join(mnt, 'fq')]);
  // cluster: fill the disk first so that labels.parquet cannot be written
  spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=1k', 'count=400'], { stdio: 'ignore' });
  const cl = runCli(['cluster', '--method', 'kmeans', '--input', tmp.join('ref'), '--output', join(mnt, 'cl'), '--k', '3', '--quiet']);
  assert.equal(cl.status, 1, cl.stderr);
  assert.match(cl.stderr, /^metavec: error: output: \S+: no space left on device \(ENOSPC\)/);
  assert.equal(cl.stderr.trim().split('\n').length, 1);
  assert.ok(!existsSync(join(mnt, 'cl', 'summary.json')));
  assert.ok(!files(join(mnt, 'cl')).some((f) => f.endsWith('.tmp')));
});
