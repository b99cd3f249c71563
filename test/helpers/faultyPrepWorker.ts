import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import run from '../../src/engines/local/prepWorker.js';
import type { BatchParams, PrepBatch } from '../../src/prep/params.js';

/**
 * A prep worker with injected faults (test/unit/engines/local/retry.test.ts), chosen by METAVEC_FAULT_MODE:
 * - `die-once`: the first attempt of every batch kills its worker thread (an uncaught exception outside the
 *   task), later attempts run the real worker;
 * - `throw-always`: every attempt throws.
 * METAVEC_FAULT_DIR records which batches already failed (worker threads share no memory).
 */
export default function faulty(task: { batch: PrepBatch; params: BatchParams }): unknown {
  const mode = process.env.METAVEC_FAULT_MODE;
  if (mode === 'throw-always') throw new Error(`injected fault in batch ${task.batch.index}`);
  const mark = join(process.env.METAVEC_FAULT_DIR!, `batch-${task.batch.index}`);
  if (mode === 'die-once' && !existsSync(mark)) {
    writeFileSync(mark, '');
    setImmediate(() => {
      throw new Error(`injected thread death in batch ${task.batch.index}`);
    });
    return new Promise(() => undefined);
  }
  return run(task);
}
