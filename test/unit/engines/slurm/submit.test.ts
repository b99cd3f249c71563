// Ctrl-C while an engine waits for a cluster job: the engine cancels the job and throws; only the CLI exits.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor, MetavecError } from '../../../../src/errors.js';
import { waitForJob } from '../../../../src/engines/slurm/submit.js';

test('slurm waitForJob: SIGINT rejects with INTERRUPTED (exit 130 from the CLI) instead of exiting the process', async () => {
  // no Slurm commands on PATH: scontrol/sacct report nothing, scancel is absent; the wait polls until interrupted
  const empty = mkdtempSync(join(tmpdir(), 'metavec-nopath-'));
  const path = process.env.PATH;
  process.env.PATH = empty;
  const exit = mock.method(process, 'exit', (code?: number) => {
    throw new Error(`process.exit(${code ?? 0}) called by the engine`);
  });
  try {
    const listeners = process.listenerCount('SIGINT');
    const wait = waitForJob('4242', () => [], null, 20);
    assert.equal(process.listenerCount('SIGINT'), listeners + 1);
    process.emit('SIGINT');
    await assert.rejects(wait, (err: unknown) => {
      assert.ok(err instanceof MetavecError);
      assert.equal(err.code, 'INTERRUPTED');
      assert.match(err.message, /^slurm: cancelled job 4242/);
      assert.equal(exitCodeFor(err), 130);
      return true;
    });
    assert.equal(exit.mock.callCount(), 0);
    assert.equal(process.listenerCount('SIGINT'), listeners);
  } finally {
    exit.mock.restore();
    process.env.PATH = path;
    rmSync(empty, { recursive: true, force: true });
  }
});
