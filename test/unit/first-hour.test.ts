// Unit tests behind issue 18's CLI items: mate pairing in correction pass 1, cancellation is not a thread
// death, one progress event per K of a K search, progress that follows the work, option suggestions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetavecError } from '../../src/errors.js';
import { chooseK, createInProcessExecutor } from '../../src/cluster/index.js';
import type { KTried } from '../../src/cluster/types.js';
import { blobs } from '../../src/cluster/synthetic.js';
import { chooseWeightedK } from '../../src/cluster/weightedKMeans.js';
import { CancelledError, runWithRetry } from '../../src/engines/local/retry.js';
import { spectrumBatch } from '../../src/prep/spectrumBatch.js';
import type { PrepBatch } from '../../src/prep/params.js';
import { InputPosition } from '../../src/pipeline/progress.js';
import { editDistance, suggestOption } from '../../src/cli/suggest.js';
import { RUN_HELP, RUN_OPTIONS } from '../../src/cli/commands.js';

const enc = new TextEncoder();

function fastq(names: string[]): Uint8Array {
  return enc.encode(names.map((n) => `@${n}\n${'ACGTACGTACGTACGTACGTACGTA'}\n+\n${'I'.repeat(25)}\n`).join(''));
}

function pairBatch(n1: string[], n2: string[]): PrepBatch {
  return {
    index: 0, firstFragment: 0, format: 'fastq', quality: 'phred33', fragments: n1.length, layout: 'pe',
    r1: { label: 'a_R1.fq', bytes: fastq(n1), records: n1.length, firstRecord: 0, firstLine: 1 },
    r2: { label: 'a_R2.fq', bytes: fastq(n2), records: n2.length, firstRecord: 0, firstLine: 1 },
  };
}

test('correction pass 1 checks mate pairing (the first pass over the input fails at the first bad pair)', () => {
  const cells = new Uint8Array(1 << 12);
  assert.doesNotThrow(() => spectrumBatch(pairBatch(['r1/1', 'r2/1 x'], ['r1/2', 'r2/2 y']), 21, cells));
  assert.throws(
    () => spectrumBatch(pairBatch(['r1/1', 'r2/1', 'r3/1'], ['r1/2', 'rX/2', 'r3/2']), 21, cells),
    (err: unknown) => err instanceof MetavecError && err.code === 'INPUT' &&
      /^fastq: a_R1\.fq \/ a_R2\.fq record 2 \(R1 line 5, R2 line 5\): mate names differ \('r2' vs 'rX'\)$/.test(err.message),
  );
  const { r2: _r2, ...single } = pairBatch(['p/1', 'q/2'], []);
  const inter: PrepBatch = { ...single, layout: 'interleaved', fragments: 1, r1: { ...single.r1, records: 2 } };
  assert.throws(() => spectrumBatch(inter, 21, cells), /records 1 and 2: mate names differ \('p' vs 'q'\)/);
});

test('a task failing while its pool is closing is cancelled: no retry, no "thread died" warning', async () => {
  const warnings: string[] = [];
  let closing = false;
  let attempts = 0;
  const p = runWithRetry('batch 3', () => {
    attempts++;
    closing = true; // the pool is destroyed while the task runs
    return Promise.reject(new Error('Terminating worker thread'));
  }, (m) => warnings.push(m), () => closing);
  await assert.rejects(p, (err: unknown) => err instanceof CancelledError && /batch 3: cancelled/.test(err.message));
  assert.equal(attempts, 1);
  assert.equal(warnings.length, 0);
  // a thread that dies while the pool is open is still retried and reported
  let n = 0;
  const r = await runWithRetry<number>('batch 4', () => (++n === 1 ? Promise.reject(new Error('boom')) : Promise.resolve({ ok: true as const, result: 7 })), (m) => warnings.push(m), () => false);
  assert.equal(r, 7);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /batch 4: worker thread died: boom; retrying/);
});

test('chooseK (gap and silhouette) reports every K once, when its runs are done', async () => {
  const { x, n } = blobs(3, 60, 4, 5);
  for (const method of ['gap', 'silhouette'] as const) {
    const events: KTried[] = [];
    const r = await chooseK(createInProcessExecutor(x, n, 4), { kMin: 2, kMax: 6, seed: 1, nInit: 1, maxIter: 50, tol: 1e-4, method, onK: (e) => events.push(e) });
    assert.deepEqual(events.map((e) => e.k).sort(), [2, 3, 4, 5, 6], method);
    assert.deepEqual(events.map((e) => e.done), [1, 2, 3, 4, 5]);
    assert.ok(events.every((e) => e.total === 5));
    // reporting changes nothing
    const quiet = await chooseK(createInProcessExecutor(x, n, 4), { kMin: 2, kMax: 6, seed: 1, nInit: 1, maxIter: 50, tol: 1e-4, method });
    assert.deepEqual(r, quiet);
  }
});

