import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../../../helpers/tools.js';

/**
 * A pool destroyed while its threads are still loading their task module must not take the process down.
 * Through piscina's require() of an ES module, Node 20.19+ aborted the process (SIGABRT, a failed assertion in
 * module_wrap.cc) when the thread was terminated mid-load: `metavec prep` on 100 empty records, which ends
 * within milliseconds, aborted 2 times in 300 runs. The pools now load a CommonJS entry (esmEntry.cts). This
 * child process destroys pools at delays spread over the load time, then checks that a pool still runs the
 * real prep worker's tasks through that entry.
 */
test('worker pools destroyed while their threads load exit cleanly, and run tasks through the CommonJS entry', { timeout: 120_000 }, () => {
  const script = `
    const { workerPool } = await import(${JSON.stringify(`${REPO_ROOT}/dist/src/engines/local/threadPool.js`)});
    const url = ${JSON.stringify(`file://${REPO_ROOT}/dist/src/engines/local/spectrumWorker.js`)};
    for (let i = 0; i < 40; i++) {
      const pool = workerPool(url, 2);
      await new Promise((r) => setTimeout(r, (i * 13) % 120));
      await pool.destroy();
    }
    const pool = workerPool(url, 1);
    const reply = await pool.run({ batch: null, k: 0, cells: new Uint8Array(0) });
    await pool.destroy();
    process.stdout.write(JSON.stringify(reply));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 110_000 });
  assert.equal(r.signal, null, `no abort; stderr: ${r.stderr.slice(-2000)}`);
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const reply = JSON.parse(r.stdout) as { ok: boolean; message?: string };
  // the real worker module ran (and reported the malformed task as an error reply, not a crash)
  assert.equal(reply.ok, false);
  assert.match(reply.message ?? '', /^worker: TypeError/);
});
