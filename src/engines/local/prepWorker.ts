import { Piscina } from 'piscina';
import { MetavecError } from '../../errors.js';
import { processBatch, resultBuffers } from '../../prep/batch.js';
import type { BatchParams, PrepBatch, PrepBatchResult } from '../../prep/params.js';

/** Worker entry: runs the Phase 1 stages on a batch and hands the result buffers back without copying. */
export type WorkerReply = { ok: true; result: PrepBatchResult } | { ok: false; code: string; message: string };

export default async function run(task: { batch: PrepBatch; params: BatchParams }): Promise<unknown> {
  try {
    const result = await processBatch(task.batch, task.params);
    const reply: WorkerReply = { ok: true, result };
    return Piscina.move({
      [Piscina.transferableSymbol]: resultBuffers(result),
      [Piscina.valueSymbol]: reply,
    } as unknown as ArrayBuffer);
  } catch (err) {
    // Error classes do not survive the thread boundary: send code + message.
    if (err instanceof MetavecError) return { ok: false, code: err.code, message: err.message } satisfies WorkerReply;
    const e = err as Error;
    return { ok: false, code: 'INTERNAL', message: `worker: ${e.stack ?? e.message}` } satisfies WorkerReply;
  }
}
