import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { randomSeq, revcomp, rng, runCli, TempDir } from '../helpers/fixtures.js';

const tmp = new TempDir();
after(() => tmp.remove());

// 3000 pairs of 2 x 100 bp from a 15 kb genome (~40x), 0.5% substitution errors at known positions.
const r = rng(11);
const genome = randomSeq(15_000, r);
const truth = new Map<string, string>();
let r1 = '';
let r2 = '';
let errors = 0;
const mutate = (s: string) =>
  [...s]
    .map((c) => {
      if (r() < 0.005) {
        errors++;
        return c === 'A' ? 'G' : 'A';
      }
      return c;
    })
    .join('');
for (let i = 0; i < 3000; i++) {
  const p = Math.floor(r() * (genome.length - 300));
  const frag = genome.slice(p, p + 300);
  const a = frag.slice(0, 100);
  const b = revcomp(frag).slice(0, 100);
  truth.set(`p${i}/1`, a);
  truth.set(`p${i}/2`, b);
  r1 += `@p${i}/1\n${mutate(a)}\n+\n${'I'.repeat(100)}\n`;
  r2 += `@p${i}/2\n${mutate(b)}\n+\n${'I'.repeat(100)}\n`;
}
const in1 = tmp.file('r1.fq', r1);
const in2 = tmp.file('r2.fq', r2);
const passThrough = ['--no-adapter-trim', '--no-cut-front', '--no-cut-tail', '--no-dedup', '--write-fastq', '--quiet', '--json'];

function errorsIn(dir: string): number {
  let n = 0;
  for (const f of ['clean_R1.fastq.gz', 'clean_R2.fastq.gz']) {
    const lines = gunzipSync(readFileSync(join(dir, f))).toString().trimEnd().split('\n');
    for (let i = 0; i < lines.length; i += 4) {
      const t = truth.get(lines[i]!.slice(1))!;
      const s = lines[i + 1]!;
      for (let j = 0; j < s.length; j++) if (s[j] !== t[j]) n++;
    }
  }
  return n;
}

test('correction removes most planted errors, and 1 and 2 threads give identical output', () => {
  const a = tmp.join('c1');
  const b = tmp.join('c2');
  const ra = runCli(['prep', '--input', in1, '--input2', in2, '--output', a, '--threads', '1', '--batch-size', '700', '--correct', ...passThrough]);
  assert.equal(ra.status, 0, ra.stderr);
  const rb = runCli(['prep', '--input', in1, '--input2', in2, '--output', b, '--threads', '2', '--batch-size', '700', '--correct', ...passThrough]);
  assert.equal(rb.status, 0, rb.stderr);
  const ma = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8')) as { counts: Record<string, number>; shards: { sha256: string }[]; parameters: { correction: Record<string, unknown> } };
  const mb = JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8')) as typeof ma;
  assert.deepEqual(ma.shards.map((s) => s.sha256), mb.shards.map((s) => s.sha256));
  assert.deepEqual(ma.counts, mb.counts);
  assert.equal(ma.parameters.correction.enabled, true);
  const left = errorsIn(a);
  assert.equal(left, errorsIn(b));
  assert.ok(ma.counts.bases_corrected! > 0.8 * errors, `corrected ${ma.counts.bases_corrected} of ${errors}`);
  assert.ok(left < 0.15 * errors, `errors left ${left} of ${errors}`);
});

test('--no-correct leaves reads as they are and says so in the manifest', () => {
  const c = tmp.join('nc');
  const res = runCli(['prep', '--input', in1, '--input2', in2, '--output', c, '--no-correct', ...passThrough]);
  assert.equal(res.status, 0, res.stderr);
  const m = JSON.parse(readFileSync(join(c, 'manifest.json'), 'utf8')) as { counts: Record<string, number>; parameters: { correction: { enabled: boolean } } };
  assert.equal(m.parameters.correction.enabled, false);
  assert.equal(m.counts.bases_corrected, 0);
  assert.equal(errorsIn(c), errors);
});

test('without --correct prep does not correct (the default, issue 20); --correct with --no-correct is refused', () => {
  const d = tmp.join('default');
  const res = runCli(['prep', '--input', in1, '--input2', in2, '--output', d, ...passThrough]);
  assert.equal(res.status, 0, res.stderr);
  const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { counts: Record<string, number>; parameters: { correction: { enabled: boolean } } };
  assert.equal(m.parameters.correction.enabled, false);
  assert.equal(m.counts.bases_corrected, 0);
  assert.equal(errorsIn(d), errors);
  const both = runCli(['prep', '--input', in1, '--input2', in2, '--output', tmp.join('both'), '--correct', '--no-correct', '--quiet']);
  assert.equal(both.status, 2, both.stderr);
  assert.match(both.stderr, /^metavec: error: prep: --correct and --no-correct contradict each other: give one$/m);
  assert.equal(existsSync(tmp.join('both')), false, 'nothing written');
});
