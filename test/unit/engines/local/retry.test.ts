import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalPrepEngine } from '../../../../src/engines/local/prepPool.js';
import { CancelledError, runWithRetry, WORKER_ATTEMPTS } from '../../../../src/engines/local/retry.js';
import { openLocalSource } from '../../../../src/io/source.js';
import { readBatches } from '../../../../src/prep/readBatches.js';
import type { BatchParams, PrepBatch, PrepBatchResult } from '../../../../src/prep/params.js';
import { DEFAULT_QC } from '../../../../src/qc/params.js';
import { makePairs, TempDir } from '../../../helpers/fixtures.js';

/** A worker thread that dies or throws: the batch is retried, then the run fails with one clear error. */
const tmp = new TempDir('metavec-retry-');
after(() => tmp.remove());
const fx = makePairs(1200, 4);
const r1 = tmp.file('r1.fq', fx.r1);
const r2 = tmp.file('r2.fq', fx.r2);
const params: BatchParams = { qc: { ...DEFAULT_QC }, kmer: 4, normalisation: 'freq', writeFastq: false };
const faulty = new URL('../../../helpers/faultyPrepWorker.js', import.meta.url).href;

async function batches(): Promise<PrepBatch[]> {
  const sets = [{ r1: await openLocalSource(r1), r2: await openLocalSource(r2) }];
  const out: PrepBatch[] = [];
  for await (const b of readBatches(sets, 'pe', 'fastq', 'phred33', 300, () => undefined)) out.push(b);
  return out;
}

async function runAll(engine: LocalPrepEngine): Promise<PrepBatchResult[]> {
  try {
    return await Promise.all((await batches()).map((b) => engine.run(b, params)));
  } finally {
    await engine.close();
  }
}

test('a worker thread that dies is replaced and its batch retried: results identical to a healthy run', async () => {
  const healthy = await runAll(new LocalPrepEngine(2));
  process.env.METAVEC_FAULT_MODE = 'die-once';
  process.env.METAVEC_FAULT_DIR = tmp.path;
  const retries: string[] = [];
  const got = await runAll(new LocalPrepEngine(2, { workerUrl: faulty, onRetry: (m) => retries.push(m) }));
  assert.equal(got.length, healthy.length);
  for (const [i, r] of got.entries()) {
    assert.deepEqual(r.embedding, healthy[i]!.embedding);
    assert.deepEqual(r.hashes, healthy[i]!.hashes);
    assert.deepEqual(r.counters, healthy[i]!.counters);
  }
  assert.equal(retries.length, healthy.length, 'one retry per batch');
  assert.match(retries[0]!, /^warning: batch \d+ \(r1\.fq records \d+\.\.\d+\): worker thread died: injected thread death in batch \d+; retrying \(attempt 2 of 3\)$/);
});

test(`a batch whose worker fails ${WORKER_ATTEMPTS} times fails the run with one clear error`, async () => {
  process.env.METAVEC_FAULT_MODE = 'throw-always';
  // one batch: closing the pool with other tasks still running is not what is tested here
  const engine = new LocalPrepEngine(1, { workerUrl: faulty });
  const first = (await batches())[0]!;
  await assert.rejects(engine.run(first, params).finally(() => engine.close()), (err: Error) => {
    assert.match(err.message, /^batch 0 \(r1\.fq records 1\.\.300\): the worker thread failed 3 times; last error: worker thread died: injected fault in batch 0$/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('a batch that keeps failing while others are in flight on 2 threads: the same one clear error, no stray pool error', async () => {
  process.env.METAVEC_FAULT_MODE = 'throw-always';
  const engine = new LocalPrepEngine(2, { workerUrl: faulty });
  await assert.rejects(runAll(engine), (err: Error) => {
    assert.match(err.message, /^batch \d+ \(r1\.fq records \d+\.\.\d+\): the worker thread failed 3 times; last error: worker thread died: injected fault in batch \d+$/);
    return true;
  });
  // replies still arriving from the destroyed pool must not surface as an uncaught 'error'
  await new Promise((r) => setTimeout(r, 500));
});

test('malformed input found by a worker is not retried', async () => {
  delete process.env.METAVEC_FAULT_MODE;
  const bad = tmp.file('bad.fq', fx.r1.replace('+\n', 'X\n'));
  const sets = [{ r1: await openLocalSource(bad) }];
  const engine = new LocalPrepEngine(1, { onRetry: () => assert.fail('retried an input error') });
  try {
    for await (const b of readBatches(sets, 'se', 'fastq', 'phred33', 300, () => undefined)) {
      await assert.rejects(engine.run(b, params), /bad\.fq record 1 \(line 3\): missing '\+' separator line/);
      break;
    }
  } finally {
    await engine.close();
  }
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