test('the inertia-elbow K search reports each K it tries, with its inertia', () => {
  const { x, n } = blobs(3, 40, 3, 9, 0.2);
  const xx = Float64Array.from(x);
  const w = new Float64Array(n).fill(1);
  const events: KTried[] = [];
  const r = chooseWeightedK(xx, w, n, 3, { kMin: 1, kMax: 8, seed: 0, nInit: 1, maxIter: 50, minGain: 0.5, onK: (e) => events.push(e) });
  assert.deepEqual(events.map((e) => e.k), r.choice.scores.map((s) => s.k));
  assert.deepEqual(events.map((e) => e.inertia), r.choice.scores.map((s) => s.inertia));
  assert.deepEqual(events.map((e) => e.done), events.map((_, i) => i + 1));
  assert.ok(events.length < 8, 'the search stopped at the elbow');
  assert.equal(r.choice.k, 3);
});

test('prep progress follows the batches that are done, not the read-ahead', async () => {
  let pos = 0;
  const tracker = new InputPosition<{ index: number }>(() => pos);
  async function* reader() {
    for (let i = 0; i < 4; i++) {
      pos += 100; // the reader has consumed another 100 bytes for batch i
      yield await Promise.resolve({ index: i });
    }
  }
  const read: { index: number }[] = [];
  for await (const b of tracker.track(reader())) read.push(b);
  assert.equal(pos, 400); // everything read ahead
  assert.equal(tracker.done(read[0]!), 100);
  assert.equal(tracker.done(read[1]!), 200);
  assert.equal(tracker.done(read[3]!), 400);
});

test('option suggestions: fastp names, underscores, small typos, nothing for distant names', () => {
  const known = ['input', 'input2', 'output', 'threads', 'cut-mean-quality', 'min-length', 'normalise', 'k-max', 'k'];
  assert.equal(suggestOption('--in1', known), 'did you mean --input?');
  assert.equal(suggestOption('--in2', known), 'did you mean --input2?');
  assert.equal(suggestOption('--cut_mean_quality', known), 'did you mean --cut-mean-quality?');
  assert.equal(suggestOption('-M', known), 'did you mean --cut-mean-quality?');
  assert.equal(suggestOption('--normalize', known), 'did you mean --normalise?');
  assert.equal(suggestOption('--treads', known), 'did you mean --threads?');
  assert.equal(suggestOption('--thread', known), 'did you mean --threads?');
  assert.equal(suggestOption('--length_required', known), 'did you mean --min-length?');
  assert.equal(suggestOption('-l', known), 'did you mean --min-length?');
  assert.equal(suggestOption('--min_length', known), 'did you mean --min-length?');
  assert.equal(suggestOption('--cut_mean_quality=20', known), 'did you mean --cut-mean-quality?');
  assert.match(suggestOption('--dedup', known) ?? '', /on by default \(--no-dedup/);
  // fastp's -c / --correction: metavec's correction is off by default (issue 20), so the hint names --correct
  assert.match(suggestOption('--correction', known) ?? '', /off by default: --correct turns it on/);
  assert.match(suggestOption('-c', known) ?? '', /off by default: --correct turns it on/);
  assert.match(suggestOption('--out2', known) ?? '', /one output directory/);
  assert.equal(suggestOption('--kmax', known), 'did you mean --k-max?');
  assert.match(suggestOption('-O', known) ?? '', /one output directory/);
  assert.equal(suggestOption('--frobnicate', known), undefined);
  assert.equal(suggestOption('--z', known), undefined);
  // an alias whose target the command lacks is not suggested
  assert.equal(suggestOption('--in1', ['labels', 'truth']), undefined);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test("every option 'metavec run --help' names is one run accepts", () => {
  const listed = new Set([...RUN_HELP.matchAll(/--([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]!));
  assert.ok(listed.size > 60, `${listed.size} options listed`);
  const accepted = new Set(Object.keys(RUN_OPTIONS));
  assert.deepEqual([...listed].filter((o) => !accepted.has(o)), []);
  // and the short forms it shows
  const shorts = new Set(Object.values(RUN_OPTIONS).map((o) => o.short).filter((x) => x !== undefined));
  for (const s of ['i', 'I', 'o', 'w', 'h']) assert.ok(shorts.has(s), s);
});
