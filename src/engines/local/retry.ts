import { MetavecError, type ErrorCode } from '../../errors.js';
import type { PrepBatch } from '../../prep/params.js';

/**
 * piscina emits 'error' on the pool for what no task is waiting for: an uncaught error in an idle worker, or a
 * reply that arrives after its task was settled (a worker answering while the pool is destroyed because
 * another batch failed: "Unexpected message from Worker"). Without a listener Node turns that event into an
 * uncaught exception and the run ends with a stack trace instead of its one-line error. Task failures reach
 * their task's promise (and the retry logic) anyway, so these events carry nothing to report.
 */
export function ignoreStrayPoolErrors<P extends { on(event: 'error', listener: (err: unknown) => void): unknown }>(pool: P): P {
  pool.on('error', () => undefined);
  return pool;
}

/** Attempts per batch before a failing worker thread fails the run. */
export const WORKER_ATTEMPTS = 3;

type Reply<T> = { ok: true; result: T } | { ok: false; code: string; message: string };

const firstLine = (s: string): string => s.split('\n')[0]!.slice(0, 300);

/** Where a batch comes from, for messages. */
export function describeBatch(b: PrepBatch): string {
  return `batch ${b.index} (${b.r1.label} records ${b.r1.firstRecord + 1}..${b.r1.firstRecord + b.r1.records})`;
}

/**
 * A copy of the batch whose byte buffers can be transferred to a worker while the original stays here for a
 * retry (a thread that dies takes transferred buffers with it). Copying a 2.7 MB batch costs ~0.2 ms, about
 * 0.1% of its processing time.
 */
export function transferableCopy(b: PrepBatch): { batch: PrepBatch; transfer: ArrayBuffer[] } {
  const batch: PrepBatch = { ...b, r1: { ...b.r1, bytes: b.r1.bytes.slice() } };
  if (b.r2) batch.r2 = { ...b.r2, bytes: b.r2.bytes.slice() };
  const transfer = [batch.r1.bytes.buffer as ArrayBuffer];
  if (batch.r2) transfer.push(batch.r2.bytes.buffer as ArrayBuffer);
  return { batch, transfer };
}

/** The error of a batch whose pool was closed while it ran (the run is stopping for another reason). */
export class CancelledError extends MetavecError {
  constructor(what: string) {
    super('INTERNAL', `${what}: cancelled (the run is stopping)`);
  }
}

/**
 * Runs a batch on a worker thread, retrying when the thread fails (it died, or a stage threw an unexpected
 * error: code INTERNAL) up to WORKER_ATTEMPTS times; a malformed input (INPUT and other codes) is final at once.
 * Retrying is safe: batch stages are pure, and pass 1's sketch update is an idempotent max. When `closing()`
 * says the pool is being shut down (another batch failed, the run stops), a task that fails is cancelled,
 * not a thread that died: no retry, no warning.
 */
export async function runWithRetry<T>(what: string, attempt: () => Promise<Reply<T>>, onRetry?: (msg: string) => void, closing?: () => boolean): Promise<T> {
  let last = '';
  for (let i = 1; i <= WORKER_ATTEMPTS; i++) {
    if (closing?.()) throw new CancelledError(what);
    try {
      const reply = await attempt();
      if (reply.ok) return reply.result;
      if (reply.code !== 'INTERNAL') throw new MetavecError(reply.code as ErrorCode, reply.message);
      last = reply.message;
    } catch (err) {
      if (err instanceof MetavecError) throw err;
      if (closing?.()) throw new CancelledError(what);
      last = `worker thread died: ${(err as Error).message}`;
    }
    if (i < WORKER_ATTEMPTS) onRetry?.(`warning: ${what}: ${firstLine(last)}; retrying (attempt ${i + 1} of ${WORKER_ATTEMPTS})`);
  }
  throw new MetavecError('INTERNAL', `${what}: the worker thread failed ${WORKER_ATTEMPTS} times; last error: ${firstLine(last)}`);
}
